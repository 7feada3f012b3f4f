"""Build service test helpers: a real builder process, small real bundles, a load client."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from compiler_helpers import code, make_notebook

from jupyter_deploy.builder.client import BuilderClient
from jupyter_deploy.compiler import compile_notebook


def free_port() -> int:
    """A free port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bundle_tarball(
    factor: int = 2,
    name: str = "double",
    fail_example: bool = False,
    setup_seconds: float = 0,
    predict_seconds: float = 0,
    fail_unless_example: bool = False,
) -> bytes:
    """A small bundle: predict(x) = x * factor (its smoke test fails if `fail_example`); its
    setup sleeps `setup_seconds` and each call `predict_seconds` when given; every input but
    3 fails if `fail_unless_example`)."""
    body = "raise ValueError('broken on purpose')" if fail_example else "return x * FACTOR"
    if fail_unless_example:
        body = f"if x != 3:\n        raise ValueError('broken on purpose')\n    {body}"
    if predict_seconds:
        body = f"time.sleep({predict_seconds})\n    {body}"
    cells: list[Any] = [f"FACTOR = {factor}"]
    if setup_seconds or predict_seconds:
        cells.insert(0, "import time")
    if setup_seconds:
        cells.append(code(f"time.sleep({setup_seconds})", "setup"))
    nb = make_notebook(
        *cells,
        code(f"def predict(x: int) -> int:\n    {body}", "predict"),
        code("example = {'x': 3}", "example"),
    )
    return compile_notebook(nb, name=name, source_path=f"{name}.ipynb").tarball()


def env_bundle(name: str = "env") -> bytes:
    """A bundle whose predict(x) answers the value of the environment variable named x."""
    nb = make_notebook(
        "import os",
        code("def predict(x: str) -> str:\n    return os.environ.get(x, 'unset')", "predict"),
        code("example = {'x': 'HOME'}", "example"),
    )
    return compile_notebook(nb, name=name, source_path=f"{name}.ipynb").tarball()


@dataclass
class BuilderProcess:
    """`jupyter deploy builder` as DevOps runs it, in a subprocess."""

    state: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    process: subprocess.Popen[bytes] | None = None
    options: tuple[str, ...] = ("--reuse-site-packages",)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BuilderProcess:
        """Start it and wait for /healthz."""
        command = [sys.executable, "-m", "jupyter_deploy", "builder", "--port", str(self.port)]
        command += ["--state", str(self.state), "--token", self.token, *self.options]
        log = open(self.state.parent / f"builder-{self.port}.log", "ab")  # noqa: SIM115
        env = {**os.environ, **self.env}
        self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError("the builder did not start")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def client(self) -> BuilderClient:
        """A client with the right token."""
        return BuilderClient(self.url, self.token)


def stop_model_services(state: Path) -> None:
    """Stop every model service a builder with this state started (end of a test)."""
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            cmdline = (pid_dir / "cmdline").read_bytes()
            cwd = os.readlink(pid_dir / "cwd")
        except OSError:
            continue
        if b"jupyter_deploy_runtime" in cmdline and cwd.startswith(str(state)):
            with contextlib.suppress(OSError):
                os.kill(int(pid_dir.name), signal.SIGKILL)


ROOT = Path(__file__).resolve().parent.parent
BASE_IMAGE = "local/python3-bookworm:base"
BACKEND_OPTIONS = {
    "local": ("--reuse-site-packages",),
    "docker": ("--backend", "docker", "--base-image", BASE_IMAGE),
}


def docker_engine() -> Any:
    """The docker SDK client, or a skip saying why there is none."""
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as error:
        pytest.skip(f"no Docker engine ({type(error).__name__}): scripts/dockerd-up starts one")
    return client


@pytest.fixture(scope="session")
def docker_base_image() -> str:
    """The offline base image (scripts/make-base-image, once per machine)."""
    docker_engine()
    done = subprocess.run([str(ROOT / "scripts" / "make-base-image"), BASE_IMAGE], timeout=900)
    assert done.returncode == 0, "scripts/make-base-image failed"
    return BASE_IMAGE


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def backend_name(request: pytest.FixtureRequest) -> str:
    """Each end-to-end test runs on the local backend and on a real Docker engine."""
    if request.param == "docker":
        request.getfixturevalue("docker_base_image")
    return str(request.param)


def cleanup(state: Path) -> None:
    """Stop what a builder with this state started: processes, and containers it labelled."""
    stop_model_services(state)
    try:
        import docker

        client = docker.from_env()
        label = f"jupyter-deploy.state={state.resolve()}"
        for container in client.containers.list(all=True, filters={"label": label}):
            container.remove(force=True)
    except Exception:
        pass


@pytest.fixture
def builder(tmp_path: Path, backend_name: str) -> Iterator[BuilderProcess]:
    """A fresh build service process with its own state folder, on each backend."""
    state = tmp_path / "state"
    process = BuilderProcess(state, options=BACKEND_OPTIONS[backend_name]).start()
    try:
        yield process
    finally:
        process.stop()
        cleanup(state)


class Load:
    """A client that keeps calling a URL in a thread, counting answers and failures."""

    def __init__(self, url: str, body: dict[str, Any]) -> None:
        self.url, self.body = url, body
        self.answers: list[Any] = []
        self.failures: list[str] = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join(timeout=30)

    def _run(self) -> None:
        while self.running:
            try:
                answer = requests.post(self.url, json=self.body, timeout=10)
                if answer.status_code == 200:
                    self.answers.append(answer.json()["prediction"])
                else:
                    self.failures.append(f"{answer.status_code} {answer.text}")
            except requests.RequestException as error:
                self.failures.append(repr(error))
