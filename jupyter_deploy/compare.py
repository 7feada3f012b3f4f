"""Compare with my notebook: replay logged live inputs through the notebook's current predict.

No web and no kernel client in here. The server extension sends `kernel_code(...)` to the
notebook's running kernel chunk by chunk; `%deploy compare` calls `answers(...)` in its own
kernel. Both run the same function (`answers` is sent to the kernel as source) and encode
results with the model service's own encoder, so a value compares equal exactly when the
live service would have answered it.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_deploy.errors import InvalidRequest
from jupyter_deploy.wire import Json

MARKER = "__jupyter_deploy_compare__:"
MAX_LAST = 10_000
CHUNK = 50
SHOWN = 100  # differing cases kept in the answer (the counts are exact)
ENCODER = Path(__file__).parent / "runtime" / "encode.py"


def answers(function: Callable[..., Any], inputs: list[Any], dumps: Any) -> list[Any]:
    """{"ok": JSON answer} or {"error": "Type: message"} for each input (runs in the kernel)."""
    import json as _json

    out: list[Any] = []
    for item in inputs:
        try:
            out.append({"ok": _json.loads(dumps(function(**item)))})
        except Exception as error:  # the notebook's code may raise anything
            out.append({"error": f"{type(error).__name__}: {error}"})
    return out


def kernel_code(inputs: list[Any], function: str = "predict") -> str:
    """Python for the notebook's kernel: answers `inputs` with its current `function`, prints
    one line after MARKER; leaves no name behind and no entry in the history."""
    source = _without_annotations(answers)
    return f"""\
def __jupyter_deploy_compare(inputs, name):
    import json
    try:
        namespace = get_ipython().user_ns
    except NameError:
        namespace = globals()
    function = namespace.get(name)
    if not callable(function):
        print({MARKER!r} + json.dumps({{"missing": name}}))
        return
    encoder = {{}}
    exec({ENCODER.read_text()!r}, encoder)
{_indent(source)}
    print({MARKER!r} + json.dumps(answers(function, inputs, encoder["dumps"])))
__jupyter_deploy_compare(__import__("json").loads({json.dumps(inputs)!r}), {function!r})
del __jupyter_deploy_compare
"""


def _without_annotations(function: Callable[..., Any]) -> str:
    """A function's source with its annotations gone (the kernel cannot evaluate them)."""
    tree = ast.parse(inspect.getsource(function))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            node.returns = None
            for argument in (*node.args.args, *node.args.kwonlyargs):
                argument.annotation = None
    return ast.unparse(tree)


def _indent(source: str) -> str:
    return "\n".join(f"    {line}" if line else "" for line in source.splitlines())


def decode(stdout: str, function: str = "predict") -> list[Any]:
    """The answers `kernel_code` printed; InvalidRequest when the kernel has no `function`."""
    lines = [line for line in stdout.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise InvalidRequest("The notebook's kernel printed no answers: run the notebook first.")
    value = json.loads(lines[-1][len(MARKER) :])
    if isinstance(value, dict) and "missing" in value:
        raise InvalidRequest(
            f"The notebook's kernel has no {function}: run the notebook's cells first."
        )
    return list(value)


# --- the cases and the comparison -----------------------------------------------------------


@dataclass
class Case:
    """One logged input and what the live service answered."""

    input: Any
    live: Any
    time: str = ""
    version: int | None = None


def cases_from(records: Iterable[Json]) -> tuple[list[Case], int]:
    """Replayable cases from request-log records (200 answers), oldest first; and how many
    were skipped (truncated, redacted or not JSON: they cannot be replayed as they were)."""
    cases, skipped = [], 0
    for record in records:
        given, answer = record.get("input"), record.get("output")
        if record.get("status") != 200 or not isinstance(answer, dict):
            continue
        if not _replayable(given) or not _replayable(answer):
            skipped += 1
            continue
        stamp, version = str(record.get("time", "")), record.get("version")
        if record.get("route") == "/predict/batch":
            inputs = given.get("inputs") if isinstance(given, dict) else None
            outputs = answer.get("predictions")
            if isinstance(inputs, list) and isinstance(outputs, list):
                for item, live in zip(inputs, outputs, strict=False):
                    cases.append(Case(item, live, stamp, version))
        elif isinstance(given, dict) and "prediction" in answer:
            cases.append(Case(given, answer["prediction"], stamp, version))
    cases.sort(key=lambda case: case.time)
    return cases, skipped


def _replayable(value: Any) -> bool:
    text = json.dumps(value)
    return '"[redacted]"' not in text and not (
        isinstance(value, dict) and ("truncated" in value or "not_json" in value)
    )


def same(live: Any, notebook: Any) -> bool:
    """Equal as JSON, floats within a relative 1e-9 (the same model may round differently)."""
    if isinstance(live, float) or isinstance(notebook, float):
        if isinstance(live, int | float) and isinstance(notebook, int | float):
            return math.isclose(live, notebook, rel_tol=1e-9, abs_tol=1e-12)
        return False
    if isinstance(live, dict) and isinstance(notebook, dict):
        return live.keys() == notebook.keys() and all(same(live[k], notebook[k]) for k in live)
    if isinstance(live, list) and isinstance(notebook, list):
        return len(live) == len(notebook) and all(map(same, live, notebook))
    return bool(live == notebook)


@dataclass
class Comparison:
    """The progress and the result of one comparison."""

    name: str
    total: int
    skipped: int = 0
    state: str = "running"  # running, done, cancelled, failed
    done: int = 0
    agree: int = 0
    differ: list[Json] = field(default_factory=list)
    differing: int = 0
    failed: int = 0
    message: str = ""

    def add(self, cases: list[Case], outcomes: list[Any]) -> None:
        """Count one chunk of cases against the notebook's answers to them."""
        for case, outcome in zip(cases, outcomes, strict=True):
            self.done += 1
            if "ok" in outcome and same(case.live, outcome["ok"]):
                self.agree += 1
                continue
            if "ok" in outcome:
                self.differing += 1
            else:
                self.failed += 1
            if len(self.differ) < SHOWN:
                self.differ.append(
                    {
                        "input": case.input,
                        "live": case.live,
                        "notebook": outcome.get("ok"),
                        "error": outcome.get("error"),
                        "time": case.time,
                        "version": case.version,
                    }
                )

    def to_json(self) -> Json:
        """The wire form (the panel, the server's REST answer)."""
        rate = self.agree / self.done if self.done else None
        return {
            "name": self.name,
            "state": self.state,
            "total": self.total,
            "done": self.done,
            "agree": self.agree,
            "differing": self.differing,
            "failed": self.failed,
            "skipped": self.skipped,
            "agreement": rate,
            "differ": self.differ,
            "message": self.message,
        }

    def summary(self) -> str:
        """One line: `37 of 40 answers agree (92.5%); 3 differ` (and what was skipped)."""
        if not self.done:
            text = "No logged request to compare: send the live API some traffic first."
        else:
            text = (
                f"{self.agree} of {self.done} answers agree ({100 * self.agree / self.done:.1f}%)"
            )
            if self.differing or self.failed:
                text += f"; {self.differing} differ, {self.failed} raised in the notebook"
        if self.skipped:
            text += f" ({self.skipped} redacted or truncated requests skipped)"
        if self.state == "cancelled":
            text += f" - cancelled after {self.done} of {self.total}"
        return text


def check_last(last: object) -> int:
    """`last` as a whole number from 1 to MAX_LAST, or InvalidRequest naming it."""
    if last is None:
        return 100
    if not isinstance(last, int) or isinstance(last, bool) or not 1 <= last <= MAX_LAST:
        raise InvalidRequest(f'"last" must be a whole number from 1 to {MAX_LAST}, not {last!r}.')
    return last


def run(
    name: str,
    records: Iterable[Json],
    ask: Callable[[list[Any]], list[Any]],
    chunk: int = CHUNK,
    on_progress: Callable[[Comparison], None] | None = None,
    cancel: threading.Event | None = None,
) -> Comparison:
    """Replay the cases chunk by chunk through `ask` (inputs -> outcomes); stops when
    `cancel` is set or on KeyboardInterrupt. The magics' driver (the server drives its own)."""
    cases, skipped = cases_from(records)
    comparison = Comparison(name, len(cases), skipped)
    for start in range(0, len(cases), chunk):
        if cancel is not None and cancel.is_set():
            comparison.state = "cancelled"
            return comparison
        part = cases[start : start + chunk]
        try:
            outcomes = ask([case.input for case in part])
        except KeyboardInterrupt:  # the kernel's stop button: keep what was compared
            comparison.state = "cancelled"
            return comparison
        comparison.add(part, outcomes)
        if on_progress is not None:
            on_progress(comparison)
    comparison.state = "done"
    return comparison
