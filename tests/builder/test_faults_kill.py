"""Fault injection: processes killed with SIGKILL, files gone, keys configured (real builder
processes and model services, local backend)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from builder_helpers import BuilderProcess, Load, bundle_tarball, cleanup

pytestmark = pytest.mark.slow


def model_pids(state: Path, name: str | None = None) -> list[int]:
    """Model services started by the builder with this state (of one deployment, if named)."""
    folder = str(state / "bundles" / (name or ""))
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and b"jupyter_deploy_runtime" in (entry / "cmdline").read_bytes()
            ) and os.readlink(entry / "cwd").startswith(folder):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def wait_for(condition: object, timeout: float = 60, what: str = "") -> None:
    """Poll `condition()` until true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def predict(url: str, x: int, key: str | None = None) -> object:
    """The prediction for x."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    answer = requests.post(f"{url}/predict", json={"x": x}, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["prediction"]


def probe(bundle: Path, url: str, key: str | None) -> int:
    """Exit code of the model service's own probe against `url`, sending `key`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_DEPLOY")}
    env["PYTHONPATH"] = str(bundle)
    if key:
        env["JUPYTER_DEPLOY_PROBE_KEY"] = key
    port = url.rsplit(":", 1)[1]
    command = [sys.executable, "-m", "jupyter_deploy_runtime.probe", "--port", port]
    return subprocess.run(
        [*command, "--bundle", str(bundle)], env=env, cwd=bundle, capture_output=True, timeout=60
    ).returncode


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    """A state folder whose model services are stopped at the end."""
    folder = tmp_path / "state"
    yield folder
    cleanup(folder)


def test_a_builder_killed_mid_build_fails_that_build_and_the_old_version_serves(
    state: Path,
) -> None:
    first = BuilderProcess(state).start()
    client = first.client()
    live = client.wait(client.create_build("double", bundle_tarball(2))["id"])
    # Given a second version whose model takes 5 s to load
    build = client.create_build("double", bundle_tarball(3, setup_seconds=5))
    wait_for(lambda: client.build(build["id"])["phase"] == "starting", what="starting")
    wait_for(lambda: len(model_pids(state)) == 2, what="the new process")
    # When the builder is killed with SIGKILL while that version starts
    first.kill()
    # Then a new builder on the same state fails that build, saying why, and stops its process
    second = BuilderProcess(state, port=first.port, token=first.token).start()
    try:
        failed = client.build(build["id"])
        assert failed["phase"] == "failed"
        assert failed["error"]["message"] == "The build service restarted during starting."
        wait_for(lambda: len(model_pids(state)) == 1, what="the half-built version to stop")
        # And version 1 serves on, and the next push goes live
        assert predict(live["url"], 2) == 4
        again = client.wait(client.create_build("double", bundle_tarball(5))["id"])
        assert again["phase"] == "live" and predict(live["url"], 2) == 10
    finally:
        second.stop()
        first.stop()


def test_a_builder_killed_mid_switch_leaves_one_version_serving_under_load(state: Path) -> None:
    first = BuilderProcess(state).start()
    client = first.client()
    live = client.wait(client.create_build("double", bundle_tarball(2))["id"])
    with Load(f"{live['url']}/predict", {"x": 1}) as load:
        # When the builder is killed the moment the new version opens the stable port
        build = client.create_build("double", bundle_tarball(3))
        wait_for(lambda: "now also answers" in client.logs(build["id"]).text, what="the switch")
        first.kill()
        # Then a new builder settles on one version: the one its state says is live
        second = BuilderProcess(state, port=first.port, token=first.token).start()
        try:
            deployment = client.deployment("double")
            assert deployment["status"] == "live"
            wait_for(lambda: len(model_pids(state)) == 1, what="one version left", timeout=40)
            expected = {1: 2, 2: 3}[deployment["live_version"]]
            assert predict(live["url"], 1) == expected
            time.sleep(0.5)
        finally:
            second.stop()
            first.stop()
    # And no caller saw a failure at any point
    assert load.failures == []
    assert load.answers[-1] == expected


def test_a_model_process_killed_under_load_is_restarted_and_the_status_says_so(
    state: Path,
) -> None:
    builder = BuilderProcess(state, options=("--reuse-site-packages", "--supervise-seconds", "0.2"))
    builder.start()
    client = builder.client()
    try:
        # Given a live version whose model takes 2 s to load
        bundle = bundle_tarball(2, setup_seconds=2)
        live = client.wait(client.create_build("double", bundle)["id"])
        with Load(f"{live['url']}/predict", {"x": 1}) as load:
            time.sleep(0.5)
            # When the model service is killed with SIGKILL while it serves
            (pid,) = model_pids(state)
            os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()
            # Then the status says restarting (with the last log lines), then live again
            seen: list[dict[str, Any]] = []

            def back() -> bool:
                seen.append(client.deployment("double"))
                restarted = any(s["status"] == "restarting" for s in seen)
                return restarted and seen[-1]["status"] == "live"

            wait_for(back, what="restarting, then live again", timeout=60)
            back_at = time.monotonic()
            restarting = next(s for s in seen if s["status"] == "restarting")
            assert "Last lines" in restarting["health"]["message"]
            assert "public port" in restarting["health"]["message"]
            before = len(load.failures)
            time.sleep(1.0)
        # And requests failed only while it was down: none after it came back
        assert len(load.failures) == before
        assert load.answers[-1] == 2 and predict(live["url"], 3) == 6
        assert back_at - killed_at < 30
        assert client.deployment("double")["health"]["restarts"] == 1
        (new_pid,) = model_pids(state)
        assert new_pid != pid
    finally:
        builder.stop()


def test_a_restart_with_one_deployment_whose_files_are_gone_brings_back_the_others(
    state: Path,
) -> None:
    first = BuilderProcess(state).start()
    client = first.client()
    for name in ("one", "two"):
        built = client.wait(client.create_build(name, bundle_tarball(2, name))["id"])
        assert built["phase"] == "live"
    # Given the builder and every model service stopped, and one deployment's files removed
    first.stop()
    for pid in model_pids(state):
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(state / "bundles" / "one")
    # When the builder starts again
    second = BuilderProcess(state, port=first.port, token=first.token).start()
    try:
        # Then it starts, the other deployment serves again, and `one` is failed with its reason
        two = client.deployment("two")
        assert two["status"] == "live" and predict(two["url"], 4) == 8
        one = client.deployment("one")
        assert one["status"] == "failed"
        assert "gone" in one["health"]["message"]
        assert model_pids(state, "one") == []
    finally:
        second.stop()


def test_with_api_keys_configured_builds_pass_and_callers_need_a_key(state: Path) -> None:
    # Given a builder whose deployments take the key `team-key`
    builder = BuilderProcess(state, env={"JUPYTER_DEPLOY_API_KEYS": "team-key"}).start()
    client = builder.client()
    try:
        # When a version is pushed, then its smoke test passes (the builder's own key)
        live = client.wait(client.create_build("double", bundle_tarball(2))["id"])
        assert live["phase"] == "live", client.logs(live["id"]).text
        # And a caller without a key gets 401, with the key 200
        answer = requests.post(f"{live['url']}/predict", json={"x": 1}, timeout=10)
        assert answer.status_code == 401
        assert predict(live["url"], 2, key="team-key") == 4
        assert "team-key" not in client.logs(live["id"]).text
        # And the readiness probe (Docker health check, Kubernetes) passes only with its key
        assert probe(state / "bundles" / "double" / "v1", live["url"], None) == 1
        assert probe(state / "bundles" / "double" / "v1", live["url"], "team-key") == 0
    finally:
        builder.stop()


def test_a_model_that_cannot_be_restarted_is_reported_crashed_with_its_last_lines(
    state: Path,
) -> None:
    options = ("--reuse-site-packages", "--supervise-seconds", "0.2", "--restart-backoff", "0.1")
    builder = BuilderProcess(state, options=options).start()
    client = builder.client()
    try:
        live = client.wait(client.create_build("double", bundle_tarball(2))["id"])
        assert live["phase"] == "live"
        # Given a live version whose files are gone, when its process dies
        shutil.rmtree(state / "bundles" / "double")
        (pid,) = model_pids(state)
        os.kill(pid, signal.SIGKILL)
        # Then after 5 failed restarts the status is crashed, saying why, with the last lines
        wait_for(
            lambda: client.deployment("double")["status"] == "crashed", what="crashed", timeout=60
        )
        health = client.deployment("double")["health"]
        assert "restarts failed" in health["message"] and "gone" in health["message"]
        assert "Last lines" in health["message"]
        # And the builder still serves its API and other names
        other = client.wait(client.create_build("other", bundle_tarball(3, "other"))["id"])
        assert other["phase"] == "live"
    finally:
        builder.stop()


def test_a_builder_killed_mid_restart_keeps_one_process_serving(state: Path) -> None:
    first = BuilderProcess(state).start()
    client = first.client()
    # Given a live version whose model takes 3 s to load
    live = client.wait(client.create_build("double", bundle_tarball(2, setup_seconds=3))["id"])
    assert live["phase"] == "live"
    # When a secret change restarts it and the builder is killed while the new process starts
    restart = client.set_secret("double", "COLOUR", "blue")["restart"]
    wait_for(lambda: len(model_pids(state)) == 2, what="the restarting process")
    first.kill()
    second = BuilderProcess(state, port=first.port, token=first.token).start()
    try:
        # Then the restart is failed, the new process stopped, and the old one serves on
        assert client.build(restart["id"])["phase"] == "failed"
        wait_for(lambda: len(model_pids(state)) == 1, what="one process")
        assert predict(live["url"], 2) == 4
        assert client.deployment("double")["status"] == "live"
        # And the next change restarts it for good, again with one process at the end
        again = client.set_secret("double", "COLOUR", "red")["restart"]
        assert client.wait(again["id"])["phase"] == "live"
        wait_for(lambda: len(model_pids(state)) == 1, what="one process after the restart")
        assert predict(live["url"], 2) == 4
    finally:
        second.stop()
        first.stop()
