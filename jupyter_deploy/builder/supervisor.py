"""Keeping live versions alive: start-up recovery, and a watcher that restarts what exits.

Start-up recovery works per deployment: builds a dead builder left unfinished are failed with
the reason, and each live version is re-adopted when its process still serves or restarted
when it does not. One that cannot come back is marked `failed` with the reason and its
process stopped; the others come back; the service always starts.

The supervisor checks every live version every `interval` seconds (for backends whose
platform restarts pods itself, such as Kubernetes, it only records what the platform
reports). A version whose process is gone is restarted with backoff (1, 2, 4 ... 30 s, times
`backoff`); meanwhile the deployment's status is `restarting` with the model service's last
log lines, and `crashed` after `GIVE_UP` failed attempts in a row (it keeps trying, every
30 s times `backoff`). A name busy with a build or a delete is left alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from typing import TYPE_CHECKING

from jupyter_deploy.builder.backends.base import Version
from jupyter_deploy.builder.core import free_port
from jupyter_deploy.builder.pipeline import BuildLog
from jupyter_deploy.builder.rollout_record import split_versions

if TYPE_CHECKING:
    from jupyter_deploy.builder.core import BuildService

BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
GIVE_UP = 5
LAST_LINES = 15


def recover(service: BuildService) -> list[str]:
    """Fail interrupted builds, then bring back each live version; what was done, in lines."""
    notes = []
    for build in service.state.unfinished_builds():
        try:
            notes.append(_fail_interrupted(service, build))
        except Exception as error:
            notes.append(f"build {build['id']} ({build['name']}): {error}")
    for name in service.state.deployment_names():
        try:
            notes.append(_readopt(service, name))
        except Exception as error:
            notes.append(_give_up(service, name, error))
    return notes


def _fail_interrupted(service: BuildService, build: dict[str, object]) -> str:
    """Fail a build a dead builder left unfinished, or finish its switch when the new version
    already had the stable port (the old one may be draining: going back would leave none)."""
    phase, name = str(build["phase"]), str(build["name"])
    version = service._version(service.state.version_row(name, int(str(build["version"]))))
    live = service.state.deployment_row(name)["live_version"]
    if build["kind"] != "build" and live == version.version:
        return _interrupted_restart(service, build, version)
    if version.handle.get("published") and service.backend.is_running(version):
        url = service.backend.stable_url(name, version.public_port)
        service.state.go_live(str(build["id"]), name, version.version, url)
        BuildLog(service.state, str(build["id"]))("the build service restarted: switch finished")
        return f"build {build['id']} ({name}): the new version already served, now live"
    if build["kind"] == "build" and service.backend.is_running(version):
        service.backend.stop(version, BuildLog(service.state, str(build["id"])))
    status = "failed" if build["kind"] == "build" else None
    message = f"The build service restarted during {phase}."
    service.state.fail(str(build["id"]), phase, message, version_status=status)
    return f"build {build['id']} ({name}) failed: restarted during {phase}"


def _interrupted_restart(service: BuildService, build: dict[str, object], live: Version) -> str:
    """A restart of the live version (same row) that a dead builder left: before the switch,
    stop the new process (the old one still serves); after it, stop the old one and finish."""
    build_id, name = str(build["id"]), live.deployment
    log = BuildLog(service.state, build_id)
    handle = dict(live.handle)
    other = handle.pop("pending", None) or handle.pop("previous", None)
    switched = "previous" in live.handle
    if other is not None:
        process = dataclasses.replace(live, port=int(other["port"]), handle=dict(other["handle"]))
        if service.backend.is_running(process):
            service.backend.stop(process, log)
    service.state.update_version(name, live.version, port=live.port, handle=handle)
    if switched:
        url = service.backend.stable_url(name, live.public_port)
        service.state.go_live(build_id, name, live.version, url)
        return f"build {build_id} ({name}): the restarted process already served, now live"
    message = f"The build service restarted during {build['phase']}."
    service.state.fail(build_id, str(build["phase"]), message)
    return f"build {build_id} ({name}) failed: restarted during {build['phase']}"


def _readopt(service: BuildService, name: str) -> str:
    live = service.state.deployment_row(name)["live_version"]
    _stop_orphans(service, name, live)
    if live is None:
        return f"{name}: nothing live"
    version = service._version(service.state.version_row(name, live))
    if service.backend.is_running(version):
        service.state.set_health(name, None)
        return f"{name}: version {live} still serves, re-adopted"
    restart(service, version, BuildLog(service.state, f"restart-{name}"))
    service.state.set_health(name, None)
    return f"{name}: version {live} was gone, restarted"


def _stop_orphans(service: BuildService, name: str, live: int | None) -> None:
    """Stop versions that still run but are not live (a builder killed while retiring one),
    except the new version of a running canary or shadow (its router keeps serving it)."""
    keep = {live, *split_versions(service.state.root, name)}
    for row in service.state.versions(name):
        version = service._version(row)
        if row["version"] not in keep and service.backend.is_running(version):
            service.backend.stop(version, BuildLog(service.state, f"restart-{name}"))


def _give_up(service: BuildService, name: str, error: Exception) -> str:
    """Mark `name` failed with the reason and stop whatever of it still runs."""
    reason = str(error) or type(error).__name__
    try:
        live = service.state.deployment_row(name)["live_version"]
        if live is not None:
            version = service._version(service.state.version_row(name, live))
            service.backend.stop(version, BuildLog(service.state, f"restart-{name}"))
    except Exception as stop_error:
        reason += f" (and stopping it failed: {stop_error})"
    message = f"Could not bring it back when the build service started: {reason}"
    with contextlib.suppress(Exception):  # the database itself refuses: the note says why
        service.state.set_health(name, "failed", message)
    return f"{name}: FAILED, {reason}"


def restart(service: BuildService, version: Version, log: BuildLog) -> None:
    """Start `version` again on a new private port and give it the stable port; on failure,
    stop what was started and raise."""
    version.port = free_port()
    version.env = service.keys.environment(version.deployment)
    if not version.bundle_dir.is_dir():
        raise FileNotFoundError(f"its bundle folder {version.bundle_dir} is gone")
    try:
        service.backend.prepare(version, log)
        service.backend.start(version, log)
        service.pipeline.wait_ready(version, log)
        service.backend.publish(version, log)
    except BaseException:
        try:
            service.backend.stop(version, log)
        except Exception as error:
            log(f"could not stop the failed restart: {error}")
        raise
    service.state.update_version(
        version.deployment, version.version, port=version.port, handle=version.handle
    )


class Supervisor:
    """A thread that restarts live versions whose process has exited."""

    def __init__(self, service: BuildService, interval: float = 1.0, backoff: float = 1.0) -> None:
        self.service = service
        self.interval = interval
        self.backoff = backoff  # scales BACKOFF: 1 gives waits of 1, 2, 4 ... 30 s
        self.failures: dict[str, int] = {}
        self.next_try: dict[str, float] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="jupyter-deploy-supervisor")
        self.thread.daemon = True

    def start(self) -> Supervisor:
        """Begin watching (for backends whose platform restarts pods itself, such as
        Kubernetes, only reading what it reports, every 10 intervals)."""
        if self.service.backend.checks_itself:
            self.interval *= 10
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop watching."""
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=30)

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                names = self.service.state.deployment_names()
            except Exception:
                continue
            for name in names:
                if self.service.claim(name):
                    try:
                        if self.service.backend.checks_itself:
                            self.observe(name)
                        else:
                            self.check(name)
                    except Exception:
                        pass  # a deployment deleted meanwhile, a full disk: try next round
                    finally:
                        self.service.release(name)

    def check(self, name: str) -> None:
        """Restart `name`'s live version when its process is gone (call with `name` claimed)."""
        state = self.service.state
        live = state.deployment_row(name)["live_version"]
        health = state.health(name)
        if live is None or (health and health["state"] == "failed"):
            return
        version = self.service._version(state.version_row(name, live))
        if self.service.backend.is_running(version):
            if self.service.backend.revived(version):
                self._republish(name, version)
            return
        if time.monotonic() < self.next_try.get(name, 0.0):
            return
        self._try_restart(name, version)

    def observe(self, name: str) -> None:
        """Record what the platform says of `name`'s pods (it restarts them itself)."""
        state = self.service.state
        live = state.deployment_row(name)["live_version"]
        if live is None:
            return
        trouble = self.service.backend.health(self.service._version(state.version_row(name, live)))
        health = state.health(name)
        if trouble is not None:
            state.set_health(name, *trouble)
        elif health and health["state"] in ("restarting", "crashed"):
            state.set_health(name, "live", "The platform restarted it; it is ready again.")

    def _try_restart(self, name: str, version: Version) -> None:
        state, log = self.service.state, BuildLog(self.service.state, f"restart-{name}")
        last = _last_lines(self.service.backend.service_logs(version))
        failures = self.failures.get(name, 0)
        if failures < GIVE_UP:
            state.set_health(name, "restarting", f"The model service exited. Last lines:\n{last}")
        log(f"version {version.version} is not running: restarting (attempt {failures + 1})")
        try:
            restart(self.service, version, log)
        except Exception as error:
            failures += 1
            self.failures[name] = failures
            wait = self.backoff * BACKOFF[min(failures - 1, len(BACKOFF) - 1)]
            self.next_try[name] = time.monotonic() + wait
            log(f"restart failed: {error}")
            if failures >= GIVE_UP:
                state.set_health(
                    name,
                    "crashed",
                    f"The model service keeps exiting ({failures} restarts failed: {error}). "
                    f"Last lines:\n{_last_lines(self.service.backend.service_logs(version))}",
                )
            return
        self.failures.pop(name, None)
        self.next_try.pop(name, None)
        log(f"version {version.version} restarted on port {version.port}")
        state.set_health(name, "live", f"Restarted after its process exited. Last lines:\n{last}")

    def _republish(self, name: str, version: Version) -> None:
        """The platform restarted the process (e.g. a Docker restart policy): reopen the
        stable port once it is ready."""
        log = BuildLog(self.service.state, f"restart-{name}")
        last = _last_lines(self.service.backend.service_logs(version))
        self.service.state.set_health(
            name, "restarting", f"The platform restarts the process. Last lines:\n{last}"
        )
        self.service.pipeline.wait_ready(version, log)
        self.service.backend.publish(version, log)
        self.service.state.update_version(name, version.version, handle=version.handle)
        self.service.state.set_health(name, "live", "Restarted by the platform.")


def _last_lines(text: str) -> str:
    return "\n".join(text.splitlines()[-LAST_LINES:]) or "(no output)"
