"""Kubernetes least privilege and the deployment's environment (keys, secrets) as a Secret:
manifests checked against the official schemas, the real client exercised against the
recorded API server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes_helpers import RecordedAPI, recorded_backend, serving

from jupyter_deploy.builder.backends.base import Version
from jupyter_deploy.builder.backends.kubernetes import KubernetesBackend, manifests

kubernetes_validate = pytest.importorskip("kubernetes_validate")
ENV = {"JUPYTER_DEPLOY_API_KEYS": "k-secret-1,k-internal", "DB_PASSWORD": "hunter2"}


def version(number: int, tmp_path: Path, env: dict[str, str] | None = None) -> Version:
    """A version of `iris` with this environment."""
    return Version(
        "iris", number, tmp_path, "0" * 64, 8000, 8000, {"image": "reg.test/iris:v1"}, env or {}
    )


def test_pods_run_as_non_root_without_privileges_token_or_unbounded_resources(
    tmp_path: Path,
) -> None:
    objects = manifests(version(1, tmp_path), "reg.test/iris:v1", {"cpu_limit": "2"})
    for item in objects:
        kubernetes_validate.validate(item, "1.30.0", strict=True)
    pod = objects[0]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    container = pod["containers"][0]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
    }
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "512Mi"}
    assert container["resources"]["requests"] == {"cpu": "250m", "memory": "512Mi"}


def test_keys_and_secrets_reach_the_pods_through_a_secret(tmp_path: Path) -> None:
    objects = manifests(version(1, tmp_path, ENV), "reg.test/iris:v1", {"namespace": "m"})
    for item in objects:
        kubernetes_validate.validate(item, "1.30.0", strict=True)
    secret, deployment = objects[0], objects[1]
    assert secret["kind"] == "Secret" and secret["stringData"] == ENV
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    assert "hunter2" not in str(deployment)
    # And a changed value changes the pod template (so the pods roll), with no new image
    changed = manifests(
        version(1, tmp_path, {**ENV, "DB_PASSWORD": "new"}), "reg.test/iris:v1", {}
    )[1]
    old_annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    new_annotations = changed["spec"]["template"]["metadata"]["annotations"]
    assert old_annotations != new_annotations
    assert container["image"] == changed["spec"]["template"]["spec"]["containers"][0]["image"]


def test_a_changed_secret_replaces_the_whole_object_so_a_removed_key_is_gone(
    tmp_path: Path,
) -> None:
    with serving(RecordedAPI()) as api:
        backend: KubernetesBackend = recorded_backend(api, tmp_path)
        backend.start(version(1, tmp_path, ENV), lambda _: None)
        backend.start(version(1, tmp_path, {"DB_PASSWORD": "new"}), lambda _: None)
        secret_path = "/api/v1/namespaces/models/secrets/jd-iris-env"
        assert api.objects[secret_path]["stringData"] == {"DB_PASSWORD": "new"}
        assert ("PUT", secret_path) in [(m, p) for m, p, _ in api.requests]


def test_a_dry_run_shows_the_secret_without_its_values(tmp_path: Path) -> None:
    backend = KubernetesBackend(tmp_path, {"dry_run": True})
    lines: list[str] = []
    with pytest.raises(Exception, match="Dry run"):
        backend.start(version(1, tmp_path, ENV), lines.append)
    text = "\n".join(lines)
    assert "kind: Secret" in text and "<hidden>" in text
    assert "hunter2" not in text and "k-secret-1" not in text


def test_a_crash_looping_pod_makes_the_status_crashed_then_live_again(tmp_path: Path) -> None:
    from jupyter_deploy.builder.core import BuildService
    from jupyter_deploy.builder.supervisor import Supervisor

    with serving(RecordedAPI()) as api:
        # Given a live deployment on the (recorded) cluster
        backend = recorded_backend(api, tmp_path / "state")
        service = BuildService(tmp_path / "state", backend)
        service.state.ensure_deployment("iris", 8000)
        build = service.state.new_build("iris", 1, "build", (tmp_path, "0" * 64))
        service.state.go_live(build["id"], "iris", 1, "http://jd-iris")
        supervisor = Supervisor(service)
        # When its pod's container keeps exiting (CrashLoopBackOff)
        api.pods = "pod-list-crash-loop"
        supervisor.observe("iris")
        # Then the status says crashed, with the pod, its restarts and its last lines
        deployment = service.deployment("iris")
        assert deployment["status"] == "crashed"
        assert "4 restarts" in deployment["health"]["message"]
        assert "Last lines" in deployment["health"]["message"]
        # And once the pods are fine again it says live
        api.pods = "pod-list-not-ready"  # restartCount 0: nothing to report
        supervisor.observe("iris")
        assert service.deployment("iris")["status"] == "live"
        service.close()
