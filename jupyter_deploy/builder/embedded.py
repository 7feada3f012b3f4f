"""The embedded build service: the same app and local backend, in a thread of this process.

The server extension (and the test suites) start one on 127.0.0.1 with a random port and
two random tokens: an admin one for the server extension, a `deploy` one for kernels (a
notebook can push, roll back and read, but not delete deployments or manage keys). Stopping
it stops the model services it runs too; the next start restarts the live versions from the
state folder, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_deploy.builder.access import Token
from jupyter_deploy.builder.app import create_app
from jupyter_deploy.builder.backends.local import LocalBackend
from jupyter_deploy.builder.core import BuildService
from jupyter_deploy.builder.rollout_record import stop_routers
from jupyter_deploy.builder.supervisor import Supervisor


@dataclass
class Handle:
    """A running embedded build service."""

    url: str
    token: str
    """The admin token (the server extension's)."""
    deploy_token: str
    """A token of the role `deploy` (push, status, logs, rollback): what kernels get."""
    service: BuildService
    server: Any
    thread: threading.Thread
    supervisor: Supervisor


def start(state_dir: Path, options: dict[str, Any] | None = None) -> Handle:
    """Start a build service with the local backend on 127.0.0.1 (random port and token)."""
    import uvicorn

    settings = {"reuse_site_packages": True, **(options or {})}
    service = BuildService(Path(state_dir), LocalBackend(Path(state_dir), settings))
    token, deploy_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    tokens = [Token("server", "admin", token), Token("kernel", "deploy", deploy_token)]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(service, tokens), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])),
        name="jupyter-deploy-builder",
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    supervisor = Supervisor(service)

    def recover_then_supervise() -> None:
        service.recover()
        supervisor.start()

    recovery = threading.Thread(target=recover_then_supervise, name="jupyter-deploy-recover")
    recovery.daemon = True
    recovery.start()
    url = f"http://127.0.0.1:{port}"
    return Handle(url, token, deploy_token, service, server, thread, supervisor)


def stop(handle: Handle, stop_services: bool = True) -> None:
    """Stop the build service (and, by default, the model services it started)."""
    handle.server.should_exit = True
    handle.thread.join(timeout=10)
    handle.supervisor.stop()
    if stop_services:
        stop_routers(handle.service.state.root)
        handle.service.stop_all()
    handle.service.close()
