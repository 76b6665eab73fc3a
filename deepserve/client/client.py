"""``Client``: every model of a deepserve server, described by the server's own spec."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from .errors import ClientError
from .jobs import Job
from .spec import (
    STREAM_TYPES,
    ModelOperations,
    Operation,
    check_arguments,
    describe,
    model_operations,
)
from .streams import ndjson_items, sse_items
from .transport import Transport, document

JSON = "application/json"


@dataclass(frozen=True)
class BinaryResult:
    """A prediction in a media type other than JSON: the body and its ``Content-Type``."""

    content: bytes
    media_type: str


class Client:
    """A deepserve server at ``url`` (with its base path, e.g. ``http://host/models-api``).

    The server's ``/swagger.json`` is read once, here: it names the models, their arguments
    and what they produce, so arguments are checked before any request. ``token`` is sent as
    ``Authorization: Bearer``. ``timeout`` (seconds, per request), ``retries`` and ``backoff``
    are passed to :class:`~deepserve.client.transport.Transport`.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float | None = 300,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.transport = Transport(url, token, timeout=timeout, retries=retries, backoff=backoff)
        self.spec: dict = self.transport.json("GET", "/swagger.json")
        self.operations: dict[str, ModelOperations] = model_operations(self.spec)

    @property
    def url(self) -> str:
        return self.transport.url

    @property
    def model_names(self) -> list[str]:
        """The served models' names."""
        return list(self.operations)

    def view_api(self, model: str | None = None, print_info: bool = True) -> str:
        """How to call ``model`` (or every model): each method with its arguments' types,
        choices, ranges, defaults and descriptions, from the spec. Printed unless
        ``print_info`` is false; returned as text either way."""
        chosen = list(self.operations.values())
        if model is not None:
            chosen = [self.operations_of(model)]
        lines = []
        for ops in chosen:
            lines.append(f"{ops.name}:")
            for method in ("predict", "validate", "train"):
                op = getattr(ops, method)
                if op is None:
                    continue
                produces = ", ".join(op.produces) + (" (streams)" if op.streams else "")
                lines.append(f"  {method}({', '.join(op.names)}) -> {produces}")
                lines += [f"    {param['name']}: {describe(param)}" for param in op.parameters]
        text = "\n".join(lines)
        if print_info:
            print(text)
        return text

    def models(self) -> list[dict]:
        """Every served model's metadata (``GET /v2/models/``)."""
        return self.transport.json("GET", "/v2/models/")["models"]

    def metadata(self, model: str) -> dict:
        """One model's metadata."""
        return self.transport.json("GET", f"/v2/models/{self.operations_of(model).name}/")

    def health(self) -> dict:
        """Readiness of the server and of each model, asked once (no retry); does not raise
        when some model is not ready yet (``{"ready": false, ...}``)."""
        try:
            return self.transport.json("GET", "/v2/health/ready", retry=False)
        except ClientError as error:
            if error.status == 503 and isinstance(error.body, dict) and "ready" in error.body:
                return error.body
            raise

    def predict(
        self,
        model: str,
        values: Mapping[str, Any] | None = None,
        /,
        *,
        accept: str | None = None,
        stream: bool = False,
        **arguments: Any,
    ) -> Any:
        """Run a prediction of ``model`` with ``arguments`` (and ``values``, a mapping for
        arguments named like this method's own: ``accept``, ``stream``).

        Returns the JSON document; with ``accept`` a non-JSON media type, a
        :class:`BinaryResult`. With ``stream=True`` (models that stream), an iterator of the
        items as the model yields them. Files are given as paths or binary file objects.
        """
        op = self.operations_of(model).predict
        arguments = _merged(values, arguments)
        if stream:
            return self._stream(op, arguments, accept)
        media_type = accept or (JSON if JSON in op.produces else op.produces[0])
        response = self._post(op, arguments, headers={"Accept": media_type})
        return _result(response)

    def validate(
        self, model: str, values: Mapping[str, Any] | None = None, /, **arguments: Any
    ) -> Any:
        """Run ``model``'s validation; returns ``{"status": "OK", "result": ...}``."""
        op = self.operations_of(model).validate
        if op is None:
            raise ClientError(f"Model '{model}' does not implement validate.")
        return document(self._post(op, _merged(values, arguments)))

    def train(
        self, model: str, values: Mapping[str, Any] | None = None, /, **arguments: Any
    ) -> Job:
        """Start a training job of ``model``; returns it at once (see :meth:`Job.wait`)."""
        op = self.operations_of(model).train
        if op is None:
            raise ClientError(f"Model '{model}' does not implement train.")
        return Job(self.transport, document(self._post(op, _merged(values, arguments))))

    def job(self, model: str, job_id: str) -> Job:
        """A training job of ``model`` by its id."""
        path = f"/v2/models/{self.operations_of(model).name}/train/{job_id}"
        return Job(self.transport, self.transport.json("GET", path))

    def jobs(self, model: str, status: str | None = None) -> list[Job]:
        """``model``'s training jobs, newest first (only those with ``status``, if given)."""
        path = f"/v2/models/{self.operations_of(model).name}/train/"
        params = {"status": status} if status else None
        found = self.transport.json("GET", path, params=params)
        if isinstance(found, dict):  # a DEEPaaS model's jobs come as a bare array
            found = found["jobs"]
        return [Job(self.transport, document) for document in found]

    def close(self) -> None:
        """Close the connections kept open."""
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def operations_of(self, name: str) -> ModelOperations:
        """``name``'s operations; for a name the spec lacks, the server's own 404 (with the
        close names) or 503 (with why the model failed to load)."""
        if name in self.operations:
            return self.operations[name]
        self.transport.request("GET", f"/v2/models/{quote(name, safe='')}/", retry=False)
        served = ", ".join(self.operations) or "none"
        raise ClientError(f"Model '{name}' is not in the server's spec (served: {served}).")

    def _stream(self, op: Operation, arguments: Mapping, accept: str | None) -> Iterator[Any]:
        if not op.streams:
            raise ClientError(f"{op.path} does not stream; call it without stream=True.")
        media_type = accept or STREAM_TYPES[0]
        if media_type not in STREAM_TYPES:
            raise ClientError(f"Streams come as {' or '.join(STREAM_TYPES)}, not {media_type}.")
        response = self._post(op, arguments, headers={"Accept": media_type}, stream=True)
        parse = sse_items if media_type == STREAM_TYPES[0] else ndjson_items
        return closing(response, parse(response.iter_lines()))

    def _post(self, op: Operation, arguments: Mapping, **kwargs: Any) -> requests.Response:
        values = check_arguments(op, arguments)
        files = {n: values.pop(n) for n in list(values) if n in op.file_names}
        if not files:
            return self.transport.request("POST", op.path, json=values, **kwargs)
        with contextlib.ExitStack() as opened:
            parts = [(name, _file_part(value, opened)) for name, value in files.items()]
            data = [
                (name, _form_value(item))
                for name, value in values.items()
                for item in (value if isinstance(value, list) else [value])
            ]
            return self.transport.request("POST", op.path, data=data, files=parts, **kwargs)


def _merged(values: Mapping[str, Any] | None, keywords: dict[str, Any]) -> dict[str, Any]:
    """A call's arguments: the mapping ``values``, then the keyword arguments (which win)."""
    return {**(values or {}), **keywords}


def _result(response: requests.Response) -> Any:
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    if media_type == JSON or media_type.endswith("+json"):
        return document(response)
    return BinaryResult(response.content, media_type)


def closing(response: requests.Response, items: Iterator[Any]) -> Iterator[Any]:
    """``items`` read from ``response``, closed at the end; a broken connection or a line that
    is not JSON is a ClientError."""
    with response:
        try:
            yield from items
        except requests.RequestException as error:
            raise ClientError(f"The stream broke off: {error}") from error
        except ValueError as error:
            raise ClientError(f"The stream sent something that is not JSON: {error}") from error


def _file_part(value: Any, opened: contextlib.ExitStack) -> tuple[str, Any]:
    if isinstance(value, (str, os.PathLike)):
        return os.path.basename(value), opened.enter_context(open(value, "rb"))
    name = getattr(value, "name", None)  # open files have one; an int is a descriptor
    return (os.path.basename(name) if isinstance(name, str) else "upload"), value


def _form_value(value: Any) -> str:
    """A form field's text: JSON spelling for booleans (``true``), as the server reads them."""
    return json.dumps(value) if isinstance(value, bool) else str(value)
