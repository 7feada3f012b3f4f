"""Capturing the model's values from the notebook's own kernel (a real ipykernel)."""

from __future__ import annotations

import asyncio
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from server_helpers import (  # noqa: F401 - fixtures
    builder_endpoint,
    call_error,
    code_cell,
    jp_server_config,
    kernel_print,
    model_notebook,
    run_cells,
    start_session,
    write_notebook,
)

from jupyter_deploy.errors import CaptureTimeout, NoRunningKernel
from jupyter_deploy.server.capture import capture_values, execute_in_kernel


async def test_capture_takes_the_values_without_touching_the_users_history(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    # Given a notebook whose cells ran in its session's kernel
    nb = model_notebook(jp_root_dir)
    kernel_id = await start_session(jp_fetch, "iris.ipynb")
    await run_cells(jp_serverapp, kernel_id, nb)
    before = await kernel_print(jp_serverapp, kernel_id, "get_ipython().execution_count, len(In)")
    # When the values are captured
    values = await capture_values(jp_serverapp.kernel_manager, kernel_id, ["model", "SPECIES"], 30)
    # Then each name has its serialised value, and the user's history is as it was
    assert set(values) == {"model", "SPECIES"}
    assert pickle.loads(values["SPECIES"]) == ["setosa", "versicolor", "virginica"]
    assert pickle.loads(values["model"]).predict([[5.1, 3.5, 1.4, 0.2]])[0] == 0
    after = await kernel_print(jp_serverapp, kernel_id, "get_ipython().execution_count, len(In)")
    assert after == before


async def test_kernels_of_this_server_know_the_builder(
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_root_dir: Path,
    builder_endpoint: tuple[str, str],  # noqa: F811
) -> None:
    # Given a kernel started by the server for a notebook
    model_notebook(jp_root_dir)
    kernel_id = await start_session(jp_fetch, "iris.ipynb")
    # When the kernel reads its environment
    env = await _kernel_env(jp_serverapp, kernel_id)
    # Then %deploy in that kernel reaches the same builder
    assert env == list(builder_endpoint)


async def _kernel_env(serverapp: Any, kernel_id: str) -> list[str]:
    code = (
        "import os, json\n"
        "print(json.dumps([os.environ.get('JUPYTER_DEPLOY_BUILDER_URL'),"
        " os.environ.get('JUPYTER_DEPLOY_TOKEN')]))"
    )
    result = await execute_in_kernel(serverapp.kernel_manager, kernel_id, code, 30)
    value: list[str] = json.loads(result.stdout)
    return value


async def test_a_value_that_cannot_be_serialised_is_refused_by_name(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    # Given a predict cell that needs a lock (no pickler can take one)
    nb = write_notebook(
        jp_root_dir,
        "locked.ipynb",
        [
            code_cell("import threading"),
            code_cell("guard = threading.Lock()"),
            code_cell(
                "def predict(x: float) -> float:\n    with guard:\n        return x", "predict"
            ),
        ],
    )
    kernel_id = await start_session(jp_fetch, "locked.ipynb")
    await run_cells(jp_serverapp, kernel_id, nb)
    # When it is deployed
    status, answer = await call_error(
        jp_fetch, "deployments", method="POST", body={"path": "locked.ipynb"}
    )
    # Then the 422 names the value
    assert (status, answer["error"]) == (422, "artifact_not_serializable")
    assert "guard" in answer["message"]


async def test_deploy_without_a_running_kernel_is_409_telling_what_to_do(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    # Given a notebook whose model is computed, and no session running it
    model_notebook(jp_root_dir)
    # When it is deployed
    status, answer = await call_error(
        jp_fetch, "deployments", method="POST", body={"path": "iris.ipynb"}
    )
    # Then the user is told to run the cells first
    assert (status, answer["error"]) == (409, "no_running_kernel")
    assert "run the notebook's cells first (or load files in a setup cell)" in answer["message"]


async def test_names_the_kernel_never_computed_are_a_4xx(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    # Given a session whose kernel has not run the notebook's cells
    model_notebook(jp_root_dir)
    await start_session(jp_fetch, "iris.ipynb")
    # When it is deployed
    status, answer = await call_error(
        jp_fetch, "deployments", method="POST", body={"path": "iris.ipynb"}
    )
    # Then it is a 4xx that names the missing value
    assert 400 <= status < 500, answer
    assert "model" in answer["message"]


async def test_capture_from_a_busy_kernel_times_out(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    # Given a kernel busy with a long cell
    model_notebook(jp_root_dir)
    kernel_id = await start_session(jp_fetch, "iris.ipynb")
    busy = asyncio.ensure_future(
        execute_in_kernel(jp_serverapp.kernel_manager, kernel_id, "import time; time.sleep(6)", 30)
    )
    await asyncio.sleep(2)
    # When a capture is allowed one second
    with pytest.raises(CaptureTimeout, match="did not hand over"):
        await capture_values(jp_serverapp.kernel_manager, kernel_id, ["model"], 1.0)
    await busy


async def test_capture_from_a_kernel_that_is_gone_says_so(jp_serverapp: Any) -> None:
    # When the kernel id is not a running kernel
    with pytest.raises(NoRunningKernel, match="run the notebook's cells first"):
        await capture_values(jp_serverapp.kernel_manager, "no-such-kernel", ["model"], 5.0)
