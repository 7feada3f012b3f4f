"""End to end: a real Jupyter server, a real kernel session and a real build service.

Run the notebook's cells in its session, deploy from the server, follow the build (events and
polling), call the live API through the test console, roll back and delete.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from server_helpers import (  # noqa: F401 - fixtures
    API,
    build_log,
    builder_endpoint,
    call,
    call_error,
    constant_notebook,
    jp_server_config,
    model_notebook,
    run_cells,
    start_session,
    wait_final,
)

from jupyter_deploy.server.watch import SCHEMA_ID

pytestmark = pytest.mark.slow


async def test_notebook_run_in_its_kernel_deploys_and_answers_predictions(
    jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, jp_base_url: str
) -> None:
    # Given the panel listening to the server's events, and a notebook run in its session
    events = await jp_ws_fetch("api", "events", "subscribe")
    nb = model_notebook(jp_root_dir)
    kernel_id = await start_session(jp_fetch, "iris.ipynb")
    await run_cells(jp_serverapp, kernel_id, nb)
    # When the user clicks Deploy
    response = await jp_fetch(*API, "deployments", method="POST", body='{"path": "iris.ipynb"}')
    build = json.loads(response.body)
    # Then a build is queued, with its Location, and it goes live
    assert response.code == 202 and build["name"] == "iris"
    assert response.headers["Location"].endswith(f"jupyter-deploy/api/builds/{build['id']}")
    final = await wait_final(jp_fetch, build["id"])
    assert final["phase"] == "live", await build_log(jp_fetch, build["id"])
    # And the test console gets the model's prediction from the live API
    answer = await call(
        jp_fetch,
        "deployments",
        "iris",
        "invoke",
        method="POST",
        body={"features": [5.1, 3.5, 1.4, 0.2]},
    )
    assert answer["status"] == 200 and answer["body"] == {"prediction": "setosa"}
    assert answer["latency_ms"] > 0
    # And the phase changes arrived as events, ending live with the URL
    phases = await _phases_until_final(events, build["id"])
    events.close()
    assert phases[-1] == ("live", final["url"])
    assert phases[0][0] in ("queued", "building")
    # And the panel can show the live module and the build log
    module = await call(jp_fetch, "deployments", "iris", "module")
    assert "def predict(features: list[float]) -> str:" in module["module"]
    # And the live requirements and deploy.json, for the diff and the Deployments view
    requirements = await call(jp_fetch, "deployments", "iris", "files", "requirements.txt")
    assert "scikit-learn" in requirements["text"].lower()
    deploy_json = await call(jp_fetch, "deployments", "iris", "files", "deploy.json")
    assert json.loads(deploy_json["text"])["source"]["path"] == "iris.ipynb"
    assert await build_log(jp_fetch, build["id"])


async def _phases_until_final(ws: Any, build_id: str) -> list[tuple[str, str | None]]:
    phases: list[tuple[str, str | None]] = []
    while not phases or phases[-1][0] not in ("live", "failed"):
        message = await asyncio.wait_for(ws.read_message(), timeout=30)
        assert message is not None, "the event stream closed"
        event = json.loads(message)
        if event.get("schema_id") == SCHEMA_ID and event.get("build_id") == build_id:
            phases.append((event["phase"], event["url"]))
    return phases


async def test_preview_shows_the_module_without_a_kernel_or_a_build(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    # Given a notebook whose model is computed, and no kernel running it
    model_notebook(jp_root_dir, "preview.ipynb")
    # When the panel asks for a preview
    preview = await call(jp_fetch, "preview", method="POST", body={"path": "preview.ipynb"})
    # Then it gets the module, requirements and metadata, the model listed for capture
    assert preview["name"] == "preview"
    assert "def predict(features: list[float]) -> str:" in preview["module"]
    assert "scikit-learn==" in preview["requirements"]
    assert preview["metadata"]["name"] == "preview"
    assert {"name": "model", "status": "captured at deploy"} in preview["artifacts"]
    assert isinstance(preview["warnings"], list)
    # And nothing was deployed
    assert "preview" not in {
        d["name"] for d in (await call(jp_fetch, "deployments"))["deployments"]
    }


@pytest.fixture
def decoy() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that records every request it gets."""
    seen: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"prediction": "from the decoy"}')

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


async def test_versions_roll_back_and_delete_and_invoke_only_reaches_the_builders_url(
    jp_fetch: Any, jp_root_dir: Path, decoy: tuple[str, list[str]]
) -> None:
    # Given two versions of a notebook with no computed values (no kernel needed)
    for factor in (2, 3):
        constant_notebook(jp_root_dir, factor=factor)
        build = await call(
            jp_fetch, "deployments", method="POST", body={"path": "double.ipynb", "name": "double"}
        )
        assert (await wait_final(jp_fetch, build["id"]))["phase"] == "live"
    deployment = await call(jp_fetch, "deployments", "double")
    assert deployment["live_version"] == 2 and deployment["url"]
    # When the console sends a body naming another URL (and a query string too)
    decoy_url, seen = decoy
    answer = await _invoke(jp_fetch, {"x": 1.5, "url": decoy_url}, params={"url": decoy_url})
    plain = await _invoke(jp_fetch, {"x": 1.5})
    # Then only the builder's URL for that name was called
    assert seen == []
    assert answer["body"] != {"prediction": "from the decoy"}
    assert (plain["status"], plain["body"]) == (200, {"prediction": 4.5})
    # When the user rolls back
    rollback = await call(jp_fetch, "deployments", "double", "rollback", method="POST")
    assert (await wait_final(jp_fetch, rollback["id"]))["phase"] == "live"
    # Then the previous version answers at the same URL
    assert (await _invoke(jp_fetch, {"x": 1.5}))["body"] == {"prediction": 3.0}
    assert (await call(jp_fetch, "deployments", "double"))["url"] == deployment["url"]
    # When the deployment is deleted
    response = await jp_fetch(*API, "deployments", "double", method="DELETE")
    # Then it is gone: 204, then 404
    assert response.code == 204
    status, _ = await call_error(jp_fetch, "deployments", "double")
    assert status == 404


async def _invoke(jp_fetch: Any, body: Any, params: dict[str, str] | None = None) -> Any:
    response = await jp_fetch(
        *API, "deployments", "double", "invoke", method="POST", body=json.dumps(body), params=params
    )
    return json.loads(response.body)


async def test_a_key_made_in_the_panel_is_shown_once_and_the_console_sends_it(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    # Given a live deployment with no key
    constant_notebook(jp_root_dir, "keyed.ipynb", factor=2)
    body = {"path": "keyed.ipynb", "name": "keyed"}
    build = await call(jp_fetch, "deployments", method="POST", body=body)
    assert (await wait_final(jp_fetch, build["id"]))["phase"] == "live"
    # When the panel creates an API key
    key = await call(jp_fetch, "deployments", "keyed", "keys", method="POST", body={"label": "ui"})
    # Then the answer is the only place the key appears, and its restart goes live
    assert key["key"] and key["label"] == "ui"
    assert (await wait_final(jp_fetch, key["restart"]["id"]))["phase"] == "live"

    # And the console is refused without the key, answered with it
    async def console(headers: dict[str, str]) -> Any:
        response = await jp_fetch(
            *API, "deployments", "keyed", "invoke", method="POST", body='{"x": 2}', headers=headers
        )
        return json.loads(response.body)

    assert (await console({}))["status"] == 401
    answered = await console({"X-API-Key": key["key"]})
    assert (answered["status"], answered["body"]) == (200, {"prediction": 4.0})
