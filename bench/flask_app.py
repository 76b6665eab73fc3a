"""The baseline: the benchmark's models behind bare Flask routes, no framework around them.

    gunicorn --workers 2 --chdir bench flask_app:app

Arguments are read and checked by hand, the way a quick hand-written service would do it.
"""

from __future__ import annotations

import json

import flask
from deepserve_bench import double, ticker, upload

app = flask.Flask(__name__)


def _bad(message: str):
    return flask.jsonify(message=message), 422


@app.post("/predict")
def predict():
    """``n`` from the query string or a JSON body."""
    source = flask.request.get_json() if flask.request.is_json else flask.request.args
    try:
        n = int(source["n"])
    except (KeyError, TypeError, ValueError):
        return _bad("n must be an integer")
    return flask.jsonify(status="OK", predictions=double.predict(n))


@app.post("/upload")
def upload_file():
    """A multipart ``file`` (werkzeug spools large parts to a temporary file)."""
    storage = flask.request.files.get("file")
    if storage is None:
        return _bad("file is required")
    return flask.jsonify(status="OK", predictions=upload.count(storage.stream))


@app.post("/stream")
def stream():
    """The ticker's items (``first``, ``items``, ``busy`` from the query) as NDJSON lines, each
    written as it is yielded."""
    try:
        first = float(flask.request.args.get("first", 0))
        items = int(flask.request.args.get("items", 1))
    except ValueError:
        return _bad("first must be a number and items an integer")
    busy = flask.request.args.get("busy") == "true"
    lines = (json.dumps(item) + "\n" for item in ticker.predict(first, items, busy))
    return flask.Response(lines, mimetype="application/x-ndjson")


@app.get("/ready")
def ready():
    return {"ready": True}
