"""KServe target of the Kubernetes backend: one InferenceService per deployment name.

Chosen with `--backend kubernetes -o target=kserve`; the plain Deployment/Service/HPA stays the
default. The image is the one the Kubernetes backend builds and pushes; it runs as a custom
predictor (`kserve-container` on port 8080) and speaks the Open Inference Protocol v2 beside
/predict, so KServe's probes and clients work. Traffic and scaling then come from KServe:

A deployment's API keys and secrets reach the predictor through the same Secret the plain target
applies (`jd-<name>-env`, applied first by the same code, shown with hidden values in a dry run).

Options (besides the Kubernetes backend's registry, namespace, kubeconfig, cpu, memory,
max_replicas, url_template, rollout_timeout, poll_seconds, dry_run): `min_replicas` (1; 0 lets
KServe scale to zero in Serverless mode), `canary_percent` (unset: a new version takes all
traffic once ready; N: it takes N % and the previous ready revision keeps the rest),
`kserve_mode` (`Serverless` or `RawDeployment`, the `serving.kserve.io/deploymentMode`
annotation; unset: the cluster's default).

A canary (`deploy --canary PERCENT`, docs/rollouts.md) sets `canaryTrafficPercent: PERCENT` with
the new predictor: KServe sends PERCENT of the requests to the new revision and the rest to the
last rolled-out one. The `jupyter-deploy/version` annotation keeps naming the version that
serves the rest (`jupyter-deploy/canary-version` names the new one) until the end:
promote removes `canaryTrafficPercent` (the new revision takes 100%); abort sets it to 0 (all
traffic back on the previous revision at once), then applies the previous version's predictor
again. KServe runs canaries in Serverless mode only; a shadow is refused.
"""

from __future__ import annotations

import copy
import time
from typing import Any, ClassVar

from jupyter_deploy.builder.backends import kubernetes_canary
from jupyter_deploy.builder.backends.base import LogFn, Version
from jupyter_deploy.builder.backends.kubernetes import (
    ROLLOUT_TIMEOUT,
    KubernetesBackend,
    manifests,
    object_name,
)
from jupyter_deploy.errors import BuildFailed, SplitUnsupported

API = "serving.kserve.io/v1beta1"
PORT = 8080  # KServe's port for a custom predictor container
CONTAINER = "kserve-container"
"""The predictor's container: KServe's name for it, and the one pod-log reads name (a Serverless
pod also runs Knative's queue-proxy)."""
CANARY = "jupyter-deploy/canary-version"


def inference_service(version: Version, image: str, options: dict[str, Any]) -> dict[str, Any]:
    """The InferenceService of one version: the Kubernetes backend's pod, as a custom predictor."""
    deployment = next(o for o in manifests(version, image, options) if o["kind"] == "Deployment")
    pod = copy.deepcopy(deployment["spec"]["template"])
    container = pod["spec"]["containers"][0]
    container.update(
        name=CONTAINER,
        args=["--host", "0.0.0.0", "--port", str(PORT)],
        ports=[{"containerPort": PORT, "protocol": "TCP"}],
        readinessProbe={"httpGet": {"path": "/v2/health/ready", "port": PORT}, "periodSeconds": 5},
        livenessProbe={"httpGet": {"path": "/v2/health/live", "port": PORT}, "periodSeconds": 10},
    )
    predictor: dict[str, Any] = {
        **{k: v for k, v in pod["spec"].items() if k != "containers"},
        "minReplicas": int(options.get("min_replicas", 1)),
        "maxReplicas": int(options.get("max_replicas", 5)),
        "labels": pod["metadata"]["labels"],
        "containers": [container],
    }
    if pod["metadata"].get("annotations"):  # the environment's hash: a key change rolls the pods
        predictor["annotations"] = pod["metadata"]["annotations"]
    if options.get("canary_percent") is not None:
        predictor["canaryTrafficPercent"] = int(options["canary_percent"])
    metadata = copy.deepcopy(deployment["metadata"])
    if options.get("kserve_mode"):
        metadata["annotations"]["serving.kserve.io/deploymentMode"] = str(options["kserve_mode"])
    return {
        "apiVersion": API,
        "kind": "InferenceService",
        "metadata": metadata,
        "spec": {"predictor": predictor},
    }


def kserve_manifests(version: Version, image: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    """What one version applies: the deployment's Secret (its API keys and secrets, the same
    object the plain target applies; only when it has any), then the InferenceService."""
    secret = [o for o in manifests(version, image, options) if o["kind"] == "Secret"]
    return [*secret, inference_service(version, image, options)]


def is_ready(body: dict[str, Any]) -> bool:
    """KServe reports the current generation Ready."""
    status = body.get("status") or {}
    generation = (body.get("metadata") or {}).get("generation", 1)
    if status.get("observedGeneration", 0) < generation:
        return False
    conditions = status.get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class KServeBackend(KubernetesBackend):
    """Versions as updates of one InferenceService per name (KServe rolls them out)."""

    name: ClassVar[str] = "kubernetes"
    pod_port: ClassVar[int] = PORT
    container: ClassVar[str] = CONTAINER

    def start(self, version: Version, log: LogFn) -> None:
        """Apply the InferenceService and wait until KServe reports it Ready."""
        image = version.handle.get("image") or self.image(version)
        objects = kserve_manifests(version, image, self.options)
        self._stop_if_dry_run(objects, "these manifests would be applied", log)
        path = self._path_of(version.deployment)
        previous = self._call("GET", path, ok_missing=True)
        self._apply_all(objects, log)
        self._roll_out(version, log, previous, lambda before: self._put_back(path, before, log))

    def check_split(self, mode: str) -> None:
        """A canary needs Serverless mode (KServe's own rule); a shadow is refused."""
        kubernetes_canary.check(mode, "KServe")
        if str(self.options.get("kserve_mode") or "").lower() in ("rawdeployment", "standard"):
            raise SplitUnsupported(
                "KServe runs canaries (canaryTrafficPercent) in Serverless mode only, and this "
                f"build service asks for {self.options['kserve_mode']} (-o kserve_mode): deploy "
                "without --canary, or use the plain target (no -o target), whose canary is a "
                "second Deployment."
            )

    def start_split(
        self, mode: str, percent: int, new: Version, old: Version | None, log: LogFn
    ) -> str:
        """Apply the new predictor with canaryTrafficPercent; wait until KServe reports Ready."""
        image = new.handle.get("image") or self.image(new)
        objects = kserve_manifests(new, image, {**self.options, "canary_percent": percent})
        annotations = objects[-1]["metadata"]["annotations"]
        annotations[CANARY] = str(new.version)
        if old is not None:  # the version that serves the rest stays the one named
            annotations["jupyter-deploy/version"] = str(old.version)
        note = f"canary {percent}%: KServe's canaryTrafficPercent (the previous revision the rest)"
        self._stop_if_dry_run(objects, f"{note}; these manifests would be applied", log)
        path = self._path_of(new.deployment)
        previous = self._call("GET", path, ok_missing=True)
        log(note)
        self._apply_all(objects, log)
        self._roll_out(new, log, previous, lambda before: self._put_back(path, before, log))
        return note

    def set_split(self, percent: int, new: Version, old: Version, log: LogFn) -> str:
        """Another canaryTrafficPercent (KServe moves the traffic; no pod restarts)."""
        patch = {"spec": {"predictor": {"canaryTrafficPercent": percent}}}
        self._call("PATCH", self._path_of(new.deployment), body=patch, merge=True)
        note = f"canary {percent}%: canaryTrafficPercent {percent}"
        log(note)
        return note

    def end_split(self, new: Version, old: Version, promote: bool, log: LogFn) -> None:
        """Promote: no canaryTrafficPercent (100% to the new revision). Abort: 0 at once, then
        the previous version's predictor again."""
        path = self._path_of(new.deployment)
        if promote:
            annotations = {"jupyter-deploy/version": str(new.version), CANARY: None}
            patch = {"metadata": {"annotations": annotations}}
            body = {**patch, "spec": {"predictor": {"canaryTrafficPercent": None}}}
            self._call("PATCH", path, body=body, merge=True)
            log("canaryTrafficPercent removed: the new revision takes every request")
            self._wait_rollout(new, log)
            return
        body = {"spec": {"predictor": {"canaryTrafficPercent": 0}}}
        self._call("PATCH", path, body=body, merge=True)
        log("canaryTrafficPercent 0: every request on the previous revision")
        options = {k: v for k, v in self.options.items() if k != "canary_percent"}
        item = inference_service(old, old.handle.get("image") or self.image(old), options)
        self._put_back(path, item, log)
        self._wait_rollout(old, log)

    def _put_back(self, path: str, before: dict[str, Any], log: LogFn) -> None:
        """Patch the InferenceService back to `before` (a merge patch: what it lacks, removed)."""
        log("patching the InferenceService back to the previous predictor")
        annotations = {CANARY: None, **before["metadata"].get("annotations", {})}
        predictor = {"canaryTrafficPercent": None, **before["spec"]["predictor"]}
        spec = {**before["spec"], "predictor": predictor}
        body = {"metadata": {"annotations": annotations}, "spec": spec}
        self._call("PATCH", path, body=body, merge=True)

    def stable_url(self, deployment: str, public_port: int) -> str:
        """The predictor's cluster-local URL (or `url_template`, e.g. KServe's ingress host)."""
        default = "http://{name}-predictor.{namespace}.svc.cluster.local"
        template = str(self.options.get("url_template") or default)
        return template.format(name=object_name(deployment), namespace=self.namespace)

    def is_running(self, version: Version) -> bool:
        """The InferenceService runs this version and is Ready."""
        body = self._get_service(version.deployment)
        if body is None:
            return False
        annotations = body.get("metadata", {}).get("annotations", {})
        return annotations.get("jupyter-deploy/version") == str(version.version) and is_ready(body)

    def remove(self, deployment: str, log: LogFn) -> None:
        """Delete the InferenceService (KServe deletes what it made) and the Secret."""
        self._call("DELETE", self._path_of(deployment), ok_missing=True)
        self._remove_secret(deployment)
        log(f"{object_name(deployment)} removed from namespace {self.namespace}")

    def _paths(self, item: dict[str, Any]) -> tuple[str, str]:
        if item["kind"] != "InferenceService":
            return super()._paths(item)
        base = f"/apis/{API}/namespaces/{self.namespace}/inferenceservices"
        return base, f"{base}/{item['metadata']['name']}"

    def _path_of(self, deployment: str) -> str:
        item = {"kind": "InferenceService", "metadata": {"name": object_name(deployment)}}
        return self._paths(item)[1]

    def _get_service(self, deployment: str) -> dict[str, Any] | None:
        return self._call("GET", self._path_of(deployment), ok_missing=True)

    def _wait_rollout(self, version: Version, log: LogFn, name: str = "") -> None:
        deadline = time.monotonic() + float(self.options.get("rollout_timeout", ROLLOUT_TIMEOUT))
        while time.monotonic() < deadline:
            body = self._get_service(version.deployment) or {}
            if is_ready(body):
                url = (body.get("status") or {}).get("url") or self.private_url(version)
                log(f"KServe reports {object_name(version.deployment)} Ready at {url}")
                return
            time.sleep(float(self.options.get("poll_seconds", 2)))
        raise BuildFailed(
            "KServe did not report the InferenceService Ready: the new predictor never passed "
            "its readiness probe (/v2/health/ready). The previous revision keeps serving."
        )
