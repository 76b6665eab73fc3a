"""Adaptive batching: concurrent predictions of a model joined into calls of its ``predict_batch``.

Request threads :meth:`Batcher.submit` their arguments and wait; one thread per model and
process (started by the first submission) takes what is queued and calls the model once for up
to ``max_size`` requests. A batch leaves the queue when

- it is full (``max_size`` requests, or as many as the worker answers at once:
  :func:`limit_batches_to`), or
- no other request for the model is on its way (announced by :func:`expect` when the worker has
  read it, or by :meth:`Batcher.arriving`, and not queued yet): an idle server never waits for
  company, or
- its oldest request has waited ``max_wait_ms``; or, when requests queued while the last batch
  ran (a busy server), once ``max_wait_ms`` have passed since the model became free.

While the model computes, new requests queue up, so under load batches grow by themselves.

Failures stay with the request that caused them: ``predict_batch`` may return an exception in
place of an item's output, which answers that request alone; when the whole call raises, the
batch is split in halves and each half retried (down to single requests), so only the culprit
fails; a call that returns the wrong number of outputs fails every request of its batch.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from .errors import APIError, ModelError

log = logging.getLogger("deepserve")

#: What a model gets when it declares ``predict_batch`` but no limits of its own.
DEFAULT_MAX_SIZE = 32
DEFAULT_MAX_WAIT_MS = 5.0


@dataclasses.dataclass(frozen=True)
class BatchPolicy:
    """How large a batch may grow, and how long its first request may wait for more."""

    max_size: int = DEFAULT_MAX_SIZE
    max_wait_ms: float = DEFAULT_MAX_WAIT_MS

    def __post_init__(self) -> None:
        if isinstance(self.max_size, bool) or not isinstance(self.max_size, int):
            raise ValueError(f"the batch size must be an integer, not {self.max_size!r}")
        if self.max_size < 1:
            raise ValueError(f"the batch size must be at least 1, not {self.max_size}")
        if isinstance(self.max_wait_ms, bool) or not isinstance(self.max_wait_ms, (int, float)):
            raise ValueError(f"the batch wait must be a number of ms, not {self.max_wait_ms!r}")
        if not 0 <= self.max_wait_ms <= 60_000:
            raise ValueError(f"the batch wait must be 0 to 60000 ms, not {self.max_wait_ms}")


def parse_policy(text: str) -> tuple[str, BatchPolicy]:
    """``MODEL=SIZE[,WAIT_MS]`` (as given to ``--batch``) as the model's name and its policy."""
    name, equals, limits = text.partition("=")
    size, _, wait = limits.partition(",")
    if not equals or not name.strip() or not size.strip():
        raise ValueError(f"{text!r} is not MODEL=SIZE or MODEL=SIZE,WAIT_MS")
    try:
        policy = BatchPolicy(int(size), float(wait) if wait.strip() else DEFAULT_MAX_WAIT_MS)
    except ValueError as error:
        raise ValueError(f"{text!r}: {error}") from error
    return name.strip(), policy


class BatchObserver(Protocol):
    """Where a batcher reports what it does (the Prometheus metrics of its model)."""

    def batch(self, size: int, waits: Sequence[float]) -> None:
        """A batch of ``size`` requests left the queue; each waited ``waits`` seconds."""

    def split(self, size: int) -> None:
        """A call for ``size`` requests raised; they are retried as two halves."""


class _Unobserved:
    def batch(self, size: int, waits: Sequence[float]) -> None:
        pass

    def split(self, size: int) -> None:
        pass


class _Item:
    """One submitted request: its arguments, and the answer the batch thread gives it."""

    __slots__ = ("args", "queued", "done", "output", "error", "batch_size")

    def __init__(self, args: dict) -> None:
        self.args = args
        self.queued = time.monotonic()
        self.done = threading.Event()
        self.output: Any = None
        self.error: Exception | None = None
        self.batch_size = 0

    def answer(self, output: Any, batch_size: int) -> None:
        """Give the request its output, or its error when ``output`` is an exception."""
        if isinstance(output, Exception):
            self.error = output
        else:
            self.output = output
        self.batch_size = batch_size
        self.done.set()


_batchers: weakref.WeakSet[Batcher] = weakref.WeakSet()
_named: weakref.WeakValueDictionary[str, Batcher] = weakref.WeakValueDictionary()
_capacity: int | None = None  # requests this process answers at once, if known


def limit_batches_to(threads: int) -> None:
    """This process answers at most ``threads`` requests at once: no batch can hold more, and
    one that holds that many leaves without waiting (called by the worker at its start)."""
    global _capacity
    _capacity = threads


def expect(name: str) -> Batcher | None:
    """Count a prediction request for model ``name`` as on its way from the moment the server
    has read it (before a thread parses it); returns the model's batcher, whose
    :meth:`~Batcher.arriving` with ``announced=True`` must then wrap the request's handling.
    None (and nothing counted) when the model does not batch."""
    batcher = _named.get(name)
    if batcher is None or batcher.policy.max_size <= 1:
        return None
    batcher._announce()
    return batcher


class Batcher:
    """The queue and batch thread of one model in one process.

    ``call`` runs the model on a list of argument dicts and returns one output (or exception)
    per dict, in order; it may raise. ``name`` labels logs and error messages.
    """

    def __init__(
        self,
        name: str,
        call: Callable[[list[dict]], Sequence[Any]],
        policy: BatchPolicy,
        observer: BatchObserver | None = None,
    ) -> None:
        self.name = name
        self.call = call
        self.policy = policy
        self.observer: BatchObserver = observer or _Unobserved()
        self._reset()
        _batchers.add(self)
        _named[name] = self

    def _reset(self) -> None:
        """A fresh queue and no thread (at creation, and in a forked child: threads do not
        survive a fork)."""
        self._condition = threading.Condition(threading.Lock())
        self._queue: list[_Item] = []
        self._arriving = 0  # announced by arriving() and not queued yet
        self._local = threading.local()
        self._thread: threading.Thread | None = None
        self._closing = False

    @contextmanager
    def arriving(self, announced: bool = False) -> Iterator[None]:
        """Announce a request that will be submitted from inside this block (after its
        arguments are parsed), so that a batch forming meanwhile waits for it; ``announced``:
        :func:`expect` counted it already. A block inside one that announced it announces
        nothing more; whichever of them ends first without a submission ends the announcement
        (a 422 stops being awaited when the route is done, not once its answer is written)."""
        if not getattr(self._local, "announced", False):
            if not announced:
                self._announce()
            self._local.announced = True
        try:
            yield
        finally:
            if self._local.announced:  # never submitted (a 422, say): stop waiting for it
                self._local.announced = False
                with self._condition:
                    self._arriving -= 1
                    self._condition.notify()

    def _announce(self) -> None:
        """Count one more request on its way."""
        with self._condition:
            self._arriving += 1

    def submit(self, args: dict, on_batch: Callable[[int], None] | None = None) -> Any:
        """Queue one request, wait for its batch and return its output; ``on_batch`` gets the
        size of the batch that answered it.

        Raises what the model gave for this request (the exception it returned or raised).
        """
        item = _Item(args)
        announced = getattr(self._local, "announced", False)
        with self._condition:
            if self._closing:
                raise APIError(503, f"Model '{self.name}' is shutting down.")
            if self._thread is None:
                self._start()
            if announced:
                self._local.announced = False
                self._arriving -= 1
            self._queue.append(item)
            self._condition.notify()
        item.done.wait()
        if on_batch is not None and item.batch_size:
            on_batch(item.batch_size)
        if item.error is not None:
            raise item.error
        return item.output

    def close(self) -> None:
        """Refuse new requests (503), answer every queued one, and stop the batch thread."""
        with self._condition:
            self._closing = True
            self._condition.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"deepserve-batch-{self.name}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        ran = False  # a batch ran before this one
        while True:
            batch = self._next_batch(busy=ran)
            ran = True
            if batch is None:
                return
            try:
                self._execute(batch)
            except BaseException as error:  # SystemExit from a model, a failing observer...
                # ...must neither leave a request without an answer nor stop the thread
                log.exception("model %r: a batch of %d failed", self.name, len(batch))
                for item in batch:
                    if not item.done.is_set():
                        item.answer(ModelError(f"Model '{self.name}' failed: {error!r}"), 0)

    def _next_batch(self, busy: bool) -> list[_Item] | None:
        """The requests of the next batch, when one is due; None once closed and drained.
        ``busy``: a batch just ran (requests queued meanwhile mean more are coming)."""
        policy = self.policy
        full = policy.max_size if _capacity is None else min(policy.max_size, _capacity)
        with self._condition:
            # Requests that queued while the last batch ran: the server is busy, and more are on
            # their way that it cannot see yet (sent by clients as their answers leave, not read
            # by the worker yet, whose loop shares the interpreter with the model): a batch may
            # wait for them up to the max wait from now. An idle server sends at once.
            busy_since = time.monotonic() if busy and self._queue else None
            while True:
                if self._queue:
                    if len(self._queue) >= full or self._closing:
                        break
                    if self._arriving <= 0 and busy_since is None:
                        break
                    start = busy_since if busy_since is not None else self._queue[0].queued
                    due = start + policy.max_wait_ms / 1000
                    remaining = due - time.monotonic()
                    if remaining <= 0:
                        break
                    self._condition.wait(remaining)
                elif self._closing:
                    return None
                else:
                    self._condition.wait()
            batch = self._queue[: policy.max_size]
            del self._queue[: policy.max_size]
        return batch

    def _execute(self, batch: list[_Item]) -> None:
        now = time.monotonic()
        self.observer.batch(len(batch), [now - item.queued for item in batch])
        self._solve(batch)

    def _solve(self, batch: list[_Item]) -> None:
        """Run ``batch``; if the call raises, split it in halves and run each, down to the
        single request that fails."""
        size = len(batch)
        try:
            outputs = self.call([item.args for item in batch])
        except Exception as error:
            if size == 1:
                batch[0].answer(error, 1)
                return
            half = size // 2
            log.warning(
                "model %r: a batch of %d failed (%s: %s); retrying it as batches of %d and %d",
                *(self.name, size, type(error).__name__, error, half, size - half),
            )
            self.observer.split(size)
            self._solve(batch[:half])
            self._solve(batch[half:])
            return
        try:
            outputs = list(outputs)
        except TypeError:
            outputs = None
        if outputs is None or len(outputs) != size:
            got = f"{len(outputs)} outputs" if outputs is not None else "no list"
            error = ModelError(
                f"Model '{self.name}' failed in predict_batch: it returned {got} for a batch "
                f"of {size} requests."
            )
            log.error("%s", error.description)
            for item in batch:
                item.answer(error, size)
            return
        for item, output in zip(batch, outputs, strict=True):
            item.answer(output, size)


def _after_fork() -> None:
    for batcher in list(_batchers):
        batcher._reset()


os.register_at_fork(after_in_child=_after_fork)
