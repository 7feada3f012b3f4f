"""Fault injection and least privilege on a real Docker engine: a model process killed under
load comes back, containers run as non-root with limits, and no pip credential stays in an
image."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from builder_helpers import (
    BACKEND_OPTIONS,
    BuilderProcess,
    Load,
    bundle_tarball,
    cleanup,
    env_bundle,
)

pytestmark = [pytest.mark.slow, pytest.mark.docker]


@pytest.fixture
def docker_builder(tmp_path: Path, docker_base_image: str) -> Iterator[BuilderProcess]:
    """A builder on the Docker backend that checks its containers every 0.2 s."""
    state = tmp_path / "state"
    options = (*BACKEND_OPTIONS["docker"], "--supervise-seconds", "0.2", "-o", "grace=5")
    process = BuilderProcess(state, options=options).start()
    try:
        yield process
    finally:
        process.stop()
        cleanup(state)


def container_of(builder: BuilderProcess, name: str) -> object:
    """The one running container of `name` (once a replaced one has stopped)."""
    import docker

    label = f"jupyter-deploy.state={builder.state.resolve()}"
    deadline = time.monotonic() + 30  # a replaced container drains, then goes
    while True:
        running = docker.from_env().containers.list(filters={"label": [label]})
        mine = [c for c in running if c.labels["jupyter-deploy.deployment"] == name]
        if len(mine) == 1 or time.monotonic() > deadline:
            (container,) = mine
            return container
        time.sleep(0.2)


def test_containers_run_as_non_root_with_limits_and_no_pip_config_in_the_image(
    docker_builder: BuilderProcess,
) -> None:
    client = docker_builder.client()
    live = client.wait(client.create_build("double", bundle_tarball(2))["id"], timeout=600)
    assert live["phase"] == "live", client.logs(live["id"]).text
    container = container_of(docker_builder, "double")
    attrs = container.attrs  # type: ignore[attr-defined]
    host = attrs["HostConfig"]
    # Then the container runs as a non-root user, without capabilities, within limits
    assert attrs["Config"]["User"] == "10001:10001"
    assert container.exec_run("id -u").output.strip() == b"10001"  # type: ignore[attr-defined]
    assert host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
    assert host["Memory"] == 1024**3 and host["NanoCpus"] == 10**9 and host["PidsLimit"] == 256
    assert host["RestartPolicy"]["Name"] == "on-failure"
    # And the image holds no pip configuration (the index settings stayed in the build stage)
    found = container.exec_run(  # type: ignore[attr-defined]
        ["python3", "-c", "import glob; print(glob.glob('/etc/pip.conf') + glob.glob('/build/*'))"]
    )
    assert found.output.strip() == b"[]"
    history = container.image.history()  # type: ignore[attr-defined]
    assert not any("pip.conf" in (step.get("CreatedBy") or "") for step in history)


def test_a_killed_model_process_is_restarted_by_docker_and_published_again(
    docker_builder: BuilderProcess,
) -> None:
    client = docker_builder.client()
    live = client.wait(client.create_build("double", bundle_tarball(2))["id"], timeout=600)
    assert live["phase"] == "live", client.logs(live["id"]).text
    container = container_of(docker_builder, "double")
    with Load(f"{live['url']}/predict", {"x": 1}) as load:
        time.sleep(0.5)
        # When the model process is killed with SIGKILL under load
        os.kill(container.attrs["State"]["Pid"], signal.SIGKILL)  # type: ignore[attr-defined]
        # Then the deployment says it restarted, and the stable URL answers again
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            health = client.deployment("double")["health"]
            if health and health["state"] == "live":
                break
            time.sleep(0.2)
        assert health and health["message"] == "Restarted by the platform.", health
        answer = requests.post(f"{live['url']}/predict", json={"x": 5}, timeout=10)
        assert answer.json() == {"prediction": 10}
        before = len(load.failures)
        time.sleep(1.0)
    assert len(load.failures) == before  # no failure once it was back
    assert load.answers[-1] == 2


def test_a_secret_is_the_containers_environment_not_the_images(
    docker_builder: BuilderProcess,
) -> None:
    client = docker_builder.client()
    live = client.wait(client.create_build("env", env_bundle())["id"], timeout=600)
    assert live["phase"] == "live", client.logs(live["id"]).text
    # When a secret and a key are set, then the container restarts (no rebuild) with both
    client.wait(client.set_secret("env", "DB_PASSWORD", "s3cr3t-value")["restart"]["id"])
    key = client.create_key("env", "shop")
    client.wait(key["restart"]["id"])
    headers = {"Authorization": f"Bearer {key['key']}"}
    answer = requests.post(
        f"{live['url']}/predict", json={"x": "DB_PASSWORD"}, headers=headers, timeout=10
    )
    assert answer.json() == {"prediction": "s3cr3t-value"}
    assert requests.post(f"{live['url']}/predict", json={"x": "A"}, timeout=10).status_code == 401
    # And the image holds neither: they are the container's environment only
    container = container_of(docker_builder, "env")
    image_env = " ".join(container.image.attrs["Config"]["Env"] or [])  # type: ignore[attr-defined]
    assert "s3cr3t" not in image_env and key["key"] not in image_env
    assert client.deployment("env")["live_version"] == 1
