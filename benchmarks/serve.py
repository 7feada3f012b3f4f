"""The model service against a bare Starlette + uvicorn app calling the same module.

    python benchmarks/serve.py [--duration 5] [--rounds 2] [--connections 16 64] [--cases ...]

Both serve the same exported iris bundle (scikit-learn LogisticRegression), one worker each,
uvloop + httptools, no access log, on 127.0.0.1; wrk sends POST /predict with one row. Runs
alternate (ours, bare, ours, bare, ...) and the ratio compares the means. The batching case
exports a notebook whose predict cell also defines `predict_batch` (one vectorised call for
many rows): our service groups concurrent requests, the bare app calls predict per request.
The "request log on" case runs our service with the request log on (JUPYTER_DEPLOY_REQUEST_LOG
set to a folder; default sampling and caps: up to 200 records a second); "log on, no cap"
writes every request; "log-cost" and "log-cost-all" compare those with our own service with
the log off (the baseline column is then ours, not the bare app). `--cases` picks cases.
Cold start is process start to the first 200 from /readyz. Needs `wrk` (Debian's package).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from iris import EXAMPLE, PREDICT, iris_bundle

SINGLE = PREDICT
BATCHED = (
    SINGLE
    + """

def predict_batch(items: list[dict]) -> list[str]:
    labels = model.predict(np.array([item["features"] for item in items]))
    return [SPECIES[int(label)] for label in labels]
"""
)
BARE_APP = """\
import sys
sys.path.insert(0, {bundle!r})
import predict as module
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def predict(request: Request) -> JSONResponse:
    body = await request.json()
    return JSONResponse({{"prediction": module.predict(**body)}})


app = Starlette(routes=[Route("/predict", predict, methods=["POST"])])
"""
BODY = EXAMPLE


def free_port() -> int:
    """A free port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def export(folder: Path, predict_cell: str) -> Path:
    """The iris bundle with this predict cell, written to `folder`."""
    return iris_bundle(predict_cell, name="bench").write(folder)


def wait_ready(url: str, timeout: float = 60) -> float:
    """Seconds until `url` answers 200."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return time.perf_counter() - started
        except requests.RequestException:
            pass
        time.sleep(0.01)
    raise RuntimeError(f"{url} never answered")


def start_ours(
    bundle: Path, port: int, extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """The model service, as every backend runs it."""
    command = [sys.executable, "-m", "jupyter_deploy_runtime", "--bundle", ".", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(bundle), **(extra or {})}
    return subprocess.Popen(command, cwd=bundle, env=env, stderr=subprocess.DEVNULL)


def start_logged(bundle: Path, port: int) -> subprocess.Popen[bytes]:
    """The model service with the request log on, writing to a folder beside the bundle."""
    folder = bundle.parent / f"requests-{bundle.name}"
    return start_ours(bundle, port, {"JUPYTER_DEPLOY_REQUEST_LOG": str(folder)})


def start_logged_all(bundle: Path, port: int) -> subprocess.Popen[bytes]:
    """The request log on with no per-second cap: every request is written."""
    folder = bundle.parent / f"requests-all-{bundle.name}"
    extra = {"JUPYTER_DEPLOY_REQUEST_LOG": str(folder)}
    return start_ours(bundle, port, {**extra, "JUPYTER_DEPLOY_REQUEST_LOG_PER_SECOND": "1e9"})


def start_bare(bundle: Path, port: int) -> subprocess.Popen[bytes]:
    """The same module behind the smallest Starlette app, same uvicorn settings."""
    app = bundle.parent / f"bare_{bundle.name}.py"
    app.write_text(BARE_APP.format(bundle=str(bundle)))
    command = [sys.executable, "-m", "uvicorn", f"{app.stem}:app", "--port", str(port)]
    command += [
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, cwd=app.parent, stderr=subprocess.DEVNULL)


def wrk(url: str, connections: int, seconds: int, script: Path) -> float:
    """Requests per second that wrk measured (non-2xx answers make it fail)."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"errors during the run:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def compare(
    bundle: Path,
    script: Path,
    connections: int,
    args: argparse.Namespace,
    ours: Any = start_ours,
    baseline: Any = start_bare,
) -> tuple[float, float]:
    """Mean requests/s of (ours, the baseline: the bare app by default), alternating runs."""
    results: dict[str, list[float]] = {"ours": [], "bare": []}
    for _ in range(args.rounds):
        for kind, start in (("ours", ours), ("bare", baseline)):
            port = free_port()
            process = start(bundle, port)
            try:
                _wait_predict(port)
                wrk(f"http://127.0.0.1:{port}/predict", connections, 1, script)  # warm up
                url = f"http://127.0.0.1:{port}/predict"
                results[kind].append(wrk(url, connections, args.duration, script))
            finally:
                process.terminate()
                process.wait()
    return statistics.mean(results["ours"]), statistics.mean(results["bare"])


def _wait_predict(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.post(f"http://127.0.0.1:{port}/predict", data=BODY, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.02)
    raise RuntimeError("the service never answered /predict")


def cold_start(bundle: Path, runs: int = 5) -> float:
    """Median seconds from process start to /readyz 200."""
    times = []
    for _ in range(runs):
        port = free_port()
        process = start_ours(bundle, port)
        try:
            times.append(wait_ready(f"http://127.0.0.1:{port}/readyz"))
        finally:
            process.terminate()
            process.wait()
    return statistics.median(times)


CASES: dict[str, Any] = {  # label, ours, baseline
    "single": ("single row", start_ours, start_bare),
    "logged": ("single row, request log on", start_logged, start_bare),
    "logged-all": ("single row, log on, no cap", start_logged_all, start_bare),
    "log-cost": ("log on, default cap / ours, log off", start_logged, start_ours),
    "log-cost-all": ("log on, no cap / ours, log off", start_logged_all, start_ours),
    "batch": ("predict_batch", start_ours, start_bare),
    "cold": ("cold start", None, None),
}


def main() -> None:
    """Run every case and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per case")
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="jd-bench-"))
    script = work / "post.lua"
    script.write_text(
        f"wrk.method = 'POST'\nwrk.body = '{BODY}'\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
    )
    single, batched = export(work / "single", SINGLE), export(work / "batched", BATCHED)
    print(f"{'case':<44} {'ours req/s':>11} {'bare req/s':>11} {'ratio':>7}")
    bundle_of = {case: batched if case == "batch" else single for case in CASES}
    for case in args.cases:
        if case == "cold":
            seconds = cold_start(single)
            print(f"cold start (process start to /readyz 200), median of 5: {seconds:.2f} s")
            continue
        label, start, baseline = CASES[case]
        for connections in args.connections:
            ours, bare = compare(bundle_of[case], script, connections, args, start, baseline)
            name = f"{label}, {connections} connections"
            print(f"{name:<44} {ours:>11.0f} {bare:>11.0f} {ours / bare:>6.2f}x", flush=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
