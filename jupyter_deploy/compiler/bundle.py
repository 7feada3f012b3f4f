"""Notebook -> Bundle: the module, deploy.json, requirements.txt, artifacts, files, runtime."""

from __future__ import annotations

import ast
import contextlib
import gc
import gzip
import hashlib
import io
import json
import sys
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from jupyter_deploy._version import __version__
from jupyter_deploy.compiler import requirements
from jupyter_deploy.compiler.capture import global_references, main_references
from jupyter_deploy.compiler.cells import EXAMPLE, Cell, predict_cell, read_cells
from jupyter_deploy.compiler.closure import Plan, analyze_cells, bound_names, free_names
from jupyter_deploy.compiler.emit import render_module
from jupyter_deploy.compiler.golden import batch_items, example_arguments
from jupyter_deploy.compiler.schema import input_schema, output_schema
from jupyter_deploy.errors import ArtifactNotCaptured, CompileError, InvalidNotebook
from jupyter_deploy.wire import check_name, default_name


@dataclass
class Bundle:
    """The files of a deployable bundle, in memory."""

    name: str
    files: dict[str, bytes]
    metadata: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    preview: bool = False
    """Compiled without (some) computed values: for review only, not deployable."""

    def update_metadata(self, **entries: Any) -> None:
        """Add entries to deploy.json (e.g. the golden cases computed after compiling)."""
        self.metadata.update(entries)
        self.files["deploy.json"] = _metadata_bytes(self.metadata)

    @property
    def module(self) -> str:
        """The generated predict.py."""
        return self.files["predict.py"].decode()

    def write(self, directory: str | Path) -> Path:
        """Write the bundle into `directory` (created); stale artifacts are removed."""
        if self.preview:
            self.tarball()  # refuses, naming what is missing
        root = Path(directory)
        stale = root / "artifacts"
        if stale.is_dir():
            for old in stale.iterdir():
                if f"artifacts/{old.name}" not in self.files and old.is_file():
                    old.unlink()
        for relative, data in sorted(self.files.items()):
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return root

    def tarball(self) -> bytes:
        """A deterministic .tar.gz of the bundle (sorted, no times, no owners)."""
        if self.preview:
            missing = [a["name"] for a in self.metadata["artifacts"] if a["sha256"] is None]
            raise ArtifactNotCaptured(
                f"This bundle is a preview without {', '.join(missing)}: compile it with the "
                "values captured from a kernel to deploy it."
            )
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for relative, data in sorted(self.files.items()):
                info = tarfile.TarInfo(relative)
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
        return gzip.compress(raw.getvalue(), mtime=0)


def load_notebook(path: str | Path) -> tuple[Any, bytes]:
    """(notebook, file bytes) of an .ipynb file; InvalidNotebook when it is not one."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise InvalidNotebook(f"{path}: no such notebook.") from None
    except IsADirectoryError:
        raise InvalidNotebook(f"{path} is a folder, not a notebook.") from None
    except OSError as error:
        raise InvalidNotebook(f"{path} cannot be read ({error.strerror}).") from None
    return parse_notebook(data, str(path)), data


def parse_notebook(data: bytes | str, path: str) -> Any:
    """The notebook (nbformat 4) in `data`: the one notebook reader of every door."""
    import nbformat

    try:
        text = data.decode() if isinstance(data, bytes) else data
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InvalidNotebook(f"{path} is not a readable notebook ({first}).") from None
    except RecursionError:
        raise InvalidNotebook(f"{path} is JSON nested too deeply to be a notebook.") from None
    cells = raw.get("cells") if isinstance(raw, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise InvalidNotebook(
            f"{path} is JSON but not a notebook: a notebook is an object with a list of cells."
        )
    try:
        return nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
    except (ValueError, TypeError, AttributeError, KeyError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InvalidNotebook(f"{path} is not a readable notebook ({first}).") from None


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: parsing makes many small acyclic objects that only slow it down."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def analyze(
    nb: Any,
    source_path: str | None = None,
    extra_roots: tuple[str, ...] = (),
    directory: str | Path | None = None,
) -> Plan:
    """The plan for `nb`: what the module needs, and which computed values to capture."""
    with _gc_paused():
        cells = read_cells(nb)
        return analyze_cells(cells, predict_cell(cells), extra_roots, directory)


def compile_notebook(
    nb: Any,
    name: str | None = None,
    source_path: str | None = None,
    notebook_dir: str | Path | None = None,
    artifacts: Mapping[str, bytes] | None = None,
    source_bytes: bytes | None = None,
    preview: bool = False,
    extra_roots: tuple[str, ...] = (),
    extra_modules: tuple[str, ...] = (),
) -> Bundle:
    """Compile a notebook (a NotebookNode, or a path to one) into a Bundle.

    `preview=True` compiles without the computed values (for review): their files are left
    out, their hashes are null, and the bundle cannot be deployed. `extra_roots` are notebook
    names the module must define although no code names them (found by loading it);
    `extra_modules` are modules it was seen to import (pinned in requirements.txt).
    """
    if isinstance(nb, str | Path):
        path = Path(nb)
        nb, source_bytes = load_notebook(path)
        source_path = source_path or path.as_posix()
        notebook_dir = notebook_dir or path.parent
    name = check_name(name or default_name(source_path))
    with _gc_paused():
        bundle = _compile(
            nb,
            name,
            source_path or f"{name}.ipynb",
            notebook_dir,
            artifacts,
            source_bytes,
            preview,
            (extra_roots, extra_modules),
        )
    return bundle


def _compile(
    nb: Any,
    name: str,
    source_path: str,
    notebook_dir: str | Path | None,
    artifacts: Mapping[str, bytes] | None,
    source_bytes: bytes | None,
    preview: bool = False,
    extra: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
) -> Bundle:
    directory = Path(notebook_dir or ".")
    cells = read_cells(nb)
    predict = predict_cell(cells)
    values = dict(artifacts or {})
    roots = {ref for data in values.values() for ref in main_references(data)} | set(extra[0])
    plan = analyze_cells(cells, predict, tuple(sorted(roots)), directory)
    missing = [n for n in plan.artifact_names if n not in values]
    if missing and not preview:
        raise _not_captured(plan, missing)
    bundle = _assemble(
        plan, cells, nb, name, source_path, directory, values, source_bytes, set(extra[1])
    )
    bundle.preview = bool(missing)
    return bundle


def _not_captured(plan: Plan, missing: list[str]) -> ArtifactNotCaptured:
    where = ", ".join(f"{n} (computed in {plan.artifacts[n].cell.label})" for n in missing)
    return ArtifactNotCaptured(
        f"predict needs {where}, and no kernel was at hand to take the value from. "
        "Export with --execute (runs the notebook in a fresh kernel), deploy from the running "
        "notebook, or load the value from a file in a cell tagged setup."
    )


def _assemble(
    plan: Plan,
    cells: list[Cell],
    nb: Any,
    name: str,
    source_path: str,
    directory: Path,
    values: dict[str, bytes],
    source_bytes: bytes | None,
    seen_modules: set[str],
) -> Bundle:
    warnings = list(plan.warnings)
    files: dict[str, bytes] = {
        "predict.py": render_module(plan, name, source_path, values).encode()
    }
    for artifact in plan.artifact_names:
        if artifact in values:
            files[f"artifacts/{artifact}.pkl"] = bytes(values[artifact])
    data_files = _data_files(plan, nb, directory)
    modules = _imported_modules(plan) | _pickled_modules(plan, values)
    modules |= _guessed_modules(plan, cells, [n for n in plan.artifact_names if n not in values])
    local = _local_modules(modules, directory)
    distributions, unknown = requirements.distributions_for(modules - set(local))
    distributions += requirements.distributions_for(seen_modules - modules - set(local))[0]
    for module in unknown:
        warnings.append(
            f"No installed distribution provides the module {module!r}: "
            "the service may fail to import it."
        )
    runtime = requirements.runtime_requirements()
    wanted = sorted(set(distributions) | set(runtime), key=str.lower)
    pinned = requirements.pin(wanted, frozenset(runtime), runtime)
    for relative in sorted({*data_files, *local}):
        files[relative] = (directory / relative).read_bytes()
    for source in sorted(requirements.RUNTIME_DIR.glob("*")):
        if source.is_file() and source.suffix in {".py", ".txt"}:
            files[f"jupyter_deploy_runtime/{source.name}"] = source.read_bytes()
    notes = requirements.local_labels(wanted)
    files["requirements.txt"] = "".join(f"{line}\n" for line in notes + pinned).encode()
    metadata = _metadata(plan, cells, nb, name, source_path, values, files, source_bytes)
    warnings.extend(w for w in plan.warnings if w not in warnings)  # the example's, if any
    metadata["files"] = sorted({*data_files, *local})
    metadata["requirements"] = pinned
    files["deploy.json"] = _metadata_bytes(metadata)
    return Bundle(name, files, metadata, warnings)


def _metadata_bytes(metadata: dict[str, Any]) -> bytes:
    return (json.dumps(metadata, indent=2, sort_keys=True) + "\n").encode()


def _metadata(
    plan: Plan,
    cells: list[Cell],
    nb: Any,
    name: str,
    source_path: str,
    values: dict[str, bytes],
    files: dict[str, bytes],
    source_bytes: bytes | None,
) -> dict[str, Any]:
    predict_node = _function(plan, "predict")
    used = {b.cell.index: b.cell for b in plan.included}
    example_cell, example = _example(cells, plan)
    if example_cell is not None:
        used[example_cell.index] = example_cell
    if source_bytes is None:
        source_bytes = json.dumps(nb, sort_keys=True).encode()
    extra: dict[str, Any] = {}
    if plan.functions.get("predict_batch"):
        extra["batch_items"] = batch_items(predict_node, _function(plan, "predict_batch"))
    return extra | {
        "format": 1,
        "name": name,
        "generator": f"jupyter-deploy {__version__}",
        "source": {"path": source_path, "sha256": hashlib.sha256(source_bytes).hexdigest()},
        "cells": [
            {"index": cell.index, "id": cell.id, "role": cell.role}
            for _, cell in sorted(used.items())
        ],
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "functions": plan.functions,
        "input_schema": input_schema(predict_node),
        "output_schema": output_schema(predict_node),
        "example": example_arguments(example, predict_node),
        "artifacts": [_artifact_entry(n, values.get(n), files) for n in plan.artifact_names],
    }


def _artifact_entry(name: str, data: bytes | None, files: dict[str, bytes]) -> dict[str, Any]:
    path = f"artifacts/{name}.pkl"
    digest = hashlib.sha256(files[path]).hexdigest() if path in files else None
    entry: dict[str, Any] = {"name": name, "path": path, "sha256": digest}
    type_name = getattr(data, "type_name", "")
    if type_name:
        entry["type"] = type_name
    return entry


def _function(plan: Plan, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    for binding in plan.included:
        node = binding.stmt.node
        in_cell = binding.cell is plan.predict_cell
        if in_cell and isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise CompileError(f"{name} is not a plain function in {plan.predict_cell.label}.")


def _example(cells: list[Cell], plan: Plan) -> tuple[Cell | None, Any]:
    for cell in cells:
        if cell.role != EXAMPLE:
            continue
        for stmt in cell.stmts:
            node = stmt.node
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "example" for t in node.targets
            ):
                try:
                    return cell, ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError):
                    plan.warnings.append(
                        f"{cell.label}: example is not a literal value, so the smoke test "
                        "and the test console have no sample input (unless a kernel gives it)."
                    )
                    return cell, None
        plan.warnings.append(f"{cell.label} is tagged example but assigns no `example`.")
    return None, None


def _imported_modules(plan: Plan) -> set[str]:
    modules: set[str] = set()
    for binding in plan.included:
        if "import" not in binding.stmt.text:
            continue
        for node in ast.walk(binding.stmt.node):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    return modules


def _pickled_modules(plan: Plan, values: dict[str, bytes]) -> set[str]:
    modules: set[str] = set()
    for name in plan.artifact_names:
        refs = global_references(values[name]) if name in values else []
        modules.update(module.split(".")[0] for module, _ in refs)
    return modules


def _guessed_modules(plan: Plan, cells: list[Cell], missing: list[str]) -> set[str]:
    """Without a value (a preview), the modules imported for the names that compute it."""
    wanted: set[str] = set()
    for name in missing:
        wanted.update(free_names(plan.artifacts[name].stmt))
    modules: set[str] = set()
    for cell in cells:
        if cell.index > plan.predict_cell.index:
            break
        for stmt in cell.stmts:
            node = stmt.node
            if isinstance(node, ast.Import | ast.ImportFrom) and wanted & set(bound_names(node)):
                top = node.names[0].name if isinstance(node, ast.Import) else node.module or ""
                if not getattr(node, "level", 0):
                    modules.add(top.split(".")[0])
    return modules


def _local_modules(modules: set[str], directory: Path) -> list[str]:
    """Python modules next to the notebook that the module imports (copied into the bundle)."""
    found = []
    for module in sorted(modules):
        if (directory / f"{module}.py").is_file():
            found.append(f"{module}.py")
    return found


def _data_files(plan: Plan, nb: Any, directory: Path) -> list[str]:
    """Files setup cells read by a literal relative path, and those the metadata lists."""
    found: set[str] = set()
    for cell in plan.setup_cells:
        for stmt in cell.stmts:
            for node in ast.walk(stmt.node):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    relative = _inside(node.value, directory)
                    if relative and (directory / relative).is_file():
                        found.add(relative)
    listed = nb.get("metadata", {}).get("jupyter_deploy", {}).get("files", [])
    for entry in listed if isinstance(listed, list) else []:
        found.update(_listed_files(str(entry), directory))
    return sorted(found)


def _listed_files(entry: str, directory: Path) -> list[str]:
    relative = _inside(entry, directory)
    target = directory / relative if relative else None
    if target is None or not target.exists():
        raise InvalidNotebook(
            f"The notebook metadata lists the file {entry!r} (jupyter_deploy.files), but there "
            f"is no such file inside {directory}: fix the path or remove it from the list."
        )
    if target.is_file():
        return [relative]
    return sorted(p.relative_to(directory).as_posix() for p in target.rglob("*") if p.is_file())


def _inside(text: str, directory: Path) -> str:
    """`text` as a clean relative path inside `directory`, or "" when it is not one."""
    if not text or len(text) > 255 or "\n" in text or "\x00" in text:
        return ""
    path = PurePosixPath(text)
    if path.is_absolute() or ".." in path.parts or text.startswith("~"):
        return ""
    clean = path.as_posix()
    return "" if clean in {".", ""} else clean
