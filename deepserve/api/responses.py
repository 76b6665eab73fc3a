"""HTTP responses for model outputs and errors."""

from __future__ import annotations

from typing import Any

import flask
from werkzeug.datastructures import MIMEAccept

from ..outputs import binary_body, checked_json, content_type, is_json, prediction_document
from ..record import ModelRecord


def accepted_types(request: flask.Request) -> MIMEAccept:
    """The media types ``request`` accepts; an absent ``Accept`` or ``*/*`` (what most clients
    send) leaves the choice to the model and needs no parsing."""
    if request.environ.get("HTTP_ACCEPT", "*/*") == "*/*":
        return MIMEAccept()
    return request.accept_mimetypes


def json_response(
    text: str, status: int = 200, mimetype: str = "application/json"
) -> flask.Response:
    """A response from already-serialised JSON text."""
    return flask.Response(text + "\n", status=status, mimetype=mimetype)


def prediction_response(record: ModelRecord, output: Any, media_type: str) -> flask.Response:
    """Render ``output`` as ``media_type``: a validated JSON document or a binary body."""
    if is_json(media_type):
        return json_response(prediction_document(record, output), mimetype=media_type)
    body = binary_body(record, output, media_type)
    mimetype = content_type(media_type, body)
    if isinstance(body, bytes):
        return flask.Response(body, mimetype=mimetype)
    return flask.send_file(body, mimetype=mimetype, conditional=False, etag=False)


def result_response(record: ModelRecord, output: Any) -> flask.Response:
    """``{"status": "OK", "result": ...}`` for validate and similar calls."""
    return json_response(checked_json(record, {"status": "OK", "result": output}))
