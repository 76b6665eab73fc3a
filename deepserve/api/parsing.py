"""Read model arguments from the query string, forms (files included) or a JSON body."""

from __future__ import annotations

import functools
from collections import ChainMap

import flask
from webargs.core import missing
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict

from ..arguments import ArgumentSpec
from ..errors import APIError
from .uploads import uploaded_file

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class ModelArgumentParser(FlaskParser):
    """webargs's Flask parser, reading all of a request's arguments at once: the query string
    merged with a form (files included) or a JSON body."""

    def load_request(self, req: flask.Request, schema):
        if not req.content_type:
            return self._query(req, schema)  # no body: the common query-string call
        if req.is_json:
            body = self.load_json(req, schema)
            if body is missing or body is None or body == {}:
                return self._query(req, schema)
            if not isinstance(body, dict):
                raise APIError(422, "A JSON body must be an object of arguments.")
            return ChainMap(body, self._query(req, schema)) if req.query_string else body
        if req.mimetype not in FORM_TYPES:
            return self._query(req, schema)  # a body of another type is not read
        data = MultiDict(req.args)
        data.update(req.form)
        for name, storage in req.files.items(multi=True):
            if storage.filename:  # browsers send an empty part for "no file chosen"
                data.add(name, uploaded_file(name, storage))
        return ArgumentsProxy(data, schema)

    @staticmethod
    def _query(req: flask.Request, schema) -> MultiDictProxy:
        return ArgumentsProxy(req.args, schema)

    def load_json(self, req: flask.Request, schema):
        """webargs's, with a body Python's JSON reader cannot hold also a 400: one nested too
        deeply, or with an integer of more digits than Python converts."""
        try:
            return super().load_json(req, schema)
        except RecursionError as error:
            raise APIError(400, "The request body is JSON nested too deeply.") from error
        except ValueError as error:  # webargs handles the JSONDecodeErrors
            raise APIError(400, "The request body is JSON with a number too long.") from error

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise APIError(400, f"The request body is not valid JSON: {error}")


class ArgumentsProxy(MultiDictProxy):
    """webargs's view of a request's values through ``schema`` (a list field gets every value
    of its name), with the names that take a list found once per schema, not per request."""

    def __init__(self, multidict, schema) -> None:
        self.data = multidict
        self.multiple_keys = _list_names(schema)


@functools.cache
def _list_names(schema) -> set[str]:
    return MultiDictProxy(MultiDict(), schema).multiple_keys


parser = ModelArgumentParser()


def parse_arguments(spec: ArgumentSpec) -> dict:
    """The current request's arguments for ``spec``; raises ArgumentError (422).

    Read by the webargs parser, loaded by ``spec`` as the command line and training jobs load
    theirs (webargs's ``parse`` around the same two steps costs more per request).
    """
    return spec.load(parser.load_request(flask.request, spec.schema))
