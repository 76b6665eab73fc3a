"""Request IDs, security headers, CORS and the request size limit."""

from __future__ import annotations

import re
import uuid

import flask
from flask_cors import CORS

from ..errors import APIError
from ..settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")  # what a proxy or client may send

_COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# JSON and binary answers load nothing; Swagger UI (restx's page) runs inline script and styles;
# the GUI loads its own files and shows the images and media the models return.
_API_POLICY = "default-src 'none'; frame-ancestors 'none'"
_PAGE_POLICIES = {
    "/api/": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'",
    "/swaggerui/": "default-src 'self'; frame-ancestors 'none'",
    "/ui/": "default-src 'self'; img-src 'self' data: blob:; media-src 'self' data: blob:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'",
}


def init_app(app: flask.Flask, settings: Settings) -> None:
    """Install the request ID, headers, CORS and size limit hooks on ``app``."""
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_size

    @app.before_request
    def _identify_and_limit() -> None:
        # the client's (or proxy's) X-Request-ID if sane, else a new one; logs.py reads it too
        given = flask.request.headers.get(REQUEST_ID_HEADER, "")
        flask.g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        limit = settings.max_upload_size
        length = flask.request.content_length
        if limit is not None and length is not None and length > limit:
            raise APIError(413, f"The request body is larger than the limit of {limit} bytes.")

    @app.after_request
    def _headers(response: flask.Response) -> flask.Response:
        response.headers.update(_COMMON_HEADERS)
        response.headers["Content-Security-Policy"] = _policy(flask.request.path)
        if "request_id" in flask.g:
            response.headers[REQUEST_ID_HEADER] = flask.g.request_id
        return response

    if settings.cors_origins:
        CORS(
            app,
            origins=list(settings.cors_origins),
            allow_headers=["Authorization", "Content-Type", "Accept", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER],
            supports_credentials=False,  # tokens travel in a header, never in cookies
        )


def _policy(path: str) -> str:
    for prefix, policy in _PAGE_POLICIES.items():
        if path.startswith(prefix):
            return policy
    return _API_POLICY
