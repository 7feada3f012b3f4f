"""A notebook made from this kernel's cell history, for deploying a live function with no tags.

IPython keeps every cell it ran (raw and transformed). The cells become untagged code cells in
the order they ran; the definition of the function is cut out of its cell into a last cell
tagged `predict` (after everything that ran, so the helpers and values it sees are the ones it
sees live), renamed `predict` if it has another name. The compiler then does the rest.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbformat.v4 import new_code_cell, new_notebook

from jupyter_deploy.errors import DeployError, InvalidRequest

# Lines that drive deploying itself: never part of the model's code.
_DEPLOY_LINE = re.compile(
    r"^\s*%+\s*(deploy|load_ext|reload_ext)\b|^\s*(jupyter_deploy\.)?deploy\("
)


@dataclass
class HistoryCell:
    """One executed cell: as typed, and as Python after IPython's transforms."""

    number: int
    raw: str
    python: str


def history_cells(shell: Any) -> list[HistoryCell]:
    """Every cell this kernel ran, in order (the running one included)."""
    manager = shell.history_manager
    raws, parsed = manager.input_hist_raw, manager.input_hist_parsed
    return [
        HistoryCell(number, raw, parsed[number] if number < len(parsed) else raw)
        for number, raw in enumerate(raws)
        if number > 0 and raw.strip()
    ]


def notebook_for_function(
    shell: Any, function: Callable[..., Any], batch: Callable[..., Any] | None = None
) -> Any:
    """A notebook whose `predict` cell is `function` (and `predict_batch`, if given)."""
    cells = history_cells(shell)
    code_name = _code_namer(shell)
    predict_src, cells = _cut_out(cells, function, "predict", code_name)
    sources = [predict_src]
    if batch is not None:
        batch_src, cells = _cut_out(cells, batch, "predict_batch", code_name)
        sources.append(batch_src)
    nb = new_notebook()  # type: ignore[no-untyped-call]
    for cell in cells:
        text = _without_deploy_lines(cell)
        if text.strip():
            nb.cells.append(_code(text, f"in-{cell.number}"))
    nb.cells.append(_code("\n\n\n".join(sources), "predict", "predict"))
    example = shell.user_ns.get("example")
    if _fits(example, function):
        nb.cells.append(_code(f"example = {json.dumps(example)}", "example", "example"))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def _code(source: str, cell_id: str, *tags: str) -> Any:
    cell = new_code_cell(source)  # type: ignore[no-untyped-call]
    cell.id = cell_id
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _code_namer(shell: Any) -> Callable[[HistoryCell], set[str]]:
    """The file names IPython may have compiled a cell under (history strips newlines)."""
    compiler = getattr(shell, "compile", None)
    get_name = getattr(compiler, "get_code_name", None)

    def names(cell: HistoryCell) -> set[str]:
        if get_name is None:
            return set()
        found = set()
        for raw in (cell.raw, cell.raw + "\n"):
            for python in (cell.python, cell.python + "\n"):
                try:
                    found.add(str(get_name(raw, python, cell.number)))
                except Exception:  # a compiler without this hook: matching by name will do
                    return set()
        return found

    return names


def _cut_out(
    cells: list[HistoryCell],
    function: Callable[..., Any],
    role: str,
    code_name: Callable[[HistoryCell], set[str]],
) -> tuple[str, list[HistoryCell]]:
    """The source of `function` (renamed to `role`) and the cells with it removed."""
    fname = _check_function(function)
    index, node = _defining_cell(cells, fname, function.__code__.co_filename, code_name)
    cell = cells[index]
    lines = cell.python.splitlines()
    first = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    last = node.end_lineno or node.lineno
    source = "\n".join(lines[first:last])
    if fname != role:
        header = rf"^(\s*(?:async\s+)?def\s+){re.escape(fname)}\b"
        source = re.sub(header, rf"\g<1>{role}", source, count=1, flags=re.M)
    rest = lines[:first] + lines[last:]
    if len(cell.raw.splitlines()) == len(lines):
        raw_lines = cell.raw.splitlines()
        raw_rest = raw_lines[:first] + raw_lines[last:]
    else:
        raw_rest = rest
    remaining = HistoryCell(cell.number, "\n".join(raw_rest), "\n".join(rest))
    return source, [*cells[:index], remaining, *cells[index + 1 :]]


def _check_function(function: Callable[..., Any]) -> str:
    code = getattr(function, "__code__", None)
    name = getattr(function, "__name__", "")
    if code is None or not name.isidentifier():
        raise InvalidRequest(
            f"{function!r} is not a function defined with `def` in this notebook; "
            "deploy a function you wrote in a cell."
        )
    if getattr(function, "__module__", "__main__") != "__main__":
        raise InvalidRequest(
            f"{name} comes from the module {function.__module__}, not from this notebook: "
            f"write `def predict(...)` in a cell that calls it, and deploy that."
        )
    return str(name)


def _defining_cell(
    cells: list[HistoryCell],
    fname: str,
    filename: str,
    code_name: Callable[[HistoryCell], set[str]],
) -> tuple[int, ast.FunctionDef | ast.AsyncFunctionDef]:
    """The last cell that ran this very definition (by the compiled cell's name, else by name)."""
    found: list[tuple[int, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    exact: list[tuple[int, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for index, cell in enumerate(cells):
        node = _top_level_def(cell.python, fname)
        if node is None:
            continue
        found.append((index, node))
        if filename and filename in code_name(cell):
            exact.append((index, node))
    if exact or found:
        return (exact or found)[-1]
    raise DeployError(
        f"No cell of this kernel's history defines {fname} with `def`; run the cell that "
        f"defines it (or deploy the tagged notebook with %deploy)."
    )


def _top_level_def(source: str, fname: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    found = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == fname:
            found = node
    return found


def _without_deploy_lines(cell: HistoryCell) -> str:
    """The cell as typed, minus the lines that load or call jupyter-deploy; '' if it is broken."""
    try:
        ast.parse(cell.python)
    except SyntaxError:
        return ""
    return "\n".join(line for line in cell.raw.splitlines() if not _DEPLOY_LINE.match(line))


def _fits(example: Any, function: Callable[..., Any]) -> bool:
    """True when `example` is a JSON object whose keys are arguments of `function`."""
    if not isinstance(example, dict) or not example:
        return False
    code = function.__code__
    params = set(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
    try:
        json.dumps(example)
    except (TypeError, ValueError):
        return False
    return set(example) <= params
