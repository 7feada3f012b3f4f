"""Canary and shadow rollouts: a traffic stage between a green build and a full switch.

A build sent with `canary=PERCENT` (or `shadow=PERCENT`) runs the usual pipeline; at the switch
step, instead of handing the stable port to the new version, the pipeline calls `on_switch`:

    start the current version again on a fresh private port (not on the stable port)
    -> start the router (nginx) on the stable port: PERCENT to the candidate, or copies of it
    -> the current version's old process closes its listeners and drains (its queued
       connections move to the router: tcp_migrate_req)            => split running
    promote: the candidate opens the stable port -> the router quits gracefully
             -> the current version drains and stops; the candidate is live
    abort:   the current version opens the stable port -> the router quits gracefully
             -> the candidate drains and stops; it is marked failed

So the router exists only while a split runs. The split's record is a JSON file under
`<state>/rollouts/<name>/` (a restarted builder picks it up; the router, in its own session,
keeps serving meanwhile). A watcher aborts a canary whose error rate or p95 goes over the
thresholds given at start, once it has answered MIN_REQUESTS (rollout_figures.py) requests.

Backends whose platform splits the traffic itself (`Backend.splits_itself`: Kubernetes, with
KServe's canaryTrafficPercent or a second Deployment) take the same requests through the
same record: the new version starts as the canary at the pipeline's start step
(`on_start` -> `backend.start_split`), and set/promote/abort call `set_split`/`end_split`.
No router runs there, so the split has no side-by-side figures and no automatic abort.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jupyter_deploy.builder.backends.base import Backend, LogFn, Version
from jupyter_deploy.builder.core import BuildService, free_port
from jupyter_deploy.builder.pipeline import BuildLog
from jupyter_deploy.builder.rollout_figures import Tally, agreement, over, side, unmeasured
from jupyter_deploy.builder.rollout_record import (
    MODES,
    Plan,
    Record,
    parse_plan,
    read_record,
    split_versions,
    stop_routers,
    write_record,
)
from jupyter_deploy.builder.router import Router, Split, is_router, read_log
from jupyter_deploy.errors import BuildNotFound, Conflict, InvalidRequest, SplitUnsupported
from jupyter_deploy.wire import FINAL_PHASES, Json, check_name

__all__ = ["MODES", "Plan", "Record", "Rollouts", "parse_plan", "split_versions", "stop_routers"]
WATCH_EVERY = 1.0


class Rollouts:
    """The canary/shadow stage of one build service (hooked into its pipeline's switch)."""

    def __init__(self, service: BuildService) -> None:
        self.service = service
        self.folder = service.state.root / "rollouts"
        self.planning = threading.Lock()
        self.plans: dict[str, Plan] = {}
        self.split_builds: dict[str, tuple[str, str]] = {}
        """Builds that asked for a split and may not have ended: id -> (name, mode)."""
        self.locks: dict[str, threading.Lock] = {}
        self.tallies: dict[str, Tally] = {}
        self.reading = threading.Lock()
        service.pipeline.split = self.on_switch
        service.pipeline.split_start = self.on_start
        service.split_guard = self.refuse_during_split
        self.watcher = threading.Thread(target=self._watch, name="rollout-watch", daemon=True)
        self.watcher.start()

    # --- starting ------------------------------------------------------------------------

    def create_build(
        self, name: str | None, tarball: bytes, plan: Plan | None, actor: str = "admin"
    ) -> Json:
        """Queue a build; with a plan, its switch step starts a split instead of a full switch."""
        if name and self.record(name) is not None:
            raise Conflict(f"{name} has a split running: promote or abort it before a new build.")
        if plan is None:
            return self.service.create_build(name, tarball, actor)
        backend = self.service.backend
        backend.check_split(plan.mode)
        if backend.splits_itself and (plan.max_error_rate, plan.max_p95_ms) != (None, None):
            raise SplitUnsupported(
                f"An automatic abort reads the build service's router, and on the {backend.name} "
                "backend the platform splits the traffic: leave out max_error_rate and "
                "max_p95_ms, and promote or abort the canary yourself."
            )
        name = check_name(name)
        dry_run = bool(backend.options.get("dry_run"))  # shows the canary's manifests only
        if not dry_run and (
            name not in self.service.state.deployment_names()
            or self.service.state.deployment_row(name)["live_version"] is None
        ):
            raise Conflict(f"A {plan.mode} needs a live version of {name}: deploy one first.")
        with self.planning:
            build = self.service.create_build(name, tarball, actor)
            self.plans[build["id"]] = plan
            self.split_builds[build["id"]] = (name, plan.mode)
        return build

    @contextlib.contextmanager
    def refuse_during_split(self, name: str, change: str) -> Iterator[None]:
        """Around a change of `name`'s live version (a key or secret change restarts it, a
        rollback replaces it): refuse it (409) while a split runs or its build is under way,
        since the change would reach one of the two versions and not the other; held while the
        change is made, so no split starts meanwhile."""
        with self.planning:
            record = self.record(name)
            if record is not None:
                raise Conflict(
                    f"{name} has a {record.mode} running (versions {record.stable_version} and "
                    f"{record.candidate_version}): {change} would change the live version and "
                    f"not the other one the {record.mode} serves. Promote or abort the "
                    f"{record.mode} first, then try again; nothing was changed."
                )
            for build_id, (build_name, mode) in list(self.split_builds.items()):
                try:
                    ended = self.service.state.build(build_id)["phase"] in FINAL_PHASES
                except BuildNotFound:  # its deployment was deleted
                    ended = True
                if ended:
                    del self.split_builds[build_id]
                elif build_name == name:
                    raise Conflict(
                        f"{name} has a {mode} build under way (build {build_id}): {change} "
                        f"would change the live version and not the {mode}'s new one. Wait for "
                        f"the build, promote or abort the {mode}, then try again; nothing was "
                        "changed."
                    )
            yield

    def on_start(self, build_id: str, version: Version, old: Version | None, log: LogFn) -> bool:
        """The pipeline's start step where the platform splits traffic: start the new version as
        the canary beside the live one (True), or leave the start to the pipeline (False)."""
        backend = self.service.backend
        with self.planning:
            plan = self.plans.get(build_id) if backend.splits_itself else None
        if plan is None:
            return False
        try:
            if old is None and not backend.options.get("dry_run"):  # deleted meanwhile
                raise Conflict(f"A {plan.mode} needs a live version: deploy one first.")
            with self._lock(version.deployment):
                if self.record(version.deployment) is not None:
                    raise Conflict(f"{version.deployment} already has a split running.")
                note = backend.start_split(plan.mode, plan.percent, version, old, log)
                assert old is not None  # a dry run raised above, with the manifests in the log
                self._write(Record.of(plan, build_id, version, old, runs_on="platform", note=note))
        except Exception:
            with self.planning:  # the build fails; its plan goes with it
                self.plans.pop(build_id, None)
            raise
        return True

    def on_switch(self, build_id: str, version: Version, old: Version | None, log: LogFn) -> bool:
        """The pipeline's switch step: start a split if the build asked for one (True), or not."""
        with self.planning:
            plan = self.plans.pop(build_id, None)
        if plan is None:
            return False
        if self.service.backend.splits_itself:  # on_start started it
            url = self.service.backend.stable_url(version.deployment, version.public_port)
            log(f"{plan.mode} running at {url}: promote or abort it")
            self.service.state.set_phase(build_id, "live", url=url)
            return True
        if old is None or old.version == version.version:
            raise Conflict(f"A {plan.mode} needs a live version to compare with: deploy one first.")
        with self._lock(version.deployment):
            if self.record(version.deployment) is not None:
                raise Conflict(f"{version.deployment} already has a split running.")
            self._start(build_id, plan, version, old, log)
        return True

    def _start(self, build_id: str, plan: Plan, new: Version, old: Version, log: LogFn) -> None:
        service, backend = self.service, self.service.backend
        log(f"{plan.mode} {plan.percent}%: version {old.version} restarts behind the router")
        current = Version(
            old.deployment,
            old.version,
            old.bundle_dir,
            old.requirements_sha256,
            free_port(),
            old.public_port,
            {k: v for k, v in old.handle.items() if k == "python"},
        )
        backend.start(current, log)
        user, folder = backend.router_user(), self.folder / new.deployment
        if user is not None:  # outside the private state folder, which that user cannot enter
            folder = Path(tempfile.mkdtemp(prefix=f"jupyter-deploy-router-{new.deployment}-"))
        router = Router(folder, user)
        try:
            _settle(backend, current)
            service.pipeline.wait_ready(current, log)
            split = Split(plan.mode, plan.percent, current.port, new.port)
            control = free_port()
            pid = router.start(split, new.public_port, control)
        except Exception:
            backend.stop(current, log)
            if user is not None:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        folder_kept = str(folder) if user is not None else ""
        record = Record.of(
            plan, build_id, new, old, control_port=control, router_pid=pid, router_dir=folder_kept
        )
        self._write(record)
        log(f"router (nginx, pid {pid}) on port {new.public_port}: {self._describe_split(record)}")
        backend.begin_stop(old)  # its queued connections move to the router's listener
        service.state.update_version(old.deployment, old.version, port=current.port)
        service.state.update_version(old.deployment, old.version, handle=current.handle)
        backend.stop(old, log)
        url = backend.stable_url(new.deployment, new.public_port)
        log(f"{plan.mode} running at {url}: promote or abort it")
        service.state.set_phase(build_id, "live", url=url)

    def set_percent(self, name: str, percent: object) -> Json:
        """Change a running split's share: the router reloads gracefully (no dropped request)."""
        self.service.state.deployment_row(name)
        with self._lock(name):
            record = self.record(name)
            if record is None:
                raise Conflict(f"{name} has no canary or shadow running.")
            top = 99 if record.mode == "canary" else 100
            if not isinstance(percent, int) or isinstance(percent, bool) or not 1 <= percent <= top:
                raise InvalidRequest(
                    f'Send {{"percent": N}} with N a whole number from 1 to {top}, not {percent!r}.'
                )
            log = BuildLog(self.service.state, record.build_id)
            if record.runs_on == "platform":
                new = self._version(name, record.candidate_version)
                old = self._version(name, record.stable_version)
                record.note = self.service.backend.set_split(percent, new, old, log)
            else:
                current = int(self._row(name, record.stable_version)["port"])
                candidate = int(self._row(name, record.candidate_version)["port"])
                split = Split(record.mode, percent, current, candidate)
                self._router(record).reload(
                    record.router_pid, split, record.public_port, record.control_port
                )
            record.percent = percent
            self._write(record, keep_figures=True)
            log(f"{record.mode} now {self._describe_split(record)}")
            return self.figures(record)

    # --- ending ----------------------------------------------------------------------------

    def promote(self, name: str) -> Json:
        """All traffic to the candidate; the current version drains and stops."""
        return self._end(name, promote=True, reason="promoted")

    def abort(self, name: str, reason: str = "aborted") -> Json:
        """All traffic back to the current version; the candidate drains and stops."""
        return self._end(name, promote=False, reason=reason)

    def _end(self, name: str, promote: bool, reason: str) -> Json:
        self.service.state.deployment_row(name)
        with self._lock(name):
            record = self.record(name)
            if record is None:
                raise Conflict(f"{name} has no canary or shadow running.")
            log = BuildLog(self.service.state, record.build_id)
            figures = self.figures(record)
            keep, drop = (
                (record.candidate_version, record.stable_version)
                if promote
                else (record.stable_version, record.candidate_version)
            )
            kept, dropped = self._version(name, keep), self._version(name, drop)
            kept.env = dropped.env = self.service.keys.environment(name)
            log(f"{record.mode} {reason}: version {keep} takes every request")
            if record.runs_on == "platform":
                new, old = (kept, dropped) if promote else (dropped, kept)
                self.service.backend.end_split(new, old, promote, log)
            else:
                self.service.backend.publish(kept, log)
                self._router(record).quit(record.router_pid)
                log("router stopped: the stable port is served by the model service alone")
            if promote:
                self.service.state.set_live(name, keep)
            else:
                self.service.state.update_version(name, drop, status="failed")
            self._forget(record)
            self.service.backend.stop(dropped, log)
            self.service.state.update_version(name, drop, handle=dropped.handle)
        return {"name": name, "outcome": reason, "live_version": keep, "split": figures}

    def end_for_delete(self, name: str) -> None:
        """Stop the router of a deployment being deleted (its versions are stopped by delete)."""
        with self._lock(name):
            record = self.record(name)
            if record is not None:
                if record.runs_on == "router":  # the platform's objects go with the delete
                    self._router(record).quit(record.router_pid, timeout=5)
                self._forget(record)

    # --- reading -----------------------------------------------------------------------------

    def record(self, name: str) -> Record | None:
        """The running split of `name`, or None."""
        return read_record(self.folder, name)

    def describe(self, name: str) -> Json | None:
        """The split part of a Deployment answer: both sides' figures, or None."""
        record = self.record(name)
        return None if record is None else self.figures(record)

    def figures(self, record: Record) -> Json:
        """Both versions side by side: requests, rate, error rate, p95 (from the router's log)."""
        if record.runs_on == "platform":
            return {
                **self._head(record),
                "router": "none",
                "stable": unmeasured(record.stable_version),
                "candidate": unmeasured(record.candidate_version),
                "agreement": None,
            }
        with self.reading:
            tally = self.tallies.setdefault(record.name, Tally())
            answers, tally.offset = read_log(self._router(record).access_log, tally.offset)
            for answer in answers:
                tally.answers.setdefault(answer.port, []).append(answer)
        ports = {
            int(self._row(record.name, v)["port"]): v
            for v in (record.stable_version, record.candidate_version)
        }
        sides = {v: side(tally.answers.get(p, []), v) for p, v in ports.items()}
        stable_port, candidate_port = list(ports)
        compared = (
            agreement(tally.answers.get(stable_port, []), tally.answers.get(candidate_port, []))
            if record.mode == "shadow"
            else None
        )
        return {
            **self._head(record),
            "router": "running" if is_router(record.router_pid) else "stopped",
            "stable": sides[record.stable_version],
            "candidate": sides[record.candidate_version],
            "agreement": compared,
        }

    def _head(self, record: Record) -> Json:
        return {
            "mode": record.mode,
            "percent": record.percent,
            "note": record.note or None,
            "build_id": record.build_id,
            "started_at": _iso(record.started_at),
            "auto_abort": {
                "max_error_rate": record.max_error_rate,
                "max_p95_ms": record.max_p95_ms,
            },
        }

    def _describe_split(self, record: Record) -> str:
        if record.mode == "canary":
            return (
                f"{100 - record.percent}% to version {record.stable_version}, "
                f"{record.percent}% to version {record.candidate_version}"
            ) + (f" ({record.note})" if record.note else "")
        return (
            f"version {record.stable_version} answers; {record.percent}% of requests are "
            f"copied to version {record.candidate_version}"
        )

    # --- the watcher -----------------------------------------------------------------------

    def _watch(self) -> None:
        while True:
            time.sleep(WATCH_EVERY)
            with contextlib.suppress(Exception):
                self.check_thresholds()

    def check_thresholds(self) -> list[str]:
        """Abort every canary over its thresholds; the names aborted."""
        aborted = []
        names = [p.name for p in self.folder.iterdir()] if self.folder.is_dir() else []
        for name in names:
            record = self.record(name)
            if record is None or (record.max_error_rate is None and record.max_p95_ms is None):
                continue
            candidate = self.figures(record)["candidate"]
            reason = over(record.max_error_rate, record.max_p95_ms, candidate)
            if reason:
                self.abort(name, reason=f"aborted automatically: {reason}")
                aborted.append(name)
        return aborted

    # --- helpers -------------------------------------------------------------------------------

    def _lock(self, name: str) -> threading.Lock:
        with self.planning:
            return self.locks.setdefault(name, threading.Lock())

    def _write(self, record: Record, keep_figures: bool = False) -> None:
        write_record(self.folder, record)
        if not keep_figures:
            self.tallies[record.name] = Tally()

    def _forget(self, record: Record) -> None:
        shutil.rmtree(self.folder / record.name, ignore_errors=True)
        if record.router_dir:
            shutil.rmtree(record.router_dir, ignore_errors=True)
        self.tallies.pop(record.name, None)

    def _router(self, record: Record) -> Router:
        """The router of a running split: its folder, and the user it runs as."""
        folder = Path(record.router_dir) if record.router_dir else self.folder / record.name
        return Router(folder, self.service.backend.router_user() if record.router_dir else None)

    def _row(self, name: str, version: int) -> Any:
        return self.service.state.version_row(name, version)

    def _version(self, name: str, version: int) -> Version:
        return self.service._version(self._row(name, version))


def _settle(backend: Backend, version: Version, timeout: float = 5.0) -> None:
    """Wait until a just-started process is visible as itself.

    Right after exec, /proc/PID/cmdline can still read empty for a moment (the kernel fills
    it in after the point where Popen returns), and `is_running` would say the service died.
    """
    deadline = time.monotonic() + timeout
    while not backend.is_running(version) and time.monotonic() < deadline:
        time.sleep(0.02)


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
