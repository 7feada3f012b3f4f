"""The one comparison of a notebook's answer with a service's: JSON equality, floats within a
relative tolerance. In the runtime (copied into every bundle) so that the build service's gate,
the compiler and the Kubernetes readiness probe inside the pod all use the same rule."""

from __future__ import annotations

import math
from typing import Any

REL_TOL = 1e-6
"""Floats agree when within this relative difference (or both within ABS_TOL of zero)."""
ABS_TOL = 1e-9


def same_answer(notebook: Any, service: Any, rel_tol: float = REL_TOL) -> bool:
    """JSON equality, floats compared within `rel_tol` (ints and floats compare as numbers)."""
    if isinstance(notebook, bool) or isinstance(service, bool):
        return notebook is service
    if isinstance(notebook, int | float) and isinstance(service, int | float):
        return math.isclose(notebook, service, rel_tol=rel_tol, abs_tol=ABS_TOL)
    if isinstance(notebook, list) and isinstance(service, list):
        return len(notebook) == len(service) and all(
            same_answer(a, b, rel_tol) for a, b in zip(notebook, service, strict=True)
        )
    if isinstance(notebook, dict) and isinstance(service, dict):
        return notebook.keys() == service.keys() and all(
            same_answer(notebook[k], service[k], rel_tol) for k in notebook
        )
    return bool(notebook == service)


def golden_cases(metadata: dict[str, Any]) -> tuple[list[dict[str, Any]], float]:
    """deploy.json's golden cases (input and the notebook's output) and their tolerance."""
    golden = metadata.get("golden") or {}
    cases = [c for c in golden.get("cases") or [] if isinstance(c, dict) and "input" in c]
    return cases, float(golden.get("rel_tol") or REL_TOL)
