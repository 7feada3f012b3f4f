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
    assert logs == ["/api/v1/namespaces/models/pods/jd-iris-5c8f7b9d6a-x2k9q/log?tailLines=2000"]


def test_kserve_figures_are_read_on_the_port_its_predictor_container_listens_on(
    tmp_path: Path,
) -> None:
    with serving(KServeAPI()) as api:
        plain = recorded_backend(api, tmp_path, target="kserve")
        backend = KServeBackend(tmp_path, plain.options, api_client=plain.api())
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
    pod = "jd-iris-5c8f7b9d6a-x2k9q"
    proxied = [path for _, path, _ in api.requests if path.endswith("/proxy/metrics")]
    assert proxied == [f"/api/v1/namespaces/models/pods/{pod}:{port}/proxy/metrics"]
    # And its requests were counted
    assert figures["sources"] == [{"version": 2, "replica": pod, "error": ""}]
    assert (figures["totals"]["requests"], figures["totals"]["errors"]) == (4, 1)
