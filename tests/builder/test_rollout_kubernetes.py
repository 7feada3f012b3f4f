"""Canaries on Kubernetes through the build service's one rollout path: the plain target's second
Deployment and KServe's canaryTrafficPercent, with the real Kubernetes client up to the wire
against the recorded API server on 127.0.0.1 (no cluster runs here). The image is taken as
pushed: building and pushing it has its own test (test_backend_kubernetes_push.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from builder_helpers import BuilderProcess, bundle_tarball
from kubernetes_helpers import KServeAPI, RecordedAPI, recorded_backend, serving

from jupyter_deploy.builder.backends.base import LogFn, Version
from jupyter_deploy.builder.backends.kserve import KServeBackend
from jupyter_deploy.builder.backends.kubernetes import KubernetesBackend
from jupyter_deploy.builder.backends.kubernetes_canary import replica_split
from jupyter_deploy.builder.core import BuildService
from jupyter_deploy.builder.rollout import Plan, Rollouts
from jupyter_deploy.commands.rollout import describe_split
from jupyter_deploy.errors import DeployError, SplitUnsupported
from jupyter_deploy.wire import FINAL_PHASES

pytest.importorskip("kubernetes")
Json = dict[str, Any]
DEPLOYMENTS = "/apis/apps/v1/namespaces/models/deployments"
HPA = "/apis/autoscaling/v2/namespaces/models/horizontalpodautoscalers/jd-double"
ISVC = "/apis/serving.kserve.io/v1beta1/namespaces/models/inferenceservices/jd-double"


class PlainTarget(KubernetesBackend):
    """The plain target, its image taken as pushed."""

    def prepare(self, version: Version, log: LogFn) -> None:
        """No image build here."""
        version.handle["image"] = self.image(version)


class KServeTarget(KServeBackend):
    """The KServe target, its image taken as pushed."""

    def prepare(self, version: Version, log: LogFn) -> None:
        """No image build here."""
        version.handle["image"] = self.image(version)


def builder(api: RecordedAPI, state: Path, kind: type[KubernetesBackend]) -> Rollouts:
    """A build service (and its rollouts) on the recorded API; what a builder start makes."""
    plain = recorded_backend(api, state.parent, registry="reg.test")
    service = BuildService(state, kind(state, plain.options, api_client=plain.api()))
    service.recover()
    return Rollouts(service)


def deploy(rollouts: Rollouts, factor: int, plan: Plan | None = None) -> Json:
    """Push a bundle answering x * factor and wait for its build to end."""
    build = rollouts.create_build("double", bundle_tarball(factor), plan)
    deadline = time.monotonic() + 60
    while (build := rollouts.service.build(build["id"]))["phase"] not in FINAL_PHASES:
        assert time.monotonic() < deadline, build
        time.sleep(0.02)
    return build


def image(body: Json) -> str:
    """The image of a Deployment's (or an InferenceService predictor's) container."""
    pod = body["spec"]["template"]["spec"] if "template" in body["spec"] else None
    return str((pod or body["spec"]["predictor"])["containers"][0]["image"])


@pytest.fixture
def api() -> Iterator[RecordedAPI]:
    """The recorded API server."""
    with serving(RecordedAPI()) as server:
        yield server


@pytest.fixture
def kserve_api() -> Iterator[KServeAPI]:
    """The recorded API server, answering InferenceServices as KServe does."""
    with serving(KServeAPI()) as server:
        yield server


def test_replica_ratios_approximate_the_percentage_with_few_pods() -> None:
    # Given 2 stable replicas and at most 10 pods: (stable, canary) pods per percentage
    splits = {p: replica_split(p, 2) for p in (10, 20, 25, 50, 5, 90)}
    # Then each share is within 2.5 points with the fewest pods, or the closest under the cap
    assert splits == {10: (7, 1), 20: (4, 1), 25: (3, 1), 50: (1, 1), 5: (9, 1), 90: (1, 7)}
    # And more pods allowed bring 5% closer; the stable side never has fewer pods than asked
    assert replica_split(5, 2, max_pods=20) == (13, 1)
    assert sum(replica_split(50, 6)) >= 6


def test_a_plain_canary_is_a_second_deployment_then_promoted_then_another_aborted(
    api: RecordedAPI, tmp_path: Path
) -> None:
    rollouts = builder(api, tmp_path / "state", PlainTarget)
    assert deploy(rollouts, 2)["phase"] == "live"
    # When a 10% canary of version 2 starts
    build = deploy(rollouts, 3, Plan("canary", 10))
    # Then its build is live at the stable URL, and version 1 is still the live version
    assert build["phase"] == "live", rollouts.service.logs(build["id"], 0)["text"]
    assert build["url"] == "http://jd-double.models.svc.cluster.local"
    assert rollouts.service.deployment("double")["live_version"] == 1
    # And a second Deployment runs version 2 on 1 pod, beside 7 pinned stable pods of version 1
    canary = api.objects[f"{DEPLOYMENTS}/jd-double-canary"]
    stable = api.objects[f"{DEPLOYMENTS}/jd-double"]
    assert (canary["spec"]["replicas"], image(canary)) == (1, "reg.test/jupyter-deploy/double:v2")
    assert (stable["spec"]["replicas"], image(stable)) == (7, "reg.test/jupyter-deploy/double:v1")
    hpa = api.objects[HPA]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (7, 7)
    # And the Service selects the canary's pods too, while the canary never selects stable pods
    service = api.objects["/api/v1/namespaces/models/services/jd-double"]["spec"]["selector"]
    pod_labels = canary["spec"]["template"]["metadata"]["labels"]
    assert service.items() <= pod_labels.items()
    assert canary["spec"]["selector"]["matchLabels"]["jupyter-deploy/track"] == "canary"
    split = rollouts.describe("double")
    assert split is not None
    assert split["note"] == "canary 10% as 7 stable + 1 canary pods: 12.5% of the connections"
    assert split["router"] == "none" and split["candidate"]["requests"] is None
    # And the CLI and %deploy show it as such (no router figures on Kubernetes)
    lines = describe_split(split)
    assert lines[1] == "  (canary 10% as 7 stable + 1 canary pods: 12.5% of the connections)"
    assert lines[3].endswith("(figures: the platform's metrics)")
    # When the share is raised to 50%: one pod each
    rollouts.set_percent("double", 50)
    canary = api.objects[f"{DEPLOYMENTS}/jd-double-canary"]
    stable = api.objects[f"{DEPLOYMENTS}/jd-double"]
    assert (stable["spec"]["replicas"], canary["spec"]["replicas"]) == (1, 1)
    # When it is promoted
    assert rollouts.promote("double")["live_version"] == 2
    # Then the stable Deployment runs version 2 with its own bounds back, and the canary is gone
    stable = api.objects[f"{DEPLOYMENTS}/jd-double"]
    assert (stable["spec"]["replicas"], image(stable)) == (2, "reg.test/jupyter-deploy/double:v2")
    hpa = api.objects[HPA]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)
    assert f"{DEPLOYMENTS}/jd-double-canary" not in api.objects
    assert rollouts.describe("double") is None
    # When another canary starts and is aborted: version 2 keeps serving, version 3 failed
    assert deploy(rollouts, 4, Plan("canary", 25))["phase"] == "live"
    assert api.objects[f"{DEPLOYMENTS}/jd-double-canary"]["spec"]["replicas"] == 1
    assert rollouts.abort("double")["live_version"] == 2
    stable = api.objects[f"{DEPLOYMENTS}/jd-double"]
    assert (stable["spec"]["replicas"], image(stable)) == (2, "reg.test/jupyter-deploy/double:v2")
    assert f"{DEPLOYMENTS}/jd-double-canary" not in api.objects
    statuses = [v["status"] for v in rollouts.service.deployment("double")["versions"]]
    assert statuses == ["retired", "live", "failed"]


def test_a_builder_restart_during_a_kubernetes_canary_keeps_the_split_and_promote_works(
    api: RecordedAPI, tmp_path: Path
) -> None:
    # Given a 10% canary running on the plain target
    first = builder(api, tmp_path / "state", PlainTarget)
    deploy(first, 2)
    deploy(first, 3, Plan("canary", 10))
    first.service.close()
    writes = len([r for r in api.requests if r[0] != "GET"])
    # When a new build service starts on the same state (the first one is gone)
    second = builder(api, tmp_path / "state", PlainTarget)
    # Then it changed nothing in the cluster, and it knows the split
    assert len([r for r in api.requests if r[0] != "GET"]) == writes
    split = second.describe("double")
    assert split is not None and split["candidate"]["version"] == 2
    # And promote works from it
    assert second.promote("double")["live_version"] == 2
    assert image(api.objects[f"{DEPLOYMENTS}/jd-double"]) == "reg.test/jupyter-deploy/double:v2"
    assert f"{DEPLOYMENTS}/jd-double-canary" not in api.objects


def test_a_kserve_canary_sets_canary_traffic_percent_then_promote_and_abort_end_it(
    kserve_api: KServeAPI, tmp_path: Path
) -> None:
    rollouts = builder(kserve_api, tmp_path / "state", KServeTarget)
    deploy(rollouts, 2)
    # When a 10% canary of version 2 starts
    assert deploy(rollouts, 3, Plan("canary", 10))["phase"] == "live"
    # Then the InferenceService has the new predictor with canaryTrafficPercent 10, and still
    # names version 1 as the version serving the rest
    item = kserve_api.objects[ISVC]
    assert item["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert image(item) == "reg.test/jupyter-deploy/double:v2"
    annotations = item["metadata"]["annotations"]
    assert annotations["jupyter-deploy/version"] == "1"
    assert annotations["jupyter-deploy/canary-version"] == "2"
    # When the share changes, then it is promoted: the field goes, version 2 is named
    rollouts.set_percent("double", 30)
    assert kserve_api.objects[ISVC]["spec"]["predictor"]["canaryTrafficPercent"] == 30
    rollouts.promote("double")
    item = kserve_api.objects[ISVC]
    assert "canaryTrafficPercent" not in item["spec"]["predictor"]
    assert item["metadata"]["annotations"]["jupyter-deploy/version"] == "2"
    assert "jupyter-deploy/canary-version" not in item["metadata"]["annotations"]
    # When another canary starts and is aborted
    deploy(rollouts, 4, Plan("canary", 10))
    before = len(kserve_api.requests)
    rollouts.abort("double")
    # Then the traffic went back at once (0%), then version 2's predictor was applied again
    patches = [body for method, _, body in kserve_api.requests[before:] if method == "PATCH"]
    assert patches[0] == {"spec": {"predictor": {"canaryTrafficPercent": 0}}}
    item = kserve_api.objects[ISVC]
    assert image(item) == "reg.test/jupyter-deploy/double:v2"
    assert "canaryTrafficPercent" not in item["spec"]["predictor"]
    assert item["metadata"]["annotations"]["jupyter-deploy/version"] == "2"
    assert rollouts.service.deployment("double")["live_version"] == 2


def test_a_kubernetes_shadow_and_an_automatic_abort_are_refused_naming_what_to_do(
    kserve_api: KServeAPI, tmp_path: Path
) -> None:
    for kind in (PlainTarget, KServeTarget):
        rollouts = builder(kserve_api, tmp_path / kind.__name__, kind)
        # When a shadow is asked for: refused (400) before anything is built
        with pytest.raises(SplitUnsupported, match="start a canary instead") as refused:
            rollouts.create_build("double", bundle_tarball(2), Plan("shadow", 100))
        assert refused.value.http_status == 400 and "local or docker backend" in str(refused.value)
        # And a canary with an automatic abort threshold
        with pytest.raises(SplitUnsupported, match="promote or abort the canary yourself"):
            rollouts.create_build("double", bundle_tarball(2), Plan("canary", 10, 0.05))
    # And a KServe canary in RawDeployment mode (KServe runs canaries in Serverless mode only)
    raw = KServeTarget(tmp_path, {"kserve_mode": "RawDeployment"})
    with pytest.raises(SplitUnsupported, match="Serverless mode only"):
        raw.check_split("canary")


@pytest.mark.parametrize("kind", [PlainTarget, KServeTarget])
def test_a_dry_run_canary_shows_its_manifests_and_applies_nothing(
    kind: type[KubernetesBackend], tmp_path: Path
) -> None:
    # Given a build service in dry-run mode (no cluster, no live version)
    state = tmp_path / "state"
    service = BuildService(state, kind(state, {"dry_run": True, "namespace": "models"}))
    rollouts = Rollouts(service)
    # When a 10% canary is pushed
    build = deploy(rollouts, 2, Plan("canary", 10))
    # Then the build fails as a dry run does, with the canary's manifest in its log
    assert build["phase"] == "failed" and "Dry run" in build["error"]["message"]
    text = rollouts.service.logs(build["id"], 0)["text"]
    lines = [line.split("] ", 1)[1] if "] " in line else line for line in text.splitlines()]
    start = next(i for i, line in enumerate(lines) if "would be applied" in line) + 1
    end = next(i for i, line in enumerate(lines) if line.startswith(("and would", "failed while")))
    manifest = yaml.safe_load("\n".join(lines[start:end]))
    if kind is KServeTarget:
        assert manifest["spec"]["predictor"]["canaryTrafficPercent"] == 10
    else:
        kubernetes_validate = pytest.importorskip("kubernetes_validate")
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)
        assert manifest["metadata"]["name"] == "jd-double-canary"
        assert manifest["spec"]["replicas"] == 1
        assert "HorizontalPodAutoscaler jd-double with {'spec': {'minReplicas': 7" in text
    assert rollouts.record("double") is None


def test_the_build_api_starts_a_kubernetes_dry_run_canary_and_refuses_a_shadow(
    tmp_path: Path,
) -> None:
    # Given `jupyter deploy builder --backend kubernetes --dry-run`, as DevOps runs it
    options = ("--backend", "kubernetes", "--dry-run", "--namespace", "models")
    process = BuilderProcess(tmp_path / "state", options=options).start()
    try:
        client = process.client()
        # When a 10% canary is pushed through the build API (as the CLI, %deploy, the panel do)
        build = client.wait(client.create_build("double", bundle_tarball(2), canary=10)["id"])
        # Then the build log shows the canary Deployment, and nothing was applied
        assert build["phase"] == "failed" and "Dry run" in build["error"]["message"]
        text = client.logs(build["id"]).text
        assert "name: jd-double-canary" in text and "7 stable + 1 canary pods" in text
        # And a shadow is refused with a 400 that says what to do instead
        with pytest.raises(DeployError, match="start a canary instead") as refused:
            client.create_build("double", bundle_tarball(2), shadow=100)
        assert refused.value.http_status == 400
    finally:
        process.stop()
