"""Kubernetes backend: a Deployment, Service and HorizontalPodAutoscaler per deployment name.

Options (builder flags): `registry` (where model images are pushed; required unless
`dry_run`), `namespace` (default `default`), `kubeconfig` (default: in-cluster, then
~/.kube/config), `base_image`, `dry_run` (print the manifests in the build log, apply
nothing), `url_template` (default `http://{name}.{namespace}.svc.cluster.local`),
`replicas` (2), `max_replicas` (5), `cpu_target` (70, % of the CPU request the autoscaler
aims at), `cpu` (`250m`), `memory` (`512Mi`) requested, `cpu_limit` (`1`), `memory_limit`
(the request), `user` (`10001:10001`), `rollout_timeout` (600 s), `poll_seconds` (2).

Pods run as a non-root user with no privilege escalation, every capability dropped, the
default seccomp profile and no service-account token. A deployment's API keys and secrets
reach its pods through a Secret (`envFrom`); its hash on the pod template makes a change
roll the pods. Kubernetes restarts a container whose liveness probe fails.

A new version patches the Deployment's pod template: Kubernetes rolls it out with
`maxUnavailable: 0`, and a pod only becomes ready when its readiness probe (the model service's
own probe: /readyz, then the example input through /predict) passes, so a broken version never
takes traffic and the old pods keep serving. The builder waits for the rollout; if it does
not complete, the template is patched back. Rollback patches back an earlier version's image
(each pod template carries its version as a label; ReplicaSets keep the revisions).

A canary (`deploy --canary PERCENT`) runs as a second Deployment beside the stable one, in a pod
ratio (kubernetes_canary.py); the objects themselves are made in kubernetes_manifests.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from jupyter_deploy.builder.backends import kubernetes_canary as canary
from jupyter_deploy.builder.backends.base import Backend, LogFn, Version
from jupyter_deploy.builder.backends.docker import DockerBackend, image_tag
from jupyter_deploy.builder.backends.kubernetes_manifests import (
    CONTAINER,
    PORT,
    env_secret,
    manifests,
    object_name,
    pod_security,
    redacted,
    secret_name,
)
from jupyter_deploy.errors import BackendUnavailable, BuildFailed

__all__ = [
    "PORT",
    "KubernetesBackend",
    "env_secret",
    "manifests",
    "object_name",
    "pod_security",
    "redacted",
]
ROLLOUT_TIMEOUT = 600.0


class KubernetesBackend(Backend):
    """Versions as rolling updates of one Deployment per name."""

    name: ClassVar[str] = "kubernetes"
    checks_itself: ClassVar[bool] = True
    splits_itself: ClassVar[bool] = True
    pod_port: ClassVar[int] = PORT
    """Where the model service listens in its pods (the container port the manifests give it):
    the builder reads each pod's /metrics there, through the API server's pod proxy."""
    container: ClassVar[str] = CONTAINER
    """The model service's container in its pods (the name the manifests give it): every pod-log
    read names it, as the API server requires for a pod of several containers (KServe's)."""

    def __init__(self, state_dir: Path, options: Any = None, api_client: Any = None) -> None:
        super().__init__(state_dir, options)
        self._api_client = api_client
        self.images = DockerBackend(state_dir, self.options)

    @property
    def namespace(self) -> str:
        """Where the objects live."""
        return str(self.options.get("namespace", "default"))

    def api(self) -> Any:
        """The kubernetes client's ApiClient (from kubeconfig or in-cluster)."""
        if self._api_client is None:
            from kubernetes import client, config

            try:
                if self.options.get("kubeconfig"):
                    config.load_kube_config(config_file=str(self.options["kubeconfig"]))  # type: ignore[no-untyped-call]
                else:
                    try:
                        config.load_incluster_config()  # type: ignore[no-untyped-call]
                    except config.ConfigException:
                        config.load_kube_config()  # type: ignore[no-untyped-call]
            except Exception as error:
                raise BackendUnavailable(f"No Kubernetes cluster configured ({error}).") from None
            self._api_client = client.ApiClient()
        return self._api_client

    def image(self, version: Version) -> str:
        """The pushed image of a version."""
        registry = str(self.options.get("registry") or "").rstrip("/")
        return f"{registry}/{image_tag(version.deployment, version.version)}".lstrip("/")

    def prepare(self, version: Version, log: LogFn) -> None:
        """Build the image (as the Docker backend does) and push it to the registry."""
        image = self.image(version)
        version.handle["image"] = image
        if self.options.get("dry_run"):
            log(f"dry run: would build and push {image}")
            return
        if not self.options.get("registry"):
            raise BackendUnavailable("The kubernetes backend needs --registry to push images to.")
        self.images.prepare(version, log)  # sets handle["image"] to the local tag
        version.handle["image"] = image
        local = image_tag(version.deployment, version.version)
        self.images.client.images.get(local).tag(image)
        log(f"pushing {image}")
        try:
            for line in self.images.client.images.push(image, stream=True, decode=True):
                if "error" in line:
                    raise BuildFailed(f"Pushing {image} failed: {line['error']}")
        except BuildFailed:
            raise
        except Exception as error:  # the SDK raises many kinds
            raise BuildFailed(f"Pushing {image} failed: {error}") from None
        log(f"pushed {image}")

    def start(self, version: Version, log: LogFn) -> None:
        """Apply the manifests and wait for the rolling update (readiness = smoke test)."""
        objects = manifests(
            version, version.handle.get("image") or self.image(version), self.options
        )
        self._stop_if_dry_run(objects, "these manifests would be applied", log)
        previous = self._get_deployment(version.deployment)
        self._apply_all(objects, log)
        self._roll_out(version, log, previous, lambda before: self._patch_back(before, log))

    def _stop_if_dry_run(self, objects: list[dict[str, Any]], note: str, log: LogFn) -> None:
        """In a dry run: log the objects (Secret values hidden) and fail the build; else nothing."""
        if self.options.get("dry_run"):
            import yaml

            log(f"dry run: {note}")
            plain = redacted(objects)  # no values, and no YAML anchors for shared label maps
            log(yaml.safe_dump_all(plain, sort_keys=False))
            raise BuildFailed("Dry run: the manifests are in the build log; nothing was applied.")

    def _apply_all(self, objects: list[dict[str, Any]], log: LogFn) -> None:
        """Apply a version's objects in order: the deployment's Secret (its API keys and secrets,
        when it has any) first, since the pods name it."""
        for item in objects:
            self._apply(item, log)

    def _roll_out(
        self,
        version: Version,
        log: LogFn,
        previous: dict[str, Any] | None,
        restore: Callable[[dict[str, Any]], None],
    ) -> None:
        """Wait for the rollout; if it fails: the new pods' output, restore `previous`, fail."""
        try:
            self._wait_rollout(version, log)
        except BuildFailed:
            output = self.service_logs(version)
            if output:
                log("--- the new pods' output ---")
                log(output)
            if previous is not None:
                restore(previous)
            raise

    def private_url(self, version: Version) -> str:
        """Inside the cluster, the Service."""
        return self.stable_url(version.deployment, version.public_port)

    def stable_url(self, deployment: str, public_port: int) -> str:
        """The Service's URL (or `url_template`, e.g. an ingress host)."""
        template = str(
            self.options.get("url_template") or "http://{name}.{namespace}.svc.cluster.local"
        )
        return template.format(name=object_name(deployment), namespace=self.namespace)

    def publish(self, version: Version, log: LogFn) -> None:
        """The Service already selects the rolled-out pods."""
        log(f"{object_name(version.deployment)} serves version {version.version}")

    def stop(self, version: Version, log: LogFn) -> None:
        """The rolling update retired the old pods; nothing is left to stop for one version."""

    def check_split(self, mode: str) -> None:
        """A canary runs as a second Deployment; a shadow is refused (no proxy to copy)."""
        canary.check(mode, "Kubernetes")

    def start_split(
        self, mode: str, percent: int, new: Version, old: Version | None, log: LogFn
    ) -> str:
        """The canary as `<name>-canary` beside the pinned stable Deployment (a pod ratio)."""
        return canary.start(self, percent, new, log)

    def set_split(self, percent: int, new: Version, old: Version, log: LogFn) -> str:
        """Another pod ratio."""
        return canary.rescale(self, percent, new, log)

    def end_split(self, new: Version, old: Version, promote: bool, log: LogFn) -> None:
        """Roll the new template out (promote) or scale back (abort); delete the canary."""
        canary.end(self, new, old, promote, log)

    def is_running(self, version: Version) -> bool:
        """The Deployment runs this version's template and has available pods."""
        body = self._get_deployment(version.deployment)
        if body is None:
            return False
        annotations = body.get("metadata", {}).get("annotations", {})
        available = body.get("status", {}).get("availableReplicas") or 0
        return annotations.get("jupyter-deploy/version") == str(version.version) and available > 0

    def health(self, version: Version) -> tuple[str, str] | None:
        """`crashed` when a pod's container is in CrashLoopBackOff, `restarting` when one
        restarted and is not ready yet (Kubernetes restarts it: liveness probe, restartPolicy)."""
        selector = f"app.kubernetes.io/name={object_name(version.deployment)}"
        path = f"/api/v1/namespaces/{self.namespace}/pods"
        pods = self._call("GET", path, query=[("labelSelector", selector)]) or {}
        trouble: tuple[str, str] | None = None
        for pod in pods.get("items") or []:
            for status in pod.get("status", {}).get("containerStatuses") or []:
                waiting = (status.get("state") or {}).get("waiting") or {}
                restarts = int(status.get("restartCount") or 0)
                where = f"pod {pod['metadata']['name']}, {restarts} restarts"
                if waiting.get("reason") == "CrashLoopBackOff":
                    trouble = ("crashed", f"{where}: {waiting.get('message', '')}".strip())
                elif restarts and not status.get("ready") and trouble is None:
                    trouble = ("restarting", f"{where}: not ready yet")
        if trouble is None:
            return None
        return trouble[0], f"{trouble[1]}\nLast lines:\n{self.service_logs(version)}"

    def service_logs(self, version: Version) -> str:
        """The last lines of one pod of the version, and why its containers are not ready."""
        selector = (
            f"app.kubernetes.io/name={object_name(version.deployment)},"
            f"jupyter-deploy/version=v{version.version}"
        )
        pods_path = f"/api/v1/namespaces/{self.namespace}/pods"
        try:
            pods = self._call("GET", pods_path, query=[("labelSelector", selector)]) or {}
            items = pods.get("items") or []
            if not items:
                return ""
            pod = items[0]
            lines = [f"pod {pod['metadata']['name']}:"]
            for status in pod.get("status", {}).get("containerStatuses") or []:
                for state, detail in (status.get("state") or {}).items():
                    reason = detail.get("reason") or ""
                    lines.append(f"  {status['name']} {state} {reason} {detail.get('message', '')}")
            lines.append(self.pod_log(pod["metadata"]["name"], 40))
            return "\n".join(line.rstrip() for line in lines)
        except BuildFailed as error:
            return f"(no pod output: {error})"

    def pod_log(self, pod: str, tail: int) -> str:
        """The last `tail` lines of the model service's container in `pod`."""
        path = f"/api/v1/namespaces/{self.namespace}/pods/{pod}/log"
        return self._call_text(
            path, query=[("container", self.container), ("tailLines", str(tail))]
        )

    def remove(self, deployment: str, log: LogFn) -> None:
        """Delete the Deployment (and a canary's), Service and HorizontalPodAutoscaler."""
        canary.remove(self, deployment, log)
        name = object_name(deployment)
        for path in (
            f"/apis/autoscaling/v2/namespaces/{self.namespace}/horizontalpodautoscalers/{name}",
            f"/api/v1/namespaces/{self.namespace}/services/{name}",
            f"/apis/apps/v1/namespaces/{self.namespace}/deployments/{name}",
        ):
            self._call("DELETE", path, ok_missing=True)
        self._remove_secret(deployment)
        log(f"{name} removed from namespace {self.namespace}")

    def _remove_secret(self, deployment: str) -> None:
        """Delete the deployment's Secret (its API keys and secrets), if there is one."""
        path = f"/api/v1/namespaces/{self.namespace}/secrets/{secret_name(deployment)}"
        self._call("DELETE", path, ok_missing=True)

    # --- the API, through the official client's ApiClient ---------------------------------

    def _paths(self, item: dict[str, Any]) -> tuple[str, str]:
        kind, name = item["kind"], item["metadata"]["name"]
        base = {
            "Deployment": f"/apis/apps/v1/namespaces/{self.namespace}/deployments",
            "Service": f"/api/v1/namespaces/{self.namespace}/services",
            "HorizontalPodAutoscaler": (
                f"/apis/autoscaling/v2/namespaces/{self.namespace}/horizontalpodautoscalers"
            ),
            "Secret": f"/api/v1/namespaces/{self.namespace}/secrets",
        }[kind]
        return base, f"{base}/{name}"

    def _apply(self, item: dict[str, Any], log: LogFn) -> None:
        collection, path = self._paths(item)
        if self._call("GET", path, ok_missing=True) is None:
            self._call("POST", collection, body=item)
            log(f"created {item['kind']} {item['metadata']['name']}")
        elif item["kind"] == "Secret":  # replaced whole: a revoked key must not linger
            self._call("PUT", path, body=item)
            log(f"replaced Secret {item['metadata']['name']}")
        else:
            self._call("PATCH", path, body=item, merge=True)
            log(f"updated {item['kind']} {item['metadata']['name']}")

    def _get_deployment(self, deployment: str) -> dict[str, Any] | None:
        path = f"/apis/apps/v1/namespaces/{self.namespace}/deployments/{object_name(deployment)}"
        return self._call("GET", path, ok_missing=True)

    def _patch_back(self, previous: dict[str, Any], log: LogFn) -> None:
        log("patching the Deployment back to the previous pod template")
        _, path = self._paths({"kind": "Deployment", "metadata": previous["metadata"]})
        patch = {
            "metadata": {"annotations": previous["metadata"].get("annotations", {})},
            "spec": {"template": previous["spec"]["template"]},
        }
        self._call("PATCH", path, body=patch, merge=True)

    def _wait_rollout(self, version: Version, log: LogFn, name: str = "") -> None:
        """Until the Deployment (or the one called `name`) has all its pods ready and updated."""
        deadline = time.monotonic() + float(self.options.get("rollout_timeout", ROLLOUT_TIMEOUT))
        name = name or object_name(version.deployment)
        _, path = self._paths({"kind": "Deployment", "metadata": {"name": name}})
        while time.monotonic() < deadline:
            body = self._call("GET", path, ok_missing=True) or {}
            spec, status = body.get("spec", {}), body.get("status", {})
            wanted = int(spec.get("replicas", 1))
            done = (
                status.get("observedGeneration", 0) >= body.get("metadata", {}).get("generation", 1)
                and status.get("updatedReplicas", 0) == wanted
                and status.get("availableReplicas", 0) >= wanted
                and status.get("replicas", 0) == wanted
            )
            if done:
                log(f"rolled out: {wanted} ready pods of version {version.version}")
                return
            time.sleep(float(self.options.get("poll_seconds", 2)))
        raise BuildFailed(
            "The rolling update did not finish: the new pods never passed their readiness "
            "probe (model load and example input). The old pods keep serving."
        )

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        ok_missing: bool = False,
        merge: bool = False,
        query: list[tuple[str, str]] | None = None,
    ) -> dict[str, Any] | None:
        """One REST call through the official client (auth, TLS and host from its config)."""
        data = self._request(method, path, body, ok_missing, merge, query)
        if data is None:
            return None
        parsed = json.loads(data or b"{}")
        return parsed if isinstance(parsed, dict) else {}

    def _call_text(
        self,
        path: str,
        query: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> str:
        """A GET whose answer is text (a pod's log, its /metrics through the pod proxy);
        `headers` go on to the pod (the API server keeps Authorization for its own token)."""
        data = self._request("GET", path, None, True, False, query, "text/plain", headers)
        return (data or b"").decode(errors="replace")

    def _request(
        self,
        method: str,
        path: str,
        body: Any,
        ok_missing: bool,
        merge: bool,
        query: list[tuple[str, str]] | None,
        accept: str = "application/json",
        extra: dict[str, str] | None = None,
    ) -> bytes | None:
        api = self.api()
        headers = {**(extra or {}), "Accept": accept}
        if body is not None:
            kind = "application/merge-patch+json" if merge else "application/json"
            headers["Content-Type"] = kind
        request = api.param_serialize(
            method=method,
            resource_path=path,
            query_params=query,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = api.call_api(*request[:4], post_params=request[4])
        response.read()
        if response.status == 404 and ok_missing:
            return None
        if not 200 <= response.status < 300:
            raise BuildFailed(_refusal(method, path, response.status, response.data or b""))
        return bytes(response.data or b"")


def _refusal(method: str, path: str, status: int, data: bytes) -> str:
    """What the API server said, from its Status object when it sent one."""
    try:
        body = json.loads(data)
        reason, message = body.get("reason", ""), body.get("message", "")
    except (ValueError, AttributeError):
        reason, message = "", data[:300].decode(errors="replace")
    return f"Kubernetes refused {method} {path} ({status} {reason}): {message}".replace(" )", ")")
