"""The Docker backend's steps called one by one, as the pipeline calls them, on a real engine.

One version is built from a compiled bundle, started on the host network, checked at /readyz
and /predict, published on the stable port; a code-only second version reuses the dependency
layer and takes over the stable port; the first is stopped; the images are removed.
"""

from __future__ import annotations

import io
import secrets
import tarfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from builder_helpers import bundle_tarball, docker_engine, free_port

from jupyter_deploy.builder.backends.base import Version
from jupyter_deploy.builder.backends.docker import DockerBackend, build_context, host_pip_conf

pytestmark = [pytest.mark.docker, pytest.mark.slow]
SLOW_NEGATIVES = """
import time as _time

_plain_predict = predict


def predict(x: int) -> int:
    if x < 0:
        _time.sleep(1.5)  # an in-flight request for the drain to wait for
    return _plain_predict(x)
"""


@dataclass
class Steps:
    """A backend, its deployment name, the versions made so far and what was measured."""

    backend: DockerBackend
    name: str
    public_port: int
    root: Path
    versions: dict[int, Version] = field(default_factory=dict)
    logs: dict[int, list[str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def version(self, number: int, factor: int) -> Version:
        """Unpack a bundle computing x * factor as version `number`."""
        folder = self.root / f"v{number}"
        with tarfile.open(fileobj=io.BytesIO(bundle_tarball(factor, name=self.name))) as tar:
            tar.extractall(folder, filter="data")
        with (folder / "predict.py").open("a") as module:
            module.write(SLOW_NEGATIVES)
        made = Version(self.name, number, folder, "0" * 64, free_port(), self.public_port)
        self.versions[number], self.logs[number] = made, []
        return made


def wait_ready(url: str, timeout: float = 60) -> None:
    """Until GET url/readyz answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} never became ready")


def predict(url: str, x: int) -> Any:
    """One prediction."""
    return requests.post(f"{url}/predict", json={"x": x}, timeout=10).json()


@pytest.fixture(scope="module")
def steps(docker_base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steps]:
    """A Docker backend on the offline base image, with a deployment name no one else uses."""
    root = tmp_path_factory.mktemp("docker-steps")
    backend = DockerBackend(root / "state", {"base_image": docker_base_image, "grace": 5})
    made = Steps(backend, f"steps{secrets.token_hex(3)}", free_port(), root)
    yield made
    for version in made.versions.values():
        backend.stop(version, lambda _: None)
    backend.remove(made.name, lambda _: None)


def test_the_build_context_puts_dependencies_before_code_and_names_no_local_index(
    tmp_path: Path,
) -> None:
    (tmp_path / "requirements.txt").write_text("uvicorn==0.30.0\n")
    (tmp_path / "predict.py").write_text("def predict(x): return x\n")
    with tarfile.open(fileobj=io.BytesIO(build_context(tmp_path, "base:1", host_pip_conf()))) as t:
        names = t.getnames()
        dockerfile = t.extractfile("Dockerfile").read().decode()  # type: ignore[union-attr]
        pip_conf = t.extractfile("build/pip.conf").read().decode()  # type: ignore[union-attr]
    assert names == ["Dockerfile", "build/pip.conf", "model/predict.py", "model/requirements.txt"]
    lines = dockerfile.splitlines()
    assert lines[0] == "FROM base:1 AS dependencies"
    pip_step = next(i for i, line in enumerate(lines) if "pip install" in line)
    assert lines.index("COPY model/ /srv/model/") > pip_step
    # The model image starts again from the base: pip.conf stays in the first stage
    final = lines.index("FROM base:1")
    assert not any("pip.conf" in line for line in lines[final:])
    assert "USER 10001:10001" in lines[final:]
    assert pip_conf.startswith("[global]") and "file:" not in pip_conf
    assert build_context(tmp_path, "base:1") == build_context(tmp_path, "base:1")  # cacheable


def test_a_first_version_builds_starts_labelled_and_answers_on_its_private_port(
    steps: Steps,
) -> None:
    version = steps.version(1, factor=2)
    started = time.monotonic()
    steps.backend.prepare(version, steps.logs[1].append)
    steps.seconds["first build"] = time.monotonic() - started
    steps.backend.start(version, steps.logs[1].append)
    wait_ready(steps.backend.private_url(version))
    steps.seconds["first build to ready"] = time.monotonic() - started

    assert predict(steps.backend.private_url(version), 21) == {"prediction": 42}
    assert steps.backend.is_running(version)
    container = docker_engine().containers.get(version.handle["container"])
    assert container.labels["jupyter-deploy.deployment"] == steps.name
    assert container.labels["jupyter-deploy.version"] == "1"
    assert container.attrs["HostConfig"]["NetworkMode"] == "host"
    assert "Uvicorn" in steps.backend.service_logs(version) or steps.backend.service_logs(version)


def test_publish_opens_the_stable_port_on_the_running_version(steps: Steps) -> None:
    version = steps.versions[1]
    steps.backend.publish(version, steps.logs[1].append)
    stable = steps.backend.stable_url(steps.name, steps.public_port)
    assert stable == f"http://127.0.0.1:{steps.public_port}"
    assert predict(stable, 5) == {"prediction": 10}


def test_a_code_only_version_reuses_the_dependency_layer_and_takes_over_the_stable_port(
    steps: Steps,
) -> None:
    old, new = steps.versions[1], steps.version(2, factor=3)
    log = steps.logs[2]
    started = time.monotonic()
    steps.backend.prepare(new, log.append)
    steps.seconds["code-only build"] = time.monotonic() - started
    steps.backend.start(new, log.append)
    wait_ready(steps.backend.private_url(new))
    steps.backend.publish(new, log.append)
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(predict, steps.backend.private_url(old), -1)
        time.sleep(0.5)
        steps.backend.begin_stop(old)
        steps.seconds["code-only build to published"] = time.monotonic() - started
        steps.backend.stop(old, log.append)
        assert in_flight.result() == {"prediction": -2}  # drained, not cut

    pip_step = next(i for i, line in enumerate(log) if "pip install" in line)
    assert log[pip_step + 1].strip() == "---> Using cache", log
    stable = steps.backend.stable_url(steps.name, steps.public_port)
    assert predict(stable, 5) == {"prediction": 15}
    assert not steps.backend.is_running(old)
    assert steps.seconds["code-only build"] < 10, steps.seconds
    print(" ".join(f"{k}: {v:.1f} s;" for k, v in steps.seconds.items()))


def test_an_earlier_version_is_prepared_again_from_its_image_without_a_build(steps: Steps) -> None:
    lines: list[str] = []
    steps.backend.prepare(steps.versions[1], lines.append)
    assert lines == [f"image jupyter-deploy/{steps.name}:v1 already built from this bundle: reused"]


def test_stop_is_idempotent_and_remove_deletes_the_deployments_images(steps: Steps) -> None:
    for version in steps.versions.values():
        steps.backend.stop(version, lambda _: None)
        steps.backend.stop(version, lambda _: None)
        assert not steps.backend.is_running(version)
    steps.backend.remove(steps.name, lambda _: None)
    label = f"jupyter-deploy.deployment={steps.name}"
    assert docker_engine().images.list(filters={"label": label}) == []
    assert docker_engine().containers.list(all=True, filters={"label": label}) == []
