"""JSON out: numpy and pandas values become plain JSON; NaN and infinities become null."""

from __future__ import annotations

import json
import math
from typing import Any


def _plain(value: Any) -> Any:
    """A JSON-able version of one value json could not encode."""
    module = type(value).__module__
    if module.startswith("pandas"):
        if hasattr(value, "to_dict") and hasattr(value, "columns"):
            return value.to_dict(orient="records")
        if hasattr(value, "tolist"):
            return value.tolist()
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


_fast = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def dumps(value: Any) -> bytes:
    """UTF-8 JSON for any result predict may return."""
    try:
        return _fast.encode(value).encode()
    except (TypeError, ValueError):
        pass
    text = json.dumps(value, default=_plain, ensure_ascii=False, separators=(",", ":"))
    if "NaN" in text or "Infinity" in text:
        text = json.dumps(_finite(json.loads(text)), separators=(",", ":"), ensure_ascii=False)
    return text.encode()
