"""The parity gate: replay the notebook's golden cases against the new service before it goes live.

deploy.json's `golden` holds inputs and the answers the notebook's kernel gave at capture. Each
input is POSTed to /predict, then all of them at once to /predict/batch (which reaches
predict_batch when the notebook defines it); an answer that differs (JSON equality, floats
within `rel_tol`) fails the build with the input, the notebook's answer and the service's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

from jupyter_deploy.errors import BuildFailed
from jupyter_deploy.runtime.golden import golden_cases, same_answer
from jupyter_deploy.wire import reproduced_line

TIMEOUT = 60.0


def replay(
    metadata: dict[str, Any],
    url: str,
    log: Callable[[str], None],
    headers: dict[str, str] | None = None,
) -> int:
    """Check every golden case against the service at `url` (`headers`: the build service's own
    key, for a deployment with API keys); how many were reproduced."""
    cases, rel_tol = golden_cases(metadata)
    if not cases:
        log("no golden cases in deploy.json: no notebook answer to compare with")
        return 0
    for case in cases:
        answer = requests.post(
            f"{url}/predict", json=case["input"], headers=headers, timeout=TIMEOUT
        )
        _compare(case, _prediction(answer, "prediction"), rel_tol, "")
    inputs = [case["input"] for case in cases]
    batch = {"inputs": inputs}
    answer = requests.post(f"{url}/predict/batch", json=batch, headers=headers, timeout=TIMEOUT)
    outputs = _prediction(answer, "predictions")
    for index, case in enumerate(cases):
        got = (
            outputs[index] if isinstance(outputs, list) and len(outputs) == len(cases) else outputs
        )
        _compare(case, got, rel_tol, " (/predict/batch)")
    log(reproduced_line(len(cases)))
    return len(cases)


class _Status:
    """A non-200 answer, shown as `HTTP 500: {...}` in the failure."""

    def __init__(self, answer: requests.Response) -> None:
        self.text = f"HTTP {answer.status_code}: {answer.text[:200]}"


def _prediction(answer: requests.Response, key: str) -> Any:
    if answer.status_code != 200:
        return _Status(answer)
    try:
        return answer.json()[key]
    except (ValueError, KeyError, TypeError):
        return _Status(answer)


def _compare(case: dict[str, Any], got: Any, rel_tol: float, where: str) -> None:
    if not isinstance(got, _Status) and same_answer(case["output"], got, rel_tol):
        return
    shown = got.text if isinstance(got, _Status) else _short(got)
    raise BuildFailed(
        f"The service does not answer as the notebook did{where}: for the input "
        f"{_short(case['input'])} the notebook answered {_short(case['output'])}, the service "
        f"answered {shown}."
    )


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 200 else text[:197] + "..."
