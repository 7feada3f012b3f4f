"""Hung and slow predicts: the time limit holds, health answers, stuck slots show and refuse."""

from __future__ import annotations

import contextlib
import itertools
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from compiler_helpers import code
from runtime_helpers import metric, post, start_service, stop, wait_for_log

HANGS = """\
import time


def predict(x: int, size: int = 0) -> int:
    if x == 1:
        time.sleep(60)  # hangs (releases the GIL, like I/O)
    if x == 2:
        end = time.monotonic() + 60
        while time.monotonic() < end:  # hangs holding the GIL between bytecodes
            pass
    if x == 3:
        total = 0
        for i in range(size):  # cost grows with the value, not with the body's size
            total += i
    return x
"""


def timed_get(url: str) -> tuple[int, float]:
    """(status, seconds) of a GET."""
    started = time.monotonic()
    status = requests.get(url, timeout=10).status_code
    return status, time.monotonic() - started


def test_health_answers_at_once_and_the_time_limit_holds_while_predict_hangs(
    tmp_path: Path,
) -> None:
    # Given a 1 s time limit, and predict proven fast by 60 calls
    env = {"JUPYTER_DEPLOY_TIMEOUT": "1"}
    running = start_service(tmp_path, [code(HANGS, "predict")], env)
    try:
        for _ in range(60):
            assert post(running, {"x": 3, "size": 10}).status_code == 200
        for hang in ({"x": 1}, {"x": 2}, {"x": 3, "size": 10**9}):
            # When one call hangs (sleeping, spinning in Python, or a value that makes it slow)
            with ThreadPoolExecutor(max_workers=1) as pool:
                started = time.monotonic()
                pending = pool.submit(post, running, hang)
                time.sleep(0.3)
                # Then health answers within milliseconds meanwhile
                for path in ("/healthz", "/readyz"):
                    status, seconds = timed_get(f"{running.url}{path}")
                    assert status == 200 and seconds < 0.25, (hang, path, seconds)
                # And the caller gets its 504 on time
                answer = pending.result()
                assert answer.status_code == 504 and answer.json()["error"] == "timeout"
                assert time.monotonic() - started < 2.5
        # And the hung calls are counted
        assert metric(running.url, "model_hung_calls_total") == 3
    finally:
        running.process.kill()
        running.process.wait()


def test_when_every_slot_is_stuck_readyz_and_predict_answer_503_at_once(tmp_path: Path) -> None:
    # Given 2 predict slots and a 0.5 s time limit
    env = {"JUPYTER_DEPLOY_TIMEOUT": "0.5", "JUPYTER_DEPLOY_SLOTS": "2"}
    running = start_service(tmp_path, [code(HANGS, "predict")], env)
    try:
        # When one call hangs: one slot is stuck, the other still serves
        assert post(running, {"x": 1}).status_code == 504
        assert metric(running.url, "model_stuck_slots") == 1
        assert requests.get(f"{running.url}/readyz", timeout=5).status_code == 200
        assert post(running, {"x": 5}).json() == {"prediction": 5}
        # When a second call hangs: no slot can take work
        assert post(running, {"x": 1}).status_code == 504
        ready = requests.get(f"{running.url}/readyz", timeout=5)
        assert ready.status_code == 503 and ready.json()["error"] == "no_free_slot"
        # Then new work is refused at once with Retry-After, and the process is alive
        started = time.monotonic()
        refused = post(running, {"x": 5})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert "stuck" in refused.json()["message"] and time.monotonic() - started < 0.5
        assert requests.get(f"{running.url}/healthz", timeout=5).status_code == 200
        assert metric(running.url, "model_stuck_slots") == 2
    finally:
        running.process.kill()
        running.process.wait()


def test_a_worker_whose_slot_stays_stuck_past_the_limit_stops_to_be_replaced(
    tmp_path: Path,
) -> None:
    # Given a stuck limit of 1 s
    env = {"JUPYTER_DEPLOY_TIMEOUT": "0.5", "JUPYTER_DEPLOY_STUCK_LIMIT": "1"}
    running = start_service(tmp_path, [code(HANGS, "predict")], env)
    try:
        # When a call hangs for good
        assert post(running, {"x": 1}).status_code == 504
        # Then the worker stops on its own, saying why, with the exit code of a stuck worker
        assert running.process.wait(timeout=15) == 4
        log = running.log.read_text()
        assert "predict slots stuck for over 1 s" in log and "stopping to be replaced" in log
    finally:
        stop(running)


def test_sigterm_during_a_hung_predict_exits_after_the_grace_period(tmp_path: Path) -> None:
    # Given a 1 s grace period and a predict that hangs longer than the time limit allows
    env = {"JUPYTER_DEPLOY_GRACE": "1", "JUPYTER_DEPLOY_TIMEOUT": "60"}
    running = start_service(tmp_path, [code(HANGS, "predict")], env)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(post, running, {"x": 1})
            time.sleep(0.3)
            # When SIGTERM arrives during the hung call
            started = time.monotonic()
            running.process.send_signal(signal.SIGTERM)
            # Then new connections are refused at once
            time.sleep(0.2)
            try:
                requests.get(f"{running.url}/healthz", timeout=2)
                accepted = True
            except requests.ConnectionError:
                accepted = False
            assert not accepted
            # And the process exits soon after the grace period, with the code that says so
            assert running.process.wait(timeout=15) == 3
            assert time.monotonic() - started < 6
            with contextlib.suppress(requests.RequestException):
                pending.result()  # its connection is dropped when the process exits
        log = wait_for_log(running, "still running")
        assert "1 predict call(s) still running" in log
    finally:
        stop(running)


SPANS = """\
import time


def predict(x: int) -> list[float]:
    started = time.monotonic()
    if x == 0:  # 60 ms of CPU
        end = time.thread_time() + 0.06
        while time.thread_time() < end:
            pass
    else:  # 60 ms waiting, as on I/O
        time.sleep(0.06)
    return [started, time.monotonic()]
"""


@pytest.mark.parametrize("x, together", [(0, False), (1, True)])
def test_cpu_bound_calls_take_turns_and_waiting_calls_run_side_by_side(
    tmp_path: Path, x: int, together: bool
) -> None:
    # Given 4 slots, and calls the service has seen (CPU-bound, or waiting on I/O)
    running = start_service(tmp_path, [code(SPANS, "predict")], {"JUPYTER_DEPLOY_SLOTS": "4"})
    try:
        for _ in range(3):
            assert post(running, {"x": x}).status_code == 200
        # When 4 such calls arrive at once
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(lambda _: post(running, {"x": x}), range(4)))
        spans = sorted(answer.json()["prediction"] for answer in answers)
        # Then CPU-bound calls ran one after the other; waiting ones overlapped
        overlapped = any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))
        assert overlapped is together, spans
    finally:
        stop(running)
