"""Several workers: every scrape counts them all; a stuck or crashed worker is replaced."""

from __future__ import annotations

import time
from pathlib import Path

import requests
from compiler_helpers import code
from runtime_helpers import Service, post, start_service, stop, wait_for_log

MODEL = """\
import os
import time


def predict(x: int) -> int:
    if x == 1:
        time.sleep(60)
    if x == 9:
        os._exit(1)  # the whole process goes, as with a segfault in a C extension
    return x
"""


def predict_counts(service: Service) -> dict[str, int]:
    """model_requests_total for /predict, by status, from one scrape."""
    text = requests.get(f"{service.url}/metrics", timeout=10).text
    counts: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith('model_requests_total{route="/predict"'):
            status = line.split('status="')[1].split('"')[0]
            counts[status] = int(line.rsplit(" ", 1)[1])
    return counts


def until_all_answer(service: Service, calls: int = 20, timeout: float = 30) -> None:
    """Until `calls` requests in a row get 200."""
    deadline, in_a_row = time.monotonic() + timeout, 0
    while in_a_row < calls:
        assert time.monotonic() < deadline, service.log.read_text()
        try:
            in_a_row = in_a_row + 1 if post(service, {"x": 5}).status_code == 200 else 0
        except requests.ConnectionError:
            in_a_row = 0
        time.sleep(0.02)


def test_every_scrape_counts_every_worker(tmp_path: Path) -> None:
    # Given 2 workers that have answered 200 requests between them (a new connection each)
    running = start_service(tmp_path, [code(MODEL, "predict")], workers=2)
    try:
        until_all_answer(running, calls=1)
        counts = predict_counts(running)  # a 503 when the first call met a worker still loading
        before, answered = counts.get("200", 0), sum(counts.values())
        for _ in range(200):
            assert post(running, {"x": 5}).status_code == 200
        # Then each of several scrapes (each taken by either worker) counts all 200
        for _ in range(6):
            assert predict_counts(running)["200"] == before + 200
        text = requests.get(f"{running.url}/metrics", timeout=10).text
        line = 'model_request_seconds_count{route="/predict"} ' + str(answered + 200)
        assert line in text.splitlines(), text
    finally:
        stop(running)


def test_a_stuck_worker_is_replaced_while_the_other_keeps_serving(tmp_path: Path) -> None:
    # Given 2 workers with 1 predict slot each, a 0.5 s time limit and a 1 s stuck limit
    env = {
        "JUPYTER_DEPLOY_SLOTS": "1",
        "JUPYTER_DEPLOY_TIMEOUT": "0.5",
        "JUPYTER_DEPLOY_STUCK_LIMIT": "1",
        "JUPYTER_DEPLOY_LINGER": "0.2",
    }
    running = start_service(tmp_path, [code(MODEL, "predict")], env, workers=2)
    try:
        until_all_answer(running)
        # When a call hangs for good in one worker
        assert post(running, {"x": 1}).status_code == 504
        # Then until it is replaced, every call is answered: 200, or a fast 503 from it
        sent, deadline = 1, time.monotonic() + 20
        while "starting a new worker" not in running.log.read_text():
            assert time.monotonic() < deadline, running.log.read_text()
            answer = post(running, {"x": 5})
            sent += 1
            assert answer.status_code == 200 or answer.json()["error"] == "no_free_slot"
            time.sleep(0.02)
        log = wait_for_log(running, "exited (4): starting a new worker")
        assert "stopping to be replaced" in log
        # And the new worker serves, and the scrape still counts the replaced one's answers
        until_all_answer(running)
        counts = predict_counts(running)
        assert counts.get("504") == 1 and sum(counts.values()) >= sent
    finally:
        stop(running)


def test_a_predict_that_kills_its_process_costs_one_call_and_the_worker_is_replaced(
    tmp_path: Path,
) -> None:
    running = start_service(tmp_path, [code(MODEL, "predict")], workers=2)
    try:
        until_all_answer(running)
        # When predict ends its worker process
        try:
            post(running, {"x": 9})
            raise AssertionError("the call that ended its worker got an answer")
        except requests.ConnectionError:
            pass
        # Then the parent starts a new worker, and the service answers every call again
        wait_for_log(running, "exited (1): starting a new worker")
        until_all_answer(running)
        assert running.process.poll() is None
    finally:
        stop(running)
