"""Traffic, recent requests and "compare with notebook" through a real Jupyter server, a real
kernel session and a real build service with live model services."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from server_helpers import (  # noqa: F401 - fixtures
    API,
    builder_endpoint,
    call,
    call_error,
    code_cell,
    jp_server_config,
    run_cells,
    start_session,
    wait_final,
    write_notebook,
)
from tornado.httpclient import HTTPClientError

from jupyter_deploy.server.capture import execute_in_kernel
from jupyter_deploy.server.traffic import KEY, Traffic

pytestmark = pytest.mark.slow
SCORES = [0.1, 0.3, 0.45, 0.48, 0.55, 0.7, 0.9]


def threshold_notebook(root: Path, path: str) -> Any:
    """predict(score) says yes at or above THRESHOLD (0.5)."""
    return write_notebook(
        root,
        path,
        [
            code_cell("THRESHOLD = 0.5"),
            code_cell(
                "def predict(score: float) -> str:\n"
                '    return "yes" if score >= THRESHOLD else "no"',
                "predict",
            ),
            code_cell('example = {"score": 0.7}', "example"),
        ],
    )


async def read(jp_fetch: Any, *parts: str, **params: str) -> Any:
    """GET one of the extension's routes with query parameters; the JSON answer."""
    response = await jp_fetch(*API, *parts, params=params)
    return json.loads(response.body)


async def deploy_live(jp_fetch: Any, path: str, name: str) -> str:
    """Deploy the notebook under `name`; its live URL."""
    build = await call(jp_fetch, "deployments", method="POST", body={"path": path, "name": name})
    final = await wait_final(jp_fetch, build["id"])
    assert final["phase"] == "live", final
    return str(final["url"])


async def send(url: str, bodies: list[Any]) -> None:
    """POST each body to the live /predict, as a product engineer's client would."""

    def post_all() -> None:
        with requests.Session() as session:
            for body in bodies:
                session.post(f"{url}/predict", json=body, timeout=10)

    await asyncio.to_thread(post_all)


async def finished(jp_fetch: Any, name: str, timeout: float = 120) -> Any:
    """Poll the comparison until it is no longer running."""
    deadline = time.monotonic() + timeout
    while True:
        progress = await call(jp_fetch, "deployments", name, "compare")
        if progress["state"] != "running":
            return progress
        assert time.monotonic() < deadline, progress
        await asyncio.sleep(0.2)


async def logged(jp_fetch: Any, name: str, count: int) -> list[Any]:
    """The newest logged requests once there are `count` (the log writes 5 times a second)."""
    deadline = time.monotonic() + 10
    while True:
        rows = await read(jp_fetch, "deployments", name, "requests", limit="100")
        if len(rows["requests"]) >= count or time.monotonic() > deadline:
            return list(rows["requests"])
        await asyncio.sleep(0.1)


async def test_traffic_and_recent_requests_of_a_live_deployment_reach_the_panel(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    # Given a live deployment that answered 7 requests and one bad one
    threshold_notebook(jp_root_dir, "watch.ipynb")
    url = await deploy_live(jp_fetch, "watch.ipynb", "watch-traffic")
    await send(url, [{"score": s} for s in SCORES] + [{"score": "high"}])
    # When the panel reads the traffic and the recent requests
    figures = await call(jp_fetch, "deployments", "watch-traffic", "traffic")
    rows = await logged(jp_fetch, "watch-traffic", 9)
    four_xx = await read(jp_fetch, "deployments", "watch-traffic", "requests", status="4xx")
    # Then the figures count them (and the smoke test), and the table lists them newest first
    assert figures["totals"]["requests"] == 9 and figures["totals"]["rejected"] == 1
    assert figures["totals"]["p95_ms"] is not None and len(figures["series"]) == 60
    assert rows[0]["input"] == {"score": "high"} and rows[0]["status"] == 422
    assert rows[1] == {**rows[1], "input": {"score": 0.9}, "output": {"prediction": "yes"}}
    assert [r["input"] for r in four_xx["requests"]] == [{"score": "high"}]
    # And a bad query is a 400 naming the parameter
    with pytest.raises(HTTPClientError) as bad:
        await read(jp_fetch, "deployments", "watch-traffic", "traffic", minutes="lots")
    assert bad.value.code == 400 and b"minutes" in bad.value.response.body  # type: ignore[union-attr]


async def test_compare_agrees_fully_then_names_the_inputs_a_changed_threshold_answers_otherwise(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    # Given the notebook run in its session, deployed, and live traffic
    nb = threshold_notebook(jp_root_dir, "threshold.ipynb")
    kernel_id = await start_session(jp_fetch, "threshold.ipynb")
    await run_cells(jp_serverapp, kernel_id, nb)
    url = await deploy_live(jp_fetch, "threshold.ipynb", "threshold")
    await send(url, [{"score": s} for s in SCORES])
    await logged(jp_fetch, "threshold", len(SCORES) + 3)
    # When the notebook, unchanged, is compared with the last 50 answers
    started = await call(
        jp_fetch, "deployments", "threshold", "compare", method="POST", body={"last": 50}
    )
    same = await finished(jp_fetch, "threshold")
    # Then every answer agrees (the 7 requests, the smoke test's example and the golden case
    # the build replayed on /predict and /predict/batch)
    assert started["state"] == "running" and started["total"] == len(SCORES) + 3
    assert (same["state"], same["agree"], same["done"]) == ("done", 10, 10)
    assert same["agreement"] == 1.0 and same["differ"] == []
    # When the threshold changes in the kernel (no redeploy) and the comparison runs again
    changed = await execute_in_kernel(jp_serverapp.kernel_manager, kernel_id, "THRESHOLD = 0.4", 30)
    assert changed.error is None
    await call(jp_fetch, "deployments", "threshold", "compare", method="POST", body={"last": 50})
    other = await finished(jp_fetch, "threshold")
    # Then the two inputs between 0.4 and 0.5 are named, with both answers side by side
    assert (other["agree"], other["differing"]) == (8, 2)
    differ = sorted(other["differ"], key=lambda case: case["input"]["score"])
    assert [(d["input"], d["live"], d["notebook"]) for d in differ] == [
        ({"score": 0.45}, "no", "yes"),
        ({"score": 0.48}, "no", "yes"),
    ]
    assert "8 of 10 answers agree (80.0%)" in other["message"]


async def test_a_long_comparison_runs_in_chunks_and_can_be_cancelled(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    # Given a notebook whose predict takes 50 ms, 40 logged answers, one input per chunk
    nb = write_notebook(
        jp_root_dir,
        "slow.ipynb",
        [
            code_cell("import time"),
            code_cell("def predict(x: int) -> int:\n    time.sleep(0.05)\n    return x", "predict"),
            code_cell('example = {"x": 1}', "example"),
        ],
    )
    kernel_id = await start_session(jp_fetch, "slow.ipynb")
    await run_cells(jp_serverapp, kernel_id, nb)
    url = await deploy_live(jp_fetch, "slow.ipynb", "slow")
    await send(url, [{"x": x} for x in range(40)])
    await logged(jp_fetch, "slow", 43)
    service = jp_serverapp.web_app.settings["jupyter_deploy_service"]
    jp_serverapp.web_app.settings[KEY] = Traffic(service, chunk=1)
    # When a comparison starts and is cancelled at once
    await call(jp_fetch, "deployments", "slow", "compare", method="POST", body={"last": 100})
    await asyncio.sleep(0.3)
    progress = await call(jp_fetch, "deployments", "slow", "compare")
    await call(jp_fetch, "deployments", "slow", "compare", method="DELETE")
    stopped = await finished(jp_fetch, "slow")
    # Then it had made progress, and stopped before the end
    assert stopped["state"] == "cancelled"
    assert progress["done"] >= 0 and stopped["done"] < stopped["total"] == 43
    assert "cancelled after" in stopped["message"]


async def test_compare_without_a_running_kernel_asks_to_run_the_notebook(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    # Given a deployment whose notebook has no kernel session open
    threshold_notebook(jp_root_dir, "closed.ipynb")
    await deploy_live(jp_fetch, "closed.ipynb", "closed")
    # When a comparison is asked for
    status, body = await call_error(
        jp_fetch, "deployments", "closed", "compare", method="POST", body={"last": 10}
    )
    # Then it is a 409 that says to open the notebook and run its cells
    assert status == 409 and body["error"] == "no_running_kernel"
    assert "closed.ipynb" in body["message"] and "run its cells" in body["message"]
    # And a bad "last" is a 400 naming it
    status, body = await call_error(
        jp_fetch, "deployments", "closed", "compare", method="POST", body={"last": "all"}
    )
    assert status == 400 and '"last"' in body["message"]
