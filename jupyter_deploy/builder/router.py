"""The traffic router of a split: Debian's nginx on a deployment's stable port, only while needed.

When no canary or shadow runs, the live model service holds the stable port itself (see
docs/build-api.md): no hop. Starting a split starts one nginx (its own session, so it outlives
the builder) that listens on the stable port with SO_REUSEPORT, like the model services, and

- canary: sends PERCENT of the requests to the candidate, the rest to the stable version
  (nginx's smooth weighted round robin: the split is exact per worker, not sampled);
- shadow: answers every request from the stable version and `mirror`s a copy (or a sample)
  to the candidate, whose answers nginx discards.

The kernel shares a port with SO_REUSEPORT only among sockets of one user, so nginx runs as the
user of the model services: the build service's own (local backend), or the containers' uid
(Docker: `Router(folder, user=(uid, gid))`, started by a build service running as root, in a
folder of its own outside the private state folder, which that user cannot enter).

Weights change with a graceful reload (SIGHUP: new workers take the listeners, old ones finish
their requests). Ending a split is a graceful quit (SIGQUIT: the listeners close at once, in-flight
requests finish) once a model service listens on the stable port again. Every request, and every
mirrored copy, is one line of the router's access log: the figures of each side come from there.

Why nginx and not HAProxy: bookworm's HAProxy 2.6 has weights and a runtime API but no mirroring
without an SPOE agent (spoa-mirror, not packaged); nginx 1.22 has both `upstream` weights and
`mirror` in the base package. See docs/rollouts.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from jupyter_deploy.errors import BuildFailed

NGINX = "nginx"
START_TIMEOUT = 15.0
QUIT_TIMEOUT = 60.0
LOG_FORMAT = (
    "$msec|$upstream_addr|$upstream_status|$upstream_response_time|$status|$uri"
    "|$request_id|$upstream_http_x_answer_digest"
)
SHADOW_BODY = "|$request_body"  # shadow only: the inputs on which the two versions differ


@dataclass
class Split:
    """Where a stable port's traffic goes while a split runs."""

    mode: str
    """"canary" (PERCENT of the answers come from the candidate) or "shadow" (copies only)."""
    percent: int
    stable_port: int
    """Private port of the version that keeps serving (the current one)."""
    candidate_port: int
    """Private port of the new version."""


def nginx_binary() -> str:
    """The nginx executable, or a clear error when the package is missing."""
    found = shutil.which(NGINX) or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else "")
    if not found:
        raise BuildFailed(
            "Canary and shadow rollouts need nginx on the build service's machine "
            "(apt-get install nginx)."
        )
    return found


def _routing(split: Split) -> tuple[str, str, str]:
    """The upstream servers, the mirror location (shadow) and the sampling map (shadow < 100%)."""
    if split.mode == "canary":
        upstream = (
            f"    server 127.0.0.1:{split.stable_port} weight={100 - split.percent};\n"
            f"    server 127.0.0.1:{split.candidate_port} weight={split.percent};\n"
        )
        return upstream, "", ""
    sampled = split.percent < 100
    mirror = (
        "        mirror /_jupyter_deploy_shadow;\n"
        "    }\n"
        "    location = /_jupyter_deploy_shadow {\n"
        "        internal;\n"
        + ('        if ($jd_sample = "") { return 204; }\n' if sampled else "")
        + f"        proxy_pass http://127.0.0.1:{split.candidate_port}$request_uri;\n"
        "        proxy_set_header Host $host;\n"
        "        proxy_connect_timeout 2s;\n"
        "        proxy_read_timeout 60s;\n"
    )
    sampling = (
        f'split_clients "$request_id" $jd_sample {{ {split.percent}% "1"; * ""; }}\n'
        if sampled
        else ""
    )
    return f"    server 127.0.0.1:{split.stable_port};\n", mirror, sampling


def render(split: Split, public_port: int, control_port: int, folder: Path) -> str:
    """The nginx configuration of one split."""
    upstream, mirror, sampling = _routing(split)
    return f"""# written by jupyter-deploy (builder/router.py): one split, {split.mode}
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {folder}/tmp/body;
  proxy_temp_path {folder}/tmp/proxy;
  fastcgi_temp_path {folder}/tmp/fastcgi;
  uwsgi_temp_path {folder}/tmp/uwsgi;
  scgi_temp_path {folder}/tmp/scgi;
  client_max_body_size 0;
  client_body_buffer_size 64k;
  log_format jd escape=json '{LOG_FORMAT}{SHADOW_BODY if split.mode == "shadow" else ""}';
  log_subrequest on;
  upstream jd_serving {{
{upstream}    keepalive 32;
    keepalive_timeout 2s;
  }}
  {sampling}
  server {{
    listen 127.0.0.1:{public_port} reuseport backlog=2048;
    access_log {folder}/access.log jd;
    location / {{
        proxy_pass http://jd_serving;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_read_timeout 300s;
        proxy_next_upstream error timeout non_idempotent;
{mirror}    }}
  }}
  server {{
    listen 127.0.0.1:{control_port};
    location / {{ return 200 "router {split.mode} {split.percent}\\n"; }}
  }}
}}
"""


class Router:
    """One nginx for one deployment's split; its files live in `folder`. With `user`
    (uid, gid), nginx runs as that user and the folder is made theirs."""

    def __init__(self, folder: Path, user: tuple[int, int] | None = None) -> None:
        self.folder = folder
        self.config = folder / "nginx.conf"
        self.access_log = folder / "access.log"
        self.user = user

    def _as_user(self) -> dict[str, Any]:
        """Popen arguments that run nginx as the router's user (none: as the build service)."""
        if self.user is None:
            return {}
        for path in (self.folder, *self.folder.rglob("*")):
            os.chown(path, *self.user)
        return {"user": self.user[0], "group": self.user[1], "extra_groups": []}

    def start(self, split: Split, public_port: int, control_port: int) -> int:
        """Write the configuration, start nginx and wait until it listens; its pid."""
        binary = nginx_binary()
        (self.folder / "tmp").mkdir(parents=True, exist_ok=True)
        self.access_log.unlink(missing_ok=True)
        self.config.write_text(render(split, public_port, control_port, self.folder))
        self._check(binary)
        with open(self.folder / "nginx.out", "ab") as out:
            child = subprocess.Popen(
                [binary, *self._files()],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                **self._as_user(),
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise BuildFailed(f"The router (nginx) exited at start: {self.errors()}")
            try:
                if requests.get(f"http://127.0.0.1:{control_port}/", timeout=1).ok:
                    return child.pid
            except requests.RequestException:
                time.sleep(0.02)
        self.quit(child.pid)
        raise BuildFailed(f"The router (nginx) did not listen within {START_TIMEOUT:.0f} s.")

    def reload(self, pid: int, split: Split, public_port: int, control_port: int) -> None:
        """New weights without dropping a connection: rewrite, check, SIGHUP."""
        self.config.write_text(render(split, public_port, control_port, self.folder))
        self._check(nginx_binary())
        os.kill(pid, signal.SIGHUP)

    def quit(self, pid: int, timeout: float = QUIT_TIMEOUT) -> None:
        """Graceful quit: the listeners close now, in-flight requests finish; then it exits."""
        if not is_router(pid):
            return
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and is_router(pid):
            _reap(pid)
            time.sleep(0.02)
        if is_router(pid):
            os.kill(pid, signal.SIGKILL)
        _reap(pid)

    def errors(self) -> str:
        """The last lines of nginx's own output."""
        lines: list[str] = []
        for name in ("nginx.out", "error.log"):
            path = self.folder / name
            if path.is_file():
                lines += path.read_text(errors="replace").splitlines()[-5:]
        return " | ".join(lines) or "no output"

    def _files(self) -> list[str]:
        """nginx's configuration, prefix and start-up error log (not the system's)."""
        error_log = str(self.folder / "error.log")
        return ["-e", error_log, "-c", str(self.config), "-p", str(self.folder)]

    def _check(self, binary: str) -> None:
        done = subprocess.run(
            [binary, "-t", "-q", *self._files()],
            capture_output=True,
            text=True,
            **self._as_user(),
        )
        if done.returncode != 0:
            raise BuildFailed(f"The router's configuration is invalid: {done.stderr.strip()}")


def is_router(pid: int) -> bool:
    """The pid is a live nginx master (not a zombie)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        status = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1]
    except OSError:
        return False
    return status != "Z" and b"nginx" in cmdline


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@dataclass(frozen=True)
class Answer:
    """One request (or mirrored copy) that a version answered through the router."""

    at: float
    port: int
    status: int
    seconds: float
    request_id: str = ""
    digest: str = ""
    """CRC-32 of the answer's body (the model service's X-Answer-Digest header)."""
    body: str = ""
    """The request's body (shadow splits only)."""


def read_log(path: Path, offset: int) -> tuple[list[Answer], int]:
    """The answers logged from byte `offset` on (complete lines only), and the next offset.

    When nginx retried ("A, B"), the last upstream is the one that answered.
    """
    try:
        with open(path, "rb") as file:
            file.seek(offset)
            data = file.read()
    except OSError:
        return [], offset
    complete = data[: data.rfind(b"\n") + 1]
    answers = []
    for line in complete.decode(errors="replace").splitlines():
        parts = line.split("|", 8)
        if len(parts) < 8:
            continue
        at, address, status, seconds = (parts[0], *(p.split(",")[-1].strip() for p in parts[1:4]))
        port = address.rpartition(":")[2]
        if not (port.isdigit() and status.isdigit()):
            continue  # not proxied (e.g. a copy left out of the shadow sample)
        duration = float(seconds) if seconds.replace(".", "").isdigit() else 0.0
        body = _unescape(parts[8]) if len(parts) > 8 else ""
        answer = Answer(float(at), int(port), int(status), duration, parts[6], parts[7], body)
        answers.append(answer)
    return answers, offset + len(complete)


def _unescape(text: str) -> str:
    """Undo nginx's `escape=json` (a JSON string's escapes, without the quotes)."""
    try:
        return str(json.loads(f'"{text}"'))
    except ValueError:
        return text
