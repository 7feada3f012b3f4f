"""Tensors of the Open Inference Protocol <-> predict's JSON values: the one mapping place.

A schema from predict's type hints (deploy.json) gives each argument a datatype and a rank:
`int` -> INT64, `float` -> FP64, `bool` -> BOOL, `str` -> BYTES, `list[float]` -> FP64 of rank 1,
`list[list[int]]` -> INT64 of rank 2, a list with no item type -> FP64; anything else (dicts,
`Any`, unions) -> BYTES holding the value's JSON text. Every tensor has a leading batch dimension.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

Schema = dict[str, Any]

_SCALARS = {"integer": "INT64", "number": "FP64", "boolean": "BOOL", "string": "BYTES"}
_STRUCT = {
    "BOOL": "?",
    "INT8": "b",
    "INT16": "h",
    "INT32": "i",
    "INT64": "q",
    "UINT8": "B",
    "UINT16": "H",
    "UINT32": "I",
    "UINT64": "Q",
    "FP16": "e",
    "FP32": "f",
    "FP64": "d",
}
DATATYPES = frozenset({*_STRUCT, "BYTES"})


class TensorError(Exception):
    """A tensor that does not fit; the message names it."""


def spec(schema: Schema) -> tuple[str, int, bool]:
    """(datatype, rank, as_json) of a value with this schema; as_json means BYTES of JSON text."""
    options = [o for o in schema.get("anyOf", [schema]) if o.get("type") != "null"]
    if len(options) != 1:
        return "BYTES", 0, True
    kind = options[0].get("type")
    if kind in _SCALARS:
        return _SCALARS[kind], 0, False
    if kind == "array" and "prefixItems" not in options[0]:
        items = options[0].get("items")
        if not items:
            return "FP64", 1, False
        datatype, rank, as_json = spec(items)
        return (datatype, rank + 1, False) if not as_json else ("BYTES", 0, True)
    return "BYTES", 0, True


def metadata_tensor(name: str, schema: Schema) -> dict[str, Any]:
    """{"name", "datatype", "shape"} of one argument (or the output), batch dimension first."""
    datatype, rank, _ = spec(schema)
    return {"name": name, "datatype": datatype, "shape": [-1] * (rank + 1)}


def flatten(data: Any) -> list[Any]:
    """Row-major values of (possibly nested) `data`."""
    if not isinstance(data, list):
        return [data]
    flat: list[Any] = []
    for item in data:
        flat.extend(flatten(item) if isinstance(item, list) else [item])
    return flat


def from_binary(chunk: bytes, datatype: str, where: str) -> list[Any]:
    """The values of a binary tensor (the binary tensor data extension's layout)."""
    if datatype == "BYTES":
        values, at = [], 0
        while at < len(chunk):
            size = int.from_bytes(chunk[at : at + 4], "little")
            values.append(chunk[at + 4 : at + 4 + size])
            at += 4 + size
        return values
    code = _STRUCT[datatype]
    width = struct.calcsize(code)
    if len(chunk) % width:
        raise TensorError(f"{where}: {len(chunk)} bytes is not a whole number of {datatype}")
    return list(struct.unpack(f"<{len(chunk) // width}{code}", chunk))


def instances(values: list[Any], shape: list[int], schema: Schema, where: str) -> list[Any]:
    """The per-call values of one input tensor: one per row of the batch dimension."""
    _, rank, as_json = spec(schema)
    if len(shape) == rank:  # no batch dimension: one call
        shape = [1, *shape]
    if len(shape) != rank + 1:
        wanted = [-1] * (rank + 1)
        raise TensorError(f"{where} has shape {shape}: this argument takes shape {wanted}")
    if math.prod(shape) != len(values):
        raise TensorError(f"{where} has {len(values)} values for shape {shape}")
    values = [_element(v, as_json, where) for v in values]
    rows = [_nest(values, shape[1:], row * math.prod(shape[1:])) for row in range(shape[0])]
    return rows


def _element(value: Any, as_json: bool, where: str) -> Any:
    if isinstance(value, bytes):
        try:
            value = value.decode()
        except UnicodeDecodeError:
            raise TensorError(f"{where}: BYTES must be UTF-8 text") from None
    if as_json and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise TensorError(f"{where}: BYTES must hold JSON text, not {value[:40]!r}") from None
    return value


def _nest(values: list[Any], shape: list[int], start: int) -> Any:
    if not shape:
        return values[start]
    step = math.prod(shape[1:])
    return [_nest(values, shape[1:], start + i * step) for i in range(shape[0])]


def output_tensor(name: str, results: list[Any]) -> dict[str, Any]:
    """One output tensor of `results` (plain JSON values, one per call), batch dimension first."""
    shape = shape_of(results)
    flat = flatten(results) if shape is not None else []
    datatype = _datatype(flat) if shape is not None else None
    if shape is None or datatype is None:
        text = [json.dumps(r, separators=(",", ":")) for r in results]
        return {"name": name, "datatype": "BYTES", "shape": [len(results)], "data": text}
    return {"name": name, "datatype": datatype, "shape": shape, "data": flat}


def shape_of(value: Any) -> list[int] | None:
    """The rectangular shape of nested lists; None when ragged or holding dicts."""
    if isinstance(value, dict):
        return None
    if not isinstance(value, list):
        return []
    shapes = [shape_of(item) for item in value]
    if any(s is None for s in shapes) or any(s != shapes[0] for s in shapes):
        return None
    inner = shapes[0] if shapes else []
    assert inner is not None
    return [len(value), *inner]


def _datatype(flat: list[Any]) -> str | None:
    kinds = {type(v) for v in flat}
    if kinds <= {bool} and kinds:
        return "BOOL"
    if kinds <= {int}:
        return "INT64"
    if kinds <= {int, float}:
        return "FP64"
    if kinds <= {str}:
        return "BYTES"
    return None
