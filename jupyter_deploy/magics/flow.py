"""The deploy flow the magics and `jupyter_deploy.deploy()` share.

notebook (tagged, or made from history) -> compiler with values from this kernel's namespace
-> bundle tarball -> BuilderClient -> follow the build, reporting to a `Progress`.
"""

from __future__ import annotations

import os
from collections import ChainMap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_deploy.errors import InvalidRequest

SESSION_ENV = "JPY_SESSION_NAME"


@dataclass
class Target:
    """What to compile: the notebook, where it came from, and where its files are."""

    nb: Any
    source_path: str
    notebook_dir: Path


def session_notebook(namespace: dict[str, Any] | None = None) -> str | None:
    """The path of the notebook this kernel runs for, as jupyter_server told the kernel."""
    path = os.environ.get(SESSION_ENV) or (namespace or {}).get("__session__")
    return str(path) if path else None


def session_relative(path: str) -> str:
    """A session notebook path as deploy.json shows it: relative to the kernel's folder."""
    return _display_path(Path(path))


def kernel_dir() -> Path:
    """Where the kernel runs: relative files in cells are read from here."""
    return Path.cwd().resolve()


def notebook_target(path: str) -> Target:
    """Read a notebook file for deploying its tagged cells."""
    from jupyter_deploy.compiler import load_notebook

    file = Path(path).expanduser()
    if not file.is_file():
        raise InvalidRequest(f"There is no notebook at {path}; check --notebook PATH.")
    nb, _ = load_notebook(file)
    return Target(nb, _display_path(file), file.resolve().parent)


def _display_path(file: Path) -> str:
    resolved = file.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.name


def compile_bundle(target: Target, name: str, namespace: dict[str, Any]) -> Any:
    """Compile with the computed values (and golden cases) taken from `namespace`."""
    from jupyter_deploy.compiler.session import compile_with_capture
    from jupyter_deploy.compiler.sources import NamespaceSource

    return compile_with_capture(
        target.nb,
        NamespaceSource(ChainMap(_as_compiled(target.nb, namespace), namespace)),
        name=name,
        source_path=target.source_path,
        notebook_dir=target.notebook_dir,
    )


def _as_compiled(nb: Any, namespace: dict[str, Any]) -> dict[str, Any]:
    """predict (and predict_batch) as the predict cell defines them, over this kernel's values:
    the golden answers come from the code that is deployed, even when the kernel's own
    `predict` is another function (`%deploy other_function`)."""
    from jupyter_deploy.compiler.cells import predict_cell, read_cells

    scope = dict(namespace)
    try:
        exec(compile(predict_cell(read_cells(nb)).source, "<predict cell>", "exec"), scope)
    except Exception:  # IPython syntax or a failing line: the kernel's own functions answer
        return {}
    return {name: scope[name] for name in ("predict", "predict_batch") if name in scope}
