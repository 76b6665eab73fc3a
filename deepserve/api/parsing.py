"""Read model arguments from the query string, forms (files included) or a JSON body."""

from __future__ import annotations

from collections import ChainMap

import flask
from webargs.core import ValidationError, missing
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict

from ..arguments import ArgumentSpec
from ..errors import APIError, ArgumentError
from .uploads import uploaded_file


class ModelArgumentParser(FlaskParser):
    """webargs parser with one location, ``request``: query, form, files or JSON body merged."""

    __location_map__ = dict(request="load_request", **FlaskParser.__location_map__)

    def load_request(self, req: flask.Request, schema):
        query = MultiDictProxy(req.args, schema)
        if req.is_json:
            body = self.load_json(req, schema)
            if body is missing or body is None or body == {}:
                return query
            if not isinstance(body, dict):
                raise APIError(422, "A JSON body must be an object of arguments.")
            return ChainMap(body, query)
        data = MultiDict(req.args)
        data.update(req.form)
        for name, storage in req.files.items(multi=True):
            if storage.filename:  # browsers send an empty part for "no file chosen"
                data.add(name, uploaded_file(name, storage))
        return MultiDictProxy(data, schema)

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise APIError(400, f"The request body is not valid JSON: {error}")

    def handle_error(
        self, error: ValidationError, req, schema, *, error_status_code, error_headers
    ):
        messages = error.normalized_messages()
        raise ArgumentError(messages.get("request", messages))  # webargs nests by location


parser = ModelArgumentParser()


def parse_arguments(spec: ArgumentSpec) -> dict:
    """The current request's arguments for ``spec``; raises ArgumentError (422)."""
    return parser.parse(spec.schema, flask.request, location="request")
