"""Traffic on the Kubernetes backend: each pod's /metrics and output through the API server's
pod proxy, with the real client up to the wire against the recorded API server (no cluster
runs here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes_helpers import KServeAPI, RecordedAPI, recorded_backend, serving

from jupyter_deploy.builder.backends.base import Backend, Version
from jupyter_deploy.builder.backends.kserve import KServeBackend, inference_service
from jupyter_deploy.builder.core import BuildService
from jupyter_deploy.builder.traffic import Traffic, recent_requests
from jupyter_deploy.errors import BuildFailed
from jupyter_deploy.runtime.metrics import Metrics

REQUEST = {
    "kind": "request",
    "time": "2026-11-30T10:00:01.000Z",
    "route": "/predict",
    "status": 200,
    "latency_ms": 2.5,
    "input": {"features": [5.1, 3.5, 1.4, 0.2]},
    "output": {"prediction": "setosa"},
}


def kserve_backend(api: RecordedAPI, tmp_path: Path) -> KServeBackend:
    """The KServe target, talking to the recorded API server."""
    plain = recorded_backend(api, tmp_path, target="kserve")
    return KServeBackend(tmp_path, plain.options, api_client=plain.api())


def live_service(backend: Backend, tmp_path: Path) -> BuildService:
    """A build service on `backend` whose deployment iris has version 2 live."""
    service = BuildService(tmp_path / "state", backend)
    service.state.ensure_deployment("iris", 8000)
    service.state.new_build("iris", 2, "build", (tmp_path, "0" * 64))
    service.state.set_live("iris", 2)
    return service


def served_metrics() -> str:
    """A pod's /metrics after 4 requests to /predict, one of them a 500 (and one /healthz)."""
    metrics = Metrics()
    for status, seconds in ((200, 0.002), (200, 0.004), (200, 0.03), (500, 0.001)):
        metrics.record("/predict", status, seconds)
    metrics.record("/healthz", 200, 0.0001)
    return metrics.render([]).decode()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[BuildService, RecordedAPI]]:
    """A build service on the Kubernetes backend whose deployment iris has version 2 live."""
    with serving(RecordedAPI()) as api:
        service = live_service(recorded_backend(api, tmp_path), tmp_path)
        try:
            yield service, api
        finally:
            service.close()


def test_figures_come_from_every_pod_through_the_api_server_proxy(
    service: tuple[BuildService, RecordedAPI],
) -> None:
    build_service, api = service
    # Given a pod whose model service answered 4 requests, one of them a 500
    api.metrics = served_metrics()
    # When the traffic figures are read
    figures = Traffic(build_service, interval=3600).figures("iris", minutes=5)
    # Then the pod was reached through the pod proxy and its requests counted
    proxied = [path for _, path, _ in api.requests if path.endswith("/proxy/metrics")]
    assert proxied == ["/api/v1/namespaces/models/pods/jd-iris-5c8f7b9d6a-x2k9q:8000/proxy/metrics"]
    assert figures["sources"] == [
        {"version": 2, "replica": "jd-iris-5c8f7b9d6a-x2k9q", "error": ""}
    ]
    totals = figures["totals"]
    assert (totals["requests"], totals["errors"], totals["error_rate"]) == (4, 1, 0.25)
    assert 1 < totals["p50_ms"] < 5 < totals["p99_ms"] <= 50


def test_figures_of_a_deployment_with_api_keys_carry_its_key_past_the_api_server(
    service: tuple[BuildService, RecordedAPI],
) -> None:
    build_service, api = service
    # Given iris takes API keys, so its pods' /metrics answer only with one of them
    api.metrics = served_metrics()
    api.metrics_key = build_service.keys.internal("iris")
    # When the traffic figures are read
    figures = Traffic(build_service, interval=3600).figures("iris", minutes=5)
    # Then the build service's own key went in X-API-Key (the API server keeps Authorization
    # for its token), and the pod's requests were counted
    assert figures["sources"] == [
        {"version": 2, "replica": "jd-iris-5c8f7b9d6a-x2k9q", "error": ""}
    ]
    assert figures["totals"]["requests"] == 4
    calls = zip(api.requests, api.headers, strict=True)
    sent = next(headers for (_, path, _), headers in calls if path.endswith("/metrics"))
    assert sent["x-api-key"] == api.metrics_key and sent["authorization"] == "Bearer t0ken"


def test_recent_requests_come_from_the_pods_output(
    service: tuple[BuildService, RecordedAPI],
) -> None:
    build_service, api = service
    # Given a pod whose output holds the model service's log lines and one request record
    api.pod_output = json.dumps(REQUEST, separators=(",", ":")) + "\n"
    # When the recent requests are read
    found = recent_requests(build_service, "iris", limit=10)
    # Then the record is there, with its version, and the other lines are not
    assert found["requests"] == [{**REQUEST, "version": 2}]
    logs = [path for _, path, _ in api.requests if "/log" in path]
    assert logs == [
        "/api/v1/namespaces/models/pods/jd-iris-5c8f7b9d6a-x2k9q/log?container=model&tailLines=2000"
    ]


def test_kserve_figures_are_read_on_the_port_its_predictor_container_listens_on(
    tmp_path: Path,
) -> None:
    with serving(KServeAPI()) as api:
        backend = kserve_backend(api, tmp_path)
        build_service = live_service(backend, tmp_path)
        try:
            # Given a KServe predictor pod whose model service answered 4 requests
            api.metrics = served_metrics()
            # When the traffic figures are read
            figures = Traffic(build_service, interval=3600).figures("iris", minutes=5)
        finally:
            build_service.close()
    # Then the pod was reached on the port the InferenceService gives the model service
    item = inference_service(Version("iris", 2, tmp_path, "", 0, 0), "img", backend.options)
    container = item["spec"]["predictor"]["containers"][0]
    port = container["ports"][0]["containerPort"]
    assert port == 8080 and container["args"][-2:] == ["--port", "8080"]
    pod = "jd-iris-predictor-00002-deployment-6b8f9d7c4-q7m2x"
    proxied = [path for _, path, _ in api.requests if path.endswith("/proxy/metrics")]
    assert proxied == [f"/api/v1/namespaces/models/pods/{pod}:{port}/proxy/metrics"]
    # And its requests were counted
    assert figures["sources"] == [{"version": 2, "replica": pod, "error": ""}]
    assert (figures["totals"]["requests"], figures["totals"]["errors"]) == (4, 1)


def test_kserve_recent_requests_come_from_the_model_container_not_the_queue_proxy(
    tmp_path: Path,
) -> None:
    with serving(KServeAPI()) as api:
        backend = kserve_backend(api, tmp_path)
        build_service = live_service(backend, tmp_path)
        try:
            # Given a Serverless predictor pod (kserve-container and queue-proxy) whose model
            # service logged one request
            api.pod_output = json.dumps(REQUEST, separators=(",", ":")) + "\n"
            # When the recent requests are read
            found = recent_requests(build_service, "iris", limit=10)
        finally:
            build_service.close()
    # Then the record is there: the log read named the model's container
    assert found["requests"] == [{**REQUEST, "version": 2}]
    pod = "jd-iris-predictor-00002-deployment-6b8f9d7c4-q7m2x"
    logs = [path for _, path, _ in api.requests if "/log" in path]
    assert logs == [
        f"/api/v1/namespaces/models/pods/{pod}/log?container=kserve-container&tailLines=2000"
    ]


def test_a_log_read_naming_no_container_of_a_two_container_pod_is_refused_as_a_cluster_would(
    tmp_path: Path,
) -> None:
    with serving(KServeAPI()) as api:
        backend = recorded_backend(api, tmp_path)
        pod = "jd-iris-predictor-00002-deployment-6b8f9d7c4-q7m2x"
        path = f"/api/v1/namespaces/models/pods/{pod}/log"
        # When a pod's log is read without container=, or with one the pod does not have
        # Then the API server's 400 comes back, naming the pod and its containers
        with pytest.raises(BuildFailed) as unnamed:
            backend._call_text(path)
        with pytest.raises(BuildFailed) as unknown:
            backend._call_text(path, query=[("container", "model")])
        # And a read naming one of them is answered
        assert "broken on purpose" in backend._call_text(path, [("container", "kserve-container")])
    assert "(400 BadRequest)" in str(unnamed.value)
    assert (
        f"a container name must be specified for pod {pod}, "
        "choose one of: [kserve-container queue-proxy]"
    ) in str(unnamed.value)
    assert f"container model is not valid for pod {pod}" in str(unknown.value)
