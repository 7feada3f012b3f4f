"""The model service over HTTP: requests and answers, bad input included, on real processes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from compiler_helpers import code
from runtime_helpers import PLAIN, Service, post, start_service, wait_ready

MODEL = """\
import math
import time
import numpy as np
import pandas as pd


def predict(x: float, mode: str = "plain", tags: list[str] | None = None):
    if mode == "raise":
        raise RuntimeError("the model broke")
    if mode == "slow":
        time.sleep(3)
    if mode == "nan":
        return [math.nan, math.inf, x]
    if mode == "numpy":
        return np.arange(3) * x
    if mode == "frame":
        return pd.DataFrame({"x": [x, x + 1], "y": [np.float64(0.5), np.nan]})
    if mode == "scalar":
        return np.float32(x)
    if mode == "series":
        return pd.Series([x, np.nan])
    if mode == "exit":
        raise SystemExit(3)
    return x * 2
"""

BATCHING = """\
def predict(x: int) -> int:
    return predict_batch([{"x": x}])[0]


def predict_batch(items: list[dict]) -> list[int]:
    time.sleep(0.02)
    if any(item["x"] == 13 for item in items):
        raise ValueError("13 is unlucky")
    return [item["x"] * 10 for item in items]
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service of a model with many behaviours, 1 s timeout, 64 KiB body limit."""
    env = {"JUPYTER_DEPLOY_TIMEOUT": "1", "JUPYTER_DEPLOY_MAX_BODY": "65536"}
    running = start_service(tmp_path_factory.mktemp("svc"), [code(MODEL, "predict")], env=env)
    yield running
    running.process.kill()
    running.process.wait()


def test_predict_answers_with_the_prediction(service: Service) -> None:
    answer = post(service, {"x": 2.5})
    assert answer.status_code == 200
    assert answer.json() == {"prediction": 5.0}


def test_batch_route_answers_each_input(service: Service) -> None:
    answer = post(service, {"inputs": [{"x": 1}, {"x": 2, "mode": "plain"}]}, "/predict/batch")
    assert answer.json() == {"predictions": [2, 4]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"x": "three"}, "x must be a number, not a string"),
        ({"x": 1, "tags": ["a", 2]}, "tags[1]"),
        ({}, "x is required"),
        ({"x": 1, "colour": "red"}, "colour is not a field"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_input_gets_422_naming_the_field(service: Service, body: object, field: str) -> None:
    answer = post(service, body)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_input"
    assert field in answer.json()["message"]


def test_a_bad_item_in_a_batch_gets_422_naming_its_index(service: Service) -> None:
    answer = post(service, {"inputs": [{"x": 1}, {"x": None}]}, "/predict/batch")
    assert answer.status_code == 422 and "inputs[1].x" in answer.json()["message"]


def test_a_body_that_is_not_json_gets_400(service: Service) -> None:
    answer = requests.post(f"{service.url}/predict", data=b"{not json", timeout=5)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_json"


def test_json_nested_too_deeply_gets_400_not_a_crash(service: Service) -> None:
    deep = b'{"x": 1, "tags": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    answer = requests.post(f"{service.url}/predict", data=deep, timeout=5)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_json"
    assert post(service, {"x": 1}).status_code == 200


def test_an_optional_field_takes_null_and_answers_carry_a_content_length(
    service: Service,
) -> None:
    answer = post(service, {"x": 1, "tags": None})
    assert answer.json() == {"prediction": 2}
    assert answer.headers["content-length"] == str(len(answer.content))


def test_a_whole_float_sent_for_an_integer_reaches_predict_as_an_int(tmp_path: Path) -> None:
    source = "def predict(n: int, ids: list[int], k: int | None = None) -> str:\n"
    cells = [code(source + "    return repr((n, ids, k))", "predict")]
    running = start_service(tmp_path, cells)
    try:
        answer = post(running, {"n": 3.0, "ids": [1.0, 2], "k": 4.0})
        assert answer.json() == {"prediction": "(3, [1, 2], 4)"}
        refused = post(running, {"n": 3.5, "ids": []})
        assert refused.status_code == 422 and "n must be an integer" in refused.json()["message"]
    finally:
        running.process.kill()
        running.process.wait()


def test_an_empty_batch_gets_an_empty_list(service: Service) -> None:
    assert post(service, {"inputs": []}, "/predict/batch").json() == {"predictions": []}


def test_a_predict_that_calls_sys_exit_gets_500_and_the_service_lives_on(
    service: Service,
) -> None:
    answer = post(service, {"x": 1, "mode": "exit"})
    assert answer.status_code == 500 and "error_id" in answer.json()
    assert post(service, {"x": 1}).json() == {"prediction": 2}


def test_a_huge_body_gets_413_without_being_read(service: Service) -> None:
    huge = b'{"x": 1, "pad": "' + b"a" * 200_000 + b'"}'
    assert requests.post(f"{service.url}/predict", data=huge, timeout=5).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        yield b'{"x": 1, "pad": "'
        for _ in range(100):
            yield b"a" * 10_000
        yield b'"}'

    streamed = requests.post(f"{service.url}/predict", data=chunks(), timeout=5)
    assert streamed.status_code == 413 and streamed.json()["error"] == "body_too_large"


def test_an_exception_in_predict_gets_500_with_an_error_id_in_the_log(service: Service) -> None:
    answer = post(service, {"x": 1, "mode": "raise"})
    assert answer.status_code == 500
    body = answer.json()
    assert body["error"] == "predict_failed" and "RuntimeError" in body["message"]
    assert "the model broke" not in answer.text  # the traceback stays in the log
    time.sleep(0.2)
    log = service.log.read_text()
    assert body["error_id"] in log and "the model broke" in log


def test_a_slow_predict_gets_504_and_the_service_keeps_answering(service: Service) -> None:
    started = time.monotonic()
    answer = post(service, {"x": 1, "mode": "slow"})
    assert answer.status_code == 504 and time.monotonic() - started < 2.5
    assert post(service, {"x": 1}).json() == {"prediction": 2}


def test_a_bigger_input_that_makes_a_proven_fast_predict_slow_still_gets_504(
    service: Service,
) -> None:
    # Given predict has been fast for many small bodies (it now runs on the event loop)
    for _ in range(60):
        assert post(service, {"x": 1}).status_code == 200
    # When a bigger body makes it slow, then it runs in a thread: the time limit holds
    # and the service answers others meanwhile
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(post, service, {"x": 1, "mode": "slow", "tags": ["a" * 100]})
        time.sleep(0.2)
        health = requests.get(f"{service.url}/healthz", timeout=0.5)
        assert health.status_code == 200
        assert slow.result().status_code == 504


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("nan", [None, None, 1.5]),
        ("numpy", [0.0, 1.5, 3.0]),
        ("frame", [{"x": 1.5, "y": 0.5}, {"x": 2.5, "y": None}]),
        ("scalar", 1.5),
        ("series", [1.5, None]),
    ],
)
def test_numpy_pandas_and_non_finite_results_are_plain_json(
    service: Service, mode: str, expected: object
) -> None:
    answer = post(service, {"x": 1.5, "mode": mode})
    assert answer.status_code == 200
    assert answer.json() == {"prediction": expected}


def test_health_metrics_openapi_and_metadata(service: Service) -> None:
    assert requests.get(f"{service.url}/healthz", timeout=5).json() == {"status": "ok"}
    openapi = requests.get(f"{service.url}/openapi.json", timeout=5).json()
    body = openapi["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["x"] == {"type": "number"}
    assert body["example"] == {"x": 1}
    assert requests.get(f"{service.url}/metadata", timeout=5).json()["name"] == "svc"
    metrics = requests.get(f"{service.url}/metrics", timeout=5).text
    assert 'model_requests_total{route="/predict",status="200"}' in metrics
    assert "model_request_seconds_bucket" in metrics


def test_unknown_routes_and_methods_get_json_404_and_405(service: Service) -> None:
    missing = requests.get(f"{service.url}/nowhere", timeout=5)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = requests.get(f"{service.url}/predict", timeout=5)
    assert wrong.status_code == 405 and "POST" in wrong.json()["message"]
    assert wrong.headers["allow"] == "POST"


def test_concurrent_requests_to_a_batching_service_each_get_their_own_answer(
    tmp_path: Path,
) -> None:
    running = start_service(tmp_path, ["import time", code(BATCHING, "predict")])

    def ask(x: int) -> tuple[int, object]:
        answer = post(running, {"x": "nope" if x % 50 == 7 else x})
        return answer.status_code, answer.json().get("prediction", answer.json().get("error"))

    try:
        # When 200 requests arrive at once, some invalid and one that makes its batch raise
        with ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(pool.map(ask, range(200)))
        # Then each caller gets its own answer or its own error
        for x, answer in enumerate(answers):
            if x % 50 == 7:
                assert answer == (422, "invalid_input")
            elif x == 13:
                assert answer == (500, "predict_failed")
            else:
                assert answer == (200, x * 10)
        # And the predict_batch calls were fewer than the requests: they were grouped
        metrics = requests.get(f"{running.url}/metrics", timeout=5).text
        sizes = [line for line in metrics.splitlines() if line.startswith("model_batch_size_")]
        count = int(next(line for line in sizes if "_count" in line).split()[-1])
        singles = int(next(line for line in sizes if 'le="1"' in line).split()[-1])
        assert count < 190 and singles < count
    finally:
        running.process.kill()


def test_healthz_answers_at_once_while_the_model_loads_then_readyz_turns_200(
    tmp_path: Path,
) -> None:
    # Given a setup cell that takes 2 s
    cells = [code("import time\ntime.sleep(2)", "setup"), code(PLAIN, "predict")]
    running = start_service(tmp_path, cells, ready=False)
    try:
        # Then the process answers health checks while loading, and is not ready yet
        assert requests.get(f"{running.url}/healthz", timeout=5).status_code == 200
        assert requests.get(f"{running.url}/readyz", timeout=5).json()["error"] == "not_ready"
        assert post(running, {"x": 1}).status_code == 503
        wait_ready(running.url)
        assert post(running, {"x": 1}).json() == {"prediction": 1}
    finally:
        running.process.kill()
        running.process.wait()


def test_a_module_that_fails_to_load_is_never_ready_and_says_why(tmp_path: Path) -> None:
    cells = [code("raise RuntimeError('no model file')", "setup"), code(PLAIN, "predict")]
    running = start_service(tmp_path, cells, ready=False)
    try:
        deadline = time.monotonic() + 10
        while "failed to load" not in running.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        ready = requests.get(f"{running.url}/readyz", timeout=5)
        assert ready.status_code == 503 and ready.json()["error"] == "load_failed"
        assert "no model file" in ready.json()["message"]
        assert requests.get(f"{running.url}/healthz", timeout=5).status_code == 200
    finally:
        running.process.kill()
        running.process.wait()


def test_api_keys_are_required_when_configured(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("file-key\n")
    env = {"JUPYTER_DEPLOY_API_KEYS": "k1, k2", "JUPYTER_DEPLOY_API_KEYS_FILE": str(keys)}
    running = start_service(tmp_path, [code(PLAIN, "predict")], env)
    try:
        refused = post(running, {"x": 1})
        assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
        assert refused.headers["www-authenticate"] == "Bearer"
        assert requests.get(f"{running.url}/metrics", timeout=5).status_code == 401
        assert post(running, {"x": 1}, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert post(running, {"x": 1}, headers={"Authorization": "Bearer k2"}).status_code == 200
        assert post(running, {"x": 1}, headers={"X-API-Key": "file-key"}).status_code == 200
        assert requests.get(f"{running.url}/healthz", timeout=5).status_code == 200
    finally:
        running.process.kill()
