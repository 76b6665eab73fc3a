"""Optional bearer-token authentication (off unless tokens are configured).

Full tokens may call everything; read-only tokens may read (GET/HEAD) and predict or validate,
not train, start asynchronous predictions (``Prefer: respond-async``: they are jobs) or cancel.
Probes, the root document, the spec and the static docs and GUI assets stay open: Swagger UI
and the GUI must load before they can ask for a token.
"""

from __future__ import annotations

import hmac
import re

import flask
from flask_restx import Api

from ..errors import APIError
from ..settings import Settings
from .docs import error_model
from .health import PREFIX as HEALTH_PREFIX
from .predictions import prefers_async

SCHEME = "bearer"  # the name of the security scheme in the spec
OPEN_PATHS = frozenset({"/", "/swagger.json", "/api/", "/api", "/ui/", "/ui"})
OPEN_PREFIXES = (HEALTH_PREFIX, "/swaggerui/", "/ui/")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Rules (or spec paths) a read-only token may POST to.
_READ_ONLY_POST = re.compile(
    r"^/v2/models/[^/]+/((predict|validate)/|(versions/[^/]+/)?infer)$"  # infer: OIP's predict
)
_PREDICT = re.compile(r"^/v2/models/[^/]+/predict/$")


class Unauthorized(APIError):
    """401 with the ``WWW-Authenticate: Bearer`` challenge."""

    def __init__(self, message: str) -> None:
        super().__init__(401, message)

    def get_headers(self, environ=None, scope=None) -> list[tuple[str, str]]:
        return [*super().get_headers(environ, scope), ("WWW-Authenticate", "Bearer")]


def is_open(path: str) -> bool:
    """Whether ``path`` (below the base path) is served without a token."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def read_only_allows(method: str, rule: str) -> bool:
    """Whether a read-only token may send ``method`` to the route ``rule``."""
    return method in SAFE_METHODS or (method == "POST" and bool(_READ_ONLY_POST.match(rule)))


def init_app(app: flask.Flask, api: Api, settings: Settings) -> None:
    """Require a token on every route but the open ones, and declare it in the spec."""
    if not settings.auth_enabled:
        return
    full = [token.encode() for token in settings.tokens]
    read_only = [token.encode() for token in settings.read_only_tokens]

    @app.before_request
    def _authenticate() -> None:
        request = flask.request
        if request.method == "OPTIONS" or is_open(request.path):
            return  # CORS preflights never carry credentials
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        given = value.strip().encode("utf-8", "surrogateescape")
        if scheme.lower() != "bearer" or not given:
            raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
        if _matches(given, full):
            return
        if not _matches(given, read_only):
            raise Unauthorized("The bearer token is not valid.")
        rule = request.url_rule
        if rule is not None and not read_only_allows(request.method, rule.rule):
            raise APIError(403, "This token is read-only: it may read and predict, not change.")
        if request.method == "POST" and prefers_async(request):
            raise APIError(
                403, "This token is read-only: it may predict, not start asynchronous predictions."
            )

    error = error_model(api)
    api.spec_extensions.append(lambda spec: _document(spec, error.__schema__, bool(read_only)))


def _matches(given: bytes, tokens: list[bytes]) -> bool:
    """Constant-time comparison with every token (no early exit on the first match)."""
    return sum(hmac.compare_digest(given, token) for token in tokens) > 0


def _document(spec: dict, error_schema: dict, read_only: bool) -> None:
    """Declare the scheme (Swagger 2.0 has no bearer type: an ``Authorization`` header whose
    value is ``Bearer <token>``) and the 401/403 answers of every protected operation."""
    spec["securityDefinitions"] = {
        SCHEME: {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Enter 'Bearer <token>' (the word Bearer, a space, the token).",
        }
    }
    spec.setdefault("definitions", {}).setdefault("Error", error_schema)
    error = {"$ref": "#/definitions/Error"}
    for path, item in spec["paths"].items():
        if is_open(path):
            continue
        for method, operation in item.items():
            if method == "parameters":
                continue
            operation["security"] = [{SCHEME: []}]
            responses = operation.setdefault("responses", {})
            responses["401"] = {"description": "Missing or invalid bearer token", "schema": error}
            if read_only and not read_only_allows(method.upper(), path):
                responses["403"] = {"description": "Read-only token", "schema": error}
            elif read_only and method == "post" and _PREDICT.match(path):
                description = "Read-only token asking for an asynchronous prediction"
                responses["403"] = {"description": description, "schema": error}
