"""JSON Schema of predict's input and output, read from its type hints (never evaluated)."""

from __future__ import annotations

import ast
from typing import Any

Schema = dict[str, Any]

_SIMPLE: dict[str, Schema] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "complex": {"type": "number"},
    "str": {"type": "string"},
    "bool": {"type": "boolean"},
    "None": {"type": "null"},
    "NoneType": {"type": "null"},
    "dict": {"type": "object"},
    "Dict": {"type": "object"},
    "Mapping": {"type": "object"},
    "DataFrame": {"type": "array", "items": {"type": "object"}},
    "Any": {},
    "object": {},
}
_ARRAYS = {"list", "List", "tuple", "Tuple", "set", "Set", "Sequence", "Iterable", "ndarray"}
_ARRAYS |= {"Series", "frozenset", "FrozenSet", "Collection", "MutableSequence", "array"}


def annotation_schema(node: ast.expr | None) -> Schema:
    """The JSON Schema for one annotation; {} (anything) when it says nothing JSON can check."""
    if node is None:
        return {}
    if isinstance(node, ast.Constant):
        if node.value is None:
            return {"type": "null"}
        if isinstance(node.value, str):
            try:
                return annotation_schema(ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                return {}
        return {}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([node.left, node.right])
    name = _name(node)
    if name in _SIMPLE:
        return dict(_SIMPLE[name])
    if name in _ARRAYS:
        return {"type": "array"}
    if isinstance(node, ast.Subscript):
        return _subscript(_name(node.value), node.slice)
    return {}


def _subscript(base: str, index: ast.expr) -> Schema:
    args = list(index.elts) if isinstance(index, ast.Tuple) else [index]
    if base == "Optional":
        return _union([args[0], ast.Constant(None)])
    if base == "Union":
        return _union(args)
    if base == "Literal":
        values = [a.value for a in args if isinstance(a, ast.Constant)]
        return {"enum": values}
    if base == "Annotated":
        return annotation_schema(args[0])
    if base in _ARRAYS:
        items = [a for a in args if not (isinstance(a, ast.Constant) and a.value is Ellipsis)]
        if base in {"tuple", "Tuple"} and len(items) > 1:
            schemas = [annotation_schema(a) for a in items]
            return {"type": "array", "prefixItems": schemas, "minItems": len(schemas)}
        item = annotation_schema(items[0]) if items else {}
        return {"type": "array", "items": item} if item else {"type": "array"}
    if base in {"dict", "Dict", "Mapping"} and len(args) == 2:
        value = annotation_schema(args[1])
        return {"type": "object", "additionalProperties": value} if value else {"type": "object"}
    return annotation_schema(ast.Name(base)) if base in _SIMPLE else {}


def _union(members: list[ast.expr]) -> Schema:
    flat: list[Schema] = []
    for member in members:
        schema = annotation_schema(member)
        if schema == {}:
            return {}
        flat.extend(schema.get("anyOf", [schema]))
    unique = [s for i, s in enumerate(flat) if s not in flat[:i]]
    return unique[0] if len(unique) == 1 else {"anyOf": unique}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def input_schema(func: ast.FunctionDef | ast.AsyncFunctionDef) -> Schema:
    """An object schema: one property per argument of `func`, required unless defaulted."""
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    defaults_from = len(positional) - len(args.defaults)
    properties: dict[str, Schema] = {}
    required: list[str] = []
    for index, arg in enumerate(positional):
        properties[arg.arg] = annotation_schema(arg.annotation)
        if index < defaults_from:
            required.append(arg.arg)
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        properties[arg.arg] = annotation_schema(arg.annotation)
        if default is None:
            required.append(arg.arg)
    schema: Schema = {"type": "object", "properties": properties, "required": required}
    schema["additionalProperties"] = args.kwarg is not None
    doc = ast.get_docstring(func)
    if doc:
        schema["description"] = doc.strip().splitlines()[0]
    return schema


def output_schema(func: ast.FunctionDef | ast.AsyncFunctionDef) -> Schema:
    """The schema of predict's return value."""
    return annotation_schema(func.returns)
