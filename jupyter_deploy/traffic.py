"""Traffic and recent requests as text: what `jupyter deploy traffic` and `%deploy traffic` show.

The figures and the requests come from the build service (`BuilderClient.traffic` and
`BuilderClient.recent_requests`); this module only lays them out.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_deploy.wire import Json

WIDTH = 60  # characters of an input or output shown in the request table


def describe_traffic(figures: Json, requests: Json, minutes: int = 10) -> str:
    """Totals, the last `minutes` minutes that had requests, then the newest requests."""
    totals = figures["totals"]
    window = figures.get("minutes", len(figures.get("series", [])))
    lines = [
        f"{figures['name']}: {totals['requests']} requests in the last {window} min, "
        f"{totals['errors']} errors ({100 * totals['error_rate']:.1f}%), "
        f"{totals['rejected']} rejected; latency p50 {_ms(totals['p50_ms'])}, "
        f"p95 {_ms(totals['p95_ms'])}, p99 {_ms(totals['p99_ms'])}"
    ]
    busy = [m for m in figures.get("series", []) if m["requests"]][-minutes:]
    if busy:
        lines += ["", f"{'MINUTE (UTC)':<17} {'REQUESTS':>8} {'ERRORS':>6} {'P95':>9}"]
        for minute in busy:
            stamp = str(minute["time"])[:16].replace("T", " ")
            lines.append(
                f"{stamp:<17} {minute['requests']:>8} {minute['errors']:>6} "
                f"{_ms(minute['p95_ms']):>9}"
            )
    rows = requests.get("requests") or []
    lines.append("")
    if not rows:
        lines.append("No logged requests yet.")
        return "\n".join(lines)
    lines.append(f"{'TIME (UTC)':<23} {'STATUS':>6} {'LATENCY':>9}  INPUT -> OUTPUT")
    for row in rows:
        stamp = str(row.get("time", "")).replace("T", " ").rstrip("Z")
        lines.append(
            f"{stamp:<23} {row.get('status', ''):>6} {_ms(row.get('latency_ms')):>9}  "
            f"{_short(row.get('input'))} -> {_short(row.get('output'))}"
        )
    return "\n".join(lines)


def describe_comparison(result: Json, shown: int = 10) -> str:
    """The agreement line, then up to `shown` differing cases side by side."""
    lines = [str(result.get("message") or "")]
    differ = result.get("differ") or []
    if differ:
        lines += ["", f"{'INPUT':<40} {'LIVE':<20} NOTEBOOK"]
        for case in differ[:shown]:
            notebook = case["notebook"] if case.get("error") is None else f"raised {case['error']}"
            lines.append(
                f"{_short(case['input'], 40):<40} {_short(case['live'], 20):<20} "
                f"{_short(notebook, 40)}"
            )
        if len(differ) > shown:
            lines.append(f"... and {len(differ) - shown} more")
    return "\n".join(lines)


def _ms(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f} ms"


def _short(value: Any, width: int = WIDTH) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 3] + "..."
