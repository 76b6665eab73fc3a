"""A model's arguments and response fields as Open Inference Protocol tensors.

Each predict argument is an input tensor of the same name: numbers ``FP64``, integers
``INT64``, booleans ``BOOL``, strings (and dates) ``BYTES``, files ``BYTES`` (the file's
content), and a list of one of these a 2-D tensor ``[rows, items]``. The first dimension
counts rows: a tensor of N rows is N predictions (an input of one row is used for every row),
in ``predict_batch`` calls when the model has that method.
Outputs are the fields of the model's response schema (``predictions`` without one); a field
that is not a number, string, boolean or list of these is ``BYTES`` holding each row's JSON.
A model with an argument of another kind, that cannot answer JSON, or that streams is not an
OIP model: it is not listed and its OIP paths answer 404 with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from marshmallow import fields

from ..errors import APIError
from ..model import JSON, is_file_field
from ..outputs import dumps, prediction_document
from ..record import ModelRecord
from ..tensors import (
    FLOATS,
    INTEGERS,
    TensorError,
    binary_chunks,
    check_tensor,
    encode,
    flatten,
    input_elements,
)
from .uploads import stored_file

DATATYPES = {"number": "FP64", "integer": "INT64", "boolean": "BOOL"}  # others: BYTES
ACCEPTED = {
    "number": frozenset({*FLOATS, *INTEGERS}),
    "integer": frozenset(INTEGERS),
    "boolean": frozenset({"BOOL"}),
}
_STRINGS = (fields.String, fields.DateTime, fields.Date, fields.Time)


class Unmappable(ValueError):
    """A model that cannot be served over the Open Inference Protocol."""


@dataclass(frozen=True)
class TensorSpec:
    """How one argument or output field maps to a tensor.

    ``kind``: ``number``, ``integer``, ``boolean``, ``string``, ``file`` or ``json`` (any
    JSON value, as text); ``is_list``: each row holds a list (a 2-D tensor).
    """

    name: str
    kind: str
    is_list: bool = False

    @property
    def datatype(self) -> str:
        return DATATYPES.get(self.kind, "BYTES")

    def metadata(self) -> dict:
        shape = [-1, -1] if self.is_list else [-1]
        return {"name": self.name, "datatype": self.datatype, "shape": shape}


def field_kind(field: fields.Field) -> str | None:
    """The tensor kind of a scalar field, or None."""
    if is_file_field(field):
        return "file"
    if isinstance(field, fields.Boolean):
        return "boolean"
    if isinstance(field, fields.Integer):
        return "integer"
    if isinstance(field, fields.Number):
        return "number"
    if isinstance(field, _STRINGS):
        return "string"
    return None


def field_spec(name: str, field: fields.Field) -> TensorSpec | None:
    """The tensor of a field: a scalar kind, or a list of one; None if it has none."""
    is_list = isinstance(field, fields.List)
    kind = field_kind(field.inner if is_list else field)
    return TensorSpec(name, kind, is_list) if kind else None


class OipModel:
    """A model's tensors, worked out once at start-up; raises Unmappable with the reason."""

    def __init__(self, record: ModelRecord) -> None:
        if JSON not in record.media_types:
            raise Unmappable(f"its predict answers only {', '.join(record.media_types)}, not JSON")
        if getattr(record.obj, "predict_streams", False) is True:
            raise Unmappable("it streams its predictions, and OIP answers whole tensors")
        self.record = record
        self.inputs: dict[str, TensorSpec] = {}
        for name, field in record.predict_args.fields.items():
            spec = field_spec(field.data_key or name, field)
            if spec is None:
                raise Unmappable(f"argument '{name}' ({type(field).__name__}) has no tensor form")
            self.inputs[spec.name] = spec
        self.required = frozenset(
            field.data_key or name
            for name, field in record.predict_args.fields.items()
            if field.required
        )
        if record.schema is None:
            self.outputs = [TensorSpec("predictions", "json")]
        else:
            self.outputs = [
                _output_spec(field.data_key or name, field)
                for name, field in record.schema.fields.items()
                if not field.load_only
            ]

    def versions(self) -> list[str]:
        """The model's version (from its metadata), if it declares one."""
        version = self.record.metadata().get("version")
        return [] if version is None else [str(version)]

    def metadata(self) -> dict:
        """OIP model metadata."""
        return {
            "name": self.record.name,
            "versions": self.versions(),
            "platform": "deepserve",
            "inputs": [spec.metadata() for spec in self.inputs.values()],
            "outputs": [spec.metadata() for spec in self.outputs],
        }

    def infer(self, request: Any, binary: bytes | None) -> tuple[dict, list[bytes]]:
        """Answer an inference request: the response header and the binary outputs' data."""
        if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
            raise TensorError("the request must be an object with a list of 'inputs'")
        tensors = [check_tensor(tensor, "inputs") for tensor in request["inputs"]]
        chunks = binary_chunks(binary, tensors) if binary is not None else None
        outputs = self._predict(self._rows(tensors, chunks))
        # the same schema-checked, JSON-safe documents as /predict/ answers, one per row
        documents = [json.loads(prediction_document(self.record, out)) for out in outputs]
        return self._response(request, documents)

    def _rows(self, tensors: list[dict], chunks: Iterator[bytes] | None) -> list[dict]:
        columns: dict[str, list] = {}
        for tensor in tensors:
            name = tensor["name"]
            spec = self.inputs.get(name)
            if spec is None:
                raise TensorError(
                    f"unknown input '{name}'; the inputs are: {', '.join(self.inputs)}"
                )
            if name in columns:
                raise TensorError(f"input '{name}' is given twice")
            allowed = ACCEPTED.get(spec.kind, frozenset({"BYTES"}))
            if tensor["datatype"] not in allowed:
                raise TensorError(
                    f"input '{name}' is {spec.datatype}; {tensor['datatype']} does not fit it"
                )
            elements = [_value(spec, item) for item in input_elements(tensor, chunks)]
            columns[name] = _split_rows(spec, tensor["shape"], elements)
        missing = sorted(self.required - columns.keys())
        if missing:
            raise TensorError(f"missing input(s): {', '.join(missing)}")
        counts = {len(column) for column in columns.values()} - {1}
        if len(counts) > 1:
            sizes = ", ".join(f"{name}: {len(column)}" for name, column in columns.items())
            raise TensorError(f"the inputs have different numbers of rows ({sizes})")
        count = counts.pop() if counts else 1
        return [
            {name: column[0 if len(column) == 1 else row] for name, column in columns.items()}
            for row in range(count)
        ]

    def _predict(self, rows: list[dict]) -> list[Any]:
        """Every row checked, then all predicted (in one batch when the model batches)."""
        loaded = []
        for number, row in enumerate(rows):
            try:
                loaded.append(self.record.predict_args.load(row))
            except APIError as error:
                raise TensorError(f"row {number}: {error_text(error)}") from error
        return self.record.predict_rows(loaded, JSON)

    def _response(self, request: dict, documents: list) -> tuple[dict, list[bytes]]:
        wanted = request.get("outputs")
        by_name = {spec.name: spec for spec in self.outputs}
        if wanted is None:
            wanted = [{"name": name} for name in by_name]
        elif not isinstance(wanted, list):
            raise TensorError("'outputs' must be a list")
        binary_default = bool(_parameters(request, "the request").get("binary_data_output"))
        outputs, binary = [], []
        for requested in wanted:
            name = requested.get("name") if isinstance(requested, dict) else None
            if name not in by_name:
                raise TensorError(f"unknown output {name!r}; the outputs are: {', '.join(by_name)}")
            tensor = _output_tensor(by_name[name], documents, self.record.schema is None)
            wants_binary = _parameters(requested, name).get("binary_data", binary_default)
            if wants_binary:
                data = encode(tensor["datatype"], tensor.pop("data"))
                tensor["parameters"] = {"binary_data_size": len(data)}
                binary.append(data)
            outputs.append(tensor)
        response = {"model_name": self.record.name, "outputs": outputs}
        versions = self.versions()
        if versions:
            response["model_version"] = versions[0]
        if "id" in request:
            response["id"] = request["id"]
        return response, binary


def _parameters(owner: dict, where: str) -> dict:
    """The ``parameters`` object of a request or a requested output."""
    parameters = owner.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise TensorError(f"the parameters of {where} must be an object")
    return parameters


def _output_spec(name: str, field: fields.Field) -> TensorSpec:
    spec = field_spec(name, field)
    if spec is None or spec.kind == "file":
        return TensorSpec(name, "json")
    return spec


def _value(spec: TensorSpec, element: Any) -> Any:
    """An input element as an argument value: text decoded, file content stored."""
    if spec.kind == "file":
        return stored_file(spec.name, element)
    if isinstance(element, bytes):
        try:
            return element.decode("utf-8")
        except UnicodeDecodeError as error:
            raise TensorError(f"input '{spec.name}': BYTES that are not UTF-8 text") from error
    return element


def _split_rows(spec: TensorSpec, shape: list[int], elements: list) -> list:
    """One value per row: ``[N]`` or ``[N, 1]`` for a scalar, ``[N, K]`` (or ``[K]``, one row)
    for a list."""
    if spec.is_list:
        if len(shape) <= 1:
            return [elements]
        if len(shape) == 2:
            width = shape[1]
            return [elements[row * width : (row + 1) * width] for row in range(shape[0])]
        raise TensorError(f"input '{spec.name}' takes a shape [rows, items], not {shape}")
    if len(shape) <= 1 or (len(shape) == 2 and shape[1] == 1):
        return elements
    raise TensorError(f"input '{spec.name}' takes a shape [rows] or [rows, 1], not {shape}")


def _output_tensor(spec: TensorSpec, documents: list, envelope: bool) -> dict:
    values = [doc["predictions"] if envelope else doc.get(spec.name) for doc in documents]
    shape = [len(values)]
    if spec.kind == "json":
        data = [dumps(value) for value in values]
    elif any(value is None for value in values):
        raise APIError(500, f"output '{spec.name}' is missing in some row; it has no tensor form")
    elif spec.is_list:
        widths = {len(value) for value in values}
        if len(widths) > 1:
            raise APIError(500, f"output '{spec.name}': the rows' lists differ in length")
        shape.append(widths.pop() if widths else 0)
        data = flatten(values)
    else:
        data = values
    return {"name": spec.name, "datatype": spec.datatype, "shape": shape, "data": data}


def error_text(error: APIError) -> str:
    """An error's message, with its per-field ``errors`` when it has them."""
    data = error.data or {}
    errors = data.get("errors")
    return f"{data.get('message')}: {dumps(errors)}" if errors else str(data.get("message"))
