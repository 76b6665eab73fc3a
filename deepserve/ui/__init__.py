"""The web GUI at ``/ui/``: static pages that build their forms from ``/swagger.json``.

Everything is in ``static/`` (HTML, plain JavaScript modules, CSS): no build step, no CDN.
The pages use relative URLs only, so they work wherever the server is mounted.
"""

from __future__ import annotations

import flask


def ui_blueprint() -> flask.Blueprint:
    """The blueprint serving the GUI: ``/ui/`` is its page, ``/ui/<file>`` its assets."""
    blueprint = flask.Blueprint(
        "ui", __name__, url_prefix="/ui", static_folder="static", static_url_path=""
    )

    @blueprint.get("/")
    def index() -> flask.Response:
        return blueprint.send_static_file("index.html")

    return blueprint
