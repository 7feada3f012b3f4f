"""The figures of a running split, side by side, from the router's access log (builder/router.py).

Each side (the current version, the candidate): requests, errors (5xx), error rate and p95 since
the split started, and the request rate over the last RECENT seconds; for a shadow, how often
the two answers agree and the newest inputs on which they differ. Where the platform splits the
traffic (Kubernetes), no router sees the requests: the sides say so (`unmeasured`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from jupyter_deploy.builder.router import Answer
from jupyter_deploy.wire import Json

RECENT = 30.0  # seconds over which the request rate is measured
MAX_DIFFERING = 20  # the newest differing requests a shadow lists
MAX_INPUT_CHARS = 500
MIN_REQUESTS = 20  # answers a canary gives before its thresholds are judged


@dataclass
class Tally:
    """Answers read so far from a split's access log, per upstream port."""

    offset: int = 0
    answers: dict[int, list[Answer]] = field(default_factory=dict)


def side(answers: list[Answer], version: int) -> Json:
    """One version's figures from the answers it gave through the router."""
    times = sorted(a.seconds for a in answers)
    errors = sum(1 for a in answers if a.status >= 500)
    recent_from = time.time() - RECENT
    recent = sum(1 for a in answers if a.at >= recent_from)
    return {
        "version": version,
        "requests": len(answers),
        "errors": errors,
        "error_rate": round(errors / len(answers), 4) if answers else None,
        "p95_ms": round(times[int(0.95 * (len(times) - 1))] * 1000, 2) if times else None,
        "rate_per_s": round(recent / RECENT, 2),
    }


def unmeasured(version: int) -> Json:
    """A side whose requests no router of the build service sees (the platform splits them)."""
    keys = ("requests", "errors", "error_rate", "p95_ms", "rate_per_s")
    return {"version": version, **dict.fromkeys(keys)}


def agreement(stable: list[Answer], candidate: list[Answer]) -> Json:
    """How often the copy's answer equals the stable one (same status and body digest).

    Pairs are joined by nginx's request id; the newest differing requests are listed with
    their input (empty when it was over the router's 64 KiB body buffer).
    """
    answered = {a.request_id: a for a in stable if a.request_id not in ("", "-")}
    pairs = [(answered[c.request_id], c) for c in candidate if c.request_id in answered]
    differing = [(s, c) for s, c in pairs if (s.status, s.digest) != (c.status, c.digest)]
    return {
        "compared": len(pairs),
        "agreeing": len(pairs) - len(differing),
        "rate": round(1 - len(differing) / len(pairs), 4) if pairs else None,
        "differing": [
            {
                "request_id": s.request_id,
                "input": (s.body or c.body)[:MAX_INPUT_CHARS],
                "stable_status": s.status,
                "candidate_status": c.status,
            }
            for s, c in differing[-MAX_DIFFERING:]
        ],
    }


def over(max_error_rate: float | None, max_p95_ms: float | None, candidate: Json) -> str:
    """Which threshold the candidate's figures are over, as words ("" when none, or too few)."""
    if candidate["requests"] < MIN_REQUESTS:
        return ""
    rate, p95 = candidate["error_rate"], candidate["p95_ms"]
    if max_error_rate is not None and rate is not None and rate > max_error_rate:
        return f"error rate {rate:.1%} over {max_error_rate:.1%}"
    if max_p95_ms is not None and p95 is not None and p95 > max_p95_ms:
        return f"p95 {p95:g} ms over {max_p95_ms:g} ms"
    return ""
