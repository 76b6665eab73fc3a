"""Turn what a model returned into a response document or a binary body (HTTP and CLI alike)."""

from __future__ import annotations

import io
import json
import mimetypes
import os
import pathlib
import shutil
from collections.abc import Iterable
from typing import Any

from marshmallow import ValidationError

from .errors import ModelError
from .record import ModelRecord


def json_default(value: Any) -> Any:
    """Serialise array-likes (NumPy, PyTorch, ...) through their ``tolist``."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ENCODER = json.JSONEncoder(default=json_default, allow_nan=False)


def dumps(document: Any) -> str:
    """Strict JSON (no NaN/Infinity), array-likes converted."""
    return _ENCODER.encode(document)


def is_json(media_type: str) -> bool:
    """``application/json`` and the ``+json`` family."""
    return media_type == "application/json" or media_type.endswith("+json")


def prediction_document(record: ModelRecord, output: Any) -> str:
    """The JSON answer to a prediction: schema-validated output, or the DEEPaaS envelope; a
    streaming model's items collected."""
    if record.streams:
        return collected_document(record, output)
    if record.schema is None:
        return checked_json(record, {"status": "OK", "predictions": output})
    return checked_json(record, validated(record, output))


def item_document(record: ModelRecord, item: Any) -> str:
    """One item of a streaming model as JSON text, validated by its schema (which describes an
    item) if it has one."""
    return checked_json(record, item if record.schema is None else validated(record, item))


def collected_document(record: ModelRecord, items: Iterable[Any]) -> str:
    """A streaming model's items in one prediction document: ``{"status": "OK",
    "predictions": [items]}``."""
    if record.schema is not None:
        items = [validated(record, item) for item in items]
    return checked_json(record, {"status": "OK", "predictions": list(items)})


def validated(record: ModelRecord, output: Any) -> Any:
    """``output`` loaded and dumped by the model's response schema; 500 when it breaks it."""
    try:
        return record.schema.dump(record.schema.load(output))
    except ValidationError as error:
        raise schema_mismatch(record, error) from error


def schema_mismatch(record: ModelRecord, error: ValidationError) -> ModelError:
    """The error for an output that breaks the model's response schema (the model's bug)."""
    return ModelError(
        f"Model '{record.name}' returned output that does not match its response schema.",
        errors=error.normalized_messages(),
    )


def checked_json(record: ModelRecord, document: Any) -> str:
    """``document`` as JSON text; a model output that cannot be JSON is the model's error."""
    try:
        return dumps(document)
    except (TypeError, ValueError) as error:
        raise ModelError(
            f"Model '{record.name}' returned output that is not JSON: {error}"
        ) from error


def binary_body(record: ModelRecord, output: Any, media_type: str):
    """Bytes, a readable binary file object, or a :class:`pathlib.Path` for ``media_type``."""
    if isinstance(output, (bytes, bytearray, memoryview)):
        return bytes(output)
    if isinstance(output, pathlib.Path) or (isinstance(output, str) and os.path.isfile(output)):
        path = pathlib.Path(output)
        if path.is_file():
            return path
        raise ModelError(f"Model '{record.name}' returned a path that is not a file: {path}")
    if isinstance(output, str) and media_type.startswith("text/"):
        return output.encode("utf-8")
    if isinstance(output, io.TextIOBase):
        return output.read().encode("utf-8")
    if callable(getattr(output, "read", None)):
        return output
    raise ModelError(
        f"Model '{record.name}' returned {type(output).__name__} for {media_type}; expected "
        "bytes, a binary file object, a path, or text for text/* types"
    )


def content_type(media_type: str, body: Any) -> str:
    """The Content-Type of a binary body: ``media_type``; for a range such as ``image/*``, the
    type of the returned file's name when it is in that range, else the range itself."""
    if not media_type.endswith("/*"):
        return media_type
    name = getattr(body, "name", None)  # open files and paths have one
    guessed = mimetypes.guess_type(name)[0] if isinstance(name, str) else None
    if guessed and guessed.startswith(media_type[:-1]):
        return guessed
    return media_type


def write_body(body: Any, target: pathlib.Path) -> None:
    """Write a :func:`binary_body` (bytes, a path, or a binary file object) to ``target``."""
    if isinstance(body, bytes):
        target.write_bytes(body)
    elif isinstance(body, pathlib.Path):
        shutil.copyfile(body, target)
    else:
        with body, open(target, "wb") as output:
            shutil.copyfileobj(body, output)
