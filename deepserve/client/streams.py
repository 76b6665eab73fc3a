"""Items of a streamed prediction, read from Server-Sent Events or NDJSON lines.

The server frames a streaming model's items as SSE (``event: item`` per item, then
``event: done``, or ``event: error`` with the JSON error body when the model fails midway) or
as NDJSON (one item per line; a failure ends the stream with ``{"error": <error body>}``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from .errors import ClientError


def sse_items(lines: Iterable[bytes | str]) -> Iterator[Any]:
    """The items of an SSE stream; raises ClientError on its ``error`` event."""
    event, data = "message", []
    for raw in lines:
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        line = line.rstrip("\r\n")
        if line:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
            continue  # comments (":...") and "id:" lines carry nothing we need
        if data:
            yield from _event(event, "\n".join(data))
        event, data = "message", []
    if data:
        yield from _event(event, "\n".join(data))


def _event(event: str, data: str) -> Iterator[Any]:
    document = json.loads(data)
    if event == "error":
        raise _stream_error(document)
    if event in ("item", "message"):
        yield document


def ndjson_items(lines: Iterable[bytes | str]) -> Iterator[Any]:
    """The items of an NDJSON stream; raises ClientError on its closing ``{"error": ...}``."""
    for raw in lines:
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if not line.strip():
            continue
        document = json.loads(line)
        if isinstance(document, dict) and document.keys() == {"error"}:
            raise _stream_error(document["error"])
        yield document


def _stream_error(body: Any) -> ClientError:
    message = body.get("message") if isinstance(body, dict) else None
    errors = body.get("errors") if isinstance(body, dict) else None
    return ClientError(
        f"The stream failed midway: {message or body}",
        errors=errors if isinstance(errors, dict) else None,
        body=body,
    )
