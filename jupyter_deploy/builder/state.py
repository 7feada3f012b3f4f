"""Durable state of the build service: builds, versions and deployments in SQLite.

One connection guarded by a lock (the pipeline's worker threads and the web app share it);
every write commits at once, so a builder killed with SIGKILL loses nothing it answered, and
what changes together (a failed build's phase and its error, a version going live and its
build) is one transaction, so a reader never sees half of it. Build logs are plain files
beside the database (`logs/<build id>.log`). The folder is 0700 and its files 0600: bundles
hold pickled models and the database holds keys.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jupyter_deploy.errors import (
    BuildNotFound,
    DeploymentNotFound,
    InsufficientStorage,
    VersionNotFound,
)
from jupyter_deploy.wire import FINAL_PHASES, Json

SCHEMA = """
CREATE TABLE IF NOT EXISTS deployments (
    name TEXT PRIMARY KEY, public_port INTEGER NOT NULL, live_version INTEGER,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL, version INTEGER NOT NULL, build_id TEXT NOT NULL,
    status TEXT NOT NULL, created_at TEXT NOT NULL, bundle_dir TEXT NOT NULL,
    requirements_sha256 TEXT NOT NULL, port INTEGER, handle TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS health (
    name TEXT PRIMARY KEY, state TEXT NOT NULL, message TEXT, restarts INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, secret TEXT NOT NULL, label TEXT NOT NULL,
    internal INTEGER NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS secrets (
    name TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (name, key)
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, token TEXT NOT NULL,
    action TEXT NOT NULL, deployment TEXT NOT NULL, version INTEGER, detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS builds (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL, kind TEXT NOT NULL,
    phase TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    finished_at TEXT, phases TEXT NOT NULL, error TEXT, url TEXT, seq INTEGER NOT NULL
);
"""


def now() -> str:
    """The current time, ISO 8601 UTC."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class State:
    """The builder's database and log files under one state folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        root.chmod(0o700)
        for folder in ("logs", "bundles", "tmp"):
            (root / folder).mkdir(exist_ok=True, mode=0o700)
        database = root / "builder.sqlite3"
        os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))
        database.chmod(0o600)
        self.lock = threading.RLock()
        self.db = sqlite3.connect(database, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        with self.lock:
            self.db.executescript(SCHEMA)
            self.db.execute("PRAGMA journal_mode=WAL")

    def close(self) -> None:
        """Close the database."""
        with self.lock:
            self.db.close()

    def _write(self, sql: str, *args: Any) -> None:
        self._transaction([(sql, args)])

    def _transaction(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Run `statements` as one transaction: all of them are seen, or none."""
        with self.lock:
            try:
                with self.db:  # commits, or rolls back on an error
                    for sql, args in statements:
                        self.db.execute(sql, args)
            except sqlite3.OperationalError as error:
                if "full" in str(error):
                    raise InsufficientStorage(
                        "The build service's disk is full: nothing was recorded. Free space "
                        "in its state folder."
                    ) from None
                raise

    def _rows(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self.lock:
            return list(self.db.execute(sql, args).fetchall())

    # --- builds ----------------------------------------------------------------------------

    def new_build(
        self, name: str, version: int, kind: str, bundle: tuple[Path, str] | None = None
    ) -> Json:
        """Record a queued build (and, for a new version, its version row: one transaction)."""
        stamp = now()
        build_id = uuid.uuid4().hex[:12]
        phases = [{"phase": "queued", "started_at": stamp, "finished_at": None}]
        with self.lock:
            seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM builds").fetchone()[0]
            statements: list[tuple[str, tuple[Any, ...]]] = [
                (
                    "INSERT INTO builds VALUES "
                    "(?, ?, ?, ?, 'queued', ?, ?, NULL, ?, NULL, NULL, ?)",
                    (build_id, name, version, kind, stamp, stamp, json.dumps(phases), seq),
                )
            ]
            if bundle is not None:
                statements.append(
                    (
                        "INSERT INTO versions VALUES (?, ?, ?, 'building', ?, ?, ?, NULL, '{}')",
                        (name, version, build_id, stamp, str(bundle[0]), bundle[1]),
                    )
                )
            self._transaction(statements)
        return self.build(build_id)

    def build(self, build_id: str) -> Json:
        """One build as the API shows it."""
        rows = self._rows("SELECT * FROM builds WHERE id = ?", build_id)
        if not rows:
            raise BuildNotFound(f"No build {build_id!r}: list builds with GET /v1/deployments.")
        row = rows[0]
        return {
            "id": row["id"],
            "name": row["name"],
            "version": row["version"],
            "kind": row["kind"],
            "phase": row["phase"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "finished_at": row["finished_at"],
            "phases": json.loads(row["phases"]),
            "error": json.loads(row["error"]) if row["error"] else None,
            "url": row["url"],
        }

    def set_phase(self, build_id: str, phase: str, url: str | None = None) -> None:
        """Move a build to `phase` (closing the previous phase's timing)."""
        with self.lock:
            self._transaction([self._phase_sql(build_id, phase, url)])

    def _phase_sql(
        self, build_id: str, phase: str, url: str | None = None, error: Json | None = None
    ) -> tuple[str, tuple[Any, ...]]:
        """The UPDATE that moves a build to `phase` (call with the lock held)."""
        build = self.build(build_id)
        stamp = now()
        phases = build["phases"]
        if phases and phases[-1]["finished_at"] is None:
            phases[-1]["finished_at"] = stamp
        finished = stamp if phase in FINAL_PHASES else None
        if phase != "failed":
            phases.append({"phase": phase, "started_at": stamp, "finished_at": finished})
        sql = (
            "UPDATE builds SET phase = ?, updated_at = ?, finished_at = ?, phases = ?, "
            "url = COALESCE(?, url), error = COALESCE(?, error) WHERE id = ?"
        )
        stored = json.dumps(error) if error is not None else None
        return sql, (phase, stamp, finished, json.dumps(phases), url, stored, build_id)

    def fail(
        self, build_id: str, phase: str, message: str, version_status: str | None = None
    ) -> None:
        """Mark a build failed during `phase` with what to do about it, and its version
        `version_status` (e.g. failed), in one transaction."""
        with self.lock:
            error = {"phase": phase, "message": message}
            statements = [self._phase_sql(build_id, "failed", error=error)]
            if version_status is not None:
                build = self.build(build_id)
                statements.append(
                    (
                        "UPDATE versions SET status = ? WHERE name = ? AND version = ?",
                        (version_status, build["name"], build["version"]),
                    )
                )
            self._transaction(statements)

    def go_live(self, build_id: str, name: str, version: int, url: str) -> None:
        """`version` is now live (the previous live one retired) and its build says so."""
        with self.lock:
            self._transaction(
                [*self._live_sql(name, version), self._phase_sql(build_id, "live", url=url)]
            )

    def set_live(self, name: str, version: int) -> None:
        """`version` is now live, the previous live one retired (a promoted canary)."""
        with self.lock:
            self._transaction(self._live_sql(name, version))

    @staticmethod
    def _live_sql(name: str, version: int) -> list[tuple[str, tuple[Any, ...]]]:
        return [
            ("UPDATE versions SET status = 'retired' WHERE name = ? AND status = 'live'", (name,)),
            ("UPDATE versions SET status = 'live' WHERE name = ? AND version = ?", (name, version)),
            ("UPDATE deployments SET live_version = ? WHERE name = ?", (version, name)),
            ("DELETE FROM health WHERE name = ?", (name,)),
        ]

    def unfinished_builds(self) -> list[Json]:
        """Builds that were queued or running (e.g. when the builder was killed)."""
        rows = self._rows(
            "SELECT id FROM builds WHERE phase NOT IN ('live', 'failed') ORDER BY seq"
        )
        return [self.build(row["id"]) for row in rows]

    def log_path(self, build_id: str) -> Path:
        """Where a build's log is written."""
        return self.root / "logs" / f"{build_id}.log"

    # --- deployments and versions ------------------------------------------------------------

    def ensure_deployment(self, name: str, public_port: int) -> int:
        """The deployment's stable port (recorded at its first build)."""
        with self.lock:
            row = self.db.execute(
                "SELECT public_port FROM deployments WHERE name = ?", (name,)
            ).fetchone()
            if row:
                return int(row[0])
            self._write("INSERT INTO deployments VALUES (?, ?, NULL, ?)", name, public_port, now())
            return public_port

    def next_version(self, name: str) -> int:
        """The number the next build of `name` gets."""
        rows = self._rows("SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE name = ?", name)
        return int(rows[0][0])

    def version_row(self, name: str, version: int) -> sqlite3.Row:
        """One version's row."""
        rows = self._rows("SELECT * FROM versions WHERE name = ? AND version = ?", name, version)
        if not rows:
            raise VersionNotFound(f"{name} has no version {version}.")
        return rows[0]

    def update_version(self, name: str, version: int, **fields: Any) -> None:
        """Set columns of one version (`handle` is stored as JSON), in one transaction."""
        self._transaction(
            [
                (
                    f"UPDATE versions SET {key} = ? WHERE name = ? AND version = ?",
                    (json.dumps(value) if key == "handle" else value, name, version),
                )
                for key, value in fields.items()
            ]
        )

    def public_ports(self) -> frozenset[int]:
        """Every deployment's stable port (one nothing listens on yet is still taken)."""
        return frozenset(int(row[0]) for row in self._rows("SELECT public_port FROM deployments"))

    def deployment_row(self, name: str) -> sqlite3.Row:
        """One deployment's row; DeploymentNotFound when the builder does not know it."""
        rows = self._rows("SELECT * FROM deployments WHERE name = ?", name)
        if not rows:
            raise DeploymentNotFound(f"No deployment named {name!r} on this build service.")
        return rows[0]

    def deployment_names(self) -> list[str]:
        """Every deployment, by name."""
        return [row["name"] for row in self._rows("SELECT name FROM deployments ORDER BY name")]

    def versions(self, name: str) -> list[sqlite3.Row]:
        """A deployment's versions, oldest first."""
        return self._rows("SELECT * FROM versions WHERE name = ? ORDER BY version", name)

    def builds_of(self, name: str) -> list[Json]:
        """A deployment's builds, oldest first."""
        rows = self._rows("SELECT id FROM builds WHERE name = ? ORDER BY seq", name)
        return [self.build(row["id"]) for row in rows]

    def forget(self, name: str) -> None:
        """Remove a deployment and everything recorded about it."""
        with self.lock:
            tables = ("deployments", "versions", "builds", "health", "api_keys", "secrets")
            self._transaction([(f"DELETE FROM {t} WHERE name = ?", (name,)) for t in tables])

    # --- health (supervision and start-up recovery) ------------------------------------------

    def set_health(self, name: str, state: str | None, message: str = "") -> None:
        """Record what happened to a live deployment's process (None: it serves normally)."""
        if state is None:
            self._write("DELETE FROM health WHERE name = ?", name)
            return
        self._write(
            "INSERT INTO health VALUES (?1, ?2, ?3, (?2 = 'restarting'), ?4) ON CONFLICT(name) DO "
            "UPDATE SET "
            "state = excluded.state, message = excluded.message, updated_at = excluded.updated_at, "
            "restarts = restarts + (excluded.state = 'restarting' AND state != 'restarting')",
            name,
            state,
            message,
            now(),
        )

    def health(self, name: str) -> Json | None:
        """The deployment's recorded trouble (state, message, restarts), None when none."""
        rows = self._rows("SELECT * FROM health WHERE name = ?", name)
        if not rows:
            return None
        row = rows[0]
        return {
            "state": row["state"],
            "message": row["message"],
            "restarts": row["restarts"],
            "updated_at": row["updated_at"],
        }
