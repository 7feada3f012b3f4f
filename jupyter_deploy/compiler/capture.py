"""Taking computed values out of a kernel: one snippet for any kernel client, one in-process path.

The snippet pickles each name (protocol 5; cloudpickle when plain pickle cannot, e.g. a
lambda) and prints one JSON line after a marker. Classes defined in the notebook are pickled
by reference to `__main__`; the generated module maps `__main__` to itself when it loads them,
and `main_references` tells the compiler which notebook classes the module must define.
"""

from __future__ import annotations

import base64
import json
import pickle
import pickletools
from collections.abc import Iterable, Mapping
from typing import Any

from jupyter_deploy.errors import ArtifactNotSerializable, CaptureFailed

MARKER = "__jupyter_deploy_capture__"


class Captured(bytes):
    """Pickled bytes of one value, with the type name of the value."""

    type_name: str = ""
    pickler: str = "pickle"

    @classmethod
    def of(cls, data: bytes, type_name: str, pickler: str = "pickle") -> Captured:
        """Bytes that remember what they hold."""
        captured = cls(data)
        captured.type_name = type_name
        captured.pickler = pickler
        return captured


def _serialise(value: Any) -> tuple[bytes, str]:
    """(bytes, pickler) for one value; raises with the reason when nothing can pickle it."""
    try:
        return pickle.dumps(value, protocol=5), "pickle"
    except Exception as first:
        try:
            import cloudpickle
        except ImportError:
            raise first from None
        return cloudpickle.dumps(value, protocol=5), "cloudpickle"


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def capture_namespace(namespace: Mapping[str, Any], names: Iterable[str]) -> dict[str, bytes]:
    """Pickle `names` from `namespace` (an in-process kernel's globals)."""
    values: dict[str, bytes] = {}
    for name in names:
        if name not in namespace:
            raise CaptureFailed(
                f"{name} has no value yet: run the cell that computes it, then deploy again."
            )
        value = namespace[name]
        try:
            data, pickler = _serialise(value)
        except Exception as error:
            why = f"{type(error).__name__}: {error}"
            raise _not_serialisable(name, _type_name(value), why) from None
        values[name] = Captured.of(data, _type_name(value), pickler)
    return values


def capture_code(names: Iterable[str]) -> str:
    """Python source for a kernel: pickles `names` and prints one JSON line after MARKER."""
    listed = json.dumps(list(names))
    return f"""\
def __jupyter_deploy_capture(names):
    import base64, json, pickle
    try:
        namespace = get_ipython().user_ns
    except NameError:
        namespace = globals()
    out = {{}}
    for name in names:
        if name not in namespace:
            out[name] = {{"error": "it has no value in the kernel (run the cell that computes it)"}}
            continue
        value = namespace[name]
        kind = type(value).__module__ + "." + type(value).__qualname__
        try:
            data, pickler = pickle.dumps(value, protocol=5), "pickle"
        except Exception as first:
            try:
                import cloudpickle
                data, pickler = cloudpickle.dumps(value, protocol=5), "cloudpickle"
            except Exception:
                out[name] = {{"error": type(first).__name__ + ": " + str(first), "type": kind}}
                continue
        out[name] = {{"data": base64.b64encode(data).decode(), "type": kind, "pickler": pickler}}
    print({MARKER!r} + json.dumps(out))
__jupyter_deploy_capture({listed})
del __jupyter_deploy_capture
"""


def decode_capture(text: str, context: str = "") -> dict[str, bytes]:
    """The values printed by `capture_code`'s snippet; ArtifactNotSerializable names a failure.

    `context` (e.g. which cell raised while the notebook ran) is added to a missing value's error.
    """
    lines = [line for line in text.splitlines() if line.startswith(MARKER)]
    if not lines:
        hint = f" ({context})" if context else ""
        raise CaptureFailed(f"The kernel printed no captured values{hint}; is it a Python kernel?")
    answer = json.loads(lines[-1][len(MARKER) :])
    values: dict[str, bytes] = {}
    for name, item in answer.items():
        if "error" in item:
            if "type" not in item:
                hint = f"; {context}" if context else ""
                raise CaptureFailed(f"{name}: {item['error']}{hint}.")
            raise _not_serialisable(name, item["type"], item["error"])
        data = base64.b64decode(item["data"])
        values[name] = Captured.of(data, item["type"], item.get("pickler", "pickle"))
    return values


def _not_serialisable(name: str, type_name: str, why: str) -> ArtifactNotSerializable:
    return ArtifactNotSerializable(
        f"{name} (a {type_name}) cannot be serialised ({why}). Create it in a cell tagged "
        "setup instead (e.g. open the connection or load the file there)."
    )


_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"}
_GET_OPS = {"BINGET", "LONG_BINGET", "GET"}


def global_references(data: bytes) -> list[tuple[str, str]]:
    """(module, qualname) of every global a pickle refers to (classes, functions)."""
    refs: list[tuple[str, str]] = []
    memo: dict[int, Any] = {}
    recent: list[Any] = []
    try:
        for opcode, arg, _ in pickletools.genops(data):
            name = opcode.name
            if name in _STRING_OPS:
                recent.append(arg)
            elif name == "MEMOIZE":
                memo[len(memo)] = recent[-1] if recent else None
            elif name in {"PUT", "BINPUT", "LONG_BINPUT"}:
                memo[int(str(arg))] = recent[-1] if recent else None
            elif name in _GET_OPS:
                recent.append(memo.get(int(str(arg))))
            else:
                if name == "STACK_GLOBAL" and len(recent) >= 2:
                    refs.append((str(recent[-2]), str(recent[-1])))
                elif name in {"GLOBAL", "INST"}:
                    module, _, qualname = str(arg).partition(" ")
                    refs.append((module, qualname))
                recent.append(None)
            del recent[:-2]
    except Exception:
        return refs
    return refs


def main_references(data: bytes) -> list[str]:
    """Notebook (`__main__`) globals the pickle needs, e.g. a class the notebook defines."""
    refs = global_references(data)
    return sorted({qualname.split(".")[0] for module, qualname in refs if module == "__main__"})
