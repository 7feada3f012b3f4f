"""Request validation against the JSON Schema subset the compiler writes from type hints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
    "number": (int, float),
    "integer": (int,),
}


class Invalid(Exception):
    """A request that does not match the schema; the message names the field."""


def check(value: Any, schema: dict[str, Any], where: str) -> None:
    """Raise Invalid naming `where` (e.g. `features[2]`) when `value` breaks `schema`."""
    if not schema:
        return
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if value is None or o.get("type") != "null"]
        if len(options) == 1:
            check(value, options[0], where)
            return
        problems = []
        for option in schema["anyOf"]:
            try:
                check(value, option, where)
                return
            except Invalid as problem:
                problems.append(str(problem))
        raise Invalid(problems[0] if len(problems) == 1 else f"{where}: {_describe(schema)}")
    if "enum" in schema and value not in schema["enum"]:
        raise Invalid(f"{where} must be one of {schema['enum']}, not {value!r}")
    kind = schema.get("type")
    if kind and not _is(value, kind):
        raise Invalid(f"{where} must be {_article(kind)}, not {_json_type(value)}")
    if kind == "array":
        _check_array(value, schema, where)
    elif kind == "object":
        check_object(value, schema, where)


def check_object(value: dict[str, Any], schema: dict[str, Any], where: str = "") -> None:
    """Fields: missing, unknown and each value's type."""
    properties = schema.get("properties", {})
    prefix = f"{where}." if where else ""
    for name in schema.get("required", []):
        if name not in value:
            raise Invalid(f"{prefix}{name} is required")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            check(item, properties[name], f"{prefix}{name}")
            if isinstance(item, float) and _integer(properties[name]):
                value[name] = int(item)
        elif extra is False:
            known = ", ".join(properties) or "none"
            raise Invalid(f"{prefix}{name} is not a field of this API (fields: {known})")
        elif isinstance(extra, dict):
            check(item, extra, f"{prefix}{name}")


def _check_array(value: list[Any], schema: dict[str, Any], where: str) -> None:
    prefix = schema.get("prefixItems")
    if prefix:
        if len(value) < len(prefix):
            raise Invalid(f"{where} must have {len(prefix)} items, not {len(value)}")
        for index, (item, sub) in enumerate(zip(value, prefix, strict=False)):
            check(item, sub, f"{where}[{index}]")
        return
    items = schema.get("items")
    if items:
        integer = _integer(items)
        for index, item in enumerate(value):
            check(item, items, f"{where}[{index}]")
            if integer and isinstance(item, float):
                value[index] = int(item)


def _integer(schema: dict[str, Any]) -> bool:
    """Whether 3.0 (as Python's json writes 3) should reach predict as the int 3."""
    kinds = {o.get("type") for o in schema.get("anyOf", [schema])}
    return "integer" in kinds and "number" not in kinds


def _is(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind in ("number", "integer"):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(kind, (object,)))


def _json_type(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _is(value, name):
            return {"null": "null"}.get(name, _article(name))
    return type(value).__name__


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _describe(schema: dict[str, Any]) -> str:
    kinds = [s.get("type", "any") for s in schema.get("anyOf", [])]
    return "must be " + " or ".join(_article(k) for k in kinds)


Fast = Callable[[Any], bool]
_EXACT: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
    "number": (int, float),
    "integer": (int,),  # a whole float goes the slow way, which turns it into an int
}


def compile_check(schema: dict[str, Any]) -> Fast | None:
    """A function that says quickly whether a value passes `schema` untouched, or None when
    the schema uses something only `check` handles. False means: run `check`, which names
    the problem (or converts a whole float for an integer)."""
    if not schema:
        return lambda value: True
    if set(schema) - {"type", "items", "properties", "required", "additionalProperties",
                      "anyOf", "title", "description", "default"}:  # fmt: skip
        return None
    if "anyOf" in schema:
        options = [compile_check(option) for option in schema["anyOf"]]
        if any(option is None for option in options):
            return None
        return lambda value: any(option(value) for option in options)  # type: ignore[misc]
    kind = schema.get("type")
    if kind == "array":
        return _compile_array(schema)
    if kind == "object":
        return _compile_object(schema)
    if kind in _EXACT:
        exact = _EXACT[kind]
        return lambda value: type(value) in exact
    return None if kind else (lambda value: True)


def _compile_array(schema: dict[str, Any]) -> Fast | None:
    items = schema.get("items") or {}
    if items.get("type") in _EXACT and set(items) <= {"type", "title", "description"}:
        allowed = frozenset(_EXACT[items["type"]])
        return lambda value: type(value) is list and set(map(type, value)) <= allowed
    item = compile_check(items)
    if item is None:
        return None
    return lambda value: type(value) is list and all(map(item, value))


def _compile_object(schema: dict[str, Any]) -> Fast | None:
    properties: dict[str, Fast] = {}
    for name, sub in schema.get("properties", {}).items():
        compiled = compile_check(sub)
        if compiled is None:
            return None
        properties[name] = compiled
    required = tuple(schema.get("required", []))
    extra = schema.get("additionalProperties", True)
    if isinstance(extra, dict):
        return None
    if extra is False and set(required) == set(properties):  # exactly these fields
        return _compile_exact(properties)

    def fast(value: Any) -> bool:
        if type(value) is not dict:
            return False
        for name in required:
            if name not in value:
                return False
        for name, item in value.items():
            check_item = properties.get(name)
            if check_item is None:
                if extra is False:
                    return False
            elif not check_item(item):
                return False
        return True

    return fast


def _compile_exact(properties: dict[str, Fast]) -> Fast:
    """An object that must have exactly these fields (the usual schema of typed arguments)."""
    names = properties.keys()
    if len(properties) == 1:
        ((name, only),) = properties.items()
        return lambda value: type(value) is dict and value.keys() == names and only(value[name])
    checks = tuple(properties.items())
    return lambda value: (
        type(value) is dict and value.keys() == names and all(c(value[n]) for n, c in checks)
    )
