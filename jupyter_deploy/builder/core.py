"""The build service's operations, with no HTTP in them: the web app is a thin door into these.

Builds for one name run in order on that name's queue; different names run in parallel. One
name is busy with one thing at a time: its queue of builds, a delete, or a supervisor restart
(`claim`/`release`); a push or rollback that arrives while the name is being deleted gets 409,
and a worker thread never dies (any exception fails that build with the reason and the next
build runs). Bundles are unpacked, within `Limits`, before the service-wide lock is taken.
Start-up recovery and supervision of live versions are in `supervisor.py`.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from jupyter_deploy.builder.access import Audit
from jupyter_deploy.builder.backends.base import Backend, Version
from jupyter_deploy.builder.bundles import Limits, unpack
from jupyter_deploy.builder.keys import Keys
from jupyter_deploy.builder.pipeline import BuildLog, Pipeline, free_port, version_from_row
from jupyter_deploy.builder.state import State
from jupyter_deploy.errors import Conflict, InvalidRequest, NotFound, VersionNotFound
from jupyter_deploy.wire import FINAL_PHASES, Json, check_name

TROUBLE = ("restarting", "crashed", "failed")
"""Health states that replace `live` as a deployment's status."""

BUSY_WAIT = 30.0  # seconds a delete waits for the name's current build (or drain) to end


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

    def __init__(self, state_dir: Path, backend: Backend, limits: Limits | None = None) -> None:
        self.state = State(state_dir)
        for leftover in (self.state.root / "tmp").iterdir():  # uploads a dead builder left
            shutil.rmtree(leftover, ignore_errors=True)
        self.backend = backend
        self.keys = Keys(self.state)
        self.audit = Audit(self.state)
        self.pipeline = Pipeline(self.state, backend)
        self.limits = limits or Limits()
        self.lock = threading.Lock()
        self.queues: dict[str, deque[tuple[str, Version, bool]]] = {}
        self.running: dict[str, bool] = {}
        self.deleting: set[str] = set()
        self.notes = [_enable_request_migration()]
        self.split_guard: Callable[[str, str], AbstractContextManager[object]] = _no_guard
        """Around a change of the live version (a key or secret change restarts it, a rollback
        replaces it): refuses it while a canary or shadow runs or is being started (set by
        rollout.Rollouts)."""

    # --- start-up ------------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Fail interrupted builds; re-adopt or restart live versions. What was done, in lines."""
        from jupyter_deploy.builder.supervisor import recover

        return [*self.notes, *recover(self)]

    # --- one thing at a time per name ----------------------------------------------------------

    def claim(self, name: str) -> bool:
        """Take `name` for a delete or a restart; False when a build or delete has it."""
        with self.lock:
            if self.running.get(name) or self.queues.get(name) or name in self.deleting:
                return False
            self.running[name] = True
            return True

    def release(self, name: str) -> None:
        """Give `name` back; builds queued meanwhile start now."""
        with self.lock:
            self.running[name] = False
            if self.queues.get(name):
                self._start_worker(name)
            else:
                self.running.pop(name, None)

    def _refuse_if_deleting(self, name: str) -> None:
        if name in self.deleting:
            raise Conflict(f"{name} is being deleted: push again once the delete has finished.")

    # --- builds ----------------------------------------------------------------------------------

    def create_build(self, name: str | None, tarball: bytes, actor: str = "admin") -> Json:
        """Unpack and queue a new version of `name`; the queued Build."""
        name = check_name(name)
        with self.lock:
            self._refuse_if_deleting(name)
        unpacked = self.state.root / "tmp" / uuid.uuid4().hex
        try:
            sha = unpack(tarball, unpacked, self.limits)  # off the lock: it can take a while
            with self.lock:
                self._refuse_if_deleting(name)
                public_port = self.state.ensure_deployment(name, free_port())
                number = self.state.next_version(name)
                bundle_dir = self.state.root / "bundles" / name / f"v{number}"
                if bundle_dir.exists():
                    shutil.rmtree(bundle_dir)
                bundle_dir.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                unpacked.rename(bundle_dir)
                build = self.state.new_build(name, number, "build", (bundle_dir, sha))
                version = Version(name, number, bundle_dir, sha, free_port(), public_port)
                self._enqueue(name, build["id"], version, fresh=True)
        finally:
            shutil.rmtree(unpacked, ignore_errors=True)
        self.audit.record(actor, "push", name, number, f"build {build['id']}")
        return build

    def rollback(self, name: str, target: int | None = None, actor: str = "admin") -> Json:
        """Serve an earlier version again (the one before the live one, or `target`); refused
        while a canary or shadow runs or its build is under way."""
        with self.split_guard(name, "a rollback"):
            return self._rollback(name, target, actor)

    def _rollback(self, name: str, target: int | None, actor: str) -> Json:
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
            self._refuse_if_deleting(name)
            build = self.state.new_build(name, int(row["version"]), "rollback")
            version = self._version(row)
            version.port = free_port()
            version.handle = {k: v for k, v in version.handle.items() if k == "python"}
            self._enqueue(name, build["id"], version, fresh=False)
        self.audit.record(actor, "rollback", name, int(row["version"]), f"build {build['id']}")
        return build

    def restart(self, name: str, actor: str, why: str) -> Json | None:
        """Start the live version again (a new environment, no rebuild) through the pipeline:
        the old process serves until the new one passed its smoke test. None if none is live."""
        live = self.state.deployment_row(name)["live_version"]
        if live is None:
            return None
        with self.lock:
            self._refuse_if_deleting(name)
            build = self.state.new_build(name, int(live), "restart")
            version = self._version(self.state.version_row(name, live))
            version.port = free_port()
            version.handle = {k: v for k, v in version.handle.items() if k in ("python", "image")}
            self._enqueue(name, build["id"], version, fresh=False)
        self.audit.record(actor, "restart", name, int(live), f"{why}; build {build['id']}")
        return build

    # --- keys and secrets (each change restarts the live version) --------------------------

    def create_key(self, name: str, label: str, actor: str) -> Json:
        """A new API key for `name` (shown once); the live version restarts with it."""
        with self.split_guard(name, "creating an API key"):
            key = self.keys.create(name, label)
            self.audit.record(actor, "key created", name, None, f"key {key['id']} {label}".strip())
            return {**key, "restart": self.restart(name, actor, f"key {key['id']} created")}

    def revoke_key(self, name: str, key_id: str, actor: str) -> Json | None:
        """Revoke a key; the live version restarts without it."""
        with self.split_guard(name, f"revoking key {key_id}"):
            self.keys.revoke(name, key_id)
            self.audit.record(actor, "key revoked", name, None, f"key {key_id}")
            return self.restart(name, actor, f"key {key_id} revoked")

    def set_secret(self, name: str, key: str, value: str, actor: str) -> Json | None:
        """Set a secret (never logged); the live version restarts with it."""
        with self.split_guard(name, f"setting secret {key}"):
            self.keys.set_secret(name, key, value)
            self.audit.record(actor, "secret set", name, None, key)
            return self.restart(name, actor, f"secret {key} set")

    def unset_secret(self, name: str, key: str, actor: str) -> Json | None:
        """Remove a secret; the live version restarts without it."""
        with self.split_guard(name, f"removing secret {key}"):
            self.keys.unset_secret(name, key)
            self.audit.record(actor, "secret removed", name, None, key)
            return self.restart(name, actor, f"secret {key} removed")

    def delete(self, name: str, actor: str = "admin") -> None:
        """Stop every version of `name` and forget it (pushes meanwhile get 409)."""
        self.state.deployment_row(name)
        deadline = time.monotonic() + BUSY_WAIT
        while True:
            with self.lock:
                if name in self.deleting:
                    raise Conflict(f"{name} is already being deleted.")
                if not (self.running.get(name) or self.queues.get(name)):
                    self.running[name] = True
                    self.deleting.add(name)
                    break
            if time.monotonic() > deadline:
                raise Conflict(f"{name} has a build running: delete it when the build finishes.")
            time.sleep(0.05)
        try:
            self.state.deployment_row(name)  # still there (not deleted while we waited)
            log = BuildLog(self.state, f"delete-{name}")
            for row in self.state.versions(name):
                version = self._version(row)
                if self.backend.is_running(version):
                    self.backend.stop(version, log)
            self.backend.remove(name, log)
            self.state.forget(name)
            shutil.rmtree(self.state.root / "bundles" / name, ignore_errors=True)
            shutil.rmtree(self.state.root / "traffic" / name, ignore_errors=True)
            self.audit.record(actor, "delete", name)
        finally:
            with self.lock:
                self.deleting.discard(name)
            self.release(name)

    def _enqueue(self, name: str, build_id: str, version: Version, fresh: bool) -> None:
        """Queue a build (call with the lock held); start the name's worker when idle."""
        self.queues.setdefault(name, deque()).append((build_id, version, fresh))
        if not self.running.get(name):
            self.running[name] = True
            self._start_worker(name)

    def _start_worker(self, name: str) -> None:
        threading.Thread(target=self._drain, args=(name,), daemon=True).start()

    def _drain(self, name: str) -> None:
        """Run `name`'s queued builds one after another, then stop; never dies on an error."""
        while True:
            with self.lock:
                queue = self.queues.get(name)
                if not queue:
                    self.queues.pop(name, None)
                    self.running.pop(name, None)
                    return
                build_id, version, fresh = queue.popleft()
            try:
                version.env = self.keys.environment(name)
                self.pipeline.run(build_id, version, self._live(name), fresh)
            except Exception as error:  # e.g. the disk filled up: this build fails, not the name
                self._fail_quietly(build_id, error)

    def _fail_quietly(self, build_id: str, error: Exception) -> None:
        message = f"The build service could not run this build: {error or type(error).__name__}"
        try:
            phase = self.state.build(build_id)["phase"]
            if phase not in ("live", "failed"):
                self.state.fail(build_id, phase, message, version_status="failed")
        except Exception:
            pass  # nothing more can be recorded; the next build still runs

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
        health = self.state.health(name)
        if latest and latest["phase"] not in FINAL_PHASES:
            status = "building"
        elif live is not None and health and health["state"] in TROUBLE:
            status = health["state"]
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
            "health": health,
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


def _no_guard(name: str, change: str) -> AbstractContextManager[object]:
    """No split can run (a build service without its rollout stage): every change may go."""
    return nullcontext()
