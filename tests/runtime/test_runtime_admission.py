"""Admission control: slow clients cut off, a bounded queue, capped batches, odd headers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from compiler_helpers import code
from runtime_helpers import PLAIN, Service, metric, post, start_service

SLOW = "import time\n\ndef predict(x: int) -> int:\n    time.sleep(0.3)\n    return x"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A plain service with 1 s header and body deadlines, 10 inputs per batch, 8 connections."""
    env = {
        "JUPYTER_DEPLOY_HEADER_TIMEOUT": "1",
        "JUPYTER_DEPLOY_BODY_TIMEOUT": "1",
        "JUPYTER_DEPLOY_MAX_INPUTS": "10",
        "JUPYTER_DEPLOY_MAX_CONNECTIONS": "8",
        "JUPYTER_DEPLOY_API_KEYS": "k1",
    }
    running = start_service(tmp_path_factory.mktemp("adm"), [code(PLAIN, "predict")], env)
    yield running
    running.process.kill()
    running.process.wait()


def raw(service: Service, data: bytes) -> socket.socket:
    """A connection to the service that has sent `data` and nothing more."""
    port = int(service.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(data)
    return sock


def read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the service sends until it closes the connection, and how long that took."""
    started, received = time.monotonic(), b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return received, time.monotonic() - started
        received += chunk


KEY = {"X-API-Key": "k1"}


@pytest.mark.parametrize(
    "sent",
    [
        b"",
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: appl",
        b"POST /predict HTTP/1.1\r\nHost: x\r\nX-API-Key: k1\r\nContent-Length: 100\r\n\r\n{",
    ],
    ids=["nothing", "half-a-header", "half-a-body"],
)
def test_a_slow_client_is_cut_off_with_408_while_others_are_served(
    service: Service, sent: bytes
) -> None:
    # When a client sends nothing, half a header, or half a body, and then stalls
    slow = [raw(service, sent) for _ in range(3)]
    # Then others are served meanwhile
    assert post(service, {"x": 4}, headers=KEY).json() == {"prediction": 4}
    # And each slow connection is answered 408 and closed after about the deadline
    for sock in slow:
        received, seconds = read_until_closed(sock)
        sock.close()
        assert received.startswith(b"HTTP/1.1 408") and b"request_timeout" in received
        assert seconds < 4
    assert metric(service.url, "model_slow_clients_total", KEY) >= 3


def test_connections_over_the_limit_get_503_but_health_still_answers(service: Service) -> None:
    # Given 8 connections held open (the limit)
    idle = [raw(service, b"") for _ in range(8)]
    try:
        time.sleep(0.1)
        # When one more asks for a prediction, then it gets a fast 503 naming the limit
        refused = post(service, {"x": 1}, headers=KEY)
        assert refused.status_code == 503 and refused.json()["error"] == "too_many_connections"
        assert "limit of 8 connections" in refused.json()["message"]
        assert refused.headers["retry-after"] == "1"
        # And health checks still answer
        assert requests.get(f"{service.url}/healthz", timeout=5).status_code == 200
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.2)
    assert post(service, {"x": 1}, headers=KEY).status_code == 200


def test_a_batch_over_the_input_cap_gets_413_naming_the_limit(service: Service) -> None:
    inputs = [{"x": i} for i in range(11)]
    answer = post(service, {"inputs": inputs}, "/predict/batch", headers=KEY)
    assert answer.status_code == 413 and answer.json()["error"] == "too_many_inputs"
    assert "limit of 10" in answer.json()["message"]
    assert "JUPYTER_DEPLOY_MAX_INPUTS" in answer.json()["message"]
    within = post(service, {"inputs": inputs[:10]}, "/predict/batch", headers=KEY)
    assert within.json() == {"predictions": list(range(10))}


@pytest.mark.parametrize(
    "value", ["clé".encode(), b"\xff\xfe", "k1é".encode("latin-1"), b"k" * 5000]
)
def test_an_api_key_with_any_bytes_gets_401_not_500(service: Service, value: bytes) -> None:
    answer = post(service, {"x": 1}, headers={"X-API-Key": value})  # type: ignore[dict-item]
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"
    bearer = post(service, {"x": 1}, headers={"Authorization": b"Bearer " + value})  # type: ignore[dict-item]
    assert bearer.status_code == 401


def test_a_flood_beyond_capacity_gets_fast_503s_and_every_accepted_call_its_answer(
    tmp_path: Path,
) -> None:
    # Given 1 slot, a queue of 2 and a predict taking 0.3 s
    env = {"JUPYTER_DEPLOY_SLOTS": "1", "JUPYTER_DEPLOY_MAX_QUEUE": "2"}
    running = start_service(tmp_path, [code(SLOW, "predict")], env)

    def ask(x: int) -> tuple[int, float, str | None]:
        started = time.monotonic()
        answer = post(running, {"x": x})
        return answer.status_code, time.monotonic() - started, answer.headers.get("retry-after")

    try:
        # When 30 requests arrive at once
        with ThreadPoolExecutor(max_workers=30) as pool:
            answers = list(pool.map(ask, range(30)))
        # Then every one is answered: 200 for those admitted, a fast 503 for the rest
        accepted = [a for a in answers if a[0] == 200]
        refused = [a for a in answers if a[0] == 503]
        assert len(accepted) + len(refused) == 30 and len(accepted) >= 3
        assert len(refused) >= 15
        assert all(seconds < 1.0 and retry == "1" for _, seconds, retry in refused)
        # And the service is ready again once the queue has drained
        time.sleep(1.5)
        assert requests.get(f"{running.url}/readyz", timeout=5).status_code == 200
    finally:
        running.process.kill()
        running.process.wait()


def test_a_model_that_failed_to_load_answers_predict_503_saying_why(tmp_path: Path) -> None:
    cells = [code("raise RuntimeError('no model file')", "setup"), code(PLAIN, "predict")]
    running = start_service(tmp_path, cells, ready=False)
    try:
        deadline = time.monotonic() + 10
        while "failed to load" not in running.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        answer = post(running, {"x": 1})
        assert answer.status_code == 503 and answer.json()["error"] == "load_failed"
        assert "no model file" in answer.json()["message"]
        assert "still loading" not in answer.json()["message"]
    finally:
        running.process.kill()
        running.process.wait()


QUEUED = "import time\n\ndef predict(x: int) -> int:\n    time.sleep(0.2)\n    return x"


@pytest.mark.parametrize("limit", ["auto", "0"])
def test_a_standing_queue_refuses_new_work_before_the_count_limit_does(
    tmp_path: Path, limit: str
) -> None:
    # Given 1 slot, a queue of 32, calls of 0.2 s, and the queue-wait limit (auto: 2 calls' time)
    env = {"JUPYTER_DEPLOY_SLOTS": "1", "JUPYTER_DEPLOY_MAX_QUEUE_WAIT_MS": limit}
    running = start_service(tmp_path, [code(QUEUED, "predict")], env)
    try:
        for x in range(3):  # the service learns how long a call takes
            assert post(running, {"x": x}).status_code == 200
        with ThreadPoolExecutor(max_workers=8) as pool:
            # When 6 calls arrive at once (a burst: all admitted, 5 of them queue)
            burst = [pool.submit(post, running, {"x": x}) for x in range(6)]
            time.sleep(0.8)  # the queue's head has now waited about 0.8 s
            started = time.monotonic()
            late = post(running, {"x": 7})
            seconds = time.monotonic() - started
            statuses = [answer.result().status_code for answer in burst]
        # Then the burst is served, and a call arriving behind the standing queue is refused
        # at once with the wait it would join (with no time limit, it waits its turn)
        assert statuses == [200] * 6
        if limit == "auto":
            assert late.status_code == 503 and seconds < 0.5, late.text
            assert "calls wait" in late.json()["message"]
            assert late.headers["retry-after"] == "1"
        else:
            assert late.status_code == 200
        # And once the queue has drained, calls are admitted again
        assert post(running, {"x": 8}).status_code == 200
    finally:
        running.process.kill()
        running.process.wait()
