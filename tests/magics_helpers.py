"""Helpers and fixtures for the magics' and the examples' tests.

One real build service (embedded, local backend, environments on top of this Python's
packages) per test session; notebooks run in real kernels through nbclient, which cannot
show widgets, so `%deploy` prints its plain-text progress there.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@dataclass
class Builder:
    """Where the session's build service answers."""

    url: str
    token: str

    def env(self) -> dict[str, str]:
        """A kernel environment that reaches this builder (as the server extension sets it)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("JPY_SESSION")}
        env.update(JUPYTER_DEPLOY_BUILDER_URL=self.url, JUPYTER_DEPLOY_TOKEN=self.token)
        env.pop("JUPYTER_DEPLOY_PROGRESS", None)
        return env

    def client(self) -> Any:
        """A BuilderClient for checking what the magics did."""
        from jupyter_deploy.builder.client import BuilderClient

        return BuilderClient(self.url, self.token)


@pytest.fixture(scope="session")
def magics_builder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builder]:
    """One embedded build service (local backend) for the whole session."""
    from jupyter_deploy.builder import embedded

    handle = embedded.start(
        tmp_path_factory.mktemp("magics-builder"), options={"reuse_site_packages": True}
    )
    try:
        yield Builder(str(handle.url), str(handle.token))
    finally:
        embedded.stop(handle)


def code_cell(source: str, *tags: str) -> Any:
    """A code cell, optionally tagged."""
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def notebook(*cells: Any) -> Any:
    """A notebook of these cells with stable ids (strings become untagged code cells)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    for index, cell in enumerate(cells):
        made = code_cell(cell) if isinstance(cell, str) else cell
        made["id"] = f"cell-{index + 1}"
        nb.cells.append(made)
    return nb


def run(nb: Any, env: dict[str, str], cwd: Path, timeout: int = 180) -> Any:
    """Execute every cell in a fresh kernel (errors kept as outputs); the executed notebook."""
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute(env=env, cwd=str(cwd))
    return nb


@dataclass
class Shown:
    """What one executed cell showed: stdout, stderr, displayed text, and errors."""

    stdout: str
    stderr: str
    text: str
    errors: list[str]

    @property
    def everything(self) -> str:
        """All of it, for messages."""
        return "\n".join([self.stdout, self.stderr, self.text, *self.errors])


def shown(cell: Any) -> Shown:
    """Collect a cell's outputs by kind."""
    out = Shown("", "", "", [])
    for output in cell.get("outputs", []):
        kind = output["output_type"]
        if kind == "stream":
            if output["name"] == "stdout":
                out.stdout += output["text"]
            else:
                out.stderr += output["text"]
        elif kind in ("display_data", "execute_result"):
            out.text += output["data"].get("text/plain", "") + "\n"
        elif kind == "error":
            out.errors.append(f"{output['ename']}: {output['evalue']}")
    return out


def live_url(stdout: str) -> str:
    """The URL on the `Live: URL` line of the text progress."""
    for line in stdout.splitlines():
        if line.startswith("Live: "):
            return line[len("Live: ") :].strip()
    raise AssertionError(f"no 'Live:' line in:\n{stdout}")


def post_predict(url: str, body: Any, timeout: float = 30.0) -> Any:
    """POST to a live service's /predict; (status, JSON answer)."""
    import requests

    response = requests.post(f"{url.rstrip('/')}/predict", json=body, timeout=timeout)
    return response.status_code, response.json()


def wait_deployment_gone(builder: Builder, name: str, timeout: float = 20.0) -> None:
    """Wait until the builder no longer lists `name`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if name not in {d["name"] for d in builder.client().deployments()}:
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} is still listed")


def printed_json(cell: Any) -> Any:
    """The JSON a cell printed on its last stdout line."""
    return json.loads(shown(cell).stdout.strip().splitlines()[-1])
