"""The gunicorn worker of ``deepserve run``: gunicorn's threaded (gthread) worker, hardened.

- **Slow clients.** gunicorn hands a connection to a thread as soon as it is readable; a client
  that then stalls holds that thread while the thread waits for the rest of its request. Here
  the worker's event loop receives each request first, without blocking: the request line, the
  headers and, for a body of up to :data:`BUFFERED_BODY` bytes, the whole body. Only a request
  that has fully arrived goes to a thread, which parses it from what the loop received. One that
  does not arrive within ``--body-timeout`` is answered ``408`` from the loop and closed. A
  larger body (or a chunked one, or one sent after ``Expect: 100-continue``) is read by the
  thread with a socket timeout of ``--body-timeout`` between two reads: ``408`` too (and a
  body with bad framing, a ``400``, not an application error). A client that reads nothing of
  its answer for ``--body-timeout`` seconds is disconnected, and its thread freed.
- **Request line.** gunicorn's own limit is at most 8190 bytes; ``--max-request-line`` is
  enforced by the loop instead (``414``), so that arguments fit in a query string.
- **JSON errors.** gunicorn's own answers (bad framing, ``414``, ``431``, an error outside the
  application) are ``{"message": ...}`` documents, like every answer of the application.
- **Requests that take too long.** A request whose answer has not started within
  ``--timeout`` is answered ``504`` from the loop, and the worker restarts (a thread cannot be
  stopped). gunicorn's own timeout only sees a stuck event loop.
- **Answers.** An answer's head goes out with the start of its body (gunicorn writes them
  apart: two segments and two wake-ups of the client for a small answer), and every write goes
  out at once (``TCP_NODELAY``: a stream's items are not held back).
- **Event streams.** A Server-Sent Events answer whose model is silent for
  ``--stream-keepalive`` seconds between two items gets a comment line
  (:mod:`deepserve.keepalive`), so that proxies do not close it as idle.
- **Kept-alive connections.** A thread that answered a request answers the client's next one
  itself when it arrives whole within :data:`NEXT_REQUEST` seconds (and other connections leave
  a thread free): a client sending one request after another skips the hand-off to the loop and
  back, which costs more than a small prediction.
- **Batching.** A prediction for a model that batches counts as on its way
  (:func:`deepserve.batching.expect`) from the moment the loop (or the thread, above) has read
  it, so a batch forming waits for it rather than leave without it.
- **Closing.** A connection whose answer says it closes (``Connection: close``, HTTP/1.0) is
  half-closed and drained from the event loop until the client closes its side, for
  :data:`LINGER` seconds at most: gunicorn waits for that in the loop itself, where a client
  that keeps its socket open would freeze the worker for two seconds.
- **Parent death.** The kernel sends the worker ``SIGTERM`` when the master dies (Linux), so an
  orphaned worker stops taking requests at once and exits once those in flight are answered.

It relies on the internals of gunicorn 27's gthread worker (hence the version pin).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import json
import os
import re
import select
import selectors
import signal
import socket
import sys
import threading
import time
from functools import partial
from http import HTTPStatus

from gunicorn import util
from gunicorn.http.body import Body, LengthReader
from gunicorn.http.errors import ParseException
from gunicorn.workers import gthread

from . import batching, reloading
from .api.hardening import API_HEADERS
from .api.models import predicted_model
from .errors import APIError
from .keepalive import StreamKeeper

#: Bytes the event loop takes from a socket per read.
READ_SIZE = 64 * 1024
#: Bodies up to this size are received by the event loop before a thread takes the request.
BUFFERED_BODY = 64 * 1024
#: Seconds a connection just accepted counts as taking a thread, while its request arrives.
FRESH = 0.05
#: Seconds a worker whose threads are all taken leaves new connections to an idle worker; then
#: it takes every connection waiting (no worker was idle), and their requests queue for its
#: threads.
ACCEPT_WAIT = 0.02
#: Seconds a thread waits for a kept-alive client's next request before it hands the connection
#: back to the event loop.
NEXT_REQUEST = 0.001
#: Seconds a connection being closed (after its last answer, or a rejection) is drained before
#: it is closed (closing a socket with unread data would reset the connection, and the client
#: might lose the answer).
LINGER = 1.0

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*(\d+)", re.IGNORECASE)
# A chunked body has no length to wait for; after "Expect: 100-continue" the client waits for
# the thread's "100 Continue" before it sends its body.
_READ_BY_THREAD = re.compile(
    rb"\r\n(?:transfer-encoding[ \t]*:[^\r]*chunked|expect[ \t]*:)", re.IGNORECASE
)
_PR_SET_PDEATHSIG = 1
#: Most seconds between two signs of life to the master (which restarts a worker silent for
#: --timeout seconds).
NOTIFY = 1.0


@dataclasses.dataclass(frozen=True)
class ConnectionLimits:
    """How long a client may take to send a request, how long its request line may be, and how
    long a stream may stay silent."""

    #: Seconds for the request head and a body of up to BUFFERED_BODY bytes to arrive; for a
    #: larger body, the longest wait for more of it.
    body_timeout: float = 30.0
    #: Bytes in the request line (method, path and query string, version).
    max_request_line: int = 64 * 1024
    #: Seconds a Server-Sent Events stream may stay silent between two items before the worker
    #: sends it a keep-alive comment (0: never).
    stream_keepalive: float = 15.0


class BodyTimeout(APIError):
    """The client did not send its request in time: 408."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"The request did not arrive within {seconds:g} s.")


class RequestLineTooLong(APIError):
    """The request line is over ``--max-request-line``: 414."""

    def __init__(self, limit: int) -> None:
        super().__init__(414, f"The request line is longer than the limit of {limit} bytes.")


def json_answer(status: int, message: str) -> bytes:
    """A complete HTTP answer carrying ``{"message": message}``, closing the connection."""
    body = json.dumps({"message": message}).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
        *API_HEADERS,
    ]
    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode("latin-1") + b"\r\n" + body


def arrived(data: bytes | bytearray, max_request_line: int) -> bool:
    """Whether ``data``, the start of a request, holds all a thread needs to answer it at once.

    Raises :class:`RequestLineTooLong`. A body larger than what the loop buffers never counts as
    arrived: the caller hands the request over once its buffer is full.
    """
    start = 2 if data[:2] == b"\r\n" else 0  # one empty line may precede a request (RFC 9112)
    line_end = data.find(b"\r\n", start)
    if (line_end if line_end >= 0 else len(data)) - start > max_request_line:
        raise RequestLineTooLong(max_request_line)
    head_end = data.find(b"\r\n\r\n", max(line_end, 0)) if line_end >= 0 else -1
    if head_end < 0:
        return False
    head = bytes(data[line_end:head_end])
    if _READ_BY_THREAD.search(head):
        return True
    length = _CONTENT_LENGTH.search(head)
    if length is None or len(length.group(1)) > 18:  # no body, or one gunicorn refuses
        return True
    return len(data) - head_end - 4 >= int(length.group(1))


class RequestBody(Body):
    """gunicorn's request body, failing as JSON errors: :class:`BodyTimeout` when the client
    stalls, 400 when its framing is wrong (a bad chunk)."""

    def __init__(self, reader, timeout: float) -> None:
        super().__init__(reader)
        self.timeout = timeout

    def _read_reader(self, size: int) -> bytes:
        try:
            return super()._read_reader(size)
        except TimeoutError as error:
            raise BodyTimeout(self.timeout) from error
        except ParseException as error:
            raise APIError(400, f"The request body is malformed: {error}") from error


class Connection(gthread.TConn):
    """A client connection, with what the event loop has received of its next request."""

    def __init__(self, cfg, sock, client, server, limits: ConnectionLimits) -> None:
        super().__init__(cfg, sock, client, server)
        self.limits = limits
        self.received = bytearray()
        self.deadline = 0.0  # while the loop waits for it (time.monotonic())
        self.polled = False  # whether the loop's poller watches it for the rest of its request
        self.drained = 0  # bytes drained while it is being closed
        self.started = 0.0  # when a thread was asked to answer its request
        self.answering = False  # whether the application started its answer
        self.abandoned = False  # answered 504 by the loop: its thread is stuck
        self.expected: batching.Batcher | None = None  # a prediction a batch waits for

    def init(self) -> None:
        """Prepare the connection for a request (in the thread): hand what the loop received
        to gunicorn's parser, and bound every later read by ``--body-timeout``."""
        super().init()
        if self.received:
            self.parser.unreader.unread(bytes(self.received))
            self.received.clear()
        self.sock.settimeout(self.limits.body_timeout)


class ThreadWorker(gthread.ThreadWorker):
    """gunicorn's gthread worker, taking requests into its threads only once they arrived.

    Its limits come from the application's ``limits`` attribute (:class:`ConnectionLimits`).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.limits: ConnectionLimits = getattr(self.app, "limits", ConnectionLimits())
        self.buffer_limit = self.limits.max_request_line + BUFFERED_BODY
        # Ordered by deadline: each dict gets its connections with the same delay.
        self.arriving: dict[Connection, None] = {}
        self.closing: dict[Connection, None] = {}  # answered for the last time, draining
        self.busy: dict[Connection, None] = {}  # given to a thread, oldest first
        self.stuck = False  # a thread is stuck in a request: the worker restarts
        self.local = threading.local()  # the connection each thread answers
        self.notify_every = min(NOTIFY, self.cfg.timeout / 4)
        self.notified = -NOTIFY
        self.full_since: float | None = None  # since when every thread is spoken for
        keepalive = self.limits.stream_keepalive
        self.keeper = StreamKeeper(keepalive) if keepalive > 0 else None

    @classmethod
    def check_config(cls, cfg, log) -> None:
        if cfg.is_ssl:
            raise RuntimeError("deepserve's worker does not terminate TLS: use a proxy")
        super().check_config(cfg, log)

    def init_process(self) -> None:
        batching.limit_batches_to(self.cfg.threads)
        stop_with_parent()
        super().init_process()

    def load_wsgi(self) -> None:
        """Load the application, wrapped to note when each answer starts and to keep its event
        streams alive (and, with --reload, watch the files with
        :class:`deepserve.reloading.Reloader`)."""
        super().load_wsgi()
        if self.reloader is not None and not isinstance(self.reloader, reloading.Reloader):
            self.reloader = reloading.Reloader(self.reloader)  # started next, by gunicorn
        app, local, keeper = self.wsgi, self.local, self.keeper

        def noting_the_answer(environ, start_response):
            conn = local.conn
            event_stream = False

            def start(status, headers, exc_info=None):
                nonlocal event_stream
                conn.answering = True
                event_stream = keeper is not None and is_open_event_stream(status, headers)
                return start_response(status, headers, exc_info)

            body = app(environ, start)
            if not event_stream or environ["REQUEST_METHOD"] == "HEAD":
                return body
            chunked = start_response.__self__.chunked  # gunicorn's answer, as it frames it
            return keeper.kept_alive(body, conn.sock, chunked)

        self.wsgi = noting_the_answer

    def run(self) -> None:
        super().run()
        if self.stuck:  # its thread would keep the interpreter from exiting
            self.log.info("Worker %s exits, leaving a stuck request behind", self.pid)
            os._exit(0)

    # Requests arriving, in the event loop

    def accept(self, listener) -> None:
        if not self.alive:  # stopping (the master may be gone): leave it to the other workers
            return
        overdue = self._overdue(time.monotonic())
        while self._accept_one(listener) and overdue and self.nr_conns < self.worker_connections:
            pass  # no worker was idle: take every connection that waited
        if overdue:
            self.full_since = time.monotonic()  # leave the next ones to an idle worker again
        self.set_accept_enabled(True)  # or not, if every thread is spoken for now

    def _accept_one(self, listener) -> bool:
        """Accept a connection and receive its request; False when none was waiting."""
        try:
            sock, client = listener.accept()
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return False
            raise
        sock = ClientSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            # each write goes out at once: a stream's items are not held back by Nagle's
            # algorithm waiting for the client's (delayed) acknowledgement
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.nr_conns += 1
        self._await_request(Connection(self.cfg, sock, client, listener.getsockname(), self.limits))
        return True

    def on_client_socket_readable(self, conn: Connection, client) -> None:
        """A kept-alive connection has a new request coming."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._await_request(conn)

    def _await_request(self, conn: Connection) -> None:
        """Receive the request; wait in the loop for the rest of it unless it is all there."""
        conn.sock.setblocking(False)
        conn.deadline = time.monotonic() + self.limits.body_timeout
        self.arriving[conn] = None
        self._receive(conn, conn.sock)  # often the whole request is there already
        if conn in self.arriving:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._receive, conn))
            conn.polled = True

    def _receive(self, conn: Connection, sock) -> None:
        data = _read(sock)
        if data is None:
            return
        if not data:  # the client went away
            self._stop_waiting(conn)
            self._close(conn)
            return
        conn.received += data
        try:
            complete = arrived(conn.received, self.limits.max_request_line)
        except APIError as error:
            self._stop_waiting(conn)
            self._reject(conn, error)
            return
        if complete or len(conn.received) >= self.buffer_limit:
            self._stop_waiting(conn)
            conn.data_ready = True  # gunicorn's thread then reads without waiting
            # counted even when no thread is free yet: under load, a batch then fills up to
            # the worker's threads (limit_batches_to) instead of leaving half empty
            conn.expected = _expected(conn.received)
            self.enqueue_req(conn)

    def _stop_waiting(self, conn: Connection) -> None:
        del self.arriving[conn]
        if conn.polled:  # not when it arrived at once
            conn.polled = False
            self.poller.unregister(conn.sock)

    # Connections given up on, in the event loop

    def murder_pending(self) -> None:
        """Also answer 408 to requests that did not arrive in time (and, when stopping, close
        connections that have not started one), and 504 to those a thread has not started to
        answer within --timeout; called by gunicorn's loop each time round."""
        super().murder_pending()
        now = time.monotonic()
        self._abandon_stuck(now)
        for conn in list(self.arriving):
            expired = conn.deadline <= now
            if not expired and self.alive:
                break  # the others are younger
            if expired or not conn.received:
                self._stop_waiting(conn)
                if conn.received:
                    self._reject(conn, BodyTimeout(self.limits.body_timeout))
                else:
                    self._close(conn)
        for conn in list(self.closing):
            if conn.deadline > now:
                break
            self._end_closing(conn)

    def _reject(self, conn: Connection, error: APIError) -> None:
        """Answer ``error`` from the loop, and close the connection."""
        self.log.info("Refused a request from %s: %s", conn.client[0], error.description)
        try:
            conn.sock.send(json_answer(error.code, error.description))
        except OSError:
            self._close(conn)
            return
        self._close_gracefully(conn)

    def _close_gracefully(self, conn: Connection) -> None:
        """Half-close the connection, then drain what the client still sends until it closes
        (or LINGER seconds), so that it reads its answer; without blocking the loop."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._drain, conn))
        except (OSError, ValueError):  # broken, or closed by its thread already
            self._close(conn)
            return
        conn.deadline = time.monotonic() + LINGER
        self.closing[conn] = None

    def _drain(self, conn: Connection, sock) -> None:
        data = _read(sock)
        if data is None:
            return
        conn.drained += len(data)
        if not data or conn.drained > self.buffer_limit:
            self._end_closing(conn)

    def _end_closing(self, conn: Connection) -> None:
        del self.closing[conn]
        self.poller.unregister(conn.sock)
        self._close(conn)

    def _close(self, conn: Connection) -> None:
        self.nr_conns -= 1
        conn.close()

    # Requests in the threads, watched from the event loop

    def set_accept_enabled(self, enabled: bool) -> None:
        """Accept connections while a thread is free: the others stay in the listen queue for an
        idle worker (as with gunicorn's sync workers) instead of queueing here, for ACCEPT_WAIT
        seconds at most (then no worker was idle, and this one takes them).

        gunicorn's loop calls this each time round; a connection just accepted counts as taking
        a thread for FRESH seconds (its request usually follows at once), a stalled one no more.
        """
        now = time.monotonic()
        free = self._threads_spoken_for() < self.cfg.threads
        if free:
            self.full_since = None
        elif self.full_since is None:
            self.full_since = now
        super().set_accept_enabled(enabled and (free or self._overdue(now)))

    def _overdue(self, now: float) -> bool:
        """Whether every thread has been spoken for ACCEPT_WAIT seconds."""
        return self.full_since is not None and now - self.full_since >= ACCEPT_WAIT

    def _threads_spoken_for(self) -> int:
        fresh, threshold = 0, time.monotonic() + self.limits.body_timeout - FRESH
        for conn in reversed(self.arriving):  # the youngest last
            if conn.deadline <= threshold:
                break
            fresh += 1
        return len(self.busy) + fresh

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if not self._accepting and self.arriving:  # look again once they are no longer fresh
            timeout = min(timeout, FRESH)
        full_since = self.full_since
        if (
            self.alive  # a stopping worker accepts nothing more
            and not self._accepting
            and full_since
            and self.nr_conns < self.worker_connections
        ):
            timeout = min(timeout, max(0.0, full_since + ACCEPT_WAIT - time.monotonic()))  # overdue
        if self.closing:  # the first to close has the first deadline
            timeout = min(timeout, max(0.0, next(iter(self.closing)).deadline - time.monotonic()))
        super().wait_for_and_dispatch_events(timeout)

    def enqueue_req(self, conn: Connection) -> None:
        conn.started = time.monotonic()
        conn.answering = False
        self.busy[conn] = None
        super().enqueue_req(conn)

    def finish_request(self, conn: Connection, fs) -> None:
        del self.busy[conn]
        if conn.abandoned:  # answered and counted out already
            conn.close()
            return
        if not fs.cancelled() and fs.exception() is None and not fs.result():
            self._close_gracefully(conn)  # the last answer on it: gunicorn's would block
            return
        super().finish_request(conn, fs)

    def _abandon_stuck(self, now: float) -> None:
        """Answer 504 to the requests whose answer has not started within --timeout, and restart
        the worker: a thread cannot be stopped, and may hold a model's lock. The others in
        flight are answered first, as in any graceful stop."""
        for conn in list(self.busy):
            answering = conn.answering  # before started: a kept connection's thread sets
            if now - conn.started <= self.cfg.timeout:  # started first, then answering
                break  # the others are younger
            if answering or conn.abandoned:
                continue
            conn.abandoned = True
            self.nr_conns -= 1  # the stop does not wait for it
            message = f"The server did not answer within {self.cfg.timeout} s."
            with contextlib.suppress(OSError):
                conn.sock.send(json_answer(504, message))
                conn.sock.shutdown(socket.SHUT_RDWR)
            if not self.stuck:
                self.log.error(
                    "A request to worker %s has waited for its answer over %s s (--timeout): "
                    "the worker restarts",
                    self.pid,
                    self.cfg.timeout,
                )
                self.stuck, self.alive = True, False

    def notify(self) -> None:
        """Tell the master this worker is alive, at most every :data:`NOTIFY` seconds (gunicorn's
        loop calls this each time round, so twice per request under load)."""
        now = time.monotonic()
        if now >= self.notified + self.notify_every:
            self.notified = now
            super().notify()

    # In the threads

    def handle(self, conn: Connection):
        """Answer the connection's request, then the ones it sends next while they come at once
        (a hand-off to the loop and back costs more than answering a small request)."""
        keepalive = self._answer(conn)
        while keepalive and self._next_request_here(conn):
            self._restart_clock(conn)
            keepalive = self._answer(conn)
        return keepalive

    def _answer(self, conn: Connection):
        expected, conn.expected = conn.expected, None
        try:
            if expected is None:
                return super().handle(conn)
            with expected.arriving(announced=True):  # a batch forming waits for it
                return super().handle(conn)
        finally:
            conn.sock.send_held()

    def _next_request_here(self, conn: Connection) -> bool:
        """Whether the client's next request arrives whole within NEXT_REQUEST seconds, while
        a thread stays free for others."""
        if not self.alive or len(self.busy) >= self.cfg.threads:
            return False
        if conn.parser.unreader.buf.getvalue():  # read ahead: gunicorn takes it from there
            return False
        poll = select.poll()
        poll.register(conn.sock, select.POLLIN)
        if not poll.poll(NEXT_REQUEST * 1000):
            return False
        try:
            data = conn.sock.recv(READ_SIZE, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            complete = bool(data) and arrived(data, self.limits.max_request_line)
        except (OSError, APIError):
            return False  # the loop deals with it
        if complete:
            conn.expected = _expected(data)
        return complete

    def _restart_clock(self, conn: Connection) -> None:
        """Time the next request on a connection its thread keeps from now (--timeout)."""
        del self.busy[conn]
        conn.started, conn.answering = time.monotonic(), False
        self.busy[conn] = None

    def handle_request(self, req, conn) -> bool:
        self.local.conn = conn
        conn.sock.hold_next()
        if req.body is not None:  # nothing of it is read yet
            req.body = RequestBody(req.body.reader, self.limits.body_timeout)
        try:
            return super().handle_request(req, conn)
        except TimeoutError:  # a write: the client does not read its answer
            self.log.warning(
                "Closed the connection from %s: it read nothing of its answer for %g s "
                "(--body-timeout)",
                conn.client[0] if conn.client else "?",
                self.limits.body_timeout,
            )
            return False

    def _keepalive_after(self, conn, keepalive) -> bool:
        """gunicorn drains an unread body before reusing the connection; when the rest of the
        body is late or malformed, the connection is closed (its answer went out already)."""
        if keepalive and _read_whole(conn.parser.mesg):
            return True  # nothing to drain (and no socket timeouts to set for it)
        try:
            return super()._keepalive_after(conn, keepalive)
        except APIError as error:
            self.log.debug("Closing the connection: %s", error.description)
            return False

    def handle_error(self, req, client, addr, exc) -> None:
        """gunicorn's error answer, as JSON: gunicorn chooses the status and logs, the HTML page
        it writes is replaced."""
        if isinstance(exc, APIError):
            status, message = exc.code, exc.description
            self.log.info("Refused a request from %s: %s", (addr or ("",))[0], message)
        else:
            page = _Page()
            super().handle_error(req, page, addr, exc)
            status = page.status()
            message = HTTPStatus(status).phrase
            if status < 500:
                message += f": {exc}"
        try:
            util.write_nonblock(client, json_answer(status, message))
        except OSError:
            self.log.debug("Failed to send error message.")


def is_open_event_stream(status: str, headers: list[tuple[str, str]]) -> bool:
    """Whether an answer is a Server-Sent Events stream of open length (a comment may go in)."""
    if not status.startswith("200"):
        return False
    names = {name.lower(): value for name, value in headers}
    return "content-length" not in names and names.get("content-type", "").startswith(
        "text/event-stream"
    )


def _expected(request: bytes | bytearray) -> batching.Batcher | None:
    """The batcher that now counts ``request`` (its raw first bytes) as on its way, if it is a
    prediction for a model that batches (:func:`deepserve.batching.expect`)."""
    model = predicted_model(request)
    return batching.expect(model) if model else None


def _read(sock: socket.socket) -> bytes | None:
    """What a non-blocking socket has: ``None`` if nothing yet, ``b""`` once the client closed
    its side (or the connection broke)."""
    try:
        return sock.recv(READ_SIZE)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _read_whole(request) -> bool:
    """Whether the body of ``request`` (a gunicorn request) is read to its end."""
    body = getattr(request, "body", None)
    reader = getattr(body, "reader", None)
    return (
        isinstance(reader, LengthReader)
        and reader.length == 0
        and not body.failed
        and body.buf.tell() == 0
    )


class ClientSocket(socket.socket):
    """A client's socket that sends an answer's head with the start of its body, and that a
    :class:`deepserve.keepalive.StreamKeeper` can write on between two of its thread's writes.

    gunicorn writes the head and the body of an answer apart; on their own, a small answer takes
    two segments and two wake-ups of the client. :meth:`hold_next` keeps the next write until
    the one after it, or until :meth:`send_held`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.holding = False
        self.held = b""
        self.write_lock = threading.Lock()
        self.last_write = 0.0

    def hold_next(self) -> None:
        """Keep the next :meth:`sendall` (an answer's head) for the write that follows it."""
        self.holding = True

    def sendall(self, data, flags: int = 0) -> None:
        with self.write_lock:
            if self.holding:
                self.holding, self.held = False, bytes(data)
                return
            if self.held:
                data, self.held = self.held + data, b""
            super().sendall(data, flags)
            self.last_write = time.monotonic()

    def sendfile(self, file, offset: int = 0, count: int | None = None) -> int:
        self.send_held()
        with self.write_lock:
            return super().sendfile(file, offset, count)

    def send_held(self) -> None:
        """Send what is held (the connection may be broken: its next read then says so)."""
        with self.write_lock:
            self.holding = False
            if self.held:
                held, self.held = self.held, b""
                with contextlib.suppress(OSError):
                    super().sendall(held)

    def send_now(self, data: bytes) -> None:
        """Send ``data`` if the socket takes it at once: a client that does not read what it
        was sent needs no keep-alive (the caller holds ``write_lock``)."""
        poll = select.poll()
        poll.register(self, select.POLLOUT)
        if poll.poll(0):
            super().sendall(data)
            self.last_write = time.monotonic()


class _Page:
    """Stands for the client socket while gunicorn writes its HTML error page; keeps its status."""

    def __init__(self) -> None:
        self.written = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.written += data

    def status(self) -> int:
        """The status of the page written (500 if none was)."""
        parts = self.written.split(b" ", 2)
        return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 500


def stop_with_parent() -> None:
    """Have the kernel send this process SIGTERM when its parent dies (Linux only; elsewhere
    gunicorn's loop notices a new parent within a second)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
