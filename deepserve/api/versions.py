"""``/`` and ``/v2/``: what versions this server speaks and where to go next."""

from __future__ import annotations

import flask
from flask_restx import Api, Namespace, Resource

from .. import __version__
from .docs import version_model


def link(rel: str, path: str, **extra: str) -> dict:
    """A link relative to the server root, under the base path the server is mounted at."""
    return {"rel": rel, "href": flask.request.script_root + path, **extra}


def v2_version() -> dict:
    """The v2 version object; ``version`` is its status, as in DEEPaaS."""
    return {
        "id": "v2",
        "version": "stable",
        "links": [
            link("self", "/v2/", type="application/json"),
            link("models", "/v2/models/", type="application/json"),
        ],
    }


def root_document() -> dict:
    """The answer to ``GET /``."""
    return {
        "name": "deepserve",
        "version": __version__,
        "versions": [v2_version()],
        "links": [
            link("describedby", "/swagger.json", type="application/json"),
            link("help", "/api/", type="text/html"),
            link("ui", "/ui/", type="text/html"),
        ],
    }


def versions_namespace(api: Api) -> Namespace:
    """The ``/v2/`` namespace."""
    ns = Namespace("versions", path="/v2", description="API versions")

    @ns.route("/")
    class V2(Resource):
        @ns.response(200, "The v2 version object", version_model(api))
        def get(self):
            """The v2 version object, with links to the models."""
            return v2_version()

    return ns
