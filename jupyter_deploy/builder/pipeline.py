"""The one build pipeline, for every backend.

    prepare -> start (private port) -> wait for /readyz -> smoke test with the example
            -> publish (the stable URL serves the new version) -> stop the old version -> live

A failure anywhere stops the new version and leaves the old one serving. Rollbacks run the
same steps from `start` on, with a kept bundle of an earlier version. A build that asked for a
canary or shadow (builder/rollout.py) ends in a split instead of a full switch: at the switch
step (`split`), or, where the platform splits the traffic itself (Kubernetes), at the start
step (`split_start`: the new version starts as the canary).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import requests

from jupyter_deploy.builder import golden
from jupyter_deploy.builder.backends.base import Backend, Version
from jupyter_deploy.builder.keys import probe_headers
from jupyter_deploy.builder.state import State
from jupyter_deploy.errors import BuildFailed

READY_TIMEOUT = 120.0
SplitHook = Callable[[str, Version, Version | None, Callable[[str], None]], bool]


def free_port(avoid: frozenset[int] = frozenset()) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, and not one of `avoid`."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port


class BuildLog:
    """Appends timestamped lines to a build's log file."""

    def __init__(self, state: State, build_id: str) -> None:
        self.path = state.log_path(build_id)
        self.started = time.monotonic()

    def __call__(self, line: str) -> None:
        """Write one line."""
        elapsed = time.monotonic() - self.started
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with open(fd, "a", encoding="utf-8") as out:
            for part in str(line).splitlines() or [""]:
                out.write(f"[{elapsed:6.2f}s] {part}\n")


class Pipeline:
    """Runs builds and rollbacks through a backend, recording phases in the state."""

    def __init__(
        self, state: State, backend: Backend, ready_timeout: float = READY_TIMEOUT
    ) -> None:
        self.state = state
        self.backend = backend
        self.ready_timeout = ready_timeout
        self.split: SplitHook | None = None
        """The traffic stage (builder/rollout.py): True when it started a canary or shadow."""
        self.split_start: SplitHook | None = None
        """For backends that split traffic themselves: True when it started the version as a
        canary beside the live one (instead of `backend.start`)."""

    def run(self, build_id: str, version: Version, old: Version | None, fresh: bool) -> None:
        """Take a queued build to live or failed; never raises."""
        log = BuildLog(self.state, build_id)
        phase = "building"
        started = False
        try:
            if fresh:
                self.state.set_phase(build_id, "building")
                log(
                    f"building {version.deployment} version {version.version} ({self.backend.name})"
                )
                self.backend.prepare(version, log)
            phase = "starting"
            self.state.set_phase(build_id, "starting")
            if fresh:  # a port picked now: one picked when the build was queued may be taken
                version.port = free_port(self.state.public_ports())
            self._save(version, old)  # its port first: a builder killed while it starts knows it
            if self.split_start is None or not self.split_start(build_id, version, old, log):
                self.backend.start(version, log)
            started = True
            self._save(version, old)
            if not self.backend.checks_itself:
                self.wait_ready(version, log)
            phase = "testing"
            self.state.set_phase(build_id, "testing")
            if not self.backend.checks_itself:
                self.smoke_test(version, log)
            phase = "live"
            if self.split is not None and self.split(build_id, version, old, log):
                return
            self.backend.publish(version, log)
            version.handle["published"] = True  # a builder restarted now finishes the switch
            self._save(version, old, switched=True)
            if old is not None and old.port != version.port:
                self.backend.begin_stop(old)  # the stable URL now reaches the new version only
            url = self.backend.stable_url(version.deployment, version.public_port)
            log(f"live at {url}")
            self.state.go_live(build_id, version.deployment, version.version, url)
        except Exception as error:  # any failure fails the build, never the builder
            self._failed(build_id, version, phase, error, started, log)
            if old is not None and old.version == version.version:  # a restart: the old serves
                self.state.update_version(
                    old.deployment, old.version, port=old.port, handle=old.handle, status="live"
                )
            return
        self.retire(old, version, log)

    def retire(self, old: Version | None, new: Version, log: Callable[[str], None]) -> None:
        """Drain and stop the version the new one replaced (once the new one is live)."""
        if old is None or old.port == new.port:
            return
        log(f"draining version {old.version} (port {old.port})")
        try:
            self.backend.stop(old, log)
        except Exception as error:  # the new version serves either way
            log(f"could not stop version {old.version}: {error}")
        if old.version != new.version:
            self.state.update_version(old.deployment, old.version, handle=old.handle)
        else:  # a restart: the row forgets the old process now that it has stopped
            self._save(new)

    def wait_ready(self, version: Version, log: Callable[[str], None]) -> None:
        """Poll /readyz until 200; fail fast when the service dies or cannot load predict.py."""
        url = f"{self.backend.private_url(version)}/readyz"
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            try:
                answer = requests.get(url, timeout=2)
                if answer.status_code == 200:
                    log("the model service is ready")
                    return
                if answer.status_code == 503 and "load_failed" in answer.text:
                    raise BuildFailed(f"{answer.json().get('message')}")
            except requests.RequestException:
                pass
            if not self.backend.is_running(version):
                raise BuildFailed("The model service exited while starting.")
            time.sleep(0.05)
        raise BuildFailed(f"The model service was not ready within {self.ready_timeout:.0f} s.")

    def smoke_test(self, version: Version, log: Callable[[str], None]) -> None:
        """POST the example input to /predict (anything but 200 fails the build), then replay
        the notebook's golden cases (builder/golden.py)."""
        metadata = json.loads((version.bundle_dir / "deploy.json").read_text())
        headers = probe_headers(version.env)  # the build service's own key, if any
        example = metadata.get("example")
        if example is None:
            log("no example input in deploy.json: smoke test skipped")
            golden.replay(metadata, self.backend.private_url(version), log, headers)
            return
        url = f"{self.backend.private_url(version)}/predict"
        answer = requests.post(url, json=example, headers=headers, timeout=60)
        if answer.status_code != 200:
            raise BuildFailed(
                f"The smoke test with the example input got {answer.status_code}: "
                f"{answer.text[:300]}"
            )
        log(f"smoke test: {json.dumps(example)[:200]} -> {answer.text[:200]}")
        golden.replay(metadata, self.backend.private_url(version), log, headers)

    def _save(self, version: Version, old: Version | None = None, switched: bool = False) -> None:
        """Record the version's process. A restart (the same version as `old`) shares the live
        row: before the switch the row keeps the old process and notes the new one `pending`;
        after it, the new one with the old one as `previous`, so a builder killed in between
        knows both processes."""
        port, handle = version.port, version.handle
        if old is not None and old.version == version.version:
            if switched:
                handle = {**handle, "previous": {"port": old.port, "handle": old.handle}}
            else:
                pending = {"port": version.port, "handle": version.handle}
                port, handle = old.port, {**old.handle, "pending": pending}
        self.state.update_version(version.deployment, version.version, port=port, handle=handle)

    def _failed(
        self,
        build_id: str,
        version: Version,
        phase: str,
        error: Exception,
        started: bool,
        log: Callable[[str], None],
    ) -> None:
        message = str(error) or type(error).__name__
        log(f"failed while {phase}: {message}")
        if started:
            service = self.backend.service_logs(version)
            if service:
                log("--- the model service's output ---")
                log(service)
            try:
                self.backend.stop(version, log)
            except Exception as stop_error:
                log(f"could not stop version {version.version}: {stop_error}")
        if phase == "live":
            phase = "starting"
        self.state.fail(
            build_id,
            phase,
            f"{message} The previous version, if any, still serves.",
            version_status="failed",
        )


def version_from_row(row: Any, public_port: int) -> Version:
    """A Version from its database row."""
    from pathlib import Path

    return Version(
        deployment=row["name"],
        version=int(row["version"]),
        bundle_dir=Path(row["bundle_dir"]),
        requirements_sha256=row["requirements_sha256"],
        port=int(row["port"] or 0),
        public_port=public_port,
        handle=json.loads(row["handle"] or "{}"),
    )
