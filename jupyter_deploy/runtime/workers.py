"""`--workers N`: N single-worker processes sharing the ports, kept at N.

The parent forwards SIGTERM, SIGINT and SIGUSR1 to every worker and exits when all have
exited after a SIGTERM. A worker that exits on its own (it crashed, or its predict slots
stayed stuck and it stopped to be replaced) is replaced by a new one, which also opens the
public port if SIGUSR1 had opened it; the other workers keep serving meanwhile. A worker
that keeps dying (5 times within a minute) is not replaced again: the service runs with
fewer workers and the log says why.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESTARTS_PER_MINUTE = 5


def supervise(bundle: Path, host: str, port: int, workers: int, public_port: int | None) -> int:
    """Run and keep `workers` worker processes until SIGTERM; the highest exit code."""
    command = [sys.executable, "-m", "jupyter_deploy_runtime", "--bundle", str(bundle)]
    command += ["--host", host, "--port", str(port), "--workers", "1"]
    if public_port is not None:
        command += ["--public-port", str(public_port)]
    folder = Path(tempfile.mkdtemp(prefix="jupyter-deploy-workers-"))
    env = {
        **os.environ,
        "JUPYTER_DEPLOY_WORKERS_DIR": str(folder),
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]
        ),
    }
    children: dict[int, subprocess.Popen[bytes]] = {}
    state = {"stopping": False, "public": False}

    def forward(signum: int, _frame: Any) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            state["stopping"] = True
        if signum == signal.SIGUSR1:
            state["public"] = True
        for child in list(children.values()):
            if child.poll() is None:
                child.send_signal(signum)

    def start() -> None:
        # A worker starts with SIGUSR1 blocked (the mask is inherited) until it can handle
        # it: one sent early stays pending instead of killing a worker that is starting.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        try:
            child = subprocess.Popen(command, env=env)
            children[child.pid] = child
            if state["public"]:
                child.send_signal(signal.SIGUSR1)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
        signal.signal(signum, forward)  # before the children start: no signal is lost
    for _ in range(workers):
        start()
    try:
        return _reap(children, state, start, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _reap(
    children: dict[int, subprocess.Popen[bytes]],
    state: dict[str, bool],
    start: Any,
    folder: Path,
) -> int:
    """Wait for workers to exit, replacing those that exit on their own; the highest code."""
    codes: list[int] = []
    restarts: list[float] = []
    while children:
        pid, status = os.wait()
        child = children.pop(pid, None)
        if child is None:
            continue
        code = os.waitstatus_to_exitcode(status)
        child.returncode = code
        (folder / f"{pid}.sock").unlink(missing_ok=True)
        if state["stopping"]:
            codes.append(code)
            continue
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < 60]
        if len(restarts) >= RESTARTS_PER_MINUTE:
            print(
                f"worker {pid} exited ({code}); not replaced: {len(restarts)} replacements "
                "in the last minute",
                file=sys.stderr,
                flush=True,
            )
            codes.append(code)
            continue
        restarts.append(now)
        print(f"worker {pid} exited ({code}): starting a new worker", file=sys.stderr, flush=True)
        start()
    return max(codes, default=0)
