"""A streaming model's items framed for the wire: Server-Sent Events or NDJSON lines."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from werkzeug.exceptions import HTTPException

from .errors import error_body
from .outputs import dumps, item_document
from .record import SSE, ModelRecord

log = logging.getLogger("deepserve")


def frames(
    record: ModelRecord,
    items: Iterator[Any],
    media_type: str,
    taken: Iterable[Any] = (),
    on_end: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """Each item as one frame of ``media_type`` as soon as the model yields it.

    ``text/event-stream``: ``id: <index>``, ``event: item``, ``data: <JSON>`` per item, then
    ``event: done`` with ``{"items": N}``; a failure midway is an ``event: error`` with the JSON
    error body. ``application/x-ndjson``: one JSON line per item; a failure midway is a last
    line ``{"error": <the JSON error body>}``. ``taken`` are items already drawn from ``items``.
    Closing this generator (the client went away) closes ``items``; ``on_end`` gets the number
    of items sent, however the stream ended.
    """
    sse = media_type == SSE
    count = 0
    try:
        for item in itertools.chain(taken, items):
            text = item_document(record, item)
            yield (f"id: {count}\nevent: item\ndata: {text}\n\n" if sse else f"{text}\n").encode()
            count += 1
        if sse:
            yield f'event: done\ndata: {{"items": {count}}}\n\n'.encode()
    except HTTPException as error:
        body = dumps(error_body(error))
        log.error("model %r: stream ended after %d items: %s", record.name, count, body)
        yield (f"event: error\ndata: {body}\n\n" if sse else f'{{"error": {body}}}\n').encode()
    finally:
        close = getattr(items, "close", None)
        if callable(close):
            close()
        if on_end is not None:
            on_end(count)
