"""Serving under a base path, and behind trusted reverse proxies.

Both work through the WSGI ``SCRIPT_NAME``, which Flask exposes as ``request.script_root``: every
link, the spec's ``basePath`` and Swagger UI's asset URLs are built from it.
"""

from __future__ import annotations

import json

import flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from ..settings import Settings


def init_app(app: flask.Flask, settings: Settings) -> None:
    """Mount ``app`` at ``settings.base_path``; honour ``X-Forwarded-*`` from trusted proxies."""
    if settings.base_path:
        outside = Response(
            json.dumps({"message": f"Not found: everything is served under {settings.base_path}/"}),
            status=404,
            mimetype="application/json",
        )
        mounted = DispatcherMiddleware(outside, {settings.base_path: app.wsgi_app})

        def mount(environ, start_response):
            # on a copy: gunicorn's access log reads PATH_INFO after the app ran
            return mounted(dict(environ), start_response)

        app.wsgi_app = mount
    if settings.proxy_count:
        trusted = settings.proxy_count  # X-Forwarded-For/-Proto/-Host/-Port/-Prefix values
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=trusted,
            x_proto=trusted,
            x_host=trusted,
            x_port=trusted,
            x_prefix=trusted,
        )
