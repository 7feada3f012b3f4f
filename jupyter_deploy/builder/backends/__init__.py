"""Backends by name; each module is imported only when chosen (docker and kubernetes are extras)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from jupyter_deploy.builder.backends.base import Backend
from jupyter_deploy.errors import BackendUnavailable

BACKENDS = {
    "local": "jupyter_deploy.builder.backends.local:LocalBackend",
    "docker": "jupyter_deploy.builder.backends.docker:DockerBackend",
    "kubernetes": "jupyter_deploy.builder.backends.kubernetes:KubernetesBackend",
}
# targets a backend can be given with `-o target=NAME` (docs/kubernetes.md)
TARGETS = {("kubernetes", "kserve"): "jupyter_deploy.builder.backends.kserve:KServeBackend"}


def make_backend(name: str, state_dir: Path, options: dict[str, Any] | None = None) -> Backend:
    """An instance of the backend called `name`."""
    if name not in BACKENDS:
        raise BackendUnavailable(f"No backend {name!r}: choose one of {', '.join(BACKENDS)}.")
    target = str((options or {}).get("target") or "")
    if target and (name, target) not in TARGETS:
        known = ", ".join(t for b, t in TARGETS if b == name) or "none"
        raise BackendUnavailable(f"The {name} backend has no target {target!r} (targets: {known}).")
    module_name, _, class_name = TARGETS.get((name, target), BACKENDS[name]).partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise BackendUnavailable(
            f"The {name} backend needs {error.name}: pip install 'jupyter-deploy[{name}]'."
        ) from None
    backend: Backend = getattr(module, class_name)(state_dir, options or {})
    return backend
