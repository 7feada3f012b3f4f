"""Canary and shadow rollouts end to end: a real builder, real model services, a real nginx.

The load is one client calling the stable URL without pause, a new connection per request.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from builder_helpers import BACKEND_OPTIONS, BuilderProcess, Load, bundle_tarball, cleanup
from compiler_helpers import code, make_notebook

from jupyter_deploy.builder.client import BuilderClient
from jupyter_deploy.builder.router import is_router
from jupyter_deploy.compiler import compile_notebook
from jupyter_deploy.errors import DeployError

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed"),
]
SPLIT_SAMPLE = 2000


@pytest.fixture
def builder(tmp_path: Path, backend_name: str) -> Iterator[BuilderProcess]:
    """A build service process on each backend (stopping the routers it left, if any)."""
    state = tmp_path / "state"
    process = BuilderProcess(state, options=BACKEND_OPTIONS[backend_name]).start()
    try:
        yield process
    finally:
        process.stop()
        for pid in routers(state):
            os.killpg(pid, 9)  # the master and its workers (their own session)
        cleanup(state)


def deploy(client: BuilderClient, factor: int, **rollout: object) -> dict[str, object]:
    """Push a bundle answering x * factor and wait for its build to end."""
    build = client.wait(client.create_build("double", bundle_tarball(factor), **rollout)["id"])
    assert build["phase"] == "live", build
    return build


def wait_for_answers(load: Load, count: int, timeout: float = 300) -> None:
    """Wait until the load has `count` more answers."""
    target = len(load.answers) + count
    deadline = time.monotonic() + timeout
    while len(load.answers) < target:
        assert time.monotonic() < deadline, f"only {len(load.answers)} answers"
        assert not load.failures, load.failures[:3]
        time.sleep(0.2)


def routers(state: Path) -> list[int]:
    """Pids of nginx processes of this builder's splits (their folders are in its records, or
    under its state)."""
    folders = [str(state)] + [
        json.loads(record.read_text()).get("router_dir") or str(state)
        for record in state.glob("rollouts/*/split.json")
    ]
    found = []
    for pid_dir in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (pid_dir / "cmdline").read_bytes()
        except OSError:
            continue
        if b"nginx" in cmdline and any(folder.encode() in cmdline for folder in folders):
            found.append(int(pid_dir.name))
    return found


def user_of(pid: int) -> tuple[str, str]:
    """The real uid and gid of a process."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return fields["Uid"].split()[0], fields["Gid"].split()[0]


def router_running(client: BuilderClient) -> bool:
    """The deployment reports a split whose router process is alive."""
    split = client.deployment("double")["split"]
    return split is not None and split["router"] == "running"


def test_canary_promote_canary_abort_shadow_fail_no_request(builder: BuilderProcess) -> None:
    client = builder.client()
    url = deploy(client, 2)["url"]
    # Given a client calling the stable URL without pause, and no router
    assert client.deployment("double")["split"] is None and routers(builder.state) == []
    with Load(f"{url}/predict", {"x": 1}) as load:
        wait_for_answers(load, 50)
        # When a 10% canary starts
        canary = deploy(client, 3, canary=10)
        assert canary["url"] == url and router_running(client) and routers(builder.state)
        start = len(load.answers)
        wait_for_answers(load, SPLIT_SAMPLE)
        window = load.answers[start : start + SPLIT_SAMPLE]
        # Then about 10% of the answers come from the new version, 90% from the old one
        share = window.count(3) / len(window)
        print(f"canary 10%: {share:.1%} of {len(window)} answers from the new version")
        assert set(window) == {2, 3} and 0.07 <= share <= 0.13, share
        split = client.deployment("double")["split"]
        assert split["candidate"]["requests"] > 100 and split["stable"]["requests"] > 1000
        assert split["candidate"]["error_rate"] == 0 and split["stable"]["p95_ms"] > 0
        # When the canary's share is raised to 30% (the router reloads gracefully)
        assert client.set_split("double", 30)["percent"] == 30
        wait_for_answers(load, 50)
        start = len(load.answers)
        wait_for_answers(load, 1000)
        share = load.answers[start : start + 1000].count(3) / 1000
        print(f"canary 30%: {share:.1%} of 1000 answers from the new version")
        assert 0.25 <= share <= 0.35, share
        # When it is promoted: every answer comes from the new version, and the router is gone
        assert client.promote("double")["live_version"] == 2
        assert client.deployment("double")["split"] is None and routers(builder.state) == []
        assert client.deployment("double")["live_version"] == 2
        wait_for_answers(load, 50)
        assert set(load.answers[-40:]) == {3}
        # When another canary starts and is aborted: back to version 2 only
        deploy(client, 4, canary=10)
        wait_for_answers(load, 300)
        assert 4 in load.answers[-300:]
        assert client.abort("double")["live_version"] == 2
        wait_for_answers(load, 50)
        assert set(load.answers[-40:]) == {3}
        # When a shadow starts: the current version answers every request, the new one gets copies
        deploy(client, 5, shadow=100)
        wait_for_answers(load, 300)
        assert set(load.answers[-300:]) == {3}
        split = client.deployment("double")["split"]
        assert split["mode"] == "shadow" and split["candidate"]["requests"] >= 200
        client.abort("double")
        wait_for_answers(load, 50)
    # Then not one request failed at the stable URL, and no router is left
    assert load.failures == []
    assert client.deployment("double")["split"] is None and routers(builder.state) == []
    statuses = [v["status"] for v in client.deployment("double")["versions"]]
    assert statuses == ["retired", "live", "failed", "failed"]


def test_a_builder_restart_during_a_canary_keeps_the_split_serving_and_promote_works(
    builder: BuilderProcess,
) -> None:
    client = builder.client()
    url = deploy(client, 2)["url"]
    # Given a 10% canary under continuous load
    deploy(client, 3, canary=10)
    with Load(f"{url}/predict", {"x": 1}) as load:
        wait_for_answers(load, 100)
        # When the build service is killed (as a crash would) and started again on its state
        builder.kill()
        wait_for_answers(load, 200)  # meanwhile the router and both versions keep serving
        builder.start()
        # Then the new build service knows the split and leaves both versions running
        split = client.deployment("double")["split"]
        assert split is not None and split["router"] == "running"
        assert (split["stable"]["version"], split["candidate"]["version"]) == (1, 2)
        start = len(load.answers)
        wait_for_answers(load, 500)
        assert set(load.answers[start : start + 500]) == {2, 3}
        # And promote works from it: every answer then comes from the new version
        assert client.promote("double")["live_version"] == 2
        wait_for_answers(load, 50)
        assert set(load.answers[-40:]) == {3}
    # And not one request failed at the stable URL, and no router is left
    assert load.failures == []
    assert client.deployment("double")["split"] is None and routers(builder.state) == []


def test_a_canary_over_its_error_rate_is_aborted_automatically(builder: BuilderProcess) -> None:
    client = builder.client()
    url = deploy(client, 2)["url"]
    with Load(f"{url}/predict", {"x": 1}) as load:
        # Given a canary that fails every request but the example, with a 10% error threshold
        broken = bundle_tarball(3, fail_unless_example=True)
        build = client.wait(
            client.create_build("double", broken, canary=50, max_error_rate=0.1)["id"]
        )
        assert build["phase"] == "live"
        # When it has answered enough requests
        deadline = time.monotonic() + 120
        while client.deployment("double")["split"] is not None:
            assert time.monotonic() < deadline, "the canary was not aborted"
            time.sleep(0.5)
        wait_for_answers_tolerant(load, 50)
    # Then it was aborted, version 1 serves everything, and the log says why
    assert client.deployment("double")["live_version"] == 1
    assert set(load.answers[-40:]) == {2}
    assert "aborted automatically: error rate" in client.logs(build["id"]).text


def wait_for_answers_tolerant(load: Load, count: int) -> None:
    """Wait for `count` more answers (failures allowed: the canary under test fails)."""
    target = len(load.answers) + count
    deadline = time.monotonic() + 120
    while len(load.answers) < target and time.monotonic() < deadline:
        time.sleep(0.2)


def test_bad_rollout_requests_are_refused_with_a_clear_message(builder: BuilderProcess) -> None:
    client = builder.client()
    # Given no live version: a canary is refused (409)
    with pytest.raises(DeployError, match="needs a live version"):
        client.create_build("double", bundle_tarball(2), canary=10)
    deploy(client, 2)
    # Then percentages out of range, both modes, and ending a split that is not running: 4xx
    for bad, message in (
        ({"canary": 0}, "from 1 to 99"),
        ({"canary": 100}, "from 1 to 99"),
        ({"shadow": "x"}, "from 1 to 100"),
        ({"canary": 5, "shadow": 5}, "not both"),
        ({"canary": 5, "max_error_rate": 2}, "max_error_rate"),
    ):
        with pytest.raises(DeployError, match=message) as caught:
            client.create_build("double", bundle_tarball(3), **bad)
        assert caught.value.http_status == 400
    with pytest.raises(DeployError, match="no canary or shadow running") as caught:
        client.promote("double")
    assert caught.value.http_status == 409
    with pytest.raises(DeployError, match="no canary or shadow running") as caught:
        client.set_split("double", 20)
    assert caught.value.http_status == 409
    deploy(client, 3, canary=10)
    for bad in (0, 100, "ten", None):
        with pytest.raises(DeployError, match="from 1 to 99") as caught:
            client.set_split("double", bad)  # type: ignore[arg-type]
        assert caught.value.http_status == 400
    # And while a split runs, a new build and a rollback are refused; a delete stops the router
    with pytest.raises(DeployError, match=r"(?i)promote or abort") as caught:
        client.create_build("double", bundle_tarball(4))
    assert caught.value.http_status == 409
    with pytest.raises(DeployError, match="Promote or abort") as caught:
        client.rollback("double")
    assert caught.value.http_status == 409
    assert routers(builder.state)
    client.delete("double")
    assert routers(builder.state) == []


@pytest.mark.parametrize("backend_name", ["local"])  # the rollout stage's rule, one for all
def test_key_and_secret_changes_during_a_split_are_refused_until_promote_or_abort(
    builder: BuilderProcess,
) -> None:
    client = builder.client()
    deploy(client, 2)
    # Given a deployment with an API key and a secret (each restarted the live version)
    key = client.create_key("double", "ci")
    assert client.wait(key["restart"]["id"])["phase"] == "live"
    assert (
        client.wait(client.set_secret("double", "TOKEN", "t1")["restart"]["id"])["phase"] == "live"
    )
    # When a 10% canary is pushed, and a key is created at once (its build still under way or
    # its split already running)
    build = client.create_build("double", bundle_tarball(3), canary=10)
    with pytest.raises(DeployError, match=r"(?i)promote or abort") as caught:
        client.create_key("double", "early")
    assert caught.value.http_status == 409
    print(f"a key change right after the canary's push: {caught.value}")
    assert client.wait(build["id"])["phase"] == "live" and router_running(client)
    latest = client.deployment("double")["latest_build"]
    # And, while the split runs, a key is created, the key revoked, a secret set and unset
    for change in (
        lambda: client.create_key("double", "late"),
        lambda: client.revoke_key("double", key["id"]),
        lambda: client.set_secret("double", "TOKEN", "t2"),
        lambda: client.unset_secret("double", "TOKEN"),
    ):
        with pytest.raises(DeployError) as caught:
            change()
        # Then each is refused with a 409 that names the fix, and says nothing was changed
        assert caught.value.http_status == 409
        assert "canary running" in str(caught.value) and "Promote or abort" in str(caught.value)
        assert "nothing was changed" in str(caught.value)
    # And nothing changed: the same key and secret, no restart build, the split still running
    assert [k["id"] for k in client.keys("double")] == [key["id"]]
    assert [s["key"] for s in client.secrets("double")] == ["TOKEN"]
    assert client.deployment("double")["latest_build"] == latest and router_running(client)
    # When the canary is aborted, the same change goes through and restarts the live version
    client.abort("double")
    client.revoke_key("double", key["id"])
    assert client.keys("double") == []
    restart = client.wait(client.deployment("double")["latest_build"])
    assert (restart["kind"], restart["phase"], restart["version"]) == ("restart", "live", 1)


@pytest.mark.parametrize("backend_name", ["local"])  # the rollout stage's rule, one for all
def test_a_rollback_while_a_canary_build_is_under_way_is_refused_until_it_ends(
    builder: BuilderProcess,
) -> None:
    client = builder.client()
    deploy(client, 2)
    deploy(client, 3)
    # Given a 10% canary pushed, whose build is still under way (its setup takes 3 s)
    build = client.create_build("double", bundle_tarball(4, setup_seconds=3), canary=10)
    # When a rollback is asked at once
    with pytest.raises(DeployError) as caught:
        client.rollback("double")
    # Then it is refused with a 409 naming the build and the fix, and nothing was queued
    assert caught.value.http_status == 409
    message = str(caught.value)
    assert f"canary build under way (build {build['id']})" in message, message
    assert "a rollback" in message and "nothing was changed" in message
    assert client.deployment("double")["latest_build"] == build["id"]
    # And once the canary runs, still refused; after the abort, the rollback goes through
    assert client.wait(build["id"])["phase"] == "live" and router_running(client)
    with pytest.raises(DeployError, match="Promote or abort") as caught:
        client.rollback("double")
    assert caught.value.http_status == 409
    client.abort("double")
    rollback = client.wait(client.rollback("double")["id"])
    assert (rollback["kind"], rollback["phase"], rollback["version"]) == ("rollback", "live", 1)


def test_a_shadow_compares_both_answers_and_lists_the_inputs_that_differ(
    builder: BuilderProcess,
) -> None:
    client = builder.client()
    url = deploy(client, 2)["url"]
    # Given a shadow whose version agrees below x = 5 and answers differently from there on
    nb = make_notebook(
        code("def predict(x: int) -> int:\n    return x * 2 if x < 5 else x * 3", "predict"),
        code("example = {'x': 3}", "example"),
    )
    shadow = compile_notebook(nb, name="double", source_path="double.ipynb").tarball()
    assert client.wait(client.create_build("double", shadow, shadow=100)["id"])["phase"] == "live"
    # When x = 0..9 are sent to the stable URL, three times
    for x in list(range(10)) * 3:
        assert requests.post(f"{url}/predict", json={"x": x}, timeout=10).json() == {
            "prediction": x * 2
        }
    # Then the split compares all 30 pairs: half agree, and the differing inputs are listed
    deadline = time.monotonic() + 30
    while (agreement := client.deployment("double")["split"]["agreement"])["compared"] < 30:
        assert time.monotonic() < deadline, agreement
        time.sleep(0.3)
    assert agreement["compared"] == 30 and agreement["agreeing"] == 15
    assert agreement["rate"] == 0.5
    inputs = {json.loads(item["input"])["x"] for item in agreement["differing"]}
    assert inputs == {5, 6, 7, 8, 9}
    statuses = {(d["stable_status"], d["candidate_status"]) for d in agreement["differing"]}
    assert statuses == {(200, 200)}
    client.abort("double")


def test_a_sampled_shadow_copies_about_its_share_of_the_requests(
    builder: BuilderProcess,
) -> None:
    client = builder.client()
    url = deploy(client, 2)["url"]
    # Given a shadow of 50% of the requests
    deploy(client, 3, shadow=50)
    # When 200 requests reach the stable URL
    for x in range(200):
        answer = requests.post(f"{url}/predict", json={"x": x}, timeout=10)
        assert answer.json() == {"prediction": x * 2}
    # Then every one was answered by the current version, and about half were copied
    deadline = time.monotonic() + 30
    while (split := client.deployment("double")["split"])["stable"]["requests"] < 200:
        assert time.monotonic() < deadline, split
        time.sleep(0.3)
    assert split["stable"]["requests"] == 200
    assert 70 <= split["candidate"]["requests"] <= 130, split["candidate"]
    client.abort("double")


@pytest.mark.docker
def test_a_docker_canary_runs_its_router_as_the_containers_user_and_fails_no_request(
    tmp_path: Path, docker_base_image: str
) -> None:
    # Given a docker builder whose model containers run as their own non-root user (the default)
    state = tmp_path / "state"
    process = BuilderProcess(state, options=BACKEND_OPTIONS["docker"]).start()
    try:
        client = process.client()
        url = deploy(client, 2)["url"]
        with Load(f"{url}/predict", {"x": 1}) as load:
            wait_for_answers(load, 50)
            # When a 10% canary starts under load
            deploy(client, 3, canary=10)
            # Then its router runs as the containers' user (uid 10001), outside the state folder
            (pid,) = routers(state)
            assert user_of(pid) == ("10001", "10001")
            start = len(load.answers)
            wait_for_answers(load, 1000)
            share = load.answers[start : start + 1000].count(3) / 1000
            print(f"docker canary 10%: {share:.1%} of 1000 answers from the new version")
            assert 0.07 <= share <= 0.13, share
            # When it is promoted
            assert client.promote("double")["live_version"] == 2
            wait_for_answers(load, 50)
            assert set(load.answers[-40:]) == {3}
        # Then not one request failed, and the router and its folder are gone
        assert load.failures == [] and not is_router(pid)
        assert not list(Path(tempfile.gettempdir()).glob("jupyter-deploy-router-double-*"))
    finally:
        process.stop()
        for pid in routers(state):
            os.killpg(pid, 9)  # the master and its workers (their own session)
        cleanup(state)


@pytest.mark.docker
def test_a_docker_rollout_with_a_container_user_by_name_is_refused_naming_the_fix(
    tmp_path: Path,
) -> None:
    # Given a docker builder whose containers run as a user given by name
    if not shutil.which("docker") or os.system("docker info >/dev/null 2>&1") != 0:
        pytest.skip("no Docker engine")
    options = (*BACKEND_OPTIONS["docker"], "--option", "user=nobody")
    process = BuilderProcess(tmp_path / "state", options=options).start()
    try:
        # When a canary is asked for
        with pytest.raises(DeployError) as refused:
            process.client().create_build("double", bundle_tarball(2), canary=10)
        # Then it is refused at once, saying why and what to set
        assert refused.value.http_status == 400
        assert "runs its router as the containers' user" in str(refused.value)
        assert "-o user=UID:GID" in str(refused.value)
    finally:
        process.stop()
