"""Tensors of the Open Inference Protocol: datatypes, and the binary tensor data extension.

A tensor is ``{"name", "datatype", "shape", "data"}`` with ``data`` flat in row-major order (or
nested lists, which are flattened). With the binary extension, a request or response body is a
JSON header of ``Inference-Header-Content-Length`` bytes followed by the raw data of the
tensors whose ``parameters.binary_data_size`` is set, in the order they are listed: little-
endian values, ``BOOL`` one byte each, ``BYTES`` each element a 4-byte length and its bytes.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator
from typing import Any

HEADER_LENGTH = "Inference-Header-Content-Length"

INTEGERS = {
    "INT8": "b", "INT16": "h", "INT32": "i", "INT64": "q",
    "UINT8": "B", "UINT16": "H", "UINT32": "I", "UINT64": "Q",
}  # fmt: skip
FLOATS = {"FP16": "e", "FP32": "f", "FP64": "d"}
FORMATS = {"BOOL": "?", **INTEGERS, **FLOATS}
DATATYPES = frozenset({*FORMATS, "BYTES"})


class TensorError(ValueError):
    """A tensor that is malformed or does not fit: the client's error (400)."""


def element_count(shape: list[int]) -> int:
    """The number of elements of a tensor of ``shape``."""
    return math.prod(shape)


def flatten(data: Any) -> list:
    """Nested lists of elements, flat in row-major order."""
    if not isinstance(data, list):
        return [data]
    return [item for part in data for item in flatten(part)]


def check_tensor(tensor: Any, where: str) -> dict:
    """``tensor`` if it has a name, a known datatype and a shape of non-negative integers."""
    if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
        raise TensorError(f"each of '{where}' must be an object with a 'name'")
    name = tensor["name"]
    if tensor.get("datatype") not in DATATYPES:
        raise TensorError(
            f"tensor '{name}': datatype {tensor.get('datatype')!r} is not one of "
            + ", ".join(sorted(DATATYPES))
        )
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(size, int) and not isinstance(size, bool) and size >= 0 for size in shape
    ):
        raise TensorError(f"tensor '{name}': shape must be a list of non-negative integers")
    parameters = tensor.get("parameters", {})
    if not isinstance(parameters, dict):
        raise TensorError(f"tensor '{name}': parameters must be an object")
    return tensor


def split_body(body: bytes, header_length: str | None) -> tuple[Any, bytes]:
    """The JSON header of a request body and the binary data after it."""
    if header_length is None:
        length = len(body)
    elif not header_length.isdigit() or int(header_length) > len(body):
        raise TensorError(f"{HEADER_LENGTH} {header_length!r} does not fit the body")
    else:
        length = int(header_length)
    try:
        return json.loads(body[:length]), body[length:]
    except (UnicodeDecodeError, ValueError) as error:
        raise TensorError(f"the request's JSON is not valid: {error}") from error


def input_elements(tensor: dict, binary: Iterator[bytes] | None) -> list:
    """The flat elements of an input tensor, read from ``data`` or from the binary data.

    BYTES elements come as ``bytes``; the count is checked against the shape.
    """
    name, datatype = tensor["name"], tensor["datatype"]
    size = tensor.get("parameters", {}).get("binary_data_size")
    if size is not None:
        if binary is None:
            raise TensorError(f"tensor '{name}': binary data without {HEADER_LENGTH}")
        elements = decode(datatype, next(binary, b""), size, name)
    elif "data" in tensor:
        elements = [_json_element(datatype, item, name) for item in flatten(tensor["data"])]
    else:
        raise TensorError(f"tensor '{name}' has no 'data'")
    expected = element_count(tensor["shape"])
    if len(elements) != expected:
        raise TensorError(
            f"tensor '{name}': {len(elements)} elements for shape {tensor['shape']} "
            f"({expected} expected)"
        )
    return elements


def binary_chunks(data: bytes, tensors: list[dict]) -> Iterator[bytes]:
    """The binary data cut into the parts of the ``tensors`` that have one, in order."""
    offset = 0
    for tensor in tensors:
        size = tensor.get("parameters", {}).get("binary_data_size")
        if size is None:
            continue
        if not isinstance(size, int) or size < 0 or offset + size > len(data):
            raise TensorError(f"tensor '{tensor['name']}': binary_data_size does not fit")
        yield data[offset : offset + size]
        offset += size


def decode(datatype: str, raw: bytes, size: int, name: str) -> list:
    """The elements of ``raw``, the binary data of one tensor."""
    if len(raw) != size:
        raise TensorError(f"tensor '{name}': binary data shorter than binary_data_size")
    if datatype == "BYTES":
        elements, offset = [], 0
        while offset < len(raw):
            if offset + 4 > len(raw):
                raise TensorError(f"tensor '{name}': truncated BYTES element")
            (length,) = struct.unpack_from("<I", raw, offset)
            elements.append(raw[offset + 4 : offset + 4 + length])
            offset += 4 + length
        if offset != len(raw):
            raise TensorError(f"tensor '{name}': truncated BYTES element")
        return elements
    code = FORMATS[datatype]
    width = struct.calcsize(code)
    if len(raw) % width:
        raise TensorError(f"tensor '{name}': {len(raw)} bytes is not a whole number of {datatype}")
    return list(struct.unpack(f"<{len(raw) // width}{code}", raw))


def encode(datatype: str, elements: list) -> bytes:
    """The binary data of one tensor's flat ``elements``."""
    if datatype == "BYTES":
        parts = [_bytes(item) for item in elements]
        return b"".join(struct.pack("<I", len(part)) + part for part in parts)
    return struct.pack(f"<{len(elements)}{FORMATS[datatype]}", *elements)


def _bytes(item: Any) -> bytes:
    return item if isinstance(item, bytes) else str(item).encode("utf-8")


def _json_element(datatype: str, item: Any, name: str) -> Any:
    """One element of a JSON ``data`` list, checked against ``datatype``."""
    if datatype == "BYTES":
        if isinstance(item, str):
            return item.encode("utf-8")
        raise TensorError(f"tensor '{name}': BYTES data must be strings")
    if datatype == "BOOL":
        if isinstance(item, bool):
            return item
        raise TensorError(f"tensor '{name}': BOOL data must be true or false")
    if isinstance(item, bool) or not isinstance(item, (int, float)):
        raise TensorError(f"tensor '{name}': {datatype} data must be numbers")
    if datatype in INTEGERS and not isinstance(item, int):
        raise TensorError(f"tensor '{name}': {datatype} data must be integers")
    return item
