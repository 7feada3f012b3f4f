"""`jupyter deploy export NOTEBOOK -o DIR`: write the bundle a notebook compiles to.

`--execute` runs the notebook in a fresh kernel to capture computed values; `--check` writes
nothing and exits 1 when DIR's generated files differ from what the notebook gives now.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_deploy.commands.output import write_bundle
from jupyter_deploy.compiler import Bundle, analyze, load_notebook
from jupyter_deploy.compiler.capture import Captured
from jupyter_deploy.compiler.execute import executed_notebook
from jupyter_deploy.compiler.session import compile_with_capture
from jupyter_deploy.errors import OutOfDate

HELP = "compile a notebook into a deployable bundle (predict.py, deploy.json, ...)"
CHECKED = ("predict.py", "deploy.json", "requirements.txt")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `jupyter deploy export`."""
    parser.add_argument("notebook", type=Path, help="the .ipynb file")
    parser.add_argument("-o", "--output", type=Path, required=True, help="bundle folder")
    parser.add_argument("--name", help="deployment name (default: from the notebook's name)")
    parser.add_argument(
        "--execute", action="store_true", help="run the notebook to capture computed values"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty folder that holds no earlier bundle (deleting nothing)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the folder is out of date with the notebook",
    )


def run(args: argparse.Namespace) -> int:
    """Compile, then write (or check) the bundle."""
    started = time.monotonic()
    bundle = build(args.notebook, args.output, args.name, args.execute, args.check)
    for warning in bundle.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.check:
        return check(bundle, args.output)
    write_bundle(bundle, args.output, args.force)
    artifacts = len(bundle.metadata["artifacts"])
    print(
        f"wrote {args.output}/: predict.py from {len(bundle.metadata['cells'])} cells, "
        f"{artifacts} captured value{'s' * (artifacts != 1)}, "
        f"{len(bundle.metadata['requirements'])} requirements, "
        f"{_count(len((bundle.metadata.get('golden') or {}).get('cases', [])), 'golden case')} "
        f"({time.monotonic() - started:.1f} s)"
    )
    return 0


def build(notebook: Path, output: Path, name: str | None, execute: bool, reuse: bool) -> Bundle:
    """The bundle for `notebook`; values from a fresh kernel, or (checking) from `output`."""
    nb, data = load_notebook(notebook)
    options: dict[str, Any] = {
        "name": name,
        "source_path": notebook.name,  # relative to the notebook's folder: same from any cwd
        "notebook_dir": notebook.parent,
        "source_bytes": data,
    }
    if execute:
        with executed_notebook(nb, notebook.parent, warn=_warn, progress=_progress()) as source:
            return compile_with_capture(nb, source, **options)
    if not reuse:
        return compile_with_capture(nb, None, **options)
    names = analyze(nb, source_path=notebook.name, directory=notebook.parent).artifact_names
    recorded = _recorded(output)
    for entry in recorded.get("artifacts") or []:  # names found by capturing to a fixpoint
        found = str(entry.get("name")) if isinstance(entry, dict) else ""
        if found.isidentifier() and found not in names:
            names.append(found)
    return compile_with_capture(
        nb,
        None,
        values=_existing(output, names),
        golden=recorded.get("golden"),
        example=recorded.get("example"),
        **options,
    )


def _progress() -> Callable[[int, int], None] | None:
    """A per-cell progress line on a terminal (rewritten in place), else nothing."""
    if not sys.stderr.isatty():
        return None
    started = time.monotonic()

    def line(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "." * (width - filled)
        elapsed = time.monotonic() - started
        end = "\n" if done == total else ""
        text = f"\rrunning the notebook [{bar}] cell {done}/{total} {elapsed:5.1f} s"
        print(text, end=end, file=sys.stderr, flush=True)

    return line


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _recorded(output: Path) -> dict[str, Any]:
    """The deploy.json in `output` (checking cannot recompute golden cases or a computed
    example without a kernel, so it takes those from the earlier export)."""
    try:
        recorded = json.loads(_read(output / "deploy.json") or b"{}")
    except ValueError:
        return {}
    return recorded if isinstance(recorded, dict) else {}


def check(bundle: Bundle, output: Path) -> int:
    """0 when `output` holds exactly what `bundle` would write; else OutOfDate with a diff."""
    stale = [n for n in CHECKED if _read(output / n) != bundle.files[n]]
    if not stale:
        print(f"{output}/ is up to date with the notebook")
        return 0
    for name in stale:
        old = _read(output / name).decode(errors="replace").splitlines(keepends=True)
        new = bundle.files[name].decode().splitlines(keepends=True)
        sys.stdout.writelines(difflib.unified_diff(old, new, f"{output}/{name}", "(notebook)"))
    error = OutOfDate(
        f"{', '.join(stale)} in {output}/ differ from what the notebook gives now: "
        "run the same command without --check to regenerate."
    )
    print(f"error: {error}", file=sys.stderr)
    return 1


def _existing(output: Path, names: list[str]) -> dict[str, bytes]:
    """The values already in `output` (as exported before), with their recorded types."""
    try:
        recorded = json.loads(_read(output / "deploy.json") or b"{}").get("artifacts", [])
    except ValueError:
        recorded = []
    types = {str(a.get("name")): str(a.get("type", "")) for a in recorded if isinstance(a, dict)}
    values: dict[str, bytes] = {}
    for name in names:
        path = output / "artifacts" / f"{name}.pkl"
        if path.is_file():
            values[name] = Captured.of(path.read_bytes(), types.get(name, ""))
    return values


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
