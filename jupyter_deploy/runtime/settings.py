"""The service's limits and keys, from JUPYTER_DEPLOY_* variables (docs/model-service.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A JUPYTER_DEPLOY_* variable the service cannot use; the message names it."""


def env_number(env: Any, name: str, default: float) -> float:
    """The number in variable `name`, or `default` when unset."""
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {value!r}") from None
    if number < 0 or number != number:
        raise ConfigError(f"{name} must be zero or more, not {value!r}")
    return number


def env_count(env: Any, name: str, default: int) -> int:
    """A whole number of at least 1 in variable `name`, or `default` when unset."""
    number = env_number(env, name, default)
    if number < 1 or number != int(number):
        raise ConfigError(f"{name} must be a whole number of 1 or more, not {env.get(name)!r}")
    return int(number)


def queue_wait(env: Any) -> float | None:
    """JUPYTER_DEPLOY_MAX_QUEUE_WAIT_MS in seconds: None for `auto` (the default), 0 for off."""
    value = (env.get("JUPYTER_DEPLOY_MAX_QUEUE_WAIT_MS") or "auto").strip().lower()
    if value == "auto":
        return None
    return env_number(env, "JUPYTER_DEPLOY_MAX_QUEUE_WAIT_MS", 0) / 1000


@dataclass
class Settings:
    """Limits and keys; each field's variable and meaning are in docs/model-service.md."""

    max_body: int = 8 * 1024 * 1024
    timeout: float = 30.0
    max_batch: int = 32
    max_wait: float = 0.0
    api_keys: list[str] = field(default_factory=list)
    slots: int = 4  # predict threads
    max_queue: int = 32  # requests waiting for a slot before 503
    max_inputs: int = 1024  # inputs in one /predict/batch request
    max_connections: int = 1024
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    stuck_limit: float = 60.0  # a slot stuck this long (past its timeout) replaces the worker
    grace: float = 30.0
    linger: float = 0.5
    inline_budget: float = 0.02  # seconds a proven-fast call may hold the event loop (0: never)
    max_queue_wait: float | None = None  # seconds the oldest queued call may wait (None: auto)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """JUPYTER_DEPLOY_* variables, with the defaults above."""
        env = dict(os.environ if env is None else env)
        keys = [k.strip() for k in env.get("JUPYTER_DEPLOY_API_KEYS", "").split(",")]
        key_file = env.get("JUPYTER_DEPLOY_API_KEYS_FILE")
        if key_file:
            try:
                keys += [line.strip() for line in Path(key_file).read_text().splitlines()]
            except (OSError, UnicodeDecodeError) as error:
                raise ConfigError(f"JUPYTER_DEPLOY_API_KEYS_FILE {key_file}: {error}") from None

        def number(name: str, default: float) -> float:
            return env_number(env, f"JUPYTER_DEPLOY_{name}", default)

        def count(name: str, default: int) -> int:
            return env_count(env, f"JUPYTER_DEPLOY_{name}", default)

        return cls(
            max_body=int(number("MAX_BODY", cls.max_body)),
            timeout=number("TIMEOUT", cls.timeout),
            inline_budget=number("INLINE_MS", cls.inline_budget * 1000) / 1000,
            max_batch=count("MAX_BATCH", cls.max_batch),
            max_wait=number("MAX_WAIT_MS", 0) / 1000,
            api_keys=[k for k in keys if k and not k.startswith("#")],
            slots=count("SLOTS", cls.slots),
            max_queue=int(number("MAX_QUEUE", cls.max_queue)),
            max_inputs=count("MAX_INPUTS", cls.max_inputs),
            max_connections=count("MAX_CONNECTIONS", cls.max_connections),
            header_timeout=number("HEADER_TIMEOUT", cls.header_timeout),
            body_timeout=number("BODY_TIMEOUT", cls.body_timeout),
            stuck_limit=number("STUCK_LIMIT", cls.stuck_limit),
            grace=number("GRACE", cls.grace),
            linger=number("LINGER", cls.linger),
            max_queue_wait=queue_wait(env),
        )
