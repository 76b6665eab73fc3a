"""JSON errors for everything Flask-RESTX does not route itself (static files, /api/, ...)."""

from __future__ import annotations

import logging

import flask
from werkzeug.exceptions import HTTPException, InternalServerError

from ..errors import error_body

log = logging.getLogger("deepserve")


def error_response(error: HTTPException) -> flask.Response:
    """``{"message": ...}`` (plus any extra fields the error carries) with its status."""
    response = flask.jsonify(error_body(error))
    response.status_code = error.code or 500
    for name, value in error.get_headers():
        if name.lower() != "content-type":  # keeps Allow (405), WWW-Authenticate (401), ...
            response.headers[name] = value
    return response


def init_app(app: flask.Flask) -> None:
    """Register the JSON handlers on ``app``."""

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        return error_response(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")
        return error_response(InternalServerError())
