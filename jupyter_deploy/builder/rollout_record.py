"""What a split is, as asked and as persisted (the rest of the rollout stage is rollout.py).

A build's query asks for a `Plan` (`canary=PERCENT` or `shadow=PERCENT`, optional thresholds);
a running split is a `Record`, a JSON file at `<state>/rollouts/<name>/split.json` written
atomically. Readers that have only the state folder use it too: the supervisor (which versions
a split keeps running) and the embedded builder's exit (which routers to quit).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jupyter_deploy.builder.backends.base import Version
from jupyter_deploy.builder.router import Router
from jupyter_deploy.errors import InvalidRequest

MODES = ("canary", "shadow")


@dataclass
class Plan:
    """What a build asked for at the switch step."""

    mode: str
    percent: int
    max_error_rate: float | None = None
    max_p95_ms: float | None = None


@dataclass
class Record:
    """A running split, as persisted."""

    name: str
    mode: str
    percent: int
    build_id: str
    stable_version: int
    candidate_version: int
    public_port: int
    started_at: float
    control_port: int = 0
    router_pid: int = 0
    max_error_rate: float | None = None
    max_p95_ms: float | None = None
    runs_on: str = "router"
    """"router" (the build service's nginx) or "platform" (the backend: `splits_itself`)."""
    router_dir: str = ""
    """The router's folder when it runs as another user (Docker); else <state>/rollouts/NAME."""
    note: str = ""
    """What the split really is where it differs from the plan (e.g. a pod ratio)."""

    @classmethod
    def of(cls, plan: Plan, build_id: str, new: Version, old: Version, **more: Any) -> Record:
        """The record of a split that starts now."""
        return cls(
            name=new.deployment,
            mode=plan.mode,
            percent=plan.percent,
            build_id=build_id,
            stable_version=old.version,
            candidate_version=new.version,
            public_port=new.public_port,
            started_at=time.time(),
            max_error_rate=plan.max_error_rate,
            max_p95_ms=plan.max_p95_ms,
            **more,
        )


def parse_plan(params: Mapping[str, str]) -> Plan | None:
    """The rollout a build's query asks for (`canary=N` or `shadow=N`), or None; 400 if wrong."""
    asked = [mode for mode in MODES if params.get(mode) not in (None, "")]
    if not asked:
        return None
    if len(asked) > 1:
        raise InvalidRequest("Send canary=PERCENT or shadow=PERCENT, not both.")
    mode, text = asked[0], params[asked[0]]
    top = 99 if mode == "canary" else 100
    if not text.isdigit() or not 1 <= int(text) <= top:
        raise InvalidRequest(f"{mode}={text!r}: give a whole percentage from 1 to {top}.")
    return Plan(
        mode,
        int(text),
        _threshold(params, "max_error_rate", 0.0, 1.0),
        _threshold(params, "max_p95_ms", 0.0, None),
    )


def _threshold(params: Mapping[str, str], key: str, low: float, high: float | None) -> float | None:
    text = params.get(key)
    if text in (None, ""):
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= low or (high is not None and value > high):
        limit = f"above {low:g}" + (f" and at most {high:g}" if high is not None else "")
        raise InvalidRequest(f"{key}={text!r}: give a number {limit}.")
    return value


def read_record(folder: Path, name: str) -> Record | None:
    """The running split of `name` under `folder` (<state>/rollouts), or None."""
    try:
        return Record(**json.loads((folder / name / "split.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def write_record(folder: Path, record: Record) -> None:
    """Persist a split's record (replacing the file whole: a reader never sees half of it)."""
    path = folder / record.name / "split.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".tmp").write_text(json.dumps(asdict(record), indent=1))
    path.with_suffix(".tmp").replace(path)


def stop_routers(state_dir: Path) -> None:
    """Quit every router a build service with this state started (the embedded builder's exit)."""
    folder = state_dir / "rollouts"
    for record in folder.glob("*/split.json") if folder.is_dir() else []:
        with contextlib.suppress(OSError, ValueError, KeyError):
            fields = json.loads(record.read_text())
            if fields.get("runs_on", "router") == "router":
                router_folder = Path(fields.get("router_dir") or record.parent)
                Router(router_folder).quit(int(fields["router_pid"]), 5)


def split_versions(state_dir: Path, name: str) -> set[int]:
    """The versions a running split of `name` keeps running (none when no split runs)."""
    record = read_record(state_dir / "rollouts", name)
    return set() if record is None else {record.stable_version, record.candidate_version}
