"""The deploy flow the magics and `jupyter_deploy.deploy()` share.

notebook (tagged, or made from history) -> compiler with values from this kernel's namespace
-> bundle tarball -> BuilderClient -> follow the build, reporting to a `Progress`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_deploy.errors import DeployError, InvalidRequest

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
    """Compile with the computed values the module needs captured from `namespace`."""
    from jupyter_deploy.compiler import analyze, capture_namespace, compile_notebook

    plan = analyze(target.nb, source_path=target.source_path)
    names = list(plan.artifact_names)
    missing = [n for n in names if n not in namespace]
    if missing:
        raise DeployError(
            f"This kernel has no value for {', '.join(missing)}, which predict needs: "
            "run the cells that compute them first."
        )
    values = capture_namespace(namespace, names) if names else {}
    return compile_notebook(
        target.nb,
        name=name,
        source_path=target.source_path,
        notebook_dir=target.notebook_dir,
        artifacts=values,
    )
