"""The model service as a process: signals, workers, the serve command, bad settings."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from builder_helpers import free_port
from compiler_helpers import code, make_notebook
from runtime_helpers import PLAIN, post, start_service, wait_ready

from jupyter_deploy.compiler import compile_notebook


def test_sigusr1_opens_the_public_port_and_sigterm_finishes_in_flight_requests(
    tmp_path: Path,
) -> None:
    slow = "import time\n\ndef predict(x: int) -> int:\n    time.sleep(1)\n    return x"
    running = start_service(tmp_path, [code(slow, "predict")])
    public = f"http://127.0.0.1:{running.public_port}"
    # When SIGUSR1 arrives, then the public port answers too
    running.process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while "public port" not in running.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert requests.get(f"{public}/healthz", timeout=5).status_code == 200
    # When SIGTERM arrives during a slow request, then that request still gets its answer
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(post, running, {"x": 7})
        time.sleep(0.3)
        running.process.send_signal(signal.SIGTERM)
        assert pending.result().json() == {"prediction": 7}
    assert running.process.wait(timeout=10) == 0


def test_jupyter_deploy_serve_runs_an_exported_bundle(tmp_path: Path) -> None:
    nb = make_notebook(code("def predict(x: int) -> int:\n    return -x", "predict"))
    compile_notebook(nb, name="neg").write(tmp_path / "neg")
    port = free_port()
    command = [sys.executable, "-m", "jupyter_deploy", "serve", str(tmp_path / "neg")]
    process = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url)
        assert requests.post(f"{url}/predict", json={"x": 3}, timeout=5).json() == {
            "prediction": -3
        }
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0


def test_jupyter_deploy_serve_refuses_a_folder_that_is_not_a_bundle(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "jupyter_deploy", "serve", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "is not a bundle" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"JUPYTER_DEPLOY_TIMEOUT": "soon"}, "JUPYTER_DEPLOY_TIMEOUT must be a number"),
        ({"JUPYTER_DEPLOY_GRACE": "-1"}, "JUPYTER_DEPLOY_GRACE must be zero or more"),
        ({"JUPYTER_DEPLOY_API_KEYS_FILE": "/no/such/keys"}, "JUPYTER_DEPLOY_API_KEYS_FILE"),
    ],
)
def test_a_bad_setting_stops_the_service_at_once_naming_the_variable(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    nb = make_notebook(code(PLAIN, "predict"))
    bundle = compile_notebook(nb, name="conf").write(tmp_path / "b")
    command = [sys.executable, "-m", "jupyter_deploy_runtime", "--port", str(free_port())]
    done = subprocess.run(
        command,
        cwd=bundle,
        env={**os.environ, "PYTHONPATH": str(bundle), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr


def test_a_port_taken_by_another_program_is_a_clear_error(tmp_path: Path) -> None:
    nb = make_notebook(code(PLAIN, "predict"))
    bundle = compile_notebook(nb, name="taken").write(tmp_path / "b")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "jupyter_deploy_runtime", "--port", str(port)]
        done = subprocess.run(
            command,
            cwd=bundle,
            env={**os.environ, "PYTHONPATH": str(bundle)},
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_several_workers_share_the_ports_open_the_public_one_and_stop_together(
    tmp_path: Path,
) -> None:
    # Given a bundle served by 2 worker processes with a public port
    nb = make_notebook(code("def predict(x: int) -> int:\n    return x + 1", "predict"))
    bundle = compile_notebook(nb, name="workers").write(tmp_path / "w")
    port, public = free_port(), free_port()
    command = [sys.executable, "-m", "jupyter_deploy_runtime", "--bundle", ".", "--port", str(port)]
    log = tmp_path / "workers.log"
    process = subprocess.Popen(
        [*command, "--workers", "2", "--public-port", str(public)],
        cwd=bundle,
        env={**os.environ, "PYTHONPATH": str(bundle)},
        stderr=open(log, "wb"),  # noqa: SIM115
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url)
        deadline, in_a_row = time.monotonic() + 30, 0
        while in_a_row < 10 and time.monotonic() < deadline:  # both workers have loaded
            ok = requests.post(f"{url}/predict", json={"x": 0}, timeout=5).status_code == 200
            in_a_row = in_a_row + 1 if ok else 0
        answers = {
            requests.post(f"{url}/predict", json={"x": i}, timeout=5).json()["prediction"]
            for i in range(20)
        }
        assert answers == {i + 1 for i in range(20)}
        # When the parent gets SIGUSR1, then every worker listens on the public port too
        process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while log.read_text().count("public port") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert log.read_text().count(f"public port {public} listening") == 2
        answer = requests.post(f"http://127.0.0.1:{public}/predict", json={"x": 1}, timeout=5)
        assert answer.json() == {"prediction": 2}
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
