"""The request log of a real model service: what it keeps, what it hides, and its caps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from builder_helpers import free_port
from compiler_helpers import code, make_notebook
from runtime_helpers import Service, post, start_service

from jupyter_deploy.compiler import compile_notebook

MODEL = """\
def predict(x: float, card: str = "", note: str = "") -> dict:
    if x < 0:
        raise ValueError("negative")
    return {"double": x * 2, "card": card}
"""


def records(folder: Path, at_least: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
    """Every record in the folder's files, once there are `at_least` (the log writes 5x/s)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            json.loads(line)
            for path in sorted(folder.glob("*.jsonl"))
            for line in path.read_text().splitlines()
        ]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def stop(service: Service) -> None:
    service.process.terminate()
    service.process.wait(timeout=30)


def test_each_predict_request_is_logged_with_time_status_latency_input_and_output(
    tmp_path: Path,
) -> None:
    # Given a service that logs its requests to a folder
    folder = tmp_path / "log"
    env = {"JUPYTER_DEPLOY_REQUEST_LOG": str(folder)}
    service = start_service(tmp_path, [code(MODEL, "predict")], env=env)
    try:
        # When it answers a good request, a bad one, a failing one and a health check
        assert post(service, {"x": 2}).status_code == 200
        assert post(service, {"x": "two"}).status_code == 422
        assert post(service, {"x": -1}).status_code == 500
        assert post(service, {"inputs": [{"x": 1}]}, "/predict/batch").status_code == 200
        requests.get(f"{service.url}/healthz", timeout=5)
        found = records(folder, at_least=4)
    finally:
        stop(service)
    # Then the /predict routes are logged, in order, and the health check is not
    assert [(r["route"], r["status"]) for r in found] == [
        ("/predict", 200),
        ("/predict", 422),
        ("/predict", 500),
        ("/predict/batch", 200),
    ]
    first = found[0]
    assert first["input"] == {"x": 2}
    assert first["output"] == {"prediction": {"double": 4, "card": ""}}
    assert first["latency_ms"] > 0 and first["time"].endswith("Z")
    assert "error_id" in found[2]["output"]


def test_redacted_fields_and_oversized_bodies_never_reach_the_log(tmp_path: Path) -> None:
    # Given a log that redacts "card" and keeps bodies up to 100 bytes
    folder = tmp_path / "log"
    env = {
        "JUPYTER_DEPLOY_REQUEST_LOG": str(folder),
        "JUPYTER_DEPLOY_REQUEST_LOG_REDACT": "card, secret",
        "JUPYTER_DEPLOY_REQUEST_LOG_MAX_BODY": "100",
    }
    service = start_service(tmp_path, [code(MODEL, "predict")], env=env)
    try:
        # When a request carries a card number, and another a long note
        post(service, {"x": 1, "card": "4111-1111"})
        post(service, {"x": 1, "note": "n" * 500})
        found = records(folder, at_least=2)
        stop(service)
    finally:
        service.process.kill()
    text = "".join(p.read_text() for p in folder.glob("*.jsonl"))
    # Then the card number is nowhere in the log, input or output
    assert "4111" not in text
    assert found[0]["input"] == {"x": 1, "card": "[redacted]"}
    assert found[0]["output"]["prediction"]["card"] == "[redacted]"
    # And the long body is cut to a preview that says how big it was
    assert found[1]["input"]["truncated"] is True
    assert found[1]["input"]["bytes"] > 500
    assert len(found[1]["input"]["preview"]) <= 100


def test_the_files_rotate_under_their_size_cap_and_the_per_second_cap_holds(
    tmp_path: Path,
) -> None:
    # Given a log of 2 KiB files, 2 files kept, at most 40 records a second
    folder = tmp_path / "log"
    env = {
        "JUPYTER_DEPLOY_REQUEST_LOG": str(folder),
        "JUPYTER_DEPLOY_REQUEST_LOG_MAX_BYTES": "2048",
        "JUPYTER_DEPLOY_REQUEST_LOG_FILES": "2",
        "JUPYTER_DEPLOY_REQUEST_LOG_PER_SECOND": "40",
    }
    service = start_service(tmp_path, [code(MODEL, "predict")], env=env)
    session = requests.Session()
    started = time.monotonic()
    try:
        # When 300 requests arrive as fast as one client sends them
        for x in range(300):
            assert session.post(f"{service.url}/predict", json={"x": x}, timeout=10).ok
        seconds = time.monotonic() - started
        time.sleep(0.5)
    finally:
        stop(service)
    files = sorted(folder.glob("*.jsonl"))
    # Then at most 2 files are left, none much over the cap: one flush past it at most, and a
    # flush (due 0.2 s after its first record; later on a loaded machine) can span a second's
    # turn, so carry two seconds' records (records ~170 B)
    assert 1 <= len(files) <= 2
    sizes = [path.stat().st_size for path in files]
    assert all(size < 2048 + 2 * 40 * 200 for size in sizes), sizes
    # And no second kept more than 40 records
    kept = records(folder)
    per_second: dict[str, int] = {}
    for record in kept:
        per_second[record["time"][:19]] = per_second.get(record["time"][:19], 0) + 1
    assert max(per_second.values()) <= 40
    assert len(kept) <= 40 * (int(seconds) + 2)


def test_the_log_goes_to_stdout_as_json_lines_and_is_off_by_default(tmp_path: Path) -> None:
    # Given one service logging to stdout (as on Kubernetes) and one with no log set
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    to_stdout = start_service(
        tmp_path / "a", [code(MODEL, "predict")], env={"JUPYTER_DEPLOY_REQUEST_LOG": "stdout"}
    )
    silent = start_service(tmp_path / "b", [code(MODEL, "predict")])
    try:
        # When each answers a request
        post(to_stdout, {"x": 3})
        post(silent, {"x": 3})
        time.sleep(0.6)
    finally:
        stop(to_stdout)
        stop(silent)
    # Then the first printed one JSON line for it, and the second wrote nothing like it
    lines = [line for line in to_stdout.log.read_text().splitlines() if '"kind":"request"' in line]
    assert len(lines) == 1
    assert json.loads(lines[0])["input"] == {"x": 3}
    assert '"kind":"request"' not in silent.log.read_text()
    assert not list(tmp_path.rglob("requests-*.jsonl"))


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"JUPYTER_DEPLOY_REQUEST_LOG_SAMPLE": "2"}, "JUPYTER_DEPLOY_REQUEST_LOG_SAMPLE must be"),
        ({"JUPYTER_DEPLOY_REQUEST_LOG_MAX_BODY": "big"}, "JUPYTER_DEPLOY_REQUEST_LOG_MAX_BODY"),
    ],
)
def test_a_bad_request_log_setting_stops_the_service_at_once_naming_it(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    # Given a bundle, When it is served with the log on and a bad log setting
    bundle = compile_notebook(make_notebook(code(MODEL, "predict")), name="conf")
    folder = bundle.write(tmp_path / "b")
    command = [sys.executable, "-m", "jupyter_deploy_runtime", "--port", str(free_port())]
    env = {"JUPYTER_DEPLOY_REQUEST_LOG": str(tmp_path / "log"), **env}
    done = subprocess.run(
        command,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(folder), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    # Then it exits 2 at once with one line naming the variable
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr
