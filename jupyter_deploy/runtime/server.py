"""The process: uvicorn on SO_REUSEPORT listeners, a public port opened on SIGUSR1, N workers.

The builder switches a deployment's stable URL without a proxy: the new version is started
on its own private port with `--public-port S`; on SIGUSR1 it starts listening on S too
(SO_REUSEPORT lets two processes share it); the builder then sends SIGTERM to the old
version, which stops accepting, finishes its in-flight requests and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .app import ModelService
from .guard import guarded, sweep
from .settings import Settings

EXIT_HUNG = 3  # stopped with predict calls still running past the grace period
EXIT_STUCK = 4  # stopped to be replaced: predict slots stuck past the limit
SETTINGS = Settings.from_env()


def draining_server(config: Any) -> Any:
    """A uvicorn server whose shutdown first stops accepting, then lingers, then drains.

    A connection accepted just before the listeners close may not have sent its request
    yet; closing it at once would reset it. Lingering a moment lets those requests in (and
    lets connections queued on the closing listener move to the new version's one).
    """
    import uvicorn

    class DrainingServer(uvicorn.Server):  # type: ignore[misc]
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            """SIGTERM and SIGINT start a graceful shutdown; the process then exits 0."""
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self.handle_exit, signum, None)
            yield

        def handle_exit(self, sig: int, frame: Any) -> None:
            """Stop accepting at once (not at the next tick), then shut down gracefully."""
            super().handle_exit(sig, frame)
            for server in getattr(self, "servers", []):
                server.close()

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            for server in self.servers:
                server.close()
            await asyncio.sleep(SETTINGS.linger)
            await super().shutdown(sockets)

    return DrainingServer(config)


def listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket that other processes may share (SO_REUSEPORT)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _config(app: ModelService) -> Any:
    import uvicorn

    fast = importlib.util.find_spec("uvloop") and importlib.util.find_spec("httptools")
    http: Any = "h11"  # the fallback has no header or body deadline (see guard.py)
    if fast:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        http = guarded(HttpToolsProtocol, app.settings)
    return uvicorn.Config(
        app,
        loop="uvloop" if fast else "asyncio",
        http=http,
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=app.settings.grace,  # type: ignore[arg-type]
        timeout_keep_alive=5,
    )


EARLY_USR1: list[int] = []  # SIGUSR1 that came before the event loop ran: honoured at start


async def _serve(bundle: Path, host: str, port: int, public_port: int | None) -> int:
    app = ModelService(bundle, SETTINGS)
    config = _config(app)
    server = draining_server(config)
    private = listener(host, port)
    print(f"model service on http://{host}:{port}", file=sys.stderr, flush=True)
    loop = asyncio.get_running_loop()
    code = 0

    def replace(reason: str) -> None:
        nonlocal code
        print(
            f"worker {os.getpid()}: {reason}: stopping to be replaced", file=sys.stderr, flush=True
        )
        code = EXIT_STUCK
        server.handle_exit(signal.SIGTERM, None)

    app.replace = replace

    async def open_public() -> None:
        if public_port is None or getattr(server, "_public_open", False):
            return
        server._public_open = True  # type: ignore[attr-defined]
        while not server.started:  # uvicorn's servers and state exist once it has started
            await asyncio.sleep(0.01)
        sock = listener(host, public_port)

        def protocol() -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[no-any-return,call-arg]
                config=config, server_state=server.server_state, app_state=server.lifespan.state
            )

        server.servers.append(await loop.create_server(protocol, sock=sock, backlog=2048))
        print(f"public port {public_port} listening", file=sys.stderr, flush=True)

    async def cut_off_slow_clients() -> None:
        while not server.started:
            await asyncio.sleep(0.01)
        await sweep(server.server_state.connections, app.settings)

    tasks: list[asyncio.Task[None]] = [loop.create_task(cut_off_slow_clients())]
    loop.add_signal_handler(signal.SIGUSR1, lambda: tasks.append(loop.create_task(open_public())))
    if EARLY_USR1:
        tasks.append(loop.create_task(open_public()))
    folder = os.environ.get("JUPYTER_DEPLOY_WORKERS_DIR")
    if folder:
        await app.metrics.answer_peers(Path(folder))
    try:
        await server.serve(sockets=[private])
    finally:
        app.metrics.leave()
    return _outcome(app, code)


def _outcome(app: ModelService, code: int) -> int:
    """The exit code once the server has stopped: EXIT_HUNG if predict calls still run."""
    busy = app.slots.busy()
    if not busy:
        return code
    print(
        f"exiting with {busy} predict call(s) still running: they outlived their time "
        f"limit or the grace period ({app.settings.grace:g} s)",
        file=sys.stderr,
        flush=True,
    )
    return code or EXIT_HUNG


def serve(
    bundle: Path, host: str, port: int, workers: int = 1, public_port: int | None = None
) -> int:
    """Serve the bundle until SIGTERM; the exit code."""
    os.chdir(bundle)
    if workers <= 1:
        signal.signal(signal.SIGUSR1, lambda signum, _frame: EARLY_USR1.append(signum))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})  # see _supervise
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        code = asyncio.run(_serve(bundle.resolve(), host, port, public_port))
        if code:  # a hung predict thread must not hold the exit
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return 0
    from .workers import supervise

    return supervise(bundle, host, port, workers, public_port)
