"""Where computed values come from: a namespace (`%deploy`), or any kernel that runs code.

Both run the same functions (`kernel_side.py`, with the runtime's JSON encoder) in the
notebook's namespace; a kernel gets them as one snippet that prints one JSON line after
MARKER. A source answers `call(function, **arguments)` with JSON-able values.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Mapping
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, Protocol

from jupyter_deploy.errors import CaptureFailed

MARKER = "__jupyter_deploy_capture__"
_HERE = Path(__file__).resolve().parent
_FUTURE = re.compile(r"^from __future__ import .*$", re.MULTILINE)


def _scope_source() -> str:
    """encode.py then kernel_side.py, as one text runnable anywhere (no __future__ line)."""
    encode = (_HERE.parent / "runtime" / "encode.py").read_text()
    kernel = (_HERE / "kernel_side.py").read_text()
    return _FUTURE.sub("", encode) + "\n\n" + kernel


class ValueSource(Protocol):
    """Runs a kernel_side function in the notebook's namespace."""

    raised: dict[int, str]
    """Cells (by notebook position) that raised while the notebook ran, when known."""

    def call(self, function: str, **arguments: Any) -> Any:
        """kernel_side.<function>(namespace, **arguments), JSON-able."""
        ...


def snippet(function: str, arguments: Mapping[str, Any]) -> str:
    """Python for a kernel: runs kernel_side.<function> on the user's namespace, prints JSON."""
    return f"""\
def __jupyter_deploy_call(source, function, arguments):
    import json
    scope = {{"__name__": "jupyter_deploy_kernel_side"}}
    exec(compile(source, "<jupyter-deploy>", "exec"), scope)
    try:
        namespace = get_ipython().user_ns
    except NameError:
        namespace = globals()
    answer = scope[function](namespace, **json.loads(arguments))
    print({MARKER!r} + json.dumps(answer))
__jupyter_deploy_call({_scope_source()!r}, {function!r}, {json.dumps(dict(arguments))!r})
del __jupyter_deploy_call
"""


def decode(text: str, context: str = "") -> Any:
    """The JSON a snippet printed after MARKER (the last such line)."""
    lines = [line for line in text.splitlines() if line.startswith(MARKER)]
    if not lines:
        hint = f" ({context})" if context else ""
        raise CaptureFailed(f"The kernel printed no captured values{hint}; is it a Python kernel?")
    return json.loads(lines[-1][len(MARKER) :])


class NamespaceSource:
    """This process's namespace (the kernel `%deploy` runs in)."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.namespace = namespace
        self.raised: dict[int, str] = {}

    def call(self, function: str, **arguments: Any) -> Any:
        """Run it here; what predict prints is kept out of the user's output."""
        scope: dict[str, Any] = {"__name__": "jupyter_deploy_kernel_side"}
        exec(compile(_scope_source(), "<jupyter-deploy>", "exec"), scope)
        with redirect_stdout(io.StringIO()):
            answer = scope[function](self.namespace, **arguments)
        return json.loads(json.dumps(answer))


class KernelSource:
    """A kernel reached through `run(code) -> stdout` (raises CaptureFailed when code fails)."""

    def __init__(self, run: Callable[[str], str], raised: dict[int, str] | None = None) -> None:
        self.run = run
        self.raised: dict[int, str] = dict(raised or {})

    def call(self, function: str, **arguments: Any) -> Any:
        """Send the snippet, decode its answer."""
        return decode(self.run(snippet(function, arguments)))
