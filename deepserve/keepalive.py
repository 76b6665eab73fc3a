"""Keep-alive comments for Server-Sent Events streams whose model is slow to give an item.

Proxies and load balancers close a connection that stays silent for a while (nginx after 60 s
by default), and with it a stream whose model takes long between two items. An SSE comment line
(``: keep-alive``) is ignored by every SSE reader (browsers' ``EventSource``, ``sseclient-py``,
``httpx-sse``, deepserve's client and GUI) but keeps the connection busy.

The model's generator keeps running in its request's thread (a model may rely on thread-local
state, such as torch's ``no_grad``); one thread per worker writes the comments between two of
the request thread's writes, never inside one (:class:`WatchedSocket`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Protocol

COMMENT = b": keep-alive\n\n"

log = logging.getLogger("deepserve")


class WatchedSocket(Protocol):
    """A client socket whose every write takes ``write_lock`` and notes ``last_write``
    (``time.monotonic()``)."""

    write_lock: threading.Lock
    last_write: float

    def send_now(self, data: bytes) -> None:
        """Send ``data`` if the socket takes it at once (the caller holds ``write_lock``)."""


class _Stream:
    def __init__(self, sock: WatchedSocket, chunked: bool) -> None:
        self.sock = sock
        self.frame = b"%X\r\n%s\r\n" % (len(COMMENT), COMMENT) if chunked else COMMENT
        self.watched = False  # changed under the socket's write lock


class StreamKeeper:
    """Sends :data:`COMMENT` on every stream it watches that has been silent for ``interval``
    seconds (looked at every quarter of it), from a thread of its own."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.streams: set[_Stream] = set()
        self.changed = threading.Condition()
        self.thread: threading.Thread | None = None

    def kept_alive(
        self, body: Iterable[bytes], sock: WatchedSocket, chunked: bool
    ) -> Iterator[bytes]:
        """``body`` (an SSE answer's frames, written on ``sock``; ``chunked``: in HTTP chunks),
        watched from its first frame on until it ends or is closed. The first frame goes out
        with the answer's head before the keeper hears of the stream: nothing can precede the
        head, and nothing is handed to another thread on the way to the first item."""
        stream = _Stream(sock, chunked)
        try:
            for frame in body:
                yield frame
                if frame and not stream.watched:
                    self._watch(stream)
        finally:
            self._forget(stream)
            close = getattr(body, "close", None)
            if callable(close):
                close()

    def _watch(self, stream: _Stream) -> None:
        stream.watched = True
        with self.changed:
            self.streams.add(stream)
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._run, name="deepserve-stream-keeper", daemon=True
                )
                self.thread.start()
            elif len(self.streams) == 1:
                self.changed.notify()  # it waits for a stream to watch

    def _forget(self, stream: _Stream) -> None:
        with stream.sock.write_lock:  # no comment can follow the end of the answer
            stream.watched = False
        with self.changed:
            self.streams.discard(stream)

    def _run(self) -> None:
        while True:
            with self.changed:
                while not self.streams:
                    self.changed.wait()
                self.changed.wait(self.interval / 4)
                streams = list(self.streams)
            now = time.monotonic()
            for stream in streams:
                if now - stream.sock.last_write >= self.interval:
                    try:
                        _comment(stream)
                    except Exception:  # the other streams still need their comments
                        log.exception("Could not keep a stream alive")


def _comment(stream: _Stream) -> None:
    """Write a comment on ``stream`` unless its own thread is writing or it has ended."""
    sock = stream.sock
    if not sock.write_lock.acquire(blocking=False):
        return  # its thread is writing: not silent
    try:
        if stream.watched:
            sock.send_now(stream.frame)
    except (OSError, ValueError):  # the client left (or its socket is closed already)
        stream.watched = False  # its thread finds out at its next write
    finally:
        sock.write_lock.release()
