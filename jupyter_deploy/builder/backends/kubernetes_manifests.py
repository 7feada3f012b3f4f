"""The Kubernetes objects of one version: Deployment, Service, HorizontalPodAutoscaler, Secret.

Plain data (no API calls): the Kubernetes backend (kubernetes.py) applies them, the KServe target
(kserve.py) takes its pod from them, the canary (kubernetes_canary.py) derives its Deployment.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from jupyter_deploy.builder.backends.base import Version

PORT = 8000
CONTAINER = "model"
"""The model service's container in each pod (pod-log reads name it: kubernetes.py)."""


def object_name(deployment: str) -> str:
    """The Kubernetes name of a deployment's objects (a DNS label: at most 63 characters)."""
    name = f"jd-{deployment}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(deployment.encode()).hexdigest()[:8]
    return f"{name[:54].rstrip('-')}-{digest}"


def manifests(version: Version, image: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    """Deployment, Service and HorizontalPodAutoscaler for one version of a deployment."""
    name, namespace = object_name(version.deployment), options.get("namespace", "default")
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "jupyter-deploy"}
    pod_labels = {**labels, "jupyter-deploy/version": f"v{version.version}"}
    metadata = {"name": name, "namespace": namespace, "labels": labels}
    resources = {
        "cpu": str(options.get("cpu", "250m")),
        "memory": str(options.get("memory", "512Mi")),
    }
    container = {
        "name": CONTAINER,
        "image": image,
        "args": ["--host", "0.0.0.0", "--port", str(PORT)],
        "ports": [{"name": "http", "containerPort": PORT}],
        "env": [{"name": "JUPYTER_DEPLOY_REQUEST_LOG", "value": "stdout"}],  # docs/traffic.md
        "readinessProbe": {
            "exec": {
                "command": [
                    "python3",
                    "-m",
                    "jupyter_deploy_runtime.probe",
                    "--port",
                    str(PORT),
                    "--bundle",
                    "/srv/model",
                ]
            },
            "initialDelaySeconds": 1,
            "periodSeconds": 5,
            "timeoutSeconds": 30,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
        },
        "resources": {
            "requests": resources,
            "limits": {
                "cpu": str(options.get("cpu_limit", "1")),
                "memory": str(options.get("memory_limit", resources["memory"])),
            },
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
        },
    }
    pod_annotations: dict[str, str] = {}
    extra: list[dict[str, Any]] = []
    if version.env:
        secret = env_secret(version, metadata)
        container["envFrom"] = [{"secretRef": {"name": secret["metadata"]["name"]}}]
        digest = hashlib.sha256(json.dumps(version.env, sort_keys=True).encode()).hexdigest()
        pod_annotations["jupyter-deploy/env-sha256"] = digest[:16]  # a change rolls the pods
        extra.append(secret)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {**metadata, "annotations": {"jupyter-deploy/version": str(version.version)}},
        "spec": {
            "replicas": int(options.get("replicas", 2)),
            "revisionHistoryLimit": 20,
            "selector": {"matchLabels": labels},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": pod_labels, "annotations": pod_annotations},
                "spec": {
                    "containers": [container],
                    "terminationGracePeriodSeconds": 30,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security(options),
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "selector": labels,
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }
    autoscaler = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": int(options.get("replicas", 2)),
            "maxReplicas": int(options.get("max_replicas", 5)),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": int(options.get("cpu_target", 70)),
                        },
                    },
                }
            ],
        },
    }
    return [*extra, deployment, service, autoscaler]


def pod_security(options: dict[str, Any]) -> dict[str, Any]:
    """Pods run as a non-root user (option `user`, `uid:gid`), with the default seccomp."""
    uid, _, gid = str(options.get("user", "10001:10001")).partition(":")
    return {
        "runAsNonRoot": True,
        "runAsUser": int(uid),
        "runAsGroup": int(gid or uid),
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def secret_name(deployment: str) -> str:
    """The name of the Secret that holds a deployment's environment (a DNS label)."""
    return f"{object_name(deployment)[:59]}-env"


def env_secret(version: Version, metadata: dict[str, Any]) -> dict[str, Any]:
    """The Secret that holds the deployment's API keys and secrets (its pods' environment)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {**metadata, "name": secret_name(version.deployment)},
        "type": "Opaque",
        "stringData": dict(version.env),
    }


def redacted(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The manifests with every Secret value hidden (for logs and dry runs)."""
    plain: list[dict[str, Any]] = json.loads(json.dumps(objects))
    for item in plain:
        if item["kind"] == "Secret":
            item["stringData"] = {key: "<hidden>" for key in item.get("stringData", {})}
    return plain
