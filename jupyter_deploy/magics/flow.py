"""The deploy flow the magics and `jupyter_deploy.deploy()` share.

notebook (tagged, or made from history) -> compiler with values from this kernel's namespace
-> bundle tarball -> BuilderClient -> follow the build, reporting to a `Progress`.
"""

from __future__ import annotations

import os
import time
from collections import ChainMap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from jupyter_deploy.builder.client import FINAL_PHASES, BuilderClient
from jupyter_deploy.errors import DeployError, InvalidNotebook, InvalidRequest
from jupyter_deploy.magics.progress import Progress
from jupyter_deploy.wire import Json

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
    file = Path(path).expanduser()
    try:
        nb = nbformat.read(file, as_version=4)  # type: ignore[no-untyped-call]
    except FileNotFoundError:
        raise InvalidRequest(f"There is no notebook at {path}; check --notebook PATH.") from None
    except (OSError, ValueError) as exc:
        raise InvalidNotebook(f"{path} cannot be read as a notebook ({exc}).") from None
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


def start_build(client: BuilderClient, name: str, bundle: Any) -> Json:
    """Upload the bundle; the queued Build."""
    build: Json = client.create_build(name, bundle.tarball())
    return build


def follow(
    client: BuilderClient,
    build: Json,
    progress: Progress,
    timeout: float = 900.0,
    interval: float = 0.25,
) -> Json:
    """Poll a build until it is live or failed, feeding phases, logs and time to `progress`."""
    build_id = str(build["id"])
    deadline = time.monotonic() + timeout
    offset, last = 0, None
    while True:
        chunk = client.logs(build_id, offset)
        offset = chunk.next_offset
        if chunk.text:
            progress.log(chunk.text)
        build = client.build(build_id)
        if (build["phase"], build.get("url")) != last:
            last = (build["phase"], build.get("url"))
            progress.phase(build)
        progress.tick()
        if build["phase"] in FINAL_PHASES:
            _drain_logs(client, build_id, offset, progress)
            progress.done(build)
            return build
        if time.monotonic() > deadline:
            raise DeployError(
                f"Build {build_id} of {build.get('name')} did not finish in {timeout:.0f} s; "
                f"%deploy status {build.get('name')} tells how it ends."
            )
        time.sleep(interval)


def _drain_logs(client: BuilderClient, build_id: str, offset: int, progress: Progress) -> None:
    for _ in range(20):
        chunk = client.logs(build_id, offset)
        offset = chunk.next_offset
        if chunk.text:
            progress.log(chunk.text)
        if chunk.complete or not chunk.text:
            return


def latest_build_id(deployment: Json) -> str | None:
    """The build of the newest version of a deployment (live, retired or failed)."""
    versions = deployment.get("versions") or []
    if not versions:
        build = deployment.get("live_build")
        return str(build) if build else None
    newest = max(versions, key=lambda v: int(v.get("version") or 0))
    build_id = newest.get("build_id")
    return str(build_id) if build_id else None
