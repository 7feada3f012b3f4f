"""Local backend: one virtualenv per requirements set, the model service as a local process.

Options:
- `reuse_site_packages` (bool, default False; True for the embedded builder): when this
  Python already has every pinned requirement, run the service with it and build nothing;
  otherwise make a virtualenv on top of this Python's packages (`--system-site-packages`)
  and install only what is missing or different.
- `python` (str): the interpreter that makes virtualenvs (default: the builder's own).

Processes are started in their own session, so they outlive the builder; their identity
(pid, ports) is persisted in the version's handle and checked through /proc on re-adoption.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

from jupyter_deploy.builder.backends.base import Backend, LogFn, Version
from jupyter_deploy.builder.traffic import LOG_ENV, request_log_dir
from jupyter_deploy.errors import BuildFailed

GRACE_SECONDS = 30.0
PRIVATE_ENV = ("JUPYTER_DEPLOY_TOKEN", "JUPYTER_DEPLOY_API_KEYS")
"""The builder's own variables no model service inherits (its keys come in `version.env`)."""


class LocalBackend(Backend):
    """Versions as processes on 127.0.0.1."""

    name: ClassVar[str] = "local"

    def __init__(self, state_dir: Path, options: Any = None) -> None:
        super().__init__(state_dir, options)
        self.children: dict[int, subprocess.Popen[bytes]] = {}

    # --- environment -----------------------------------------------------------------------

    def prepare(self, version: Version, log: LogFn) -> None:
        """The interpreter for the version: reused while its requirements are unchanged."""
        requirements = version.bundle_dir / "requirements.txt"
        pins = _pins(requirements)
        if self.options.get("reuse_site_packages") and _satisfied(pins):
            log("every requirement is already installed in this Python: nothing to install")
            version.handle["python"] = sys.executable
            return
        env_dir = self.state_dir / "envs" / version.requirements_sha256[:16]
        python = env_dir / "bin" / "python"
        if (env_dir / ".ready").is_file():
            log(f"environment {env_dir.name} reused (requirements unchanged): nothing to install")
            version.handle["python"] = str(python)
            return
        shutil.rmtree(env_dir, ignore_errors=True)
        log(f"creating environment {env_dir.name} for {len(pins)} requirements")
        venv = [str(self.options.get("python") or sys.executable), "-m", "venv", str(env_dir)]
        if self.options.get("reuse_site_packages"):
            venv.insert(3, "--system-site-packages")
        _run(venv, log)
        if pins:
            _run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], log)
        (env_dir / ".ready").write_text("ok\n")
        version.handle["python"] = str(python)

    # --- processes ---------------------------------------------------------------------------

    def start(self, version: Version, log: LogFn) -> None:
        """Start the model service on the private port, in its own session."""
        python = version.handle.get("python") or sys.executable
        service_log = self.state_dir / "logs" / f"{version.deployment}-v{version.version}.log"
        service_log.parent.mkdir(parents=True, exist_ok=True)
        command = [python, "-m", "jupyter_deploy_runtime", "--bundle", "."]
        command += ["--host", "127.0.0.1", "--port", str(version.port)]
        command += ["--public-port", str(version.public_port)]
        env = {k: v for k, v in os.environ.items() if not k.startswith(PRIVATE_ENV)}
        env.update(version.env)
        env["PYTHONPATH"] = str(version.bundle_dir)
        env.setdefault(
            LOG_ENV, str(request_log_dir(self.state_dir, version.deployment, version.version))
        )
        fd = os.open(service_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with open(fd, "ab") as out:
            child = subprocess.Popen(
                command,
                cwd=version.bundle_dir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.children[child.pid] = child
        version.handle.update(pid=child.pid, log=str(service_log))
        log(f"started the model service (pid {child.pid}) on 127.0.0.1:{version.port}")

    def private_url(self, version: Version) -> str:
        """The version's own port."""
        return f"http://127.0.0.1:{version.port}"

    def stable_url(self, deployment: str, public_port: int) -> str:
        """The deployment's port, shared by the live version (SO_REUSEPORT)."""
        return f"http://127.0.0.1:{public_port}"

    def publish(self, version: Version, log: LogFn) -> None:
        """SIGUSR1: the new version opens the stable port too; wait until it listens."""
        pid = int(version.handle["pid"])
        marker = f"public port {version.public_port} listening"
        offset = _size(version.handle.get("log"))
        os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if marker in _read_from(version.handle.get("log"), offset):
                log(f"version {version.version} now also answers on port {version.public_port}")
                return
            if not self.is_running(version):
                break
            time.sleep(0.02)
        raise BuildFailed(
            f"Version {version.version} did not open the stable port {version.public_port}."
        )

    def begin_stop(self, version: Version) -> None:
        """SIGTERM: the service closes its listeners at once and drains."""
        if self.is_running(version):
            os.kill(int(version.handle["pid"]), signal.SIGTERM)

    def stop(self, version: Version, log: LogFn) -> None:
        """SIGTERM (in-flight requests finish), SIGKILL after the grace period."""
        pid = version.handle.get("pid") or self._find(version)
        if pid and not version.handle.get("pid"):
            version = replace(version, handle={**version.handle, "pid": pid})
        if not pid or not self.is_running(version):
            self._reap(int(pid or 0))
            return
        os.kill(int(pid), signal.SIGTERM)
        deadline = time.monotonic() + float(self.options.get("grace", GRACE_SECONDS))
        while time.monotonic() < deadline and self.is_running(version):
            self._reap(int(pid))
            time.sleep(0.05)
        if self.is_running(version):
            os.kill(int(pid), signal.SIGKILL)
            log(f"version {version.version} did not stop in time: killed")
        self._reap(int(pid))
        log(f"version {version.version} stopped")

    def is_running(self, version: Version) -> bool:
        """The recorded pid is alive and is this version's model service (no pid recorded: a
        model service of this version's folder and port, see `_find`)."""
        pid = version.handle.get("pid") or self._find(version)
        if not pid:
            return False
        self._reap(int(pid))
        child = self.children.get(int(pid))
        if child is not None:  # ours: /proc may still show the builder until the child execs
            return child.poll() is None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            status = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1]
        except OSError:
            return False
        return (
            status != "Z"
            and b"jupyter_deploy_runtime" in cmdline
            and str(version.port).encode() in cmdline
        )

    def _find(self, version: Version) -> int | None:
        """The pid of a model service started in this version's folder on its port: a builder
        killed between starting it and recording its pid left only the port."""
        if not version.port:
            return None
        port, folder = str(version.port).encode(), str(version.bundle_dir.resolve())
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                ours = b"jupyter_deploy_runtime" in cmdline and port in cmdline
                if ours and os.readlink(entry / "cwd") == folder:
                    return int(entry.name)
            except OSError:
                continue
        return None

    def service_logs(self, version: Version) -> str:
        """The last lines the model service printed."""
        text = _read_from(version.handle.get("log"), 0)
        return "\n".join(text.splitlines()[-40:])

    def _reap(self, pid: int) -> None:
        child = self.children.get(pid)
        if child is not None and child.poll() is not None:
            del self.children[pid]


def _pins(requirements: Path) -> list[str]:
    if not requirements.is_file():
        return []
    lines = (line.split("#")[0].strip() for line in requirements.read_text().splitlines())
    return [line for line in lines if line]


def _satisfied(pins: list[str]) -> bool:
    for pin in pins:
        name, _, wanted = pin.split(";")[0].partition("==")  # an environment marker: not a version
        try:
            if metadata.version(name.strip()) != wanted.strip():
                return False
        except metadata.PackageNotFoundError:
            return False
    return True


def _run(command: list[str], log: LogFn) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    for line in (done.stdout + done.stderr).splitlines()[-30:]:
        log(line)
    if done.returncode != 0:
        raise BuildFailed(
            f"{Path(command[0]).name} {' '.join(command[1:3])} failed (exit {done.returncode}): "
            "see the build log."
        )


def _size(path: str | None) -> int:
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0


def _read_from(path: str | None, offset: int) -> str:
    if not path:
        return ""
    try:
        with open(path, "rb") as file:
            file.seek(offset)
            return file.read().decode(errors="replace")
    except OSError:
        return ""
