"""The one compile-with-capture step every door uses (panel, `%deploy`, CLI, nbconvert).

    analyse -> capture what is missing -> re-analyse (a captured pickle may need a notebook
    class, whose body reads more globals) ... until nothing new is needed
    -> compile -> golden cases: the kernel's own answers for the example and the literal
       predict(...) calls (and predict_batch on the same inputs), into deploy.json

The source of values is pluggable (`sources.ValueSource`): a namespace, a live kernel, or a
fresh kernel that ran the notebook up to its predict cell (`execute.executed_notebook`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jupyter_deploy.compiler import golden as gold
from jupyter_deploy.compiler.bundle import Bundle, _function, compile_notebook
from jupyter_deploy.compiler.capture import captured_values, main_references
from jupyter_deploy.compiler.cells import Cell, predict_cell, read_cells
from jupyter_deploy.compiler.closure import Plan, analyze_cells
from jupyter_deploy.compiler.sources import ValueSource
from jupyter_deploy.compiler.verify import load_in_clean_interpreter
from jupyter_deploy.errors import CaptureFailed, CompileError, UnresolvedName
from jupyter_deploy.runtime.golden import REL_TOL, same_answer

MAX_ROUNDS = 20
NOT_LITERAL = "example is not a literal value"


def capture_to_fixpoint(
    cells: list[Cell],
    source: ValueSource,
    values: dict[str, bytes] | None = None,
    extra_roots: tuple[str, ...] = (),
    directory: Any = None,
) -> dict[str, bytes]:
    """Every computed value the module needs, captured until the analysis asks for nothing new."""
    values = dict(values or {})
    predict = predict_cell(cells)
    for _ in range(MAX_ROUNDS):
        roots = {ref for data in values.values() for ref in main_references(data)}
        plan = analyze_cells(cells, predict, tuple(sorted(roots | set(extra_roots))), directory)
        need = [name for name in plan.artifact_names if name not in values]
        if not need:
            return values
        _refuse_raised(plan, need, source.raised)
        values.update(captured_values(source.call("capture", names=need)))
    raise CaptureFailed(f"Capturing did not settle after {MAX_ROUNDS} rounds of new names.")


def _refuse_raised(plan: Plan, need: list[str], raised: Mapping[int, str]) -> None:
    for name in need:
        cell = plan.artifacts[name].cell
        if cell.index in raised:
            raise CaptureFailed(
                f"{cell.label} raised {raised[cell.index]} while the notebook ran, and it "
                f"computes {name}, which predict needs: fix that cell and export again."
            )


def compile_with_capture(
    nb: Any,
    source: ValueSource | None,
    values: dict[str, bytes] | None = None,
    golden: dict[str, Any] | None = None,
    example: Any = None,
    **options: Any,
) -> Bundle:
    """The bundle, with values and golden cases from `source`, loaded in a clean interpreter.

    Without a source, `values`, `golden` and a computed `example` are what is already known
    (an earlier export, for --check). `options` are compile_notebook's (name, source_path, ...).
    """
    cells = read_cells(nb)
    if source is not None:
        values = capture_to_fixpoint(cells, source, values, (), options.get("notebook_dir"))
    bundle = compile_notebook(nb, artifacts=values, **options)
    if source is not None:
        _take_example(bundle, cells, source, options.get("notebook_dir"))
        golden = golden_cases(bundle, cells, source, options.get("notebook_dir"))
    elif example is not None and bundle.metadata.get("example") is None:
        bundle.update_metadata(example=example)
    if golden:
        bundle.update_metadata(golden=golden)
    return _verified(nb, cells, bundle, source, values or {}, options)


def _verified(
    nb: Any,
    cells: list[Cell],
    bundle: Bundle,
    source: ValueSource | None,
    values: dict[str, bytes],
    options: dict[str, Any],
) -> Bundle:
    """Load the bundle in a clean interpreter; pull in names it lacks; pin what it imports."""
    golden, example = bundle.metadata.get("golden"), bundle.metadata.get("example")
    carried = list(bundle.warnings)
    inputs = _golden_inputs(bundle, cells, options.get("notebook_dir"))
    inputs += [c["input"] for c in (golden or {}).get("cases", []) if c["input"] not in inputs]
    roots: list[str] = []
    for _ in range(MAX_ROUNDS):
        loaded = load_in_clean_interpreter(bundle.files, inputs)
        if loaded.undefined and loaded.undefined not in roots and loaded.error:
            roots.append(loaded.undefined)
            _defined_in_notebook(cells, loaded.undefined, loaded.error, options)
            if source is not None:
                values = capture_to_fixpoint(
                    cells, source, values, tuple(roots), options.get("notebook_dir")
                )
        elif loaded.error:
            raise CompileError(
                f"predict.py fails in a clean interpreter, as the model service would load "
                f"it: {loaded.error}."
            )
        else:
            bundle = compile_notebook(
                nb,
                artifacts=values,
                extra_roots=tuple(roots),
                extra_modules=tuple(loaded.modules),
                **options,
            )
            break
        bundle = compile_notebook(nb, artifacts=values, extra_roots=tuple(roots), **options)
    else:
        raise CompileError(f"predict.py still lacks names after {MAX_ROUNDS} rounds: {roots}.")
    if golden:
        bundle.update_metadata(golden=golden)
    if example is not None and bundle.metadata.get("example") is None:
        bundle.update_metadata(example=example)
    warnings = dict.fromkeys(carried + bundle.warnings)
    if example is not None:  # a computed example, taken from a kernel
        warnings = {w: None for w in warnings if NOT_LITERAL not in w}
    bundle.warnings = list(warnings)
    return bundle


def _take_example(bundle: Bundle, cells: list[Cell], source: ValueSource, directory: Any) -> None:
    """A computed `example` (`X_test.iloc[0].to_dict()`), taken from the kernel as JSON."""
    if bundle.metadata.get("example") is not None or not any(c.role == "example" for c in cells):
        return
    answer = source.call("value", name="example")
    if "value" not in answer:
        bundle.warnings.append(
            f"The example could not be taken from the kernel: {answer['error']}."
        )
        return
    func = _function(analyze_cells(cells, predict_cell(cells), (), directory), "predict")
    bundle.update_metadata(example=gold.example_arguments(answer["value"], func))
    bundle.warnings = [w for w in bundle.warnings if NOT_LITERAL not in w]


def _defined_in_notebook(cells: list[Cell], name: str, error: str, options: dict[str, Any]) -> None:
    """UnresolvedName, said plainly, when no cell defines `name`."""
    try:
        analyze_cells(cells, predict_cell(cells), (name,), options.get("notebook_dir"))
    except UnresolvedName:
        raise CompileError(
            f"predict.py fails in a clean interpreter, as the model service would load it: "
            f"{error}, and no cell up to the predict cell defines {name}."
        ) from None


def golden_cases(
    bundle: Bundle, cells: list[Cell], source: ValueSource, directory: Any = None
) -> dict[str, Any] | None:
    """Ask the kernel for predict's answers on the golden inputs (for deploy.json)."""
    metadata = bundle.metadata
    inputs = _golden_inputs(bundle, cells, directory)
    if not inputs:  # no example, no literal predict(...) call: the build log says so
        return None
    answer = source.call("golden", inputs=inputs, batch=metadata.get("batch_items"))
    if "error" in answer:
        bundle.warnings.append(f"No golden case: {answer['error']}.")
        return None
    cases = _cases(answer["cases"], bundle.warnings, metadata.get("example"))
    if "batch" in answer:
        _check_batch(answer["batch"], answer["cases"], metadata.get("batch_items") or {})
    return {"rel_tol": REL_TOL, "cases": cases}


def _golden_inputs(bundle: Bundle, cells: list[Cell], directory: Any) -> list[dict[str, Any]]:
    """The example's arguments and those of every literal predict(...) call."""
    func = _function(analyze_cells(cells, predict_cell(cells), (), directory), "predict")
    return gold.golden_inputs(cells, func, _raw_example(cells), bundle.metadata.get("example"))


def _cases(
    answers: list[dict[str, Any]], warnings: list[str], example: Any
) -> list[dict[str, Any]]:
    cases = []
    for case in answers:
        shown = json.dumps(case["input"])[:120]
        if "error" in case:
            if case["input"] != example:  # the example's failure is the smoke test's to report
                warnings.append(f"predict raised {case['error']} in the kernel on {shown}.")
        elif not case.get("deterministic", True):
            warnings.append(
                f"predict gave two different answers on {shown} in the kernel: it is not "
                "deterministic, so this input is not a golden case."
            )
        else:
            cases.append({"input": case["input"], "output": case["answer"]})
    return cases


def _check_batch(batch: dict[str, Any], cases: list[dict[str, Any]], items: dict[str, Any]) -> None:
    shape = (
        f"a list of {items.get('parameter')!r} values"
        if items.get("shape") == gold.VALUES
        else "a list of argument dicts"
    )
    fix = (
        "say what it takes with a type hint: `items: list[dict]` for argument dicts, "
        "`items: list[<type of predict's parameter>]` for values"
    )
    if "error" in batch:
        raise CompileError(
            f"predict_batch, given {shape} (as the service will call it), raised "
            f"{batch['error']}: {fix}."
        )
    outputs = batch["answer"]
    for index, case in enumerate(cases):
        if "answer" not in case or not case.get("deterministic", True):
            continue
        got = outputs[index] if isinstance(outputs, list) and index < len(outputs) else None
        if not same_answer(case["answer"], got):
            raise CompileError(
                f"predict_batch disagrees with predict on {json.dumps(case['input'])[:120]}: "
                f"predict gives {json.dumps(case['answer'])[:120]}, predict_batch (given "
                f"{shape}) gives {json.dumps(got)[:120]}. Make them agree, or {fix}."
            )


def _raw_example(cells: list[Cell]) -> Any:
    """The literal `example` of the example cell, as written (before shaping)."""
    import ast

    for cell in cells:
        if cell.role != "example":
            continue
        for stmt in cell.stmts:
            node = stmt.node
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "example" for t in node.targets
            ):
                try:
                    return ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError):
                    return None
    return None
