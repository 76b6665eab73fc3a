"""ModelRecord: one validated model and the single wrapper through which it is called."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NoReturn

from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import HTTPException

from .arguments import ArgumentSpec, DeclarationError, response_schema
from .batching import DEFAULT_MAX_SIZE, DEFAULT_MAX_WAIT_MS, Batcher, BatchObserver, BatchPolicy
from .errors import APIError, ModelError, NotSupported
from .model import JSON, BaseModel

log = logging.getLogger("deepserve")

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MEDIA_TYPE = re.compile(r"^[\w.+-]+/(?:[\w.+-]+|\*)$")
REQUIRED = ("get_metadata", "get_predict_args", "predict")
SSE = "text/event-stream"
NDJSON = "application/x-ndjson"
#: The framings a streaming model's items can be sent in, besides collected in one JSON document.
STREAM_TYPES = (SSE, NDJSON)


def implements(obj: Any, member: str) -> bool:
    """Whether ``obj`` provides ``member`` as a callable other than BaseModel's placeholder."""
    value = getattr(obj, member, None)
    if not callable(value):
        return False
    placeholder = getattr(BaseModel, member, None)
    return getattr(value, "__func__", value) is not placeholder


class ModelRecord:
    """A model that passed validation, with its argument specs converted once.

    Construction validates the model and raises :class:`DeclarationError` with the reason
    when it cannot be served.
    """

    def __init__(self, name: str, obj: Any, target: str = "", group: str = "") -> None:
        if not NAME_PATTERN.match(name):
            raise DeclarationError(f"name {name!r} is not URL-safe (letters, digits, '_.-')")
        for member in REQUIRED:
            if not implements(obj, member):
                raise DeclarationError(f"missing or non-callable required member '{member}'")
        self.name = name
        self.obj = obj
        self.target = target  # the entry point's "module:attr", for messages
        self.group = group  # the entry-point group it was found in
        self.metadata()  # validated now, re-read on each request (it may change after training)
        self.predict_args = ArgumentSpec(
            obj.get_predict_args(),
            label=f"{name} predict args",
            ignored=("accept",),  # the Accept header chooses; DEEPaaS clients also send a field
        )
        self.schema = response_schema(getattr(obj, "schema", None), f"{name} schema")
        self.media_types = _media_types(getattr(obj, "predict_media_types", (JSON,)))
        self.streams = _streams(getattr(obj, "predict_streams", False), self.media_types)
        #: What a predict request may ask for: the declared types, and a stream's framings.
        self.answer_types = self.media_types + STREAM_TYPES if self.streams else self.media_types
        self.validate_args = self._optional_args("validate")
        self.train_args = self._optional_args("train")
        # Every call of the model holds this lock, unless it declares itself thread-safe.
        self.thread_safe = getattr(obj, "thread_safe", False) is True
        self._lock = contextlib.nullcontext() if self.thread_safe else threading.Lock()
        self.batcher = self._batcher()
        # Set by warm() in the process that ran it: gunicorn forks workers from the master, so
        # each worker has its own copy and only its own warm() makes it True.
        self.warmed = False

    def _optional_args(self, method: str) -> ArgumentSpec | None:
        if not implements(self.obj, method):
            return None
        getter = getattr(self.obj, f"get_{method}_args", None)
        declared = getter() if callable(getter) else {}
        return ArgumentSpec(declared, label=f"{self.name} {method} args")

    def _batcher(self) -> Batcher | None:
        """The batcher of a model that declares ``predict_batch`` (None for the others)."""
        if not implements(self.obj, "predict_batch"):
            return None
        try:
            policy = BatchPolicy(
                getattr(self.obj, "max_batch_size", DEFAULT_MAX_SIZE),
                getattr(self.obj, "max_batch_wait_ms", DEFAULT_MAX_WAIT_MS),
            )
        except ValueError as error:
            raise DeclarationError(f"max_batch_size/max_batch_wait_ms: {error}") from error
        return Batcher(self.name, self._call_batch, policy)

    def set_batch_policy(self, policy: BatchPolicy) -> None:
        """Override the model's own batch limits (``--batch``); ValueError if it does not batch."""
        if self.batcher is None:
            raise ValueError(f"model '{self.name}' does not implement predict_batch")
        self.batcher.policy = policy

    def observe_batches(self, observer: BatchObserver) -> None:
        """Report this model's batches to ``observer`` (metrics); nothing for unbatched ones."""
        if self.batcher is not None:
            self.batcher.observer = observer

    @property
    def batching(self) -> bool:
        """Whether predictions go through the batcher (a batch size of 1 calls ``predict``)."""
        return self.batcher is not None and self.batcher.policy.max_size > 1

    def arriving(self) -> contextlib.AbstractContextManager:
        """Wrap the handling of a predict request: a batch forming meanwhile waits for it."""
        return self.batcher.arriving() if self.batching else contextlib.nullcontext()

    def close(self) -> None:
        """Answer the requests queued for a batch, then refuse new ones (a stopping server)."""
        if self.batcher is not None:
            self.batcher.close()

    def metadata(self) -> dict:
        """The model's metadata, checked to be a JSON object."""
        metadata = self.obj.get_metadata()
        if not isinstance(metadata, Mapping):
            raise DeclarationError(
                f"get_metadata() must return a dict, got {type(metadata).__name__}"
            )
        try:
            json.dumps(metadata)
        except (TypeError, ValueError) as error:
            raise DeclarationError(f"get_metadata() is not JSON-serialisable: {error}") from error
        return dict(metadata)

    def warm(self) -> None:
        """Run the model's ``warm`` hook, if any, and mark this process's copy as warmed."""
        if callable(getattr(self.obj, "warm", None)):
            self.obj.warm()
        self.warmed = True

    def negotiate(self, accept: MIMEAccept) -> str:
        """The media type to answer with for an ``Accept`` header; 406 if none fits."""
        if not accept:
            return self.answer_types[0]
        best = accept.best_match(self.answer_types)
        if best is None:
            raise APIError(
                406,
                f"Model '{self.name}' cannot produce any of the accepted media types.",
                available=list(self.answer_types),
            )
        return best

    def predict(
        self,
        args: dict,
        media_type: str = JSON,
        on_batch: Callable[[int], None] | None = None,
    ) -> Any:
        """Call ``predict``, or ``predict_batch`` with concurrent requests for a batching model
        (``on_batch`` then gets the size of the batch); with several media types, the chosen
        one comes as ``accept``. A streaming model's items come as :meth:`stream` gives
        them."""
        if self.streams:
            return self.stream(args)
        if len(self.media_types) > 1:
            args = {**args, "accept": media_type}
        if not self.batching:
            return self._call("predict", args)
        try:
            return self.batcher.submit(args, on_batch)
        except Exception as error:
            self._fail("predict", error)

    def predict_rows(self, rows: list[dict], media_type: str = JSON) -> list[Any]:
        """Predict for the argument sets of one request (the rows of an Open Inference Protocol
        tensor): ``predict_batch`` calls of at most the batch size in force (the model's
        ``max_batch_size``, or ``--batch``) when the model batches, else one ``predict`` call
        per row (each call counted as a batch in the metrics). An exception in place of an
        output fails the request, naming its row."""
        if not self.batching:
            return [self.predict(args, media_type) for args in rows]
        if len(self.media_types) > 1:
            rows = [{**args, "accept": media_type} for args in rows]
        size = self.batcher.policy.max_size
        outputs: list[Any] = []
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            self.batcher.observer.batch(len(chunk), [0.0] * len(chunk))  # no queue: no wait
            try:
                answers = self._call_batch(chunk)
            except Exception as error:
                self._fail("predict_batch", error)
            if not isinstance(answers, list) or len(answers) != len(chunk):
                raise ModelError(
                    f"Model '{self.name}': predict_batch must return a list of "
                    f"{len(chunk)} outputs, one per request"
                )
            outputs += answers
        for row, output in enumerate(outputs):
            if isinstance(output, HTTPException):
                raise output
            if isinstance(output, Exception):
                raise ModelError(
                    f"Model '{self.name}' failed in predict_batch for row {row}: "
                    f"{type(output).__name__}: {output}"
                )
        return outputs

    def stream(self, args: dict) -> Iterator[Any]:
        """Call a streaming model's ``predict`` and iterate over its items.

        A failure of the model, in the call or while it produces an item, is a
        :class:`ModelError`; closing the returned generator (the client went away) closes the
        model's own iterator, so that its ``finally`` blocks run.
        """
        output = self._call("predict", args)
        if isinstance(output, (str, bytes, Mapping)) or not isinstance(output, Iterable):
            raise ModelError(
                f"Model '{self.name}' declares predict_streams but its predict returned "
                f"{type(output).__name__}, not an iterator"
            )
        return self._items(iter(output))

    def _items(self, iterator: Iterator[Any]) -> Iterator[Any]:
        try:
            while True:
                try:
                    with self._lock:  # the generator's body is the model working
                        item = next(iterator)
                except StopIteration:
                    return
                except Exception as error:
                    self._fail("predict", error)
                yield item
        finally:
            close = getattr(iterator, "close", None)
            if callable(close):
                close()

    def validate(self, args: dict) -> Any:
        """Call ``validate``; 501 when the model does not implement it."""
        return self._call_optional("validate", args)

    def train(self, args: dict) -> Any:
        """Call ``train`` (done by a training job); 501 when the model does not implement it."""
        return self._call_optional("train", args)

    def _call_optional(self, method: str, args: dict) -> Any:
        if getattr(self, f"{method}_args") is None:
            raise NotSupported(self.name, method)
        return self._call(method, args)

    def _call(self, method: str, args: dict) -> Any:
        try:
            with self._lock:
                return getattr(self.obj, method)(**args)
        except Exception as error:
            self._fail(method, error)

    def _call_batch(self, batch: list[dict]) -> Any:
        with self._lock:
            return self.obj.predict_batch(batch)

    def _fail(self, method: str, error: Exception) -> NoReturn:
        """Raise what the caller gets for ``error``, raised by (or returned from) the model: the
        model's own HTTP answer (e.g. abort(400)) as it is, anything else a logged 500."""
        if isinstance(error, HTTPException):
            raise error
        exc_info = (type(error), error, error.__traceback__)
        log.error("model %r failed in %s", self.name, method, exc_info=exc_info)
        raise ModelError(
            f"Model '{self.name}' failed in {method}: {type(error).__name__}: {error}"
        ) from error


def is_media_type(value: Any) -> bool:
    """Whether ``value`` is a media type (``image/png``) or a type's range (``image/*``)."""
    return isinstance(value, str) and bool(_MEDIA_TYPE.match(value))


def _streams(declared: Any, media_types: tuple[str, ...]) -> bool:
    if not isinstance(declared, bool):
        raise DeclarationError(f"predict_streams must be True or False, not {declared!r}")
    if declared and media_types != (JSON,):
        raise DeclarationError(
            "predict_streams: a streaming model's items are JSON, so it cannot also declare "
            "predict_media_types"
        )
    return declared


def _media_types(declared: Any) -> tuple[str, ...]:
    if isinstance(declared, str) or not declared:
        raise DeclarationError("predict_media_types must be a non-empty list of media types")
    types = tuple(declared)
    for media_type in types:
        if not is_media_type(media_type):
            raise DeclarationError(f"predict_media_types: {media_type!r} is not a media type")
    return types
