"""Model service test helpers: export a notebook of cells, run its bundle as a backend does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from builder_helpers import free_port
from compiler_helpers import code, make_notebook

from jupyter_deploy.compiler import compile_notebook

PLAIN = "def predict(x: int) -> int:\n    return x"


@dataclass
class Service:
    """A running model service process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    public_port: int


def start_service(
    tmp: Path,
    cells: list[object],
    env: dict[str, str] | None = None,
    ready: bool = True,
    workers: int = 1,
) -> Service:
    """Export a notebook of `cells`, then run its bundle like a backend does."""
    nb = make_notebook(*cells, code("example = {'x': 1}", "example"))
    bundle = compile_notebook(nb, name="svc", source_path="svc.ipynb").write(tmp / "bundle")
    port, public = free_port(), free_port()
    log = tmp / "service.log"
    command = [sys.executable, "-m", "jupyter_deploy_runtime", "--bundle", "."]
    command += ["--port", str(port), "--public-port", str(public), "--workers", str(workers)]
    process = subprocess.Popen(
        command,
        cwd=bundle,
        env={**os.environ, "PYTHONPATH": str(bundle), **(env or {})},
        stdout=open(log, "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status = requests.get(f"{url}/readyz", timeout=1).status_code
            if status == 200 or not ready:
                return Service(url, process, log, public)
        except requests.RequestException:
            pass
        time.sleep(0.05)
    process.kill()
    raise AssertionError(log.read_text())


def wait_ready(url: str, timeout: float = 30) -> None:
    """Until GET /readyz answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/readyz", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never became ready")


def post(service: Service, body: object, path: str = "/predict", **kw: object) -> requests.Response:
    """POST JSON to the service."""
    return requests.post(f"{service.url}{path}", json=body, timeout=10, **kw)  # type: ignore[arg-type]


def metric(url: str, line_start: str, headers: dict[str, str] | None = None) -> float:
    """The value of the first /metrics line starting with `line_start`."""
    text = requests.get(f"{url}/metrics", timeout=10, headers=headers).text
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {line_start} in\n{text}")


def wait_for_log(service: Service, text: str, timeout: float = 15) -> str:
    """The service log once it contains `text`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = service.log.read_text()
        if text in log:
            return log
        time.sleep(0.05)
    raise AssertionError(f"no {text!r} in the log:\n{service.log.read_text()}")


def stop(service: Service) -> None:
    """Kill the service process (and its workers) if it still runs."""
    if service.process.poll() is None:
        service.process.terminate()
        try:
            service.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait()
