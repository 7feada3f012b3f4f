"""Golden cases and the shapes of `example` and `predict_batch`, read from the notebook.

A golden case is an input (the example, or the literal arguments of a `predict(...)` call in
any cell) and the answer the notebook's kernel gave for it at capture. The build replays them
against the new service (`builder/golden.py`, and the Kubernetes readiness probe in the pod);
`same_answer` in runtime/golden.py is the one comparison every check uses.
"""

from __future__ import annotations

import ast
from typing import Any

from jupyter_deploy.compiler.cells import Cell
from jupyter_deploy.errors import CompileError

MAX_CASES = 20
ARGUMENTS, VALUES = "arguments", "values"
_DICTS = {"dict", "Dict", "Mapping", "MutableMapping", "TypedDict"}
_LISTS = {"list", "List", "Sequence", "Iterable", "Collection", "MutableSequence", "tuple"}


def parameters(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """predict's parameter names, positional first."""
    args = func.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


def _required(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    required = [a.arg for a in positional[: len(positional) - len(args.defaults)]]
    kw = zip(args.kwonlyargs, args.kw_defaults, strict=True)
    return required + [a.arg for a, d in kw if d is None]


def example_arguments(example: Any, func: ast.FunctionDef | ast.AsyncFunctionDef) -> Any:
    """The example as a dict of predict's arguments by name.

    A dict whose keys are a valid set of predict's arguments is taken as is; otherwise, when
    predict has one parameter, the example is that parameter's value (`predict(example)`).
    """
    names = parameters(func)
    if isinstance(example, dict) and _fits(example, names, _required(func)):
        return example
    if len(names) == 1 and example is not None:
        return {names[0]: example}
    return example


def _fits(args: dict[Any, Any], names: list[str], required: list[str]) -> bool:
    keys = set(args)
    return bool(keys) and keys <= set(names) and set(required) <= keys


def call_arguments(
    call: ast.Call, func: ast.FunctionDef | ast.AsyncFunctionDef, example: Any
) -> dict[str, Any] | None:
    """The literal arguments of a `predict(...)` call by name, or None when not literal."""
    names = parameters(func)
    args: dict[str, Any] = {}
    for index, node in enumerate(call.args):
        if isinstance(node, ast.Starred) or index >= len(names):
            return None
        value = _literal(node, example)
        if value is _NOT_LITERAL:
            return None
        args[names[index]] = value
    for keyword in call.keywords:
        if keyword.arg is None:
            is_example = isinstance(keyword.value, ast.Name) and keyword.value.id == "example"
            if not (is_example and isinstance(example, dict)) or call.args:
                return None
            args.update(example)
            continue
        value = _literal(keyword.value, example)
        if value is _NOT_LITERAL:
            return None
        args[keyword.arg] = value
    return args if _fits(args, names, _required(func)) else None


_NOT_LITERAL = object()


def _literal(node: ast.expr, example: Any) -> Any:
    if isinstance(node, ast.Name) and node.id == "example" and example is not None:
        return example
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


def golden_inputs(
    cells: list[Cell], func: ast.FunctionDef | ast.AsyncFunctionDef, example: Any, args: Any
) -> list[dict[str, Any]]:
    """The example's arguments, then the literal arguments of every predict(...) call."""
    found: list[dict[str, Any]] = [args] if isinstance(args, dict) else []
    for cell in cells:
        for stmt in cell.stmts:
            for node in _calls(stmt.node):
                call = call_arguments(node, func, example)
                if call is not None and call not in found:
                    found.append(call)
    return found[:MAX_CASES]


def _calls(node: ast.AST) -> list[ast.Call]:
    """predict(...) calls outside function bodies."""
    found: list[ast.Call] = []
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if (
            isinstance(current, ast.Call)
            and isinstance(current.func, ast.Name)
            and current.func.id == "predict"
        ):
            found.append(current)
        stack.extend(ast.iter_child_nodes(current))
    return found[::-1]


def batch_items(
    predict: ast.FunctionDef | ast.AsyncFunctionDef, batch: ast.FunctionDef | ast.AsyncFunctionDef
) -> dict[str, str]:
    """What predict_batch's list holds: argument dicts, or the values of predict's parameter.

    Decided by predict_batch's type hint: `list[T]` where T is the hint of predict's one
    parameter means values (`rows: list[dict]` for `predict(row: dict)`); otherwise
    `list[dict]` (or Mapping) means argument dicts, and `list[T]` with another T means values,
    which needs a predict of one parameter. Without a telling hint: values when predict has one
    parameter, argument dicts otherwise.
    """
    names = parameters(predict)
    item = _item_annotation(batch)
    if item is not None and len(names) == 1 and _same_hint(item, _annotation(predict)):
        return {"shape": VALUES, "parameter": names[0]}  # list[dict] for predict(row: dict)
    if item is not None and _base(item) in _DICTS:
        return {"shape": ARGUMENTS}
    if item is None and len(names) != 1:
        return {"shape": ARGUMENTS}
    if len(names) != 1:
        raise CompileError(
            f"predict_batch takes a list of {ast.unparse(item) if item else '?'}, but predict "
            f"has {len(names)} parameters ({', '.join(names)}): make predict_batch take "
            "`items: list[dict]` (one dict of predict's arguments per item)."
        )
    return {"shape": VALUES, "parameter": names[0]}


def _annotation(func: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.expr | None:
    args = [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]
    return args[0].annotation if args else None


def _same_hint(one: ast.expr, other: ast.expr | None) -> bool:
    return other is not None and ast.dump(one) == ast.dump(_unquoted(other))


def _unquoted(hint: ast.expr) -> ast.expr:
    if isinstance(hint, ast.Constant) and isinstance(hint.value, str):
        try:
            return ast.parse(hint.value, mode="eval").body
        except SyntaxError:
            return hint
    return hint


def _item_annotation(batch: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.expr | None:
    """T of predict_batch's `items: list[T]`, or None when the hint says nothing about T."""
    positional = [*batch.args.posonlyargs, *batch.args.args]
    if not positional:
        raise CompileError(
            "predict_batch takes no argument: define it as `def predict_batch(items: list[dict])`"
            " (a list of inputs -> a list of outputs)."
        )
    hint = positional[0].annotation
    if hint is not None:
        hint = _unquoted(hint)
    if isinstance(hint, ast.Subscript) and _base(hint.value) in _LISTS:
        index = hint.slice
        return index.elts[0] if isinstance(index, ast.Tuple) and index.elts else index
    return None


def _base(node: ast.expr) -> str:
    if isinstance(node, ast.Subscript):
        return _base(node.value)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""
