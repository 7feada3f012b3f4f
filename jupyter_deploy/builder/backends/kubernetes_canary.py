"""A canary on the plain Kubernetes target: a second Deployment behind the same Service.

The Service selects the pods by `app.kubernetes.io/name` only, so pods of a second Deployment,
`<name>-canary`, with the new version's pod template take their share of its connections. The
share is a replica ratio (kube-proxy spreads connections, not requests, evenly over the ready
pods), so PERCENT is approximated by whole pods (`replica_split`):

    the fewest pods (at least `replicas`, at most `canary_max_pods`, default 10) whose canary
    share is within 2.5 points of PERCENT; when no such split fits, the closest one.

e.g. with `replicas` 2: 10% -> 7 stable + 1 canary (12.5%), 20% -> 4 + 1, 25% -> 3 + 1,
50% -> 1 + 1, 5% -> 9 + 1 (10%: 5% needs 19 + 1, over the cap). While the canary runs, the
stable Deployment's HorizontalPodAutoscaler is pinned to its count (min = max), so the ratio
holds; the canary has no autoscaler.

promote: the stable Deployment takes the new pod template (a rolling update, `maxUnavailable: 0`,
with the autoscaler's bounds back), then the canary Deployment is deleted.
abort:   the stable Deployment is scaled back (the autoscaler's bounds back), then the canary
Deployment is deleted; its pods drain (terminationGracePeriodSeconds) as in any rollout.

The canary's selector adds `jupyter-deploy/track: canary`, so it never adopts the stable pods.
A shadow (copies of requests) needs a proxy in the request path: not offered on Kubernetes.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from jupyter_deploy.builder.backends.base import LogFn, Version
from jupyter_deploy.builder.backends.kubernetes_manifests import manifests, object_name, redacted
from jupyter_deploy.errors import BuildFailed, SplitUnsupported

if TYPE_CHECKING:
    from jupyter_deploy.builder.backends.kubernetes import KubernetesBackend

MAX_PODS = 10
TOLERANCE = 2.5  # points of PERCENT a replica ratio may miss by
TRACK = "jupyter-deploy/track"
SHADOW_REFUSED = (
    "A shadow needs a proxy that copies requests, and the {target} target has none: start a "
    "canary instead (--canary PERCENT), or run the shadow on the local or docker backend."
)


def replica_split(percent: int, replicas: int, max_pods: int = MAX_PODS) -> tuple[int, int]:
    """(stable pods, canary pods) whose canary share approximates `percent` (see above)."""
    low = max(2, replicas)
    splits = [(n - c, c) for n in range(low, max(max_pods, low) + 1) for c in range(1, n)]
    for stable, canary in splits:  # by total, fewest pods first
        if abs(100 * canary / (stable + canary) - percent) <= TOLERANCE:
            return stable, canary
    return min(splits, key=lambda s: (abs(100 * s[1] / sum(s) - percent), sum(s)))


def describe(stable: int, canary: int) -> str:
    """A replica split as one line."""
    share = 100 * canary / (stable + canary)
    return f"{stable} stable + {canary} canary pods: {share:.3g}% of the connections"


def canary_name(base: str) -> str:
    """The canary Deployment's name beside the stable one's (a DNS label)."""
    return f"{base[:56].rstrip('-')}-canary"


def canary_deployment(deployment: dict[str, Any], pods: int) -> dict[str, Any]:
    """The canary Deployment, from the new version's (stable-shaped) Deployment manifest."""
    canary = copy.deepcopy(deployment)
    metadata, spec = canary["metadata"], canary["spec"]
    metadata["name"] = canary_name(metadata["name"])
    metadata["labels"] = {**metadata["labels"], TRACK: "canary"}
    spec["replicas"] = pods
    spec["selector"]["matchLabels"] = {**spec["selector"]["matchLabels"], TRACK: "canary"}
    spec["template"]["metadata"]["labels"] = {**spec["template"]["metadata"]["labels"]}
    spec["template"]["metadata"]["labels"][TRACK] = "canary"
    return canary


def pinned(stable: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The merge patches that hold the stable side at `stable` pods: (autoscaler, Deployment)."""
    return {"spec": {"minReplicas": stable, "maxReplicas": stable}}, {"spec": {"replicas": stable}}


def unpinned(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The merge patches that give the stable side its own bounds back."""
    replicas = int(options.get("replicas", 2))
    bounds = {"minReplicas": replicas, "maxReplicas": int(options.get("max_replicas", 5))}
    return {"spec": bounds}, {"spec": {"replicas": replicas}}


def start(backend: KubernetesBackend, percent: int, new: Version, log: LogFn) -> str:
    """Pin the stable side, apply the canary Deployment and wait for its pods; on failure,
    remove it and unpin."""
    options = backend.options
    stable, pods = replica_split(
        percent, int(options.get("replicas", 2)), int(options.get("canary_max_pods", MAX_PODS))
    )
    objects = manifests(new, new.handle.get("image") or backend.image(new), options)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    canary = canary_deployment(deployment, pods)
    note = f"canary {percent}% as {describe(stable, pods)}"
    if options.get("dry_run"):
        import yaml

        hpa, scale = pinned(stable)
        name = deployment["metadata"]["name"]
        log(f"dry run: {note}; this Deployment would be applied")
        log(yaml.safe_dump(redacted([canary])[0], sort_keys=False))
        log(f"and would patch HorizontalPodAutoscaler {name} with {hpa}")
        log(f"and would patch Deployment {name} with {scale}")
        raise BuildFailed("Dry run: the manifests are in the build log; nothing was applied.")
    log(note)
    _pin(backend, deployment["metadata"]["name"], *pinned(stable), log)
    backend._apply(canary, log)
    try:
        backend._wait_rollout(new, log, name=canary["metadata"]["name"])
    except BuildFailed:
        output = backend.service_logs(new)
        if output:
            log("--- the canary pods' output ---")
            log(output)
        remove(backend, new.deployment, log)
        _pin(backend, deployment["metadata"]["name"], *unpinned(options), log)
        raise
    return note


def rescale(backend: KubernetesBackend, percent: int, new: Version, log: LogFn) -> str:
    """Another replica ratio for a running canary."""
    options = backend.options
    stable, pods = replica_split(
        percent, int(options.get("replicas", 2)), int(options.get("canary_max_pods", MAX_PODS))
    )
    name = object_name(new.deployment)
    collection, _ = backend._paths({"kind": "Deployment", "metadata": {"name": name}})
    backend._call("PATCH", f"{collection}/{canary_name(name)}", body=pinned(pods)[1], merge=True)
    _pin(backend, name, *pinned(stable), log)
    note = f"canary {percent}% as {describe(stable, pods)}"
    log(note)
    return note


def end(backend: KubernetesBackend, new: Version, old: Version, promote: bool, log: LogFn) -> None:
    """Promote: the stable Deployment takes the new template (rolled out, bounds back). Abort:
    the stable side scaled back. Then the canary Deployment goes."""
    if promote:
        backend.start(new, log)  # every manifest of the new version: template, replicas, bounds
    else:
        _pin(backend, object_name(old.deployment), *unpinned(backend.options), log)
        backend._wait_rollout(old, log)
    remove(backend, new.deployment, log)


def remove(backend: KubernetesBackend, deployment: str, log: LogFn) -> None:
    """Delete the canary Deployment, if there is one."""
    name = canary_name(object_name(deployment))
    collection, _ = backend._paths({"kind": "Deployment", "metadata": {"name": name}})
    if backend._call("DELETE", f"{collection}/{name}", ok_missing=True) is not None:
        log(f"deleted Deployment {name}")


def _pin(
    backend: KubernetesBackend, name: str, hpa: dict[str, Any], scale: dict[str, Any], log: LogFn
) -> None:
    for kind, patch in (("HorizontalPodAutoscaler", hpa), ("Deployment", scale)):
        _, path = backend._paths({"kind": kind, "metadata": {"name": name}})
        if backend._call("PATCH", path, body=patch, merge=True, ok_missing=True) is not None:
            log(f"patched {kind} {name}: {patch['spec']}")


def check(mode: str, target: str) -> None:
    """Refuse a shadow, naming what to do instead."""
    if mode == "shadow":
        raise SplitUnsupported(SHADOW_REFUSED.format(target=target))
