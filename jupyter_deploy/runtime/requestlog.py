"""The request log: a sample of /predict requests as JSON lines, in rotating files or on stdout.

One record a line: time, route, status, latency, input and output. Bodies over a size cap are
replaced by a short preview; fields named in JUPYTER_DEPLOY_REQUEST_LOG_REDACT are replaced by
"[redacted]" wherever they appear. Configured from the environment (docs/model-service.md):

- JUPYTER_DEPLOY_REQUEST_LOG: a folder (the build service gives one per version), `stdout`
  (Kubernetes: the cluster's log pipeline collects it) or unset/`off`.
- JUPYTER_DEPLOY_REQUEST_LOG_SAMPLE: the share of requests kept, 0 to 1 (default 1).
- JUPYTER_DEPLOY_REQUEST_LOG_PER_SECOND: at most this many records a second (default 200).
- JUPYTER_DEPLOY_REQUEST_LOG_MAX_BODY: bytes of input or output kept per record (default 4096).
- JUPYTER_DEPLOY_REQUEST_LOG_MAX_BYTES: size of one file before it rotates (default 10 MiB);
  JUPYTER_DEPLOY_REQUEST_LOG_FILES: rotated files kept per process (default 3).

The hot path only appends a tuple; formatting and writing happen at most every FLUSH_AFTER
seconds, in one write, on the event loop (a few microseconds a record).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import IO, Any

FLUSH_AFTER = 0.2  # seconds between writes: what a reader of the files may lag behind
REDACTED = "[redacted]"
ROUTES = frozenset({"/predict", "/predict/batch"})
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class RequestLog:
    """Keeps a sample of finished requests; `record` is the one call the app makes."""

    def __init__(
        self,
        target: str,
        sample: float = 1.0,
        per_second: int = 200,
        max_body: int = 4096,
        redact: frozenset[str] = frozenset(),
        max_bytes: int = 10 * 1024 * 1024,
        files: int = 3,
    ) -> None:
        self.sample, self.per_second, self.max_body = sample, per_second, max_body
        self.redact, self.max_bytes, self.files = redact, max_bytes, files
        self.stdout = target == "stdout"
        self.folder = None if self.stdout else Path(target)
        self.pending: list[tuple[float, float, int, str, bytes, bytes]] = []
        self.second, self.in_second = 0, 0
        self.dropped = 0
        self.stamp_second, self.stamp = -1, ""
        self.out: IO[bytes] | None = None
        self.written = 0
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.path = self.folder / f"requests-{os.getpid()}.jsonl"
        atexit.register(self.close)  # what is pending when SIGTERM ends the service

    @classmethod
    def from_env(cls, env: Any = None) -> RequestLog | None:
        """The log the JUPYTER_DEPLOY_REQUEST_LOG* variables describe, or None when off."""
        options = options_from_env(env)
        return None if options is None else cls(**options)

    # --- the hot path ------------------------------------------------------------------------

    def record(self, route: str, status: int, seconds: float, given: bytes, answer: bytes) -> None:
        """Keep this request if it is sampled and the second's cap is not reached."""
        if route not in ROUTES or (self.sample < 1.0 and random.random() >= self.sample):
            return
        now = time.time()
        if int(now) != self.second:
            self.second, self.in_second = int(now), 0
        if self.in_second >= self.per_second:
            self.dropped += 1
            return
        self.in_second += 1
        if not self.pending:
            asyncio.get_running_loop().call_later(FLUSH_AFTER, self.flush)
        self.pending.append((now, seconds, status, route, given, answer))

    # --- off the hot path ------------------------------------------------------------------

    def flush(self) -> None:
        """Format and write what is pending, in one write; rotate the file when it is full."""
        records, self.pending = self.pending, []
        if not records:
            return
        data = b"".join(self._line(*record) for record in records)
        try:
            if self.stdout:
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
                return
            self._write(data)
        except OSError as error:  # a full disk must not take the service down
            print(f"request log: cannot write ({error}); records dropped", file=sys.stderr)

    def close(self) -> None:
        """Write what is pending and close the file."""
        self.flush()
        if self.out is not None:
            self.out.close()
            self.out = None

    def _line(
        self, now: float, seconds: float, status: int, route: str, given: bytes, answer: bytes
    ) -> bytes:
        whole = int(now)
        if whole != self.stamp_second:
            self.stamp_second = whole
            self.stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        head = (
            f'{{"kind":"request","time":"{self.stamp}.{int(now % 1 * 1000):03d}Z",'
            f'"route":"{route}","status":{status},"latency_ms":{seconds * 1000:.3f},"input":'
        )
        return (
            b"".join(
                (head.encode(), self._body(given, status != 400), b',"output":', self._body(answer))
            )
            + b"}\n"
        )

    def _body(self, raw: bytes, parsed: bool = True) -> bytes:
        """The body as JSON, redacted; a preview when it is over the cap or not JSON.

        A body the service parsed (or wrote) is spliced in as it is, unless fields must be
        redacted or it spans lines: no parse and no dump for most records.
        """
        if not raw:
            return b"null"
        if len(raw) > self.max_body:
            preview = raw[: min(self.max_body, 200)].decode("utf-8", "replace")
            cut = {"truncated": True, "bytes": len(raw), "preview": self._scrub(preview)}
            return _dumps(cut).encode()
        if parsed and not self.redact and b"\n" not in raw and b"\r" not in raw:
            return raw
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _dumps({"not_json": raw.decode("utf-8", "replace")}).encode()
        return _dumps(redact(value, self.redact) if self.redact else value).encode()

    def _scrub(self, text: str) -> str:
        """A cut body cannot be parsed to redact fields: drop the preview if it names one."""
        if any(f'"{name}"' in text for name in self.redact):
            return REDACTED
        return text

    def _write(self, data: bytes) -> None:
        if self.out is None:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self.out = open(fd, "ab")  # noqa: SIM115 - kept open between flushes
            self.written = self.out.tell()
        self.out.write(data)
        self.out.flush()
        self.written += len(data)
        if self.written >= self.max_bytes:
            self._rotate()

    def _rotate(self) -> None:
        """requests-PID.jsonl -> requests-PID.1.jsonl -> ... ; the oldest beyond `files` goes."""
        assert self.out is not None and self.folder is not None
        self.out.close()
        self.out = None
        stem = self.path.name.removesuffix(".jsonl")
        oldest = self.folder / f"{stem}.{self.files - 1}.jsonl"
        if self.files == 1:
            self.path.unlink(missing_ok=True)
            return
        oldest.unlink(missing_ok=True)
        for index in range(self.files - 2, 0, -1):
            source = self.folder / f"{stem}.{index}.jsonl"
            if source.exists():
                source.rename(self.folder / f"{stem}.{index + 1}.jsonl")
        self.path.rename(self.folder / f"{stem}.1.jsonl")


def redact(value: Any, fields: frozenset[str]) -> Any:
    """`value` with every key in `fields` (at any depth) replaced by "[redacted]"."""
    if isinstance(value, dict):
        return {
            key: REDACTED if key in fields else redact(item, fields) for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item, fields) for item in value]
    return value


def options_from_env(env: Any = None) -> dict[str, Any] | None:
    """RequestLog's arguments from the environment (None when off); ConfigError names a bad
    variable. No side effect: `python -m jupyter_deploy_runtime` checks them before serving."""
    from .app import ConfigError, env_number

    env = os.environ if env is None else env
    target = (env.get("JUPYTER_DEPLOY_REQUEST_LOG") or "").strip()
    if target.lower() in ("", "off", "0", "false", "no"):
        return None
    sample = env_number(env, "JUPYTER_DEPLOY_REQUEST_LOG_SAMPLE", 1.0)
    if sample > 1:
        raise ConfigError(f"JUPYTER_DEPLOY_REQUEST_LOG_SAMPLE must be 0 to 1, not {sample:g}")
    redact = env.get("JUPYTER_DEPLOY_REQUEST_LOG_REDACT", "")
    return {
        "target": target,
        "sample": sample,
        "per_second": int(env_number(env, "JUPYTER_DEPLOY_REQUEST_LOG_PER_SECOND", 200)),
        "max_body": int(env_number(env, "JUPYTER_DEPLOY_REQUEST_LOG_MAX_BODY", 4096)),
        "redact": frozenset(f.strip() for f in redact.split(",") if f.strip()),
        "max_bytes": int(env_number(env, "JUPYTER_DEPLOY_REQUEST_LOG_MAX_BYTES", 10 << 20)),
        "files": max(1, int(env_number(env, "JUPYTER_DEPLOY_REQUEST_LOG_FILES", 3))),
    }
