"""The build service's operations, with no HTTP in them: the web app is a thin door into these.

Builds for one name run in order on that name's queue; different names run in parallel. On
start-up, builds left unfinished by a dead builder are failed with the reason, and each live
version is re-adopted when its process still serves, or restarted when it does not.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from jupyter_deploy.builder.backends.base import Backend, Version
from jupyter_deploy.builder.bundles import unpack
from jupyter_deploy.builder.pipeline import BuildLog, Pipeline, version_from_row
from jupyter_deploy.builder.state import State
from jupyter_deploy.errors import Conflict, InvalidRequest, NotFound, VersionNotFound
from jupyter_deploy.wire import FINAL_PHASES, Json, check_name

BUSY_WAIT = 30.0  # seconds a delete waits for the name's current build (or drain) to end


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _enable_request_migration() -> str:
    """Let connections queued on a closing listener move to its SO_REUSEPORT sibling."""
    path = Path("/proc/sys/net/ipv4/tcp_migrate_req")
    try:
        if path.read_text().strip() != "1":
            path.write_text("1\n")
        return "tcp_migrate_req is on: a retiring version's queued connections move over"
    except OSError as error:
        why = error.strerror or type(error).__name__
        return f"could not turn on net.ipv4.tcp_migrate_req ({why}); switches rely on draining"


class BuildService:
    """Builds, deployments, rollbacks and deletes over one backend and one state folder."""

    def __init__(self, state_dir: Path, backend: Backend) -> None:
        self.state = State(state_dir)
        self.backend = backend
        self.pipeline = Pipeline(self.state, backend)
        self.lock = threading.Lock()
        self.queues: dict[str, deque[tuple[str, Version, bool]]] = {}
        self.running: dict[str, bool] = {}
        self.notes = [_enable_request_migration()]

    # --- start-up ------------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Fail interrupted builds; re-adopt or restart live versions. What was done, in lines."""
        notes = list(self.notes)
        for build in self.state.unfinished_builds():
            phase = build["phase"]
            row = self.state.version_row(build["name"], build["version"])
            version = self._version(row)
            if build["kind"] == "build" and self.backend.is_running(version):
                self.backend.stop(version, BuildLog(self.state, build["id"]))
            if build["kind"] == "build":
                self.state.update_version(build["name"], build["version"], status="failed")
            self.state.fail(build["id"], phase, f"The build service restarted during {phase}.")
            notes.append(f"build {build['id']} ({build['name']}) failed: restarted during {phase}")
        for name in self.state.deployment_names():
            notes.append(self._readopt(name))
        return notes

    def _readopt(self, name: str) -> str:
        deployment = self.state.deployment_row(name)
        live = deployment["live_version"]
        if live is None:
            return f"{name}: nothing live"
        version = self._version(self.state.version_row(name, live))
        if self.backend.is_running(version):
            return f"{name}: version {live} still serves, re-adopted"
        log = BuildLog(self.state, f"restart-{name}")
        version.port = free_port()
        self.backend.prepare(version, log)
        self.backend.start(version, log)
        self.pipeline.wait_ready(version, log)
        self.backend.publish(version, log)
        self.state.update_version(name, live, port=version.port, handle=version.handle)
        return f"{name}: version {live} was gone, restarted"

    # --- builds ----------------------------------------------------------------------------------

    def create_build(self, name: str | None, tarball: bytes) -> Json:
        """Unpack and queue a new version of `name`; the queued Build."""
        name = check_name(name)
        with self.lock:
            public_port = self.state.ensure_deployment(name, free_port())
            number = self.state.next_version(name)
            bundle_dir = self.state.root / "bundles" / name / f"v{number}"
            if bundle_dir.exists():
                shutil.rmtree(bundle_dir)
            sha = unpack(tarball, bundle_dir)
            build = self.state.new_build(name, number, "build")
            self.state.add_version(name, number, build["id"], bundle_dir, sha)
            version = Version(name, number, bundle_dir, sha, free_port(), public_port)
            self._enqueue(name, build["id"], version, fresh=True)
        return build

    def rollback(self, name: str, target: int | None = None) -> Json:
        """Serve an earlier version again (the one before the live one, or `target`)."""
        deployment = self.state.deployment_row(name)
        live = deployment["live_version"]
        rows = [r for r in self.state.versions(name) if r["status"] in ("live", "retired")]
        if target is None:
            earlier = [r for r in rows if live is None or r["version"] < live]
            if not earlier:
                raise Conflict(f"{name} has no earlier version to roll back to.")
            row = earlier[-1]
        else:
            if not isinstance(target, int) or isinstance(target, bool):
                raise InvalidRequest('Send {"version": N} with N a version number, or {}.')
            matches = [r for r in rows if r["version"] == target]
            if not matches:
                raise VersionNotFound(f"{name} has no version {target} that was ever live.")
            row = matches[0]
        with self.lock:
            build = self.state.new_build(name, int(row["version"]), "rollback")
            version = self._version(row)
            version.port = free_port()
            version.handle = {k: v for k, v in version.handle.items() if k == "python"}
            self._enqueue(name, build["id"], version, fresh=False)
        return build

    def delete(self, name: str) -> None:
        """Stop every version of `name` and forget it."""
        self.state.deployment_row(name)
        deadline = time.monotonic() + BUSY_WAIT
        while True:
            with self.lock:
                if not (self.running.get(name) or self.queues.get(name)):
                    self.running[name] = True
                    break
            if time.monotonic() > deadline:
                raise Conflict(f"{name} has a build running: delete it when the build finishes.")
            time.sleep(0.05)
        try:
            log = BuildLog(self.state, f"delete-{name}")
            for row in self.state.versions(name):
                version = self._version(row)
                if self.backend.is_running(version):
                    self.backend.stop(version, log)
            self.backend.remove(name, log)
            self.state.forget(name)
            shutil.rmtree(self.state.root / "bundles" / name, ignore_errors=True)
            shutil.rmtree(self.state.root / "traffic" / name, ignore_errors=True)
        finally:
            with self.lock:
                self.running.pop(name, None)

    def _enqueue(self, name: str, build_id: str, version: Version, fresh: bool) -> None:
        self.queues.setdefault(name, deque()).append((build_id, version, fresh))
        if not self.running.get(name):
            self.running[name] = True
            threading.Thread(target=self._drain, args=(name,), daemon=True).start()

    def _drain(self, name: str) -> None:
        """Run `name`'s queued builds one after another, then stop."""
        while True:
            with self.lock:
                queue = self.queues.get(name)
                if not queue:
                    self.running[name] = False
                    self.queues.pop(name, None)
                    return
                build_id, version, fresh = queue.popleft()
            self.pipeline.run(build_id, version, self._live(name), fresh)

    # --- reading -------------------------------------------------------------------------

    def build(self, build_id: str) -> Json:
        """One Build."""
        return self.state.build(build_id)

    def logs(self, build_id: str, offset: int) -> Json:
        """Build log text from byte `offset` on."""
        build = self.state.build(build_id)
        path = self.state.log_path(build_id)
        data = b""
        if path.is_file():
            with open(path, "rb") as file:
                file.seek(max(0, offset))
                data = file.read(1 << 20)
        text = data.decode("utf-8", errors="ignore")
        consumed = len(text.encode())
        complete = build["phase"] in FINAL_PHASES and len(data) < (1 << 20)
        return {
            "offset": offset,
            "next_offset": offset + consumed,
            "text": text,
            "complete": complete,
        }

    def deployments(self) -> list[Json]:
        """Every deployment."""
        return [self.deployment(name) for name in self.state.deployment_names()]

    def deployment(self, name: str) -> Json:
        """One deployment: stable URL, status, live version and history."""
        row = self.state.deployment_row(name)
        builds = self.state.builds_of(name)
        live = row["live_version"]
        url = self.backend.stable_url(name, int(row["public_port"]))
        latest = builds[-1] if builds else None
        if latest and latest["phase"] not in FINAL_PHASES:
            status = "building"
        elif live is not None:
            status = "live"
        else:
            status = "failed" if latest else "stopped"
        live_build = next(
            (b["id"] for b in reversed(builds) if b["version"] == live and b["phase"] == "live"),
            None,
        )
        return {
            "name": name,
            "url": url if live is not None else None,
            "status": status,
            "live_version": live,
            "live_build": live_build,
            "latest_build": latest["id"] if latest else None,
            "openapi_url": f"{url}/openapi.json" if live is not None else None,
            "versions": [
                {
                    "version": r["version"],
                    "build_id": r["build_id"],
                    "status": r["status"],
                    "created_at": r["created_at"],
                }
                for r in self.state.versions(name)
            ],
        }

    def live_file(self, name: str, relative: str) -> Path:
        """A file of the live version's bundle (e.g. predict.py); stays inside the bundle."""
        row = self.state.deployment_row(name)
        if row["live_version"] is None:
            raise NotFound(f"{name} has no live version yet.")
        bundle = Path(self.state.version_row(name, row["live_version"])["bundle_dir"]).resolve()
        target = (bundle / relative).resolve()
        if not target.is_relative_to(bundle) or not target.is_file():
            raise NotFound(f"The live version of {name} has no file {relative!r}.")
        return target

    def _live(self, name: str) -> Version | None:
        row = self.state.deployment_row(name)
        if row["live_version"] is None:
            return None
        return self._version(self.state.version_row(name, row["live_version"]))

    def _version(self, row: Any) -> Version:
        public = int(self.state.deployment_row(row["name"])["public_port"])
        return version_from_row(row, public)

    def stop_all(self) -> None:
        """Stop every model service this build service runs (their state stays for a restart)."""
        for name in self.state.deployment_names():
            for row in self.state.versions(name):
                version = self._version(row)
                if self.backend.is_running(version):
                    self.backend.stop(version, BuildLog(self.state, f"stop-{name}"))

    def close(self) -> None:
        """Release the database (model services keep running)."""
        self.state.close()


__all__ = ["BuildService", "free_port"]
