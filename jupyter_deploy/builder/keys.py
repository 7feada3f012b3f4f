"""API keys of the deployments the build service runs.

Each deployment may have keys (made here, shown once, listed masked, revocable); the builder's
own `JUPYTER_DEPLOY_API_KEYS` / `JUPYTER_DEPLOY_API_KEYS_FILE` are keys every deployment takes.
When a deployment takes any key, it also gets an internal one that only the build service
knows: the smoke test, the readiness wait and the Kubernetes probe send it, so keys never
make a build fail. Backends receive the result as environment variables (`environment`).
"""

from __future__ import annotations

import os
import re
import secrets
import uuid
from pathlib import Path

from jupyter_deploy.builder.state import State, now
from jupyter_deploy.errors import InvalidRequest, NotFound
from jupyter_deploy.wire import Json

KEYS_ENV = "JUPYTER_DEPLOY_API_KEYS"
KEYS_FILE_ENV = "JUPYTER_DEPLOY_API_KEYS_FILE"
PROBE_KEY_ENV = "JUPYTER_DEPLOY_PROBE_KEY"
"""The internal key, for the readiness probe that runs beside the model service."""


_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def check_secret_name(key: str) -> str:
    """`key` if it can name an environment variable the build service does not own."""
    if not _SECRET_NAME.fullmatch(key) or key.upper().startswith("JUPYTER_DEPLOY_"):
        raise InvalidRequest(
            f"{key!r} cannot name a secret: use letters, digits and '_' (not starting with a "
            "digit or JUPYTER_DEPLOY_), e.g. DB_PASSWORD."
        )
    return key


def service_wide_keys(env: dict[str, str] | None = None) -> list[str]:
    """Keys from the build service's own environment (every deployment takes them)."""
    env = dict(os.environ if env is None else env)
    keys = [k.strip() for k in env.get(KEYS_ENV, "").split(",")]
    if env.get(KEYS_FILE_ENV):
        keys += Path(env[KEYS_FILE_ENV]).read_text().splitlines()
    return [k.strip() for k in keys if k.strip() and not k.strip().startswith("#")]


def mask(secret: str) -> str:
    """`jdk_Ab3...` -> `jdk_Ab…x9` (enough to tell keys apart, not to use one)."""
    return f"{secret[:6]}…{secret[-2:]}"


class Keys:
    """Keys per deployment, stored in the state database (0600)."""

    def __init__(self, state: State, env: dict[str, str] | None = None) -> None:
        self.state = state
        self.shared = service_wide_keys(env)

    def create(self, name: str, label: str = "") -> Json:
        """A new key for `name`; the answer is the only place its secret appears."""
        self.state.deployment_row(name)
        key_id, secret = uuid.uuid4().hex[:8], "jdk_" + secrets.token_urlsafe(24)
        self.state._write(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, 0, ?)", key_id, name, secret, label, now()
        )
        return {**self._entry(key_id, secret, label, now()), "key": secret}

    def listed(self, name: str) -> list[Json]:
        """The deployment's keys, masked."""
        self.state.deployment_row(name)
        rows = self.state._rows(
            "SELECT * FROM api_keys WHERE name = ? AND internal = 0 ORDER BY created_at", name
        )
        return [self._entry(r["id"], r["secret"], r["label"], r["created_at"]) for r in rows]

    def revoke(self, name: str, key_id: str) -> None:
        """Forget one key (the deployment restarts without it)."""
        rows = self.state._rows(
            "SELECT id FROM api_keys WHERE name = ? AND id = ? AND internal = 0", name, key_id
        )
        if not rows:
            raise NotFound(f"{name} has no key {key_id!r}: list them with GET .../keys.")
        self.state._write("DELETE FROM api_keys WHERE id = ?", key_id)

    def internal(self, name: str) -> str:
        """The build service's own key for `name` (made on first use)."""
        with self.state.lock:
            rows = self.state._rows(
                "SELECT secret FROM api_keys WHERE name = ? AND internal = 1", name
            )
            if rows:
                return str(rows[0]["secret"])
            secret = "jdi_" + secrets.token_urlsafe(24)
            self.state._write(
                "INSERT INTO api_keys VALUES (?, ?, ?, 'internal', 1, ?)",
                uuid.uuid4().hex[:8],
                name,
                secret,
                now(),
            )
            return secret

    def own_key(self, name: str) -> str | None:
        """The build service's own key for `name` if it was ever made, else None (a model
        service that takes no key ignores one; one that takes keys was given this one)."""
        rows = self.state._rows("SELECT secret FROM api_keys WHERE name = ? AND internal = 1", name)
        return str(rows[0]["secret"]) if rows else None

    def environment(self, name: str) -> dict[str, str]:
        """What the deployment's model service gets: its keys (and secrets), as variables."""
        env = {
            row["key"]: row["value"]
            for row in self.state._rows("SELECT key, value FROM secrets WHERE name = ?", name)
        }
        managed = self.state._rows(
            "SELECT secret FROM api_keys WHERE name = ? AND internal = 0", name
        )
        keys = [*self.shared, *(r["secret"] for r in managed)]
        if keys:
            internal = self.internal(name)
            env[KEYS_ENV] = ",".join([*keys, internal])
            env[PROBE_KEY_ENV] = internal
        return env

    def set_secret(self, name: str, key: str, value: str) -> None:
        """Store a secret, given to the model service as the environment variable `key`."""
        self.state.deployment_row(name)
        check_secret_name(key)
        if not isinstance(value, str) or "\0" in value or len(value) > 64 * 1024:
            raise InvalidRequest('Send {"value": "..."}: a string of at most 64 KiB.')
        self.state._write(
            "INSERT INTO secrets VALUES (?, ?, ?, ?) ON CONFLICT(name, key) DO UPDATE SET "
            "value = excluded.value, updated_at = excluded.updated_at",
            name,
            key,
            value,
            now(),
        )

    def secrets(self, name: str) -> list[Json]:
        """The deployment's secrets: names and masked values."""
        self.state.deployment_row(name)
        rows = self.state._rows("SELECT * FROM secrets WHERE name = ? ORDER BY key", name)
        return [{"key": r["key"], "masked": "*" * 8, "updated_at": r["updated_at"]} for r in rows]

    def unset_secret(self, name: str, key: str) -> None:
        """Forget one secret."""
        if not self.state._rows("SELECT 1 FROM secrets WHERE name = ? AND key = ?", name, key):
            raise NotFound(f"{name} has no secret {key!r}.")
        self.state._write("DELETE FROM secrets WHERE name = ? AND key = ?", name, key)

    @staticmethod
    def _entry(key_id: str, secret: str, label: str, created_at: str) -> Json:
        return {"id": key_id, "label": label, "masked": mask(secret), "created_at": created_at}


def key_headers(key: str | None, proxied: bool = False) -> dict[str, str]:
    """The header that carries the build service's own key on its calls to a model service (the
    smoke test, /metrics): `Authorization: Bearer`, or `X-API-Key` through the Kubernetes API
    server's pod proxy, which takes Authorization for its own token and drops it. None without
    a key (the deployment never took one)."""
    if not key:
        return {}
    return {"X-API-Key": key} if proxied else {"Authorization": f"Bearer {key}"}


def probe_headers(env: dict[str, str]) -> dict[str, str]:
    """The header the build service's own calls to a version started with `env` send."""
    return key_headers(env.get(PROBE_KEY_ENV))
