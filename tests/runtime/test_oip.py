"""Open Inference Protocol v2 on a live model service, called with the real clients from PyPI:
tritonclient's HTTP client and the kserve SDK's REST client (plus raw HTTP for the errors)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests
from compiler_helpers import code
from runtime_helpers import Service, start_service

httpclient = pytest.importorskip("tritonclient.http")
kserve = pytest.importorskip("kserve")
from tritonclient.utils import InferenceServerException  # noqa: E402

pytestmark = pytest.mark.slow

MODEL = """\
def predict(features: list[float], scale: int = 1) -> float:
    return sum(features) * scale

def predict_batch(items):
    return [predict(**item) for item in items]
"""
SETUP = "import time\ntime.sleep(0.2)"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A live service named `svc`: predict(features: list[float], scale: int = 1) -> float."""
    tmp = tmp_path_factory.mktemp("oip")
    running = start_service(tmp, [code(SETUP, "setup"), code(MODEL, "predict")])
    yield running
    running.process.kill()


def triton(service: Service) -> httpclient.InferenceServerClient:
    """tritonclient's HTTP client on the service."""
    return httpclient.InferenceServerClient(url=service.url.removeprefix("http://"))


def test_triton_client_sees_a_live_ready_model_with_tensor_metadata(service: Service) -> None:
    # Given a live model service
    client = triton(service)
    # When tritonclient asks for health and metadata
    # Then the server is live and ready, the model ready, and its tensors come from type hints
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("svc")
    metadata = client.get_model_metadata("svc")
    assert metadata["inputs"] == [
        {"name": "features", "datatype": "FP64", "shape": [-1, -1]},
        {"name": "scale", "datatype": "INT64", "shape": [-1]},
    ]
    assert metadata["outputs"] == [{"name": "prediction", "datatype": "FP64", "shape": [-1]}]
    assert client.get_server_metadata()["name"] == "jupyter-deploy"


@pytest.mark.parametrize("binary", [True, False], ids=["binary-tensors", "json-tensors"])
def test_triton_client_infers_a_batch_mapping_tensors_to_arguments(
    service: Service, binary: bool
) -> None:
    # Given two rows of features (FP32, as numpy gives them) and a scale per row
    features = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float32)
    inputs = [
        httpclient.InferInput("features", list(features.shape), "FP32"),
        httpclient.InferInput("scale", [2], "INT64"),
    ]
    inputs[0].set_data_from_numpy(features, binary_data=binary)
    inputs[1].set_data_from_numpy(np.array([1, 10], dtype=np.int64), binary_data=binary)
    # When tritonclient calls infer
    result = triton(service).infer("svc", inputs, request_id="r1")
    # Then each row went to predict by argument name, and the output is a [2] tensor
    assert result.as_numpy("prediction").tolist() == [6.0, 150.0]
    assert result.get_response()["id"] == "r1"


def test_kserve_rest_client_checks_health_and_infers(service: Service) -> None:
    # Given the kserve SDK's REST client speaking v2
    async def call() -> tuple[bool, bool, bool, list[float]]:
        client = kserve.InferenceRESTClient(kserve.RESTConfig(protocol="v2", retries=0))
        try:
            features = kserve.InferInput("features", [1, 4], "FP64")
            features.set_data_from_numpy(np.array([[5.1, 3.5, 1.4, 0.2]]), binary_data=False)
            request = kserve.InferRequest(model_name="svc", infer_inputs=[features])
            # When it checks liveness and readiness and infers one row
            live = await client.is_server_live(service.url)
            ready = await client.is_server_ready(service.url)
            model = await client.is_model_ready(service.url, "svc")
            response = await client.infer(service.url, request, model_name="svc")
            return live, ready, model, response.outputs[0].as_numpy().tolist()
        finally:
            await client.close()

    live, ready, model, prediction = asyncio.run(call())
    # Then all is live and ready, and the default scale applied
    assert live and ready and model
    assert prediction == pytest.approx([10.2])


def test_single_row_infers_go_through_the_batcher(service: Service) -> None:
    # Given 24 concurrent one-row infer calls
    body = {"inputs": [{"name": "features", "datatype": "FP64", "shape": [1, 2], "data": [1, 2]}]}
    url = f"{service.url}/v2/models/svc/infer"
    before = _batch_calls(service)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: requests.post(url, json=body, timeout=30), range(24)))
    # Then each got its own answer, and predict_batch (the batcher) served them
    assert all(a.status_code == 200 for a in answers)
    assert {a.json()["outputs"][0]["data"][0] for a in answers} == {3.0}
    assert 0 < _batch_calls(service) - before <= 24


def test_bad_tensors_are_422_naming_the_tensor(service: Service) -> None:
    url = f"{service.url}/v2/models/svc/infer"
    cases = {
        "nope": {"inputs": [{"name": "nope", "datatype": "FP64", "shape": [1], "data": [1]}]},
        "features is required": {"inputs": []},
        "3 values for shape [1, 2]": {
            "inputs": [{"name": "features", "datatype": "FP64", "shape": [1, 2], "data": [1, 2, 3]}]
        },
        "features[0] must be a number": {
            "inputs": [{"name": "features", "datatype": "BYTES", "shape": [1, 1], "data": ["a"]}]
        },
        "differ in batch size": {
            "inputs": [
                {"name": "features", "datatype": "FP64", "shape": [1, 1], "data": [1]},
                {"name": "scale", "datatype": "INT64", "shape": [2], "data": [1, 2]},
            ]
        },
    }
    for expected, body in cases.items():
        # Given a request with one thing wrong; When it is sent
        answer = requests.post(url, json=body, timeout=10)
        # Then it is a 422 in the protocol's error shape, naming what is wrong
        assert answer.status_code == 422, (expected, answer.text)
        assert expected in answer.json()["error"], answer.text
    # And not JSON is a 400, an unknown model a 404, a wrong method a 405
    assert requests.post(url, data=b"{", timeout=10).status_code == 400
    other = requests.get(f"{service.url}/v2/models/other", timeout=10)
    assert other.status_code == 404 and "'svc'" in other.json()["error"]
    assert requests.get(url, timeout=10).status_code == 405


def test_triton_client_gets_the_servers_message_on_error(service: Service) -> None:
    # Given a tensor that is not an input of the model
    wrong = httpclient.InferInput("nope", [1], "FP64")
    wrong.set_data_from_numpy(np.array([1.0]))
    # When tritonclient infers, Then its exception carries our message
    with pytest.raises(InferenceServerException, match="not an input of svc"):
        triton(service).infer("svc", [wrong])


def test_openapi_document_covers_the_v2_routes_with_an_example(tmp_path: Path) -> None:
    # Given a service with an example input
    model = "def predict(features: list[float]) -> float:\n    return sum(features)"
    example = code("example = {'features': [1.0, 2.0]}", "example")
    running = start_service(tmp_path, [code(model, "predict"), example])
    try:
        # When its OpenAPI document is read
        document = requests.get(f"{running.url}/openapi.json", timeout=10).json()
        # Then the v2 routes are there, and the infer example is a valid call that answers
        for path in ("/v2/health/live", "/v2/health/ready", "/v2/models/svc/ready"):
            assert path in document["paths"]
        infer = document["paths"]["/v2/models/svc/infer"]["post"]
        sample = infer["requestBody"]["content"]["application/json"]["example"]
        assert sample["inputs"][0]["shape"] == [1, 2]
        answer = requests.post(f"{running.url}/v2/models/svc/infer", json=sample, timeout=10)
        assert answer.json()["outputs"][0]["data"] == [3.0]
    finally:
        running.process.kill()


def test_a_loading_model_is_not_ready_on_v2(tmp_path: Path) -> None:
    # Given a service still running a long setup
    slow = code("import time\ntime.sleep(60)", "setup")
    model = code("def predict(x: int) -> int:\n    return x", "predict")
    running = start_service(tmp_path, [slow, model], ready=False)
    try:
        # When probed on v2, Then it is live but not ready (503 saying it is loading)
        assert requests.get(f"{running.url}/v2/health/live", timeout=10).status_code == 200
        ready = requests.get(f"{running.url}/v2/health/ready", timeout=10)
        assert ready.status_code == 503 and "loading" in ready.json()["error"]
    finally:
        running.process.kill()


def test_dict_outputs_and_inputs_travel_as_json_bytes(tmp_path: Path) -> None:
    # Given predict taking and returning dicts
    model = "def predict(row: dict) -> dict:\n    return {'n': len(row)}"
    running = start_service(tmp_path, [code(model, "predict")], ready=True)
    try:
        tensor = {"name": "row", "datatype": "BYTES", "shape": [1], "data": ['{"a": 1, "b": 2}']}
        # When inferring with the dict as JSON text
        answer = requests.post(
            f"{running.url}/v2/models/svc/infer", json={"inputs": [tensor]}, timeout=10
        )
        # Then the output is a BYTES tensor of JSON text
        output = answer.json()["outputs"][0]
        assert output["datatype"] == "BYTES" and json.loads(output["data"][0]) == {"n": 2}
    finally:
        running.process.kill()


def _batch_calls(service: Service) -> float:
    text = requests.get(f"{service.url}/metrics", timeout=10).text
    line = next(li for li in text.splitlines() if li.startswith("model_batch_size_count"))
    return float(line.split()[-1])
