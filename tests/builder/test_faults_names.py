"""Fault injection: operations on one name that arrive together (real builder, local backend)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from builder_helpers import BuilderProcess, bundle_tarball, cleanup

from jupyter_deploy.errors import DeployError

pytestmark = pytest.mark.slow


@pytest.fixture
def local_builder(tmp_path: Path) -> Any:
    """A builder on the local backend whose model services drain for at most 10 s."""
    state = tmp_path / "state"
    process = BuilderProcess(state, options=("--reuse-site-packages", "-o", "grace=10")).start()
    try:
        yield process
    finally:
        process.stop()
        cleanup(state)


def test_a_push_during_a_delete_gets_409_and_the_name_is_not_wedged(
    local_builder: BuilderProcess,
) -> None:
    client = local_builder.client()
    # Given a live version busy with a 3-second request, so that its delete drains for a while
    slow_bundle = bundle_tarball(2, "slow", predict_seconds=3)
    live = client.wait(client.create_build("slow", slow_bundle)["id"])
    assert live["phase"] == "live", client.logs(live["id"]).text
    slow = threading.Thread(
        target=requests.post, args=(f"{live['url']}/predict",), kwargs={"json": {"x": 1}}
    )
    slow.start()
    time.sleep(0.5)
    deleting = threading.Thread(target=client.delete, args=("slow",))
    deleting.start()
    time.sleep(0.5)
    # When a push (and a rollback) of the same name arrive while the delete runs
    with pytest.raises(DeployError) as pushed:
        client.create_build("slow", bundle_tarball(3, "slow"))
    # Then they are refused with 409, saying why
    assert getattr(pushed.value, "http_status", None) == 409
    assert "being deleted" in str(pushed.value)
    deleting.join(timeout=30)
    slow.join(timeout=30)
    # And once the delete is done the name is free: a new push goes live as version 1
    with pytest.raises(DeployError, match="No deployment named"):
        client.deployment("slow")
    again = client.wait(client.create_build("slow", bundle_tarball(4, "slow"))["id"])
    assert again["phase"] == "live" and again["version"] == 1, again
    assert requests.post(f"{again['url']}/predict", json={"x": 1}, timeout=10).json() == {
        "prediction": 4
    }
    # And the name can be deleted again (no orphan entry keeps it "busy")
    client.delete("slow")


def test_twenty_concurrent_pushes_to_four_names_all_land_in_order(
    local_builder: BuilderProcess,
) -> None:
    client = local_builder.client()
    names = ["n1", "n2", "n3", "n4"]
    jobs = [(name, factor) for factor in range(1, 6) for name in names]

    def push(job: tuple[str, int]) -> dict[str, Any]:
        name, factor = job
        return {**client.create_build(name, bundle_tarball(factor, name)), "factor": factor}

    # When 20 pushes (5 per name) arrive at once
    with ThreadPoolExecutor(max_workers=20) as pool:
        queued = list(pool.map(push, jobs))
    finals = [{**client.wait(b["id"], timeout=300), "factor": b["factor"]} for b in queued]
    # Then every build went live, each name got versions 1..5 once, built in that order
    assert all(b["phase"] == "live" for b in finals), [b["error"] for b in finals]
    for name in names:
        mine = sorted((b for b in finals if b["name"] == name), key=lambda b: b["version"])
        assert [b["version"] for b in mine] == [1, 2, 3, 4, 5]
        finished = [b["finished_at"] for b in mine]
        assert finished == sorted(finished)
        # And the last version serves, and the name is not wedged: it is live, idle, deletable
        deployment = client.deployment(name)
        assert deployment["status"] == "live" and deployment["live_version"] == 5
        answer = requests.post(f"{deployment['url']}/predict", json={"x": 1}, timeout=10)
        assert answer.json() == {"prediction": mine[-1]["factor"]}
    client.delete("n1")
    assert {d["name"] for d in client.deployments()} == {"n2", "n3", "n4"}
