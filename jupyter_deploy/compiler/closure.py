"""Which statements the module needs: the closure of the names `predict` and `setup` use.

Each top-level statement binds names and is one of: an import, a def, a class, a literal
constant, "code" (an `if`/`try` made only of those) or a computed value. Names resolve to
the last binding in notebook order among the cells up to the predict cell (and the setup
cells). Copied kinds bring in the names they use, transitively; a computed value becomes an
artifact, captured from a kernel instead of re-run.
"""

from __future__ import annotations

import ast
import builtins
import symtable
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_deploy.compiler.cells import SETUP, Cell, Stmt
from jupyter_deploy.errors import NoPredictFunction, UnresolvedName, UnsupportedMagic

IMPORT, DEF, CLASS, LITERAL, CODE, COMPUTED, SETUP_KIND = (
    "import",
    "def",
    "class",
    "literal",
    "code",
    "computed",
    "setup",
)
_BUILTINS = frozenset(dir(builtins))


@dataclass(eq=False)
class Binding:
    """One statement and what it binds."""

    cell: Cell
    position: int
    stmt: Stmt
    kind: str
    names: tuple[str, ...]

    @property
    def order(self) -> tuple[int, int]:
        """Where the statement sits in the notebook."""
        return (self.cell.index, self.position)


@dataclass
class Plan:
    """What the module is made of, before any value is captured."""

    predict_cell: Cell
    setup_cells: list[Cell]
    included: list[Binding]
    """Statements copied or loaded, in notebook order."""
    imports: dict[int, set[str]] = field(default_factory=dict)
    """For each included import statement (by id), the names the module needs from it."""
    artifacts: dict[str, Binding] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    functions: dict[str, str | None] = field(default_factory=dict)
    cells: list[Cell] = field(default_factory=list)
    """Every code cell of the notebook."""

    @property
    def artifact_names(self) -> list[str]:
        """Computed values to capture from a kernel, in notebook order."""
        return list(self.artifacts)


def classify(stmt: Stmt) -> tuple[str, tuple[str, ...]]:
    """The statement's kind and the names it binds."""
    node = stmt.node
    if isinstance(node, ast.Import | ast.ImportFrom):
        return IMPORT, tuple(_import_names(node))
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return DEF, (node.name,)
    if isinstance(node, ast.ClassDef):
        return CLASS, (node.name,)
    names = tuple(bound_names(node, stmt.text))
    if _is_literal_assignment(node):
        return LITERAL, names
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
        return DEF, names
    if isinstance(node, ast.If | ast.Try) and _only_definitions(node):
        return CODE, names
    return COMPUTED, names


def analyze_cells(
    cells: list[Cell],
    predict: Cell,
    extra_roots: tuple[str, ...] = (),
    directory: str | Path | None = None,
) -> Plan:
    """Resolve the closure of predict (and setup cells, and `extra_roots`).

    `directory` (the notebook's folder) lets `from helpers import *` of a module beside the
    notebook be followed: the names helpers.py binds resolve to that import.
    """
    setup_cells = [cell for cell in cells if cell.role == SETUP]
    table = _binding_table(cells, predict)
    stars = _star_imports(cells, predict, directory)
    predict_names = {n for b in _cell_bindings(predict) for n in b.names if b.kind == DEF}
    if "predict" not in predict_names:
        raise NoPredictFunction(
            f"The predict cell ({predict.label}) defines no function named predict: "
            "add `def predict(...):` to it."
        )
    plan = Plan(predict, setup_cells, [], cells=cells)
    plan.warnings.extend(cell.problem for cell in cells if cell.problem)
    plan.functions = {
        "predict": "predict",
        "predict_batch": "predict_batch" if "predict_batch" in predict_names else None,
    }
    _Resolver(table, plan, stars).run(predict, setup_cells, extra_roots)
    return plan


class _Resolver:
    def __init__(
        self, table: dict[str, Binding], plan: Plan, stars: list[tuple[Binding, set[str] | None]]
    ) -> None:
        self.table = table
        self.stars = stars
        self.plan = plan
        self.seen: dict[int, Binding] = {}
        self.resolved: set[str] = set()
        self.todo: list[tuple[str, Cell]] = []

    def run(self, predict: Cell, setup_cells: list[Cell], extra_roots: tuple[str, ...]) -> None:
        roots = [name for name, value in self.plan.functions.items() if value]
        self.todo.extend((name, predict) for name in (*roots, *extra_roots))
        for cell in setup_cells:
            for position, stmt in enumerate(cell.stmts):
                self._take_setup(Binding(cell, position, stmt, SETUP_KIND, ()))
        while self.todo:
            name, user = self.todo.pop()
            self._resolve(name, user)
        self.plan.included = definition_order(sorted(self.plan.included, key=lambda b: b.order))
        ordered = sorted(self.plan.artifacts.items(), key=lambda item: item[1].order)
        self.plan.artifacts = dict(ordered)

    def _take_setup(self, binding: Binding) -> None:
        magic = binding.stmt.magic
        if magic and magic.startswith("refuse:"):
            raise UnsupportedMagic(
                f"{binding.cell.label} (tagged setup) uses {magic[7:]}, which cannot run in a "
                "model service: rewrite it in Python or move it out of the setup cell."
            )
        if magic:
            self.plan.warnings.append(
                f"{binding.cell.label}: {magic[5:]} dropped (it only matters in a notebook; "
                "the service's packages come from requirements.txt)."
            )
            return
        self.plan.included.append(binding)
        bound = set(bound_names(binding.stmt.node))
        for name in free_names(binding.stmt):
            if name not in bound:
                self.todo.append((name, binding.cell))

    def _resolve(self, name: str, user: Cell) -> None:
        if name in self.resolved:
            return
        self.resolved.add(name)
        binding = self.table.get(name) or self._star_binding(name)
        if binding is None:
            if name in _BUILTINS:
                return
            raise UnresolvedName(self._unresolved(name, user))
        if binding.kind == SETUP_KIND:
            return
        if binding.kind == COMPUTED:
            self.plan.artifacts[name] = binding
            self._include(binding)
            return
        if binding.kind == IMPORT:
            self.plan.imports.setdefault(id(binding), set()).add(name)
        if self._include(binding):
            for free in free_names(binding.stmt):
                self.todo.append((free, binding.cell))

    def _star_binding(self, name: str) -> Binding | None:
        """The last `from local_module import *` whose module binds `name`."""
        for binding, names in reversed(self.stars):
            if names is not None and name in names:
                return binding
        return None

    def _unresolved(self, name: str, user: Cell) -> str:
        hidden = [b for b, names in self.stars if names is None]
        if hidden:
            star = hidden[-1]
            module = getattr(star.stmt.node, "module", "")
            return (
                f"{user.label} uses {name!r}, which no cell defines by name; {star.cell.label} "
                f"does `from {module} import *`, which hides where names come from: import "
                f"what you use by name (`from {module} import {name}`) or define it in a cell."
            )
        return (
            f"{user.label} uses {name!r}, but no cell up to the predict cell defines it. "
            f"Define or import {name} in a cell above, or in a cell tagged setup."
        )

    def _include(self, binding: Binding) -> bool:
        if id(binding) in self.seen:
            return False
        self.seen[id(binding)] = binding
        self.plan.included.append(binding)
        return True


def definition_order(included: list[Binding]) -> list[Binding]:
    """Notebook order, except that a statement comes after what it needs when it runs: a class
    after its bases, decorators and the names its body reads; a def after its decorators,
    defaults and annotations (e.g. a class above an import the notebook repeats further down).
    """
    provider: dict[str, Binding] = {}
    for binding in included:
        for name in binding.names:
            provider[name] = binding
    placed: set[int] = set()
    ordered: list[Binding] = []

    def place(binding: Binding, visiting: set[int]) -> None:
        if id(binding) in placed or id(binding) in visiting:
            return
        visiting.add(id(binding))
        for name in definition_time_names(binding):
            needed = provider.get(name)
            if needed is not None and needed.order > binding.order:
                place(needed, visiting)
        placed.add(id(binding))
        ordered.append(binding)

    for binding in included:
        place(binding, set())
    return ordered


def definition_time_names(binding: Binding) -> set[str]:
    """Names a statement reads while it runs (not those read later, inside function bodies)."""
    node = binding.stmt.node
    if binding.kind in (IMPORT, LITERAL, COMPUTED):
        return set()
    if binding.kind in (CODE, SETUP_KIND):
        return set(free_names(binding.stmt))
    return _loaded(_run_now(node))


def _run_now(node: ast.AST) -> list[ast.AST]:
    """The parts of a def or class evaluated when the definition runs."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        args = node.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        parts: list[ast.AST] = [*node.decorator_list, *args.defaults]
        parts += [d for d in args.kw_defaults if d is not None]
        parts += [a.annotation for a in every if a is not None and a.annotation is not None]
        return parts + ([node.returns] if node.returns else [])
    if isinstance(node, ast.ClassDef):
        parts = [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
        for stmt in node.body:
            parts.extend(
                _run_now(stmt)
                if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                else [stmt]
            )
        return parts
    return [node]


def _loaded(parts: list[ast.AST]) -> set[str]:
    names: set[str] = set()
    for part in parts:
        for child in ast.walk(part):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                names.add(child.id)
    return names


def _star_imports(
    cells: list[Cell], predict: Cell, directory: str | Path | None
) -> list[tuple[Binding, set[str] | None]]:
    """Each visible `from M import *`, with the names M binds when M is a module beside the
    notebook (None when it is not: an installed package the compiler does not import)."""
    found: list[tuple[Binding, set[str] | None]] = []
    for cell in cells:
        if cell.index > predict.index and cell.role != SETUP:
            continue
        for position, stmt in enumerate(cell.stmts):
            node = stmt.node
            if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                binding = Binding(cell, position, stmt, IMPORT, ())
                found.append((binding, _module_names(node, directory)))
    return found


def _module_names(node: ast.ImportFrom, directory: str | Path | None) -> set[str] | None:
    if directory is None or node.level or not node.module or "." in node.module:
        return None
    source = Path(directory) / f"{node.module}.py"
    try:
        tree = ast.parse(source.read_text())
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None
    names: set[str] = set()
    for stmt in tree.body:
        names.update(bound_names(stmt))
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets
        ):
            try:
                return {str(n) for n in ast.literal_eval(stmt.value)}
            except (ValueError, TypeError, SyntaxError):
                pass
    return {n for n in names if not n.startswith("_")}


def _binding_table(cells: list[Cell], predict: Cell) -> dict[str, Binding]:
    """name -> its winning binding (the last, in notebook order, of the visible cells)."""
    table: dict[str, Binding] = {}
    for cell in cells:
        if cell.index > predict.index and cell.role != SETUP:
            continue
        for binding in _cell_bindings(cell):
            for name in binding.names:
                table[name] = binding
        for stmt in cell.stmts:  # a literal changed in place later is a computed value
            for name in changed_names(stmt.node):
                changed = table.get(name)
                if changed is not None and changed.kind == LITERAL:
                    changed.kind = COMPUTED
    return table


_READING = frozenset(
    {
        *("get", "keys", "values", "items", "index", "count", "copy", "format", "join"),
        *("split", "startswith", "endswith", "lower", "upper", "strip", "replace", "find"),
        *("tolist", "to_dict", "head", "tail", "describe", "predict", "predict_proba"),
        *("transform", "score"),
    }
)


def changed_names(node: ast.AST) -> set[str]:
    """Names a top-level statement may change in place (`name.fit(...)`, `name.x = ...`,
    `name[k] = ...`); function bodies and calls of reading methods (`.get`) left out."""
    found: set[str] = set()
    stack: list[ast.AST] = [node]
    while stack:
        child = stack.pop()
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        stack.extend(ast.iter_child_nodes(child))
        target = None
        if isinstance(child, ast.Attribute | ast.Subscript) and isinstance(child.ctx, ast.Store):
            target = child.value
        elif (
            isinstance(child, ast.Call)
            and isinstance(child.func, ast.Attribute)
            and child.func.attr not in _READING
        ):
            target = child.func.value
        if isinstance(target, ast.Name):
            found.add(target.id)
    return found


def _cell_bindings(cell: Cell) -> list[Binding]:
    result = []
    for position, stmt in enumerate(cell.stmts):
        kind, names = classify(stmt)
        if cell.role == SETUP:
            kind = SETUP_KIND
        if names:
            result.append(Binding(cell, position, stmt, kind, names))
    return result


def free_names(stmt: Stmt) -> list[str]:
    """Module-level names the statement reads (builtins and dunders left out)."""
    if isinstance(stmt.node, ast.Import | ast.ImportFrom):
        return []
    try:
        table = symtable.symtable(stmt.text, "<cell>", "exec")
    except SyntaxError:
        try:
            table = symtable.symtable(ast.unparse(stmt.node), "<cell>", "exec")
        except SyntaxError:  # e.g. `return` at top level, which ast accepts
            return []
    names: set[str] = set()
    for symbol in table.get_symbols():
        if symbol.is_referenced() and not symbol.is_assigned() and not symbol.is_imported():
            names.add(symbol.get_name())
    stack = list(table.get_children())
    while stack:
        child = stack.pop()
        stack.extend(child.get_children())
        for symbol in child.get_symbols():
            if symbol.is_global() and symbol.is_referenced():
                names.add(symbol.get_name())
    return sorted(n for n in names if not (n.startswith("__") and n.endswith("__")))


def bound_names(node: ast.stmt, text: str = ":=") -> list[str]:
    """Names a top-level statement binds (nested scopes left out).

    Expressions bind nothing but through `:=`, so without one in `text` only statements and
    assignment targets are walked, which keeps big exploration cells cheap.
    """
    if ":=" not in text and not isinstance(node, ast.Match):
        return list(dict.fromkeys(_statement_targets(node)))
    names: list[str] = []
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Name) and isinstance(current.ctx, ast.Store):
            names.append(current.id)
        elif isinstance(current, ast.Import | ast.ImportFrom):
            names.extend(_import_names(current))
        elif isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(current.name)
            continue
        elif isinstance(current, ast.ExceptHandler) and current.name:
            names.append(current.name)
        if isinstance(current, ast.Lambda | ast.comprehension):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(current))))
    return list(dict.fromkeys(names))


def _statement_targets(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return _import_names(node)
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    targets: list[ast.AST] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor):
        targets = [node.target]
    elif isinstance(node, ast.With | ast.AsyncWith):
        targets = [item.optional_vars for item in node.items if item.optional_vars]
    names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(node, ast.ExceptHandler) and node.name:
        names.append(node.name)
    for field_name in ("body", "orelse", "finalbody", "handlers"):
        for child in getattr(node, field_name, []):
            names.extend(_statement_targets(child))
    return names


def _import_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    names = []
    for alias in node.names:
        if alias.name == "*":
            continue
        if alias.asname:
            names.append(alias.asname)
        elif isinstance(node, ast.Import):
            names.append(alias.name.split(".")[0])
        else:
            names.append(alias.name)
    return names


def _is_literal_assignment(node: ast.stmt) -> bool:
    if isinstance(node, ast.Assign):
        value, targets = node.value, node.targets
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        value, targets = node.value, [node.target]
    else:
        return False
    if not all(isinstance(t, ast.Name) for t in targets):
        return False
    try:
        ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _only_definitions(node: ast.stmt) -> bool:
    """True for an `if`/`try` made of imports, defs and literals (no call outside a def)."""
    stack: list[ast.AST] = [node]
    while stack:
        child = stack.pop()
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(child, ast.Assign) and not _is_literal_assignment(child):
            return False
        if isinstance(child, ast.Call):
            return False
        stack.extend(ast.iter_child_nodes(child))
    return True
