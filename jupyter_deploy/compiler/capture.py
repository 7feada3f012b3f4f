"""Taking computed values out of a kernel: one snippet for any kernel client, one in-process path.

The snippet pickles each name (protocol 5; cloudpickle when plain pickle cannot, e.g. a
lambda) and prints one JSON line after a marker. Classes defined in the notebook are pickled
by reference to `__main__`; the generated module maps `__main__` to itself when it loads them,
and `main_references` tells the compiler which notebook classes the module must define.
"""

from __future__ import annotations

import base64
import pickletools
from collections.abc import Iterable, Mapping
from typing import Any

from jupyter_deploy.errors import ArtifactNotSerializable, CaptureFailed


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


def capture_namespace(namespace: Mapping[str, Any], names: Iterable[str]) -> dict[str, bytes]:
    """Pickle `names` from `namespace` (an in-process kernel's globals)."""
    from jupyter_deploy.compiler.sources import NamespaceSource

    return captured_values(NamespaceSource(namespace).call("capture", names=list(names)))


def capture_code(names: Iterable[str]) -> str:
    """Python source for a kernel: pickles `names` and prints one JSON line after MARKER."""
    from jupyter_deploy.compiler.sources import snippet

    return snippet("capture", {"names": list(names)})


def decode_capture(text: str, context: str = "") -> dict[str, bytes]:
    """The values printed by `capture_code`'s snippet; ArtifactNotSerializable names a failure.

    `context` (e.g. which cell raised while the notebook ran) is added to a missing value's error.
    """
    from jupyter_deploy.compiler.sources import decode

    return captured_values(decode(text, context), context)


def captured_values(answer: Mapping[str, Any], context: str = "") -> dict[str, bytes]:
    """Bytes per name from kernel_side.capture's answer; the first failure raises, named."""
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
