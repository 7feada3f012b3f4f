"""Request validation against the JSON Schema subset the compiler writes from type hints."""

from __future__ import annotations

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
