"""The build service with the Docker backend, against a real engine (started by scripts/test).

The base image is made offline by scripts/make-base-image (once per machine). Containers run
on the host network: no bridge exists on these machines.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
import requests
from builder_helpers import BuilderProcess, Load, bundle_tarball, cleanup, docker_engine

pytestmark = [pytest.mark.docker, pytest.mark.slow]
NAME = f"dock{secrets.token_hex(3)}"  # images are per name: concurrent runs must not share one


@pytest.fixture(scope="module")
def docker_builder(
    tmp_path_factory: pytest.TempPathFactory, docker_base_image: str
) -> Iterator[BuilderProcess]:
    """A build service with the Docker backend on the offline base image."""
    options = ("--backend", "docker", "--base-image", docker_base_image)
    builder = BuilderProcess(tmp_path_factory.mktemp("docker") / "state", options=options)
    builder.start()
    yield builder
    builder.stop()
    cleanup(builder.state)


def test_push_builds_an_image_and_serves_from_a_labelled_container(
    docker_builder: BuilderProcess,
) -> None:
    client = docker_builder.client()
    started = time.monotonic()
    build = client.wait(client.create_build(NAME, bundle_tarball(2, name=NAME))["id"], timeout=600)
    first_seconds = time.monotonic() - started
    assert build["phase"] == "live", client.logs(build["id"]).text
    answer = requests.post(f"{build['url']}/predict", json={"x": 21}, timeout=10)
    assert answer.json() == {"prediction": 42}
    containers = docker_engine().containers.list(
        filters={"label": f"jupyter-deploy.deployment={NAME}"}
    )  # type: ignore[attr-defined]
    assert [c.labels["jupyter-deploy.version"] for c in containers] == ["1"]
    print(f"first docker deploy: {first_seconds:.1f} s")


def test_code_only_redeploy_reuses_the_dependency_layer_and_fails_no_request(
    docker_builder: BuilderProcess,
) -> None:
    client = docker_builder.client()
    url = client.deployment(NAME)["url"]
    with Load(f"{url}/predict", {"x": 1}) as load:
        started = time.monotonic()
        build = client.wait(
            client.create_build(NAME, bundle_tarball(3, name=NAME))["id"], timeout=600
        )
        seconds = time.monotonic() - started
    assert build["phase"] == "live" and build["url"] == url
    log = client.logs(build["id"]).text
    assert "Using cache" in log  # the pip layer was not rebuilt
    assert load.failures == [] and load.answers[-1] == 3
    print(f"code-only docker redeploy: {seconds:.1f} s")


def test_a_failing_version_leaves_the_old_container_serving(docker_builder: BuilderProcess) -> None:
    client = docker_builder.client()
    url = client.deployment(NAME)["url"]
    failed = client.wait(
        client.create_build(NAME, bundle_tarball(name=NAME, fail_example=True))["id"],
        timeout=600,
    )
    assert failed["phase"] == "failed" and failed["error"]["phase"] == "testing"
    assert requests.post(f"{url}/predict", json={"x": 2}, timeout=10).json() == {"prediction": 6}


def test_delete_removes_the_containers_and_the_images(docker_builder: BuilderProcess) -> None:
    client = docker_builder.client()
    client.delete(NAME)
    docker = docker_engine()
    assert (
        docker.containers.list(all=True, filters={"label": f"jupyter-deploy.deployment={NAME}"})
        == []
    )  # type: ignore[attr-defined]
    assert docker.images.list(filters={"label": f"jupyter-deploy.deployment={NAME}"}) == []  # type: ignore[attr-defined]
