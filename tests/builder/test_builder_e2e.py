"""The build service end to end: a real builder process, real model services, local backend."""

from __future__ import annotations

import io
import tarfile
import threading
from pathlib import Path

import pytest
import requests
from builder_helpers import BACKEND_OPTIONS, BuilderProcess, Load, bundle_tarball, cleanup

from jupyter_deploy.errors import DeployError

pytestmark = pytest.mark.slow


def predict(url: str, x: int) -> object:
    """POST /predict and return the prediction."""
    answer = requests.post(f"{url}/predict", json={"x": x}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["prediction"]


def test_push_goes_live_and_answers_on_its_stable_url(builder: BuilderProcess) -> None:
    # Given a builder / When a bundle is pushed
    client = builder.client()
    build = client.wait(client.create_build("double", bundle_tarball(2))["id"])
    # Then it goes through every phase to live, and the URL answers
    assert build["phase"] == "live", build
    assert [p["phase"] for p in build["phases"]] == [
        "queued",
        "building",
        "starting",
        "testing",
        "live",
    ]
    assert predict(build["url"], 21) == 42
    deployment = client.deployment("double")
    assert deployment["url"] == build["url"] and deployment["live_version"] == 1
    assert "smoke test" in client.logs(build["id"]).text
    assert "def predict" in client.deployment_file("double", "predict.py")


def test_redeploy_under_load_fails_no_request_and_keeps_the_url(builder: BuilderProcess) -> None:
    client = builder.client()
    first = client.wait(client.create_build("double", bundle_tarball(2))["id"])
    # Given a client that keeps calling the live URL
    with Load(f"{first['url']}/predict", {"x": 1}) as load:
        # When two new versions are deployed, one after the other
        for factor in (3, 4):
            again = client.wait(client.create_build("double", bundle_tarball(factor))["id"])
            assert again["phase"] == "live" and again["url"] == first["url"]
    # Then no request failed, and answers moved from the old version to the new ones
    assert load.failures == []
    assert len(load.answers) > 20
    assert load.answers[0] == 2 and load.answers[-1] == 4
    assert predict(first["url"], 1) == 4


def test_a_failing_build_keeps_the_old_version_serving(builder: BuilderProcess) -> None:
    client = builder.client()
    live = client.wait(client.create_build("double", bundle_tarball(2))["id"])
    # When a version whose smoke test fails is pushed
    failed = client.wait(client.create_build("double", bundle_tarball(fail_example=True))["id"])
    # Then the build fails in testing, says why, and version 1 still answers
    assert failed["phase"] == "failed"
    assert failed["error"]["phase"] == "testing"
    assert "smoke test" in failed["error"]["message"]
    assert "broken on purpose" in client.logs(failed["id"]).text
    assert predict(live["url"], 5) == 10
    deployment = client.deployment("double")
    assert deployment["live_version"] == 1
    assert [v["status"] for v in deployment["versions"]] == ["live", "failed"]


def test_a_killed_builder_leaves_the_api_up_and_a_new_one_adopts_it(
    tmp_path: Path, backend_name: str
) -> None:
    state = tmp_path / "state"
    options = BACKEND_OPTIONS[backend_name]
    first = BuilderProcess(state, options=options).start()
    try:
        client = first.client()
        live = client.wait(client.create_build("double", bundle_tarball(2))["id"])
        # When the builder is killed with SIGKILL
        first.kill()
        # Then the API keeps answering
        assert predict(live["url"], 4) == 8
        # And a builder restarted on the same state reports it live, at the same URL
        second = BuilderProcess(state, port=first.port, token=first.token, options=options)
        second.start()
        try:
            deployment = second.client().deployment("double")
            assert deployment["status"] == "live" and deployment["url"] == live["url"]
            assert predict(live["url"], 5) == 10
        finally:
            second.stop()
    finally:
        first.stop()
        cleanup(state)


def test_rollback_serves_the_previous_version_again(builder: BuilderProcess) -> None:
    client = builder.client()
    for factor in (2, 5):
        client.wait(client.create_build("double", bundle_tarball(factor))["id"])
    url = client.deployment("double")["url"]
    assert predict(url, 1) == 5
    # When rolled back without a version, then version 1 serves again on the same URL
    back = client.wait(client.rollback("double")["id"])
    assert back["phase"] == "live" and back["kind"] == "rollback" and back["version"] == 1
    assert predict(url, 1) == 2
    # When rolled back to a named version, then that one serves
    client.wait(client.rollback("double", 2)["id"])
    assert predict(url, 1) == 5


def test_delete_stops_the_service_and_forgets_the_deployment(builder: BuilderProcess) -> None:
    client = builder.client()
    url = client.wait(client.create_build("double", bundle_tarball(2))["id"])["url"]
    client.delete("double")
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{url}/predict", json={"x": 1}, timeout=5)
    with pytest.raises(DeployError, match="No deployment named 'double'"):
        client.deployment("double")


def test_builds_of_two_names_run_in_parallel_and_one_name_queues_in_order(
    builder: BuilderProcess,
) -> None:
    client = builder.client()
    builds: list[dict[str, object]] = []

    def push(name: str, factor: int) -> None:
        builds.append(client.create_build(name, bundle_tarball(factor, name=name)))

    threads = [threading.Thread(target=push, args=(n, f)) for n, f in (("one", 1), ("two", 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queued = [client.create_build("one", bundle_tarball(f, name="one")) for f in (3, 4)]
    finals = [client.wait(str(b["id"])) for b in [*builds, *queued]]
    assert all(b["phase"] == "live" for b in finals)
    versions = [b["version"] for b in finals if b["name"] == "one"]
    assert sorted(versions) == [1, 2, 3]
    assert predict(client.deployment("one")["url"], 1) == 4  # the last queued build won
    assert predict(client.deployment("two")["url"], 1) == 2


def test_no_token_or_a_wrong_token_gets_401(builder: BuilderProcess) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": builder.token}):
        answer = requests.get(f"{builder.url}/v1/deployments", headers=headers, timeout=5)
        assert answer.status_code == 401
        assert answer.json()["error"] == "unauthorized"
    assert requests.get(f"{builder.url}/healthz", timeout=5).status_code == 200


def _tarball(entries: dict[str, bytes], link: str | None = None) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo("predict.py")
            info.type, info.linkname = tarfile.SYMTYPE, link
            tar.addfile(info)
    return raw.getvalue()


BAD_BUNDLES = {
    "not a tarball": b"this is not a tarball",
    "an entry with ..": _tarball({"predict.py": b"", "deploy.json": b"{}", "../escape.txt": b"x"}),
    "an absolute path": _tarball({"predict.py": b"", "deploy.json": b"{}", "/tmp/abs.txt": b"x"}),
    "a link out": _tarball({"deploy.json": b"{}"}, link="/etc/passwd"),
    "no predict.py": _tarball({"deploy.json": b"{}"}),
}


@pytest.mark.parametrize("kind", list(BAD_BUNDLES))
def test_bad_bundles_get_400_and_write_nothing_outside_the_state(
    kind: str, builder: BuilderProcess, tmp_path: Path
) -> None:
    before = set(tmp_path.parent.iterdir())
    answer = requests.post(
        f"{builder.url}/v1/builds",
        params={"name": "bad"},
        data=BAD_BUNDLES[kind],
        headers={"Authorization": f"Bearer {builder.token}"},
        timeout=10,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_bundle"
    assert set(tmp_path.parent.iterdir()) == before
    assert not Path("/tmp/abs.txt").exists()
    assert not (builder.state / "bundles" / "escape.txt").exists()


def test_an_isolated_environment_is_built_once_per_requirements_set(tmp_path: Path) -> None:
    # Given a builder that builds virtualenvs (not reusing this Python's packages)
    state = tmp_path / "state"
    builder = BuilderProcess(state, options=()).start()
    try:
        client = builder.client()
        # When a first version is pushed, then an environment is created for it
        first = client.wait(client.create_build("venv", bundle_tarball(2, name="venv"))["id"])
        assert first["phase"] == "live", client.logs(first["id"]).text
        assert "creating environment" in client.logs(first["id"]).text
        # When only the code changes, then the environment is reused and nothing is installed
        again = client.wait(client.create_build("venv", bundle_tarball(3, name="venv"))["id"])
        assert again["phase"] == "live"
        assert (
            "reused (requirements unchanged): nothing to install" in client.logs(again["id"]).text
        )
        assert predict(again["url"], 1) == 3
        assert len(list((state / "envs").iterdir())) == 1
    finally:
        builder.stop()
        cleanup(state)
