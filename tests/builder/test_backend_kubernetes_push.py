"""The Kubernetes backend builds the image with the Docker backend's code and pushes it: a real
engine pushing to a registry on 127.0.0.1, then the Deployment (recorded API) runs that image."""

from __future__ import annotations

import io
import json
import secrets
import tarfile
from pathlib import Path

import pytest
from builder_helpers import bundle_tarball, free_port
from kubernetes_helpers import RecordedAPI, Registry, recorded_backend, serving

from jupyter_deploy.builder.backends.base import Version
from jupyter_deploy.errors import BuildFailed

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_prepare_pushes_the_version_image_and_the_deployment_runs_it(
    docker_base_image: str, tmp_path: Path
) -> None:
    name = f"push{secrets.token_hex(3)}"
    with tarfile.open(fileobj=io.BytesIO(bundle_tarball(name=name))) as tar:
        tar.extractall(tmp_path / "v1", filter="data")
    version = Version(name, 1, tmp_path / "v1", "0" * 64, free_port(), free_port())
    with serving(Registry()) as registry, serving(RecordedAPI()) as api:
        backend = recorded_backend(
            api, tmp_path / "state", registry=registry.address, base_image=docker_base_image
        )
        lines: list[str] = []
        try:
            backend.prepare(version, lines.append)
            backend.start(version, lines.append)
        finally:
            backend.images.remove(name, lambda _: None)

    image = f"{registry.address}/jupyter-deploy/{name}:v1"
    assert f"pushing {image}" in lines
    manifest = json.loads(registry.manifests[(f"jupyter-deploy/{name}", "v1")])
    digests = [manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]
    assert all(digest in registry.blobs for digest in digests)
    deployment = api.objects[f"/apis/apps/v1/namespaces/models/deployments/jd-{name}"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image


def test_a_registry_that_does_not_answer_fails_the_build_naming_the_image(
    docker_base_image: str, tmp_path: Path
) -> None:
    name = f"push{secrets.token_hex(3)}"
    with tarfile.open(fileobj=io.BytesIO(bundle_tarball(name=name))) as tar:
        tar.extractall(tmp_path / "v1", filter="data")
    version = Version(name, 1, tmp_path / "v1", "0" * 64, free_port(), free_port())
    nowhere = f"127.0.0.1:{free_port()}"
    with serving(RecordedAPI()) as api:
        backend = recorded_backend(
            api, tmp_path / "state", registry=nowhere, base_image=docker_base_image
        )
        try:
            with pytest.raises(BuildFailed, match=f"Pushing {nowhere}/jupyter-deploy/{name}:v1"):
                backend.prepare(version, lambda _: None)
        finally:
            backend.images.remove(name, lambda _: None)
    assert api.requests == []  # nothing applied
