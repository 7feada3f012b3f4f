"""Calls proven fast run on the event loop, and an alarm holds them to their budget there."""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from compiler_helpers import code
from runtime_helpers import Service, metric, post, start_service, stop, wait_for_log

MODEL = """\
import threading
import time


def predict(x: int) -> str:
    if x == 1:
        end = time.monotonic() + 1
        while time.monotonic() < end:  # one second of Python
            pass
    if x == 2:
        sum(range(10**12))  # minutes in one C call that never looks at signals
    return threading.current_thread().name
"""


def where(service: Service) -> str:
    """The thread the service ran one fast call in."""
    answer = post(service, {"x": 0})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["prediction"])


def test_calls_run_on_the_event_loop_once_proven_fast(tmp_path: Path) -> None:
    # Given a fresh service
    running = start_service(tmp_path, [code(MODEL, "predict")])
    try:
        # When predict has not yet proven fast, it runs in a slot thread
        assert where(running).startswith("predict-")
        # Then after 20 fast calls in a row, it runs on the event loop itself
        answers = [where(running) for _ in range(25)]
        assert answers[-1] == "MainThread", answers
    finally:
        stop(running)


def test_with_no_budget_every_call_runs_in_a_slot(tmp_path: Path) -> None:
    # Given JUPYTER_DEPLOY_INLINE_MS=0
    running = start_service(tmp_path, [code(MODEL, "predict")], {"JUPYTER_DEPLOY_INLINE_MS": "0"})
    try:
        # When 40 fast calls are answered, then every one ran in a slot thread
        assert all(where(running).startswith("predict-") for _ in range(40))
    finally:
        stop(running)


def test_a_call_that_overruns_its_budget_on_the_loop_is_finished_in_a_slot(
    tmp_path: Path,
) -> None:
    # Given predict proven fast, so running on the event loop with a 20 ms budget
    running = start_service(tmp_path, [code(MODEL, "predict")], {"JUPYTER_DEPLOY_TIMEOUT": "10"})
    try:
        while where(running) != "MainThread":
            pass
        # When a call runs for a second of Python
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(post, running, {"x": 1})
            time.sleep(0.3)
            # Then health answers at once meanwhile (the loop was freed at the budget)
            started = time.monotonic()
            assert requests.get(f"{running.url}/healthz", timeout=10).status_code == 200
            assert time.monotonic() - started < 0.25
            # And the call is answered, from a slot thread where it ran again
            answer = pending.result()
        assert answer.status_code == 200 and answer.json()["prediction"].startswith("predict-")
        # And the log and the metrics say so, and predict stays off the loop from now on
        wait_for_log(running, "predict was interrupted on the event loop")
        assert metric(running.url, "model_inline_overruns_total") == 1
        assert all(where(running).startswith("predict-") for _ in range(30))
    finally:
        stop(running)


def test_a_call_stuck_in_c_code_on_the_loop_ends_the_process_at_the_time_limit(
    tmp_path: Path,
) -> None:
    # Given predict proven fast and a 2 s time limit (the loop's watchdog: 10 s at least)
    running = start_service(tmp_path, [code(MODEL, "predict")], {"JUPYTER_DEPLOY_TIMEOUT": "2"})
    try:
        while where(running) != "MainThread":
            pass
        # When a call enters C code that the alarm cannot interrupt
        started = time.monotonic()
        with contextlib.suppress(requests.ConnectionError):
            post(running, {"x": 2})
        # Then the process ends soon after the time limit, with every thread's traceback in
        # the log (its parent or supervisor starts it again)
        assert running.process.wait(timeout=30) == 1
        assert time.monotonic() - started < 20
        log = running.log.read_text()
        assert "Timeout (0:00:10)!" in log and 'predict.py", line 20 in predict' in log, log
    finally:
        stop(running)


def test_a_slot_thread_that_holds_the_gil_for_good_ends_the_process(tmp_path: Path) -> None:
    # Given a service whose calls all run in slot threads
    env = {"JUPYTER_DEPLOY_TIMEOUT": "2", "JUPYTER_DEPLOY_INLINE_MS": "0"}
    running = start_service(tmp_path, [code(MODEL, "predict")], env)
    try:
        # When a call enters C code that holds the GIL (so the loop cannot run either)
        started = time.monotonic()
        with contextlib.suppress(requests.ConnectionError):
            post(running, {"x": 2})
        # Then the process ends once the loop has been held 10 s, with the tracebacks logged
        assert running.process.wait(timeout=30) == 1
        assert time.monotonic() - started < 20
        assert 'predict.py", line 20 in predict' in running.log.read_text()
    finally:
        stop(running)
