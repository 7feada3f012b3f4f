"""The KServe target of the Kubernetes backend: the InferenceService checked field by field
against the kserve SDK's models (and the Kubernetes client's, for the pod parts), and the real
Kubernetes client exercised up to the wire against the recorded API server on 127.0.0.1."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes_helpers import KServeAPI, recorded_backend, serving

from jupyter_deploy.builder.backends import make_backend
from jupyter_deploy.builder.backends.base import Version
from jupyter_deploy.builder.backends.kserve import KServeBackend, inference_service
from jupyter_deploy.builder.backends.kubernetes import KubernetesBackend
from jupyter_deploy.errors import BackendUnavailable, BuildFailed

kserve_models = pytest.importorskip("kserve.models")
kubernetes_models = pytest.importorskip("kubernetes.client.models")
Json = dict[str, Any]
# KnativeURL and KnativeVolatileTime are the SDK's names for a URL and a time, both strings
SCALARS = {"str", "int", "bool", "float", "object", "datetime", "date"}
SCALARS |= {"KnativeURL", "KnativeVolatileTime"}


def sdk_model(data: Any, klass: str, where: str = "") -> Any:
    """`data` as the kserve SDK's (or Kubernetes client's) model `klass`; every key must be a
    field the model knows, and the model's own client-side validation runs."""
    listed = re.fullmatch(r"(?:list|List)\[(.*)\]", klass)  # the SDKs spell types both ways
    if listed:
        item_type = listed.group(1)
        return [sdk_model(item, item_type, f"{where}[{i}]") for i, item in enumerate(data)]
    mapping = re.fullmatch(r"dict\([^,]*, (.*)\)|Dict\[[^,]*, (.*)\]", klass)
    if mapping:
        value_type = mapping.group(1) or mapping.group(2)
        return {k: sdk_model(v, value_type, f"{where}.{k}") for k, v in data.items()}
    if klass in SCALARS:
        return data
    model = _model_class(klass)
    assert isinstance(data, dict), f"{where} must be an object ({klass})"
    unknown = set(data) - set(model.attribute_map.values())
    assert not unknown, f"{where}: {sorted(unknown)} are not fields of {klass}"
    fields = {
        attribute: sdk_model(data[key], model.openapi_types[attribute], f"{where}.{key}")
        for attribute, key in model.attribute_map.items()
        if key in data
    }
    return model(**fields)


def _model_class(klass: str) -> Any:
    """The SDK class called `klass`: kserve's (its Knative types live in their own modules),
    else the Kubernetes client's."""
    found = getattr(kserve_models, klass, None)
    if found is None:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", klass).lower()
        try:
            found = getattr(importlib.import_module(f"kserve.models.{snake}"), klass)
        except ImportError:
            found = getattr(kubernetes_models, klass)
    return found


def version(number: int, tmp_path: Path) -> Version:
    """A version of the deployment `iris`."""
    image = {"image": f"reg.test/iris:v{number}"}
    return Version("iris", number, tmp_path, "0" * 64, 8000, 8000, image)


@pytest.fixture
def api() -> Iterator[KServeAPI]:
    """The recorded API server, on 127.0.0.1."""
    with serving(KServeAPI()) as server:
        yield server


@pytest.fixture
def backend(api: KServeAPI, tmp_path: Path) -> KServeBackend:
    """The KServe target with the official client pointed at the recorded API."""
    plain = recorded_backend(api, tmp_path, target="kserve")
    return KServeBackend(tmp_path, plain.options, api_client=plain.api())


def test_the_inference_service_is_a_valid_kserve_sdk_object(tmp_path: Path) -> None:
    # Given version 3 with a canary share and scale-to-zero
    options = {"namespace": "models", "canary_percent": 10, "min_replicas": 0}
    # When its InferenceService is made
    item = inference_service(version(3, tmp_path), "reg.test/iris:v3", options)
    # Then every field is one the kserve SDK's models know
    model = sdk_model(item, "V1beta1InferenceService")
    assert model.spec.predictor.canary_traffic_percent == 10
    assert model.spec.predictor.min_replicas == 0
    # And our image is the custom predictor, on KServe's port, probed over the v2 protocol
    container = item["spec"]["predictor"]["containers"][0]
    assert container["name"] == "kserve-container" and container["image"] == "reg.test/iris:v3"
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert item["metadata"]["annotations"]["jupyter-deploy/version"] == "3"


def test_the_kubernetes_backend_stays_plain_unless_the_kserve_target_is_chosen(
    tmp_path: Path,
) -> None:
    # Given the kubernetes backend made by name, with and without `target=kserve`
    plain = make_backend("kubernetes", tmp_path, {})
    kserve = make_backend("kubernetes", tmp_path, {"target": "kserve"})
    # Then the default is the Deployment/Service/HPA backend, the option gives the KServe target
    assert type(plain) is KubernetesBackend
    assert isinstance(kserve, KServeBackend)
    # And an unknown target is refused by name
    with pytest.raises(BackendUnavailable, match="no target 'seldon'"):
        make_backend("kubernetes", tmp_path, {"target": "seldon"})


def test_a_dry_run_logs_a_valid_inference_service_and_applies_nothing(tmp_path: Path) -> None:
    import yaml

    # Given the KServe target in dry-run mode
    backend = KServeBackend(tmp_path, {"dry_run": True, "namespace": "models", "target": "kserve"})
    lines: list[str] = []
    # When a version starts
    with pytest.raises(BuildFailed, match="Dry run"):
        backend.start(version(1, tmp_path), lines.append)
    # Then the log holds one InferenceService the SDK's models accept
    item = yaml.safe_load(lines[1])
    assert item["kind"] == "InferenceService"
    sdk_model(item, "V1beta1InferenceService")


def test_a_version_creates_the_inference_service_and_waits_until_ready(
    backend: KServeBackend, api: KServeAPI, tmp_path: Path
) -> None:
    # Given an empty namespace
    lines: list[str] = []
    # When version 1 starts, then version 2
    backend.start(version(1, tmp_path), lines.append)
    backend.start(version(2, tmp_path), lines.append)
    # Then the InferenceService was created once and patched once, through the API server
    writes = [(m, p) for m, p, _ in api.requests if m != "GET"]
    path = "/apis/serving.kserve.io/v1beta1/namespaces/models/inferenceservices"
    assert writes == [("POST", path), ("PATCH", f"{path}/jd-iris")]
    assert any("Ready" in line for line in lines)
    # And it reports version 2 running, at the predictor's cluster URL
    assert backend.is_running(version(2, tmp_path))
    assert not backend.is_running(version(1, tmp_path))
    assert backend.stable_url("iris", 0) == "http://jd-iris-predictor.models.svc.cluster.local"
    # And the live object is still a valid SDK object, status included
    sdk_model(api.objects[f"{path}/jd-iris"], "V1beta1InferenceService")


def test_a_version_that_never_gets_ready_fails_and_patches_the_predictor_back(
    backend: KServeBackend, api: KServeAPI, tmp_path: Path
) -> None:
    # Given version 1 live, and KServe that will not report the next one Ready
    backend.start(version(1, tmp_path), lambda _: None)
    api.stall = True
    # When version 2 starts
    with pytest.raises(BuildFailed, match="Ready"):
        backend.start(version(2, tmp_path), lambda _: None)
    # Then the InferenceService is patched back to version 1's image
    path = "/apis/serving.kserve.io/v1beta1/namespaces/models/inferenceservices/jd-iris"
    container = api.objects[path]["spec"]["predictor"]["containers"][0]
    assert container["image"] == "reg.test/iris:v1"


def test_a_failing_predictor_shows_its_model_output_not_knatives_in_the_build_log(
    backend: KServeBackend, api: KServeAPI, tmp_path: Path
) -> None:
    # Given KServe that will not report version 2 Ready, whose predictor pod runs the model's
    # container beside Knative's queue-proxy (a log read must name one, as on a real cluster)
    backend.start(version(1, tmp_path), lambda _: None)
    api.stall = True
    lines: list[str] = []
    # When version 2 starts and fails
    with pytest.raises(BuildFailed, match="Ready"):
        backend.start(version(2, tmp_path), lines.append)
    # Then the build log holds the model container's output, read by its name
    output = "\n".join(lines)
    assert "ValueError: broken on purpose" in output and "refused" not in output, output
    assert "queue-proxy will listen" not in output.lower()
    logs = [p for _, p, _ in api.requests if p.split("?")[0].endswith("/log")]
    pod = "jd-iris-predictor-00002-deployment-6b8f9d7c4-q7m2x"
    assert logs == [
        f"/api/v1/namespaces/models/pods/{pod}/log?container=kserve-container&tailLines=40"
    ]
    # And that is the container the InferenceService gives the model
    item = inference_service(version(2, tmp_path), "img", backend.options)
    assert item["spec"]["predictor"]["containers"][0]["name"] == "kserve-container"


def test_remove_deletes_the_inference_service(
    backend: KServeBackend, api: KServeAPI, tmp_path: Path
) -> None:
    backend.start(version(1, tmp_path), lambda _: None)
    backend.remove("iris", lambda _: None)
    assert api.objects == {}


def test_a_deployment_with_keys_gets_its_secret_applied_before_the_inference_service(
    backend: KServeBackend, api: KServeAPI, tmp_path: Path
) -> None:
    # Given version 1 of iris with an API key and a secret (its pods' environment)
    first = version(1, tmp_path)
    first.env = {"JUPYTER_DEPLOY_API_KEYS": "k-one", "DB_PASSWORD": "pw"}
    # When it starts on the KServe target
    backend.start(first, lambda _: None)
    # Then the Secret the predictor names was created, before the InferenceService
    secrets = "/api/v1/namespaces/models/secrets"
    isvcs = "/apis/serving.kserve.io/v1beta1/namespaces/models/inferenceservices"
    writes = [(m, p) for m, p, _ in api.requests if m != "GET"]
    assert writes == [("POST", secrets), ("POST", isvcs)]
    assert api.objects[f"{secrets}/jd-iris-env"]["stringData"] == first.env
    predictor = api.objects[f"{isvcs}/jd-iris"]["spec"]["predictor"]
    assert predictor["containers"][0]["envFrom"] == [{"secretRef": {"name": "jd-iris-env"}}]
    sdk_model(api.objects[f"{isvcs}/jd-iris"], "V1beta1InferenceService")
    # When the key is revoked and the version starts again (a restart)
    again = version(1, tmp_path)
    again.env = {"DB_PASSWORD": "pw"}
    backend.start(again, lambda _: None)
    # Then the Secret is replaced whole (the revoked key gone), and the predictor's environment
    # hash changed, so KServe rolls new pods that read it
    assert api.objects[f"{secrets}/jd-iris-env"]["stringData"] == {"DB_PASSWORD": "pw"}
    digest = "jupyter-deploy/env-sha256"
    rolled = api.objects[f"{isvcs}/jd-iris"]["spec"]["predictor"]["annotations"]
    assert rolled[digest] != predictor["annotations"][digest]
    # And remove deletes the Secret with the InferenceService
    backend.remove("iris", lambda _: None)
    assert api.objects == {}


def test_a_dry_run_shows_the_secret_with_its_values_hidden(tmp_path: Path) -> None:
    import yaml

    # Given the KServe target in dry-run mode and a version with an API key
    backend = KServeBackend(tmp_path, {"dry_run": True, "namespace": "models", "target": "kserve"})
    keyed = version(1, tmp_path)
    keyed.env = {"JUPYTER_DEPLOY_API_KEYS": "k-one"}
    lines: list[str] = []
    # When it starts
    with pytest.raises(BuildFailed, match="Dry run"):
        backend.start(keyed, lines.append)
    # Then the log shows the Secret (no value) and the InferenceService that names it
    secret, item = yaml.safe_load_all(lines[1])
    assert secret["kind"] == "Secret"
    assert secret["stringData"] == {"JUPYTER_DEPLOY_API_KEYS": "<hidden>"}
    assert "k-one" not in "\n".join(lines)
    container = item["spec"]["predictor"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
