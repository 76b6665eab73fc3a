"""What the server's ``/swagger.json`` says about its models, and checks of arguments against it.

The spec is the one description of the models: the client and the command line read their
operations and parameters from it, and the offline ``deepserve predict`` builds the same
parameters in-process.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ClientError

_MODEL_PATH = re.compile(r"^/v2/models/(?P<name>[^/{}]+)/(?P<method>predict|validate|train)/$")
STREAM_TYPES = ("text/event-stream", "application/x-ndjson")


@dataclass(frozen=True)
class Operation:
    """One model method: its path, Swagger parameters, media types, and whether it streams."""

    path: str
    parameters: tuple[dict, ...]
    produces: tuple[str, ...] = ("application/json",)
    streams: bool = False

    @property
    def names(self) -> list[str]:
        """The argument names, in the spec's order."""
        return [param["name"] for param in self.parameters]

    @property
    def file_names(self) -> frozenset[str]:
        """The names of the file arguments."""
        return frozenset(p["name"] for p in self.parameters if p.get("type") == "file")


@dataclass
class ModelOperations:
    """The operations one model offers (validate and train only when it implements them)."""

    name: str
    predict: Operation
    validate: Operation | None = None
    train: Operation | None = None


def model_operations(spec: Mapping) -> dict[str, ModelOperations]:
    """Every model of a Swagger 2.0 document, by name."""
    found: dict[str, dict[str, Operation]] = {}
    for path, item in spec.get("paths", {}).items():
        match = _MODEL_PATH.match(path)
        if match is None or "post" not in item:
            continue
        found.setdefault(match["name"], {})[match["method"]] = operation(path, item["post"])
    return {
        name: ModelOperations(name, ops["predict"], ops.get("validate"), ops.get("train"))
        for name, ops in sorted(found.items())
        if "predict" in ops
    }


def operation(path: str, doc: Mapping) -> Operation:
    """An :class:`Operation` from a Swagger operation object."""
    parameters = tuple(p for p in doc.get("parameters", ()) if p.get("in") == "formData")
    return Operation(
        path,
        parameters,
        tuple(doc.get("produces") or ("application/json",)),
        bool(doc.get("x-deepserve-stream")),
    )


def describe(param: Mapping) -> str:
    """A parameter's help: its description, then type, choices, range, default, required."""
    kind = param.get("type", "string")
    inner = param.get("items", {}) if kind == "array" else param
    kind_text = inner.get("type", "string") + (f" ({inner['format']})" if "format" in inner else "")
    facts = [f"list of {kind_text}" if kind == "array" else kind_text]
    if "enum" in inner:
        facts.append("one of " + ", ".join(map(str, inner["enum"])))
    low, high = inner.get("minimum"), inner.get("maximum")
    if low is not None or high is not None:
        facts.append(f"{'' if low is None else low}..{'' if high is None else high}")
    if "default" in param:
        default = param["default"]
        facts.append(f"default: {json.dumps(default) if isinstance(default, bool) else default}")
    if param.get("required"):
        facts.append("required")
    if kind == "array":
        facts.append("repeat for several")
    description = param.get("description", "").strip()
    return f"{description}  [{'; '.join(facts)}]" if description else f"[{'; '.join(facts)}]"


def check_arguments(op: Operation, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` checked against ``op``'s parameters, text converted to numbers and booleans.

    Raises ClientError (no status) naming every argument that is unknown, missing or invalid,
    before anything is sent.
    """
    params = {param["name"]: param for param in op.parameters}
    errors: dict[str, list[str]] = {}
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name not in params:
            errors[name] = [f"Unknown argument; expected one of: {', '.join(params) or 'none'}."]
        elif value is not None:
            try:
                checked[name] = _check(params[name], value)
            except ValueError as error:
                errors[name] = [str(error)]
    for name, param in params.items():
        if param.get("required") and values.get(name) is None:
            errors[name] = ["Missing data for required field."]
    if errors:
        raise ClientError("Invalid arguments", errors=errors)
    return checked


def _check(param: Mapping, value: Any) -> Any:
    kind = param.get("type", "string")
    if kind == "array":
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        _bounds(param, len(items), "minItems", "maxItems", "items")
        return [_check(param.get("items", {}), item) for item in items]
    if kind == "file":
        if isinstance(value, (str, os.PathLike)):
            if not os.path.isfile(value):
                raise ValueError(f"No such file: {value}")
        elif not callable(getattr(value, "read", None)):
            raise ValueError("Expected a path or a binary file object.")
        return value
    if kind == "string" and isinstance(value, (dict, list)):
        return value  # an object or list argument: a form field's "string" in the spec
    value = _convert(kind, value)
    if "enum" in param and value not in param["enum"]:
        raise ValueError(f"Must be one of: {', '.join(map(str, param['enum']))}.")
    if kind in ("integer", "number"):
        _range(param, value)
    elif kind == "string":
        _bounds(param, len(value), "minLength", "maxLength", "characters")
        if "pattern" in param and not re.search(param["pattern"], value):
            raise ValueError(f"Does not match the pattern {param['pattern']}.")
    return value


def _convert(kind: str, value: Any) -> Any:
    """``value`` as the JSON type ``kind``; text (from a command line) is converted."""
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ValueError("Not a valid boolean.")
    if kind in ("integer", "number"):
        if isinstance(value, bool):
            raise ValueError(f"Not a valid {kind}.")
        try:
            number = int(value) if kind == "integer" else float(value)
        except (TypeError, ValueError):
            raise ValueError(f"Not a valid {kind}.") from None
        if kind == "integer" and isinstance(value, float) and value != number:
            raise ValueError("Not a valid integer.")
        if not math.isfinite(number):
            raise ValueError(f"Not a valid {kind}.")
        return value if isinstance(value, (int, float)) else number
    if kind == "string" and not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ValueError("Not a valid string.")
    return value


def _range(param: Mapping, value: float) -> None:
    low, high = param.get("minimum"), param.get("maximum")
    if low is not None and (value < low or (param.get("exclusiveMinimum") and value == low)):
        bound = "" if param.get("exclusiveMinimum") else "or equal to "
        raise ValueError(f"Must be greater than {bound}{low}.")
    if high is not None and (value > high or (param.get("exclusiveMaximum") and value == high)):
        bound = "" if param.get("exclusiveMaximum") else "or equal to "
        raise ValueError(f"Must be less than {bound}{high}.")


def _bounds(param: Mapping, size: int, low_key: str, high_key: str, unit: str) -> None:
    low, high = param.get(low_key), param.get(high_key)
    if low is not None and size < low:
        raise ValueError(f"At least {low} {unit}.")
    if high is not None and size > high:
        raise ValueError(f"At most {high} {unit}.")
