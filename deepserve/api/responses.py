"""HTTP responses for model outputs and errors."""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Iterator
from typing import Any

import flask
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from ..logs import request_id
from ..outputs import (
    binary_body,
    checked_json,
    collected_document,
    content_type,
    is_json,
    prediction_document,
)
from ..record import ModelRecord
from ..streams import frames
from .metrics import stream_started
from .uploads import StreamingRequest

#: Sent with every stream: proxies (nginx) and caches pass each item on at once.
STREAM_HEADERS = {"X-Accel-Buffering": "no", "Cache-Control": "no-cache"}


def answer_type(record: ModelRecord, request: flask.Request) -> str:
    """The media type to answer ``request`` with (406 if ``record`` has none it accepts).

    An absent ``Accept`` or ``*/*`` (what most clients send) leaves the choice to the model;
    any other header is parsed and matched once per model (clients send few different ones).
    """
    header = request.environ.get("HTTP_ACCEPT", "*/*")
    if header == "*/*":
        return record.answer_types[0]
    return _negotiated(record, header)


@functools.lru_cache(maxsize=1024)
def _negotiated(record: ModelRecord, header: str) -> str:
    return record.negotiate(parse_accept_header(header, MIMEAccept))


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


def stream_response(record: ModelRecord, items: Iterator[Any], media_type: str) -> flask.Response:
    """A streaming model's ``items``: collected in one JSON document, or each sent as soon as
    the model yields it, framed as ``media_type`` (SSE or NDJSON).

    The first item is drawn before answering, so that a model failing before any item gets an
    ordinary error answer with its status. The model may still read its uploaded files while
    it streams; they are removed when the stream ends or the client leaves.
    """
    if is_json(media_type):
        with contextlib.closing(items):  # closes the model's generator if an item is bad
            return json_response(collected_document(record, items), mimetype=media_type)
    taken = list(itertools.islice(items, 1))
    body = frames(record, items, media_type, taken, on_end=stream_started(record.name))
    request = flask.request._get_current_object()
    response = flask.Response(_after_the_view(request, body), mimetype=media_type)
    response.headers.update(STREAM_HEADERS)
    return response


def _after_the_view(request: StreamingRequest, body: Iterator[bytes]) -> Iterator[bytes]:
    """``body``, produced after its view returned (and Flask closed ``request``): with the
    request's uploads kept and its ID in the log records until it ends or is closed."""
    request.uploads_kept = True
    identifier = request_id.get()

    def produced() -> Iterator[bytes]:
        token = request_id.set(identifier)
        try:
            yield from body
        finally:
            with contextlib.suppress(ValueError):  # closed by another thread: not set there
                request_id.reset(token)
            request.uploads_kept = False
            request.remove_uploads()

    return produced()


def result_response(record: ModelRecord, output: Any) -> flask.Response:
    """``{"status": "OK", "result": ...}`` for validate and similar calls."""
    return json_response(checked_json(record, {"status": "OK", "result": output}))
