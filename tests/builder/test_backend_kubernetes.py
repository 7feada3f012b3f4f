"""The Kubernetes backend: manifests checked against the official schemas, and the real client
exercised up to the wire against a recorded API server on 127.0.0.1 (no cluster runs here).
An opt-in test talks to a real cluster when KUBECONFIG is set."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes_helpers import RecordedAPI, recorded_backend, serving

from jupyter_deploy.builder.backends.base import Version
from jupyter_deploy.builder.backends.kubernetes import KubernetesBackend, manifests
from jupyter_deploy.errors import BackendUnavailable, BuildFailed

kubernetes_validate = pytest.importorskip("kubernetes_validate")
Json = dict[str, Any]


def version(number: int, tmp_path: Path) -> Version:
    """A version of the deployment `iris`."""
    return Version(
        "iris", number, tmp_path, "0" * 64, 8000, 8000, {"image": f"reg.test/iris:v{number}"}
    )


@pytest.fixture
def api() -> Iterator[RecordedAPI]:
    """The recorded API server, on 127.0.0.1."""
    with serving(RecordedAPI()) as server:
        yield server


@pytest.fixture
def backend(api: RecordedAPI, tmp_path: Path) -> KubernetesBackend:
    """The backend with the official client pointed at the recorded API."""
    return recorded_backend(api, tmp_path)


def test_manifests_are_valid_kubernetes_objects(tmp_path: Path) -> None:
    objects = manifests(version(3, tmp_path), "reg.test/iris:v3", {"namespace": "models"})
    assert [o["kind"] for o in objects] == ["Deployment", "Service", "HorizontalPodAutoscaler"]
    for item in objects:
        kubernetes_validate.validate(item, "1.30.0", strict=True)
    deployment = objects[0]["spec"]
    assert deployment["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    container = deployment["template"]["spec"]["containers"][0]
    assert "jupyter_deploy_runtime.probe" in container["readinessProbe"]["exec"]["command"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] == {"cpu": "250m", "memory": "512Mi"}


def test_a_63_character_deployment_name_still_gives_dns_label_object_names(
    tmp_path: Path,
) -> None:
    long = Version("m" * 63, 1, tmp_path, "0" * 64, 8000, 8000)
    objects = manifests(long, "reg.test/m:v1", {"cpu_target": 55})
    names = {o["metadata"]["name"] for o in objects}
    assert len(names) == 1 and len(names.pop()) <= 63
    for item in objects:
        kubernetes_validate.validate(item, "1.30.0", strict=True)
    target = objects[2]["spec"]["metrics"][0]["resource"]["target"]
    assert target == {"type": "Utilization", "averageUtilization": 55}


def test_a_first_version_creates_the_three_objects_and_waits_for_the_rollout(
    backend: KubernetesBackend, api: RecordedAPI, tmp_path: Path
) -> None:
    lines: list[str] = []
    backend.start(version(1, tmp_path), lines.append)
    writes = [(m, p) for m, p, _ in api.requests if m != "GET"]
    assert writes == [
        ("POST", "/apis/apps/v1/namespaces/models/deployments"),
        ("POST", "/api/v1/namespaces/models/services"),
        ("POST", "/apis/autoscaling/v2/namespaces/models/horizontalpodautoscalers"),
    ]
    assert "rolled out: 2 ready pods of version 1" in lines
    assert backend.is_running(version(1, tmp_path))
    assert backend.stable_url("iris", 0) == "http://jd-iris.models.svc.cluster.local"


def test_a_new_version_patches_the_template_for_a_rolling_update(
    backend: KubernetesBackend, api: RecordedAPI, tmp_path: Path
) -> None:
    backend.start(version(1, tmp_path), lambda _: None)
    api.requests.clear()
    backend.start(version(2, tmp_path), lambda _: None)
    patches = [
        body for m, p, body in api.requests if m == "PATCH" and p.endswith("deployments/jd-iris")
    ]
    image = patches[0]["spec"]["template"]["spec"]["containers"][0]["image"]  # type: ignore[index]
    assert image == "reg.test/iris:v2"
    assert backend.is_running(version(2, tmp_path)) and not backend.is_running(version(1, tmp_path))


def test_a_rollout_that_never_gets_ready_fails_and_patches_the_old_template_back(
    backend: KubernetesBackend, api: RecordedAPI, tmp_path: Path
) -> None:
    backend.start(version(1, tmp_path), lambda _: None)
    api.stall = True
    lines: list[str] = []
    with pytest.raises(BuildFailed, match="old pods keep serving"):
        backend.start(version(2, tmp_path), lines.append)
    method, path, body = api.requests[-1]
    assert (method, path) == ("PATCH", "/apis/apps/v1/namespaces/models/deployments/jd-iris")
    pods, log = (p for m, p, _ in api.requests if "/pods" in p)
    assert pods == (
        "/api/v1/namespaces/models/pods?labelSelector="
        "app.kubernetes.io/name%3Djd-iris%2Cjupyter-deploy/version%3Dv2"
    )
    pod = "jd-iris-5c8f7b9d6a-x2k9q"
    assert log == f"/api/v1/namespaces/models/pods/{pod}/log?container=model&tailLines=40"
    output = "\n".join(lines)
    assert "model running" in output and "ValueError: broken on purpose" in output
    image = body["spec"]["template"]["spec"]["containers"][0]["image"]  # type: ignore[index]
    assert image == "reg.test/iris:v1"


def test_writes_carry_the_token_and_go_out_as_json_objects_or_merge_patches(
    backend: KubernetesBackend, api: RecordedAPI, tmp_path: Path
) -> None:
    backend.start(version(1, tmp_path), lambda _: None)
    backend.start(version(2, tmp_path), lambda _: None)
    kinds = {
        method: headers["content-type"]
        for (method, _, _), headers in zip(api.requests, api.headers, strict=True)
        if method != "GET"
    }
    assert kinds == {"POST": "application/json", "PATCH": "application/merge-patch+json"}
    assert {h["authorization"] for h in api.headers} == {"Bearer t0ken"}


def test_a_rollback_patches_the_earlier_pod_template_back_so_its_revision_serves_again(
    backend: KubernetesBackend, api: RecordedAPI, tmp_path: Path
) -> None:
    backend.start(version(1, tmp_path), lambda _: None)
    first_template = next(body for m, _, body in api.requests if m == "POST")["spec"]["template"]  # type: ignore[index]
    backend.start(version(2, tmp_path), lambda _: None)
    backend.start(version(1, tmp_path), lambda _: None)
    deployment = api.objects["/apis/apps/v1/namespaces/models/deployments/jd-iris"]
    assert deployment["spec"]["template"] == first_template  # same pod-template-hash: revision 1
    assert deployment["metadata"]["annotations"] == {"jupyter-deploy/version": "1"}
    assert deployment["metadata"]["generation"] == 3
    assert backend.is_running(version(1, tmp_path)) and not backend.is_running(version(2, tmp_path))


def test_a_refusal_by_the_api_server_is_reported_with_its_reason(
    backend: KubernetesBackend, api: RecordedAPI, tmp_path: Path
) -> None:
    api.refuse = "status-forbidden"
    with pytest.raises(BuildFailed) as refused:
        backend.start(version(1, tmp_path), lambda _: None)
    message = str(refused.value)
    assert message.startswith(
        "Kubernetes refused POST /apis/apps/v1/namespaces/models/deployments (403 Forbidden): "
    )
    assert 'cannot create resource "deployments"' in message


def test_without_a_registry_the_backend_asks_for_one(tmp_path: Path) -> None:
    backend = KubernetesBackend(tmp_path, {"namespace": "models"})
    with pytest.raises(BackendUnavailable, match="--registry"):
        backend.prepare(version(1, tmp_path), lambda _: None)


def test_images_are_named_after_the_registry_the_deployment_and_the_version(
    tmp_path: Path,
) -> None:
    backend = KubernetesBackend(tmp_path, {"registry": "registry.example/team/"})
    assert backend.image(version(4, tmp_path)) == "registry.example/team/jupyter-deploy/iris:v4"


def test_remove_deletes_every_object(
    backend: KubernetesBackend, api: RecordedAPI, tmp_path: Path
) -> None:
    backend.start(version(1, tmp_path), lambda _: None)
    backend.remove("iris", lambda _: None)
    assert api.objects == {}
    assert [m for m, _, _ in api.requests[-3:]] == ["DELETE", "DELETE", "DELETE"]


def test_dry_run_prints_the_manifests_and_applies_nothing(tmp_path: Path) -> None:
    backend = KubernetesBackend(tmp_path, {"dry_run": True, "namespace": "models"})
    lines: list[str] = []
    with pytest.raises(BuildFailed, match="Dry run"):
        backend.start(version(1, tmp_path), lines.append)
    text = "\n".join(lines)
    assert "kind: Deployment" in text and "kind: HorizontalPodAutoscaler" in text


@pytest.mark.kubernetes
@pytest.mark.skipif(
    not os.environ.get("KUBECONFIG"), reason="set KUBECONFIG to test a real cluster"
)
def test_a_real_cluster_accepts_the_manifests_in_a_server_side_dry_run(tmp_path: Path) -> None:
    backend = KubernetesBackend(tmp_path, {"kubeconfig": os.environ["KUBECONFIG"]})
    for item in manifests(version(1, tmp_path), "reg.test/iris:v1", {"namespace": "default"}):
        collection, _ = backend._paths(item)
        backend._call("POST", f"{collection}?dryRun=All", body=item)


def test_a_dry_run_build_service_puts_the_manifests_in_the_build_log(tmp_path: Path) -> None:
    from builder_helpers import BuilderProcess, bundle_tarball

    options = ("--backend", "kubernetes", "--dry-run", "--namespace", "models")
    builder = BuilderProcess(tmp_path / "state", options=options).start()
    try:
        client = builder.client()
        build = client.wait(
            client.create_build("iris", bundle_tarball(name="iris"))["id"], timeout=60
        )
        log = client.logs(build["id"]).text
    finally:
        builder.stop()
    assert build["phase"] == "failed" and "nothing was applied" in build["error"]["message"]
    assert "dry run: would build and push jupyter-deploy/iris:v1" in log
    documents = [d for d in yaml_documents(log) if isinstance(d, dict) and "kind" in d]
    assert [d["kind"] for d in documents] == ["Deployment", "Service", "HorizontalPodAutoscaler"]
    for item in documents:
        kubernetes_validate.validate(item, "1.30.0", strict=True)
    assert documents[0]["metadata"]["namespace"] == "models"


def yaml_documents(log: str) -> list[Any]:
    """The YAML documents between the dry-run header and the failure line of a build log."""
    import yaml

    lines = [re.sub(r"^\[ *[0-9.]+s\] ", "", line) for line in log.splitlines()]
    start = lines.index("dry run: these manifests would be applied") + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("failed while"))
    text = "\n".join(lines[start:end])
    assert "&id" not in text  # plain YAML, no anchors
    return list(yaml.safe_load_all(text))
