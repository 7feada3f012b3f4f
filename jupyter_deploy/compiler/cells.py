"""Notebook cells -> plain-Python statements, with IPython syntax turned into Python first.

Every code cell is parsed once. IPython syntax (line and cell magics, `!shell` lines) is run
through IPython's own input transformer, then each magic call is either replaced by the
Python it wraps (`%time`, `%%capture`, ...), marked to drop (`%matplotlib`, `!pip install`)
or marked as unsupported (`%%bash`, `x = !ls`). Whether a dropped or unsupported statement
matters is decided later: only statements that end up in the module count.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from jupyter_deploy.errors import (
    CellSyntaxError,
    InvalidNotebook,
    MultiplePredictCells,
    NoPredictCell,
)

PREDICT, SETUP, EXAMPLE = "predict", "setup", "example"
ROLES = (PREDICT, SETUP, EXAMPLE)

# Magics whose body (or argument) is plain Python that should simply run.
PYTHON_CELL_MAGICS = {"time", "capture", "prun"}
PYTHON_LINE_MAGICS = {"time", "prun"}
# Magics that only matter in an interactive session: dropped with a warning.
DROPPED_LINE_MAGICS = {
    "matplotlib",
    "load_ext",
    "reload_ext",
    "autoreload",
    "aimport",
    "config",
    "pip",
    "conda",
    "who",
    "whos",
    "who_ls",
    "pinfo",
    "pinfo2",
    "psearch",
    "timeit",
    "precision",
    "pdb",
    "xmode",
    "colors",
    "reset",
    "history",
    "lsmagic",
    "pwd",
}

DROPPED_CELL_MAGICS = {"timeit", "html", "markdown", "latex", "svg", "javascript", "js"}

# A quick test that a cell may hold IPython syntax (the transformer is slow; most cells are not).
_IPYTHON_SYNTAX = re.compile(r"^\s*[%!]|=\s*[%!]|\?\s*$", re.MULTILINE)


@dataclass
class Stmt:
    """One top-level statement of a cell, as plain Python."""

    node: ast.stmt
    text: str
    magic: str | None = None
    """A magic this statement stands for: "drop:<name>" or "refuse:<name>"."""


@dataclass
class Cell:
    """A code cell: its position (1-based), id, role and statements."""

    index: int
    id: str
    role: str
    source: str
    stmts: list[Stmt] = field(default_factory=list)
    problem: str = ""
    """Why an untagged cell was left out (it does not parse as Python 3), or ""."""

    @property
    def label(self) -> str:
        """How a person finds the cell: `cell 4 (id 'c3f1')`."""
        return f"cell {self.index} (id {self.id!r})" if self.id else f"cell {self.index}"


def read_cells(nb: Any) -> list[Cell]:
    """The notebook's code cells, parsed; CellSyntaxError names the cell and the line."""
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise InvalidNotebook("This is not a notebook: it has no list of cells.")
    result = []
    for position, raw in enumerate(cells, start=1):
        if not isinstance(raw, dict) or raw.get("cell_type") != "code":
            continue
        source = _source_text(raw.get("source", ""))
        cell = Cell(position, str(raw.get("id") or ""), _role(raw, position), source)
        try:
            cell.stmts = parse_statements(source, cell)
        except CellSyntaxError as error:
            if cell.role != "code":
                raise
            cell.problem = f"{error} It was left out (a Python 2 line?)."
        result.append(cell)
    return result


def predict_cell(cells: list[Cell]) -> Cell:
    """The one cell tagged `predict`."""
    tagged = [cell for cell in cells if cell.role == PREDICT]
    if not tagged:
        raise NoPredictCell(
            "No cell is tagged 'predict'. Tag the cell that defines predict(...) "
            "(View > Cell Toolbar > Tags, or the property inspector) and try again."
        )
    if len(tagged) > 1:
        listed = ", ".join(cell.label for cell in tagged)
        raise MultiplePredictCells(
            f"More than one cell is tagged 'predict' ({listed}): keep the tag on one of them."
        )
    return tagged[0]


def parse_statements(source: str, cell: Cell, offset: int = 0) -> list[Stmt]:
    """The cell's statements; IPython syntax made plain Python (or marked).

    `offset` counts the lines above `source` in the cell (a cell magic's body starts at 1).
    """
    python = _transform(source) if _IPYTHON_SYNTAX.search(source) else source
    tree = _parse(python, cell, offset=offset)
    lines = python.splitlines(keepends=True)
    stmts: list[Stmt] = []
    for node in tree.body:
        stmts.extend(_unmagic(node, _segment(python, lines, node, tree.body), cell))
    return stmts


def _role(raw: dict[str, Any], position: int) -> str:
    tags = raw.get("metadata", {}).get("tags", [])
    roles = [role for role in ROLES if isinstance(tags, list) and role in tags]
    if len(roles) > 1:
        raise InvalidNotebook(
            f"Cell {position} has the tags {', '.join(roles)}: a cell plays one role, "
            "keep one of these tags."
        )
    return roles[0] if roles else "code"


def _source_text(source: object) -> str:
    if isinstance(source, list):
        return "".join(str(part) for part in source)
    return str(source)


def _transform(source: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    return str(TransformerManager().transform_cell(source))  # type: ignore[no-untyped-call]


def _parse(python: str, cell: Cell, offset: int) -> ast.Module:
    try:
        return ast.parse(python)
    except (RecursionError, MemoryError):
        raise CellSyntaxError(
            f"{cell.label} is nested too deeply for Python to parse: simplify it and try again."
        ) from None
    except SyntaxError as error:
        line = (error.lineno or 1) + offset
        raise CellSyntaxError(
            f"Syntax error in {cell.label}, line {line}: {error.msg}. Fix the cell and try again."
        ) from None


def _segment(python: str, lines: list[str], node: ast.stmt, body: list[ast.stmt]) -> str:
    """The statement's own text, decorators and inner comments included."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    last = node.end_lineno or node.lineno
    shares_line = any(
        other is not node and other.lineno <= last and (other.end_lineno or other.lineno) >= first
        for other in body
    )
    if node.col_offset == 0 and not shares_line:
        return "".join(lines[first - 1 : last]).rstrip() + "\n"
    return (ast.get_source_segment(python, node) or ast.unparse(node)) + "\n"


def _magic_call(node: ast.stmt) -> tuple[str, list[str]] | None:
    """(method, string args) when the statement is `get_ipython().<method>(...)`."""
    value = node.value if isinstance(node, ast.Expr | ast.Assign) else None
    if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Attribute):
        return None
    owner = value.func.value
    if not (
        isinstance(owner, ast.Call)
        and isinstance(owner.func, ast.Name)
        and owner.func.id == "get_ipython"
    ):
        return None
    args = [a.value for a in value.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return value.func.attr, args


def _unmagic(node: ast.stmt, text: str, cell: Cell) -> list[Stmt]:
    call = _magic_call(node)
    if call is None:
        return [Stmt(node, text)]
    method, args = call
    name = args[0] if args else "?"
    if isinstance(node, ast.Assign):
        return [Stmt(node, text, magic=f"refuse:{_describe(method, name)}")]
    if method == "run_cell_magic" and name in PYTHON_CELL_MAGICS and len(args) == 3:
        return _python_body(args[2], cell)
    if method == "run_line_magic" and name in PYTHON_LINE_MAGICS and len(args) == 2:
        return _python_body(args[1], cell)
    if (
        method == "system"
        or (method == "run_line_magic" and name in DROPPED_LINE_MAGICS)
        or (method == "run_cell_magic" and name in DROPPED_CELL_MAGICS)
    ):
        return [Stmt(node, text, magic=f"drop:{_describe(method, name)}")]
    return [Stmt(node, text, magic=f"refuse:{_describe(method, name)}")]


def _python_body(body: str, cell: Cell) -> list[Stmt]:
    return parse_statements(body, cell, offset=1)


def _describe(method: str, name: str) -> str:
    if method == "system":
        return f"!{name}"
    if method == "getoutput":
        return f"!{name}"
    if method == "run_cell_magic":
        return f"%%{name}"
    return f"%{name}"
