"""Helpers and fixtures for the server extension's tests (tests/server/).

One real build service (the embedded one, local backend) is started per test session; each
test gets a fresh Jupyter server (pytest-jupyter) pointed at it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from jupyter_deploy.server.capture import execute_in_kernel

API = ("jupyter-deploy", "api")
Json = dict[str, Any]


# --- notebooks -------------------------------------------------------------------------------


def code_cell(source: str, *tags: str) -> Any:
    """A code cell with tags."""
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def write_notebook(root: Path, path: str, cells: list[Any]) -> Any:
    """Write a notebook of `cells` at `root/path` with stable cell ids; return it."""
    nb = nbformat.v4.new_notebook()
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index + 1}"
    nb.cells = cells
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return nb


def model_notebook(root: Path, path: str = "iris.ipynb") -> Any:
    """A trained scikit-learn model (an artifact that needs the kernel) behind `predict`."""
    return write_notebook(
        root,
        path,
        [
            code_cell(
                "from sklearn.datasets import load_iris\n"
                "from sklearn.linear_model import LogisticRegression"
            ),
            code_cell(
                "iris = load_iris()\n"
                "model = LogisticRegression(max_iter=500).fit(iris.data, iris.target)\n"
                'SPECIES = ["setosa", "versicolor", "virginica"]'
            ),
            code_cell(
                "def predict(features: list[float]) -> str:\n"
                "    return SPECIES[int(model.predict([features])[0])]",
                "predict",
            ),
            code_cell('example = {"features": [5.1, 3.5, 1.4, 0.2]}', "example"),
        ],
    )


def constant_notebook(root: Path, path: str = "double.ipynb", factor: int = 2) -> Any:
    """A notebook with no computed values: deploys without a kernel."""
    return write_notebook(
        root,
        path,
        [
            code_cell(f"FACTOR = {factor}"),
            code_cell("def predict(x: float) -> float:\n    return x * FACTOR", "predict"),
            code_cell('example = {"x": 1.5}', "example"),
        ],
    )


def broken_notebook(root: Path, path: str = "broken.ipynb") -> Any:
    """A notebook whose predict cell uses a name that nothing defines."""
    return write_notebook(
        root,
        path,
        [
            code_cell("def predict(x: float) -> float:\n    return x * undefined_scale", "predict"),
        ],
    )


# --- the build service -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def builder_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(url, token) of one embedded build service (local backend) for the whole session."""
    from jupyter_deploy.builder import embedded

    handle = embedded.start(
        tmp_path_factory.mktemp("server-builder"), options={"reuse_site_packages": True}
    )
    try:
        yield handle.url, handle.token
    finally:
        embedded.stop(handle)


@pytest.fixture
def jp_server_config(builder_endpoint: tuple[str, str]) -> Json:
    """A Jupyter server with the extension enabled, pointed at the session's builder."""
    url, token = builder_endpoint
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_deploy": True}},
        "DeployExtension": {"builder_url": url, "builder_token": token, "event_interval": 0.1},
    }


# --- REST calls ------------------------------------------------------------------------------


async def call(jp_fetch: Any, *parts: str, method: str = "GET", body: Any = None) -> Any:
    """Call the extension's API; the parsed JSON answer (None when empty)."""
    kwargs: Json = {"method": method}
    if body is not None:
        kwargs["body"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
    elif method in ("POST", "PUT"):
        kwargs["body"] = "{}"
    if method == "DELETE":
        kwargs["allow_nonstandard_methods"] = True
    response: HTTPResponse = await jp_fetch(*API, *parts, **kwargs)
    return json.loads(response.body) if response.body else None


async def call_error(jp_fetch: Any, *parts: str, **kwargs: Any) -> tuple[int, Json]:
    """Call the API expecting an error; (status, JSON body)."""
    try:
        await call(jp_fetch, *parts, **kwargs)
    except HTTPClientError as exc:
        assert exc.response is not None
        assert exc.response.headers["Content-Type"].startswith("application/json")
        return exc.code, json.loads(exc.response.body)
    raise AssertionError(f"{'/'.join(parts)} answered 2xx, an error was expected")


async def wait_final(jp_fetch: Any, build_id: str, timeout: float = 120.0) -> Json:
    """Poll the build through the extension until it is live or failed."""
    deadline = time.monotonic() + timeout
    while True:
        build: Json = await call(jp_fetch, "builds", build_id)
        if build["phase"] in ("live", "failed"):
            return build
        assert time.monotonic() < deadline, f"build {build_id} still {build['phase']}"
        await asyncio.sleep(0.2)


async def build_log(jp_fetch: Any, build_id: str) -> str:
    """The whole build log, read incrementally through the extension."""
    text, offset = "", 0
    for _ in range(1000):
        chunk = await jp_fetch(*API, "builds", build_id, "logs", params={"offset": str(offset)})
        body = json.loads(chunk.body)
        text += body["text"]
        if body["next_offset"] == offset or body["complete"]:
            return text
        offset = body["next_offset"]
    return text


# --- kernels ---------------------------------------------------------------------------------


async def start_session(jp_fetch: Any, path: str) -> str:
    """Open a notebook session (as JupyterLab does); the kernel id."""
    body = {"path": path, "name": path, "type": "notebook", "kernel": {"name": "python3"}}
    response = await jp_fetch("api", "sessions", method="POST", body=json.dumps(body))
    return str(json.loads(response.body)["kernel"]["id"])


async def run_cells(serverapp: Any, kernel_id: str, nb: Any, timeout: float = 60.0) -> None:
    """Execute the notebook's code cells in the kernel, in order (as 'Run All' does)."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        result = await execute_in_kernel(serverapp.kernel_manager, kernel_id, cell.source, timeout)
        assert result.error is None, f"cell {cell.id} raised {result.error}"


async def kernel_print(serverapp: Any, kernel_id: str, expression: str) -> str:
    """What `print(expression)` shows in the kernel."""
    result = await execute_in_kernel(
        serverapp.kernel_manager, kernel_id, f"print({expression})", 30.0
    )
    assert result.error is None, result.error
    return result.stdout.strip()
