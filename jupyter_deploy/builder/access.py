"""Who may do what on the build service: tokens with roles, and the audit log of changes.

Roles, each allowing what the one before allows:
- `read`: every GET (builds, logs, deployments, files) except the audit log, keys and secrets;
- `deploy`: push, rollback (of any name), and what `read` allows;
- `admin`: everything: delete, API keys, secrets, the audit log.

Tokens come from `--token` (an admin token named `admin`) and a tokens file, one token a line:
`NAME ROLE TOKEN` (blank lines and `#` comments allowed). Every change is recorded in the audit
log: time, token name, action, deployment, version.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from pathlib import Path

from jupyter_deploy.builder.state import State, now
from jupyter_deploy.errors import DeployError, InvalidRequest
from jupyter_deploy.wire import Json

ROLES = ("read", "deploy", "admin")
_ADMIN_ONLY = re.compile(r"^/v1/(audit|deployments/[^/]+/(keys|secrets))(/|$)")


@dataclass(frozen=True)
class Token:
    """One bearer token: who holds it and what it may do."""

    name: str
    role: str
    secret: str


def read_tokens(path: Path) -> list[Token]:
    """The tokens of a tokens file (`NAME ROLE TOKEN` per line); DeployError naming the line."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DeployError(f"The tokens file {path} cannot be read: {error}") from None
    tokens = []
    for number, line in enumerate(lines, start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 3 or words[1] not in ROLES or len(words[2]) < 16:
            raise DeployError(
                f"{path}, line {number}: write NAME ROLE TOKEN with ROLE one of "
                f"{', '.join(ROLES)} and a token of 16 characters or more."
            )
        tokens.append(Token(words[0], words[1], words[2]))
    return tokens


def find(tokens: list[Token], given: bytes) -> Token | None:
    """The token `given` is (constant-time compare against each), or None."""
    found = None
    for token in tokens:
        if hmac.compare_digest(given, token.secret.encode()):
            found = token
    return found


def role_needed(method: str, path: str) -> str:
    """The least role that may call `method path`."""
    if _ADMIN_ONLY.match(path) or method == "DELETE":
        return "admin"
    if method in ("GET", "HEAD"):
        return "read"
    return "deploy"


def allows(role: str, needed: str) -> bool:
    """True when `role` is at least `needed`."""
    return ROLES.index(role) >= ROLES.index(needed)


class Audit:
    """The audit log, in the state database."""

    def __init__(self, state: State) -> None:
        self.state = state

    def record(
        self, token: str, action: str, deployment: str, version: int | None = None, detail: str = ""
    ) -> None:
        """Note one change (never a secret value)."""
        self.state._write(
            "INSERT INTO audit (at, token, action, deployment, version, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            now(),
            token,
            action,
            deployment,
            version,
            detail,
        )

    def entries(self, deployment: str | None = None, limit: int = 100) -> list[Json]:
        """The latest entries, oldest first (of one deployment when named)."""
        if not 1 <= limit <= 10_000:
            raise InvalidRequest("limit must be between 1 and 10000.")
        where, args = ("WHERE deployment = ?", [deployment]) if deployment else ("", [])
        rows = self.state._rows(
            f"SELECT * FROM audit {where} ORDER BY seq DESC LIMIT ?", *args, limit
        )
        keys = ("at", "token", "action", "deployment", "version", "detail")
        return [{key: row[key] for key in keys} for row in reversed(rows)]
