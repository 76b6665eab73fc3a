"""Request IDs, security headers, CORS and the request size limit."""

from __future__ import annotations

import random
import re

import flask
from flask_cors import CORS

from ..errors import APIError
from ..logs import request_id
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
#: The headers of every JSON answer (the server's own error answers send them too).
API_HEADERS = (*_COMMON_HEADERS.items(), ("Content-Security-Policy", _API_POLICY))
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
    """Install the request ID, headers, CORS and size limit on ``app``."""
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_size
    app.wsgi_app = HardeningMiddleware(app.wsgi_app)
    limit = settings.max_upload_size
    if limit is not None:

        @app.before_request
        def _limit() -> None:
            if not flask.request.environ.get("CONTENT_LENGTH"):
                return  # no body, or a chunked one (MAX_CONTENT_LENGTH applies as it is read)
            length = flask.request.content_length
            if length is not None and length > limit:
                raise APIError(413, f"The request body is larger than the limit of {limit} bytes.")

    if settings.cors_origins:
        CORS(
            app,
            origins=list(settings.cors_origins),
            # Prefer: respond-async, whose 202 points to the job in Location
            allow_headers=["Authorization", "Content-Type", "Accept", "Prefer", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Location", "Preference-Applied"],
            supports_credentials=False,  # tokens travel in a header, never in cookies
        )


class HardeningMiddleware:
    """WSGI middleware giving every request an ID and every answer the security headers.

    It works on the WSGI headers list, with every header but the ID prepared once: this runs
    on each request, and werkzeug's ``Headers`` would check each value again.
    """

    def __init__(self, app) -> None:
        self.app = app
        common = list(_COMMON_HEADERS.items())
        self.api_headers = list(API_HEADERS)
        self.page_headers = {
            prefix: [*common, ("Content-Security-Policy", policy)]
            for prefix, policy in _PAGE_POLICIES.items()
        }

    def __call__(self, environ: dict, start_response):
        # the client's (or proxy's) X-Request-ID if sane, else a new one, for the log records too
        given = environ.get("HTTP_X_REQUEST_ID", "")
        # an ID is for finding log lines, not a secret: no system call for randomness (the
        # random module reseeds itself in each forked worker)
        identifier = given if _REQUEST_ID.match(given) else f"{random.getrandbits(128):032x}"
        added = [*self._headers(environ.get("PATH_INFO", "")), (REQUEST_ID_HEADER, identifier)]

        def start_with_headers(status, headers, exc_info=None):
            return start_response(status, headers + added, exc_info)

        token = request_id.set(identifier)
        try:
            return self.app(environ, start_with_headers)
        finally:
            request_id.reset(token)

    def _headers(self, path: str) -> list[tuple[str, str]]:
        for prefix, headers in self.page_headers.items():
            if path.startswith(prefix):
                return headers
        return self.api_headers
