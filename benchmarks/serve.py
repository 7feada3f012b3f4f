"""The model service against a bare Starlette + uvicorn app calling the same module.

    python benchmarks/serve.py [--duration 5] [--rounds 2] [--connections 16 64]

Both serve the same exported iris bundle (scikit-learn LogisticRegression), one worker each,
uvloop + httptools, no access log, on 127.0.0.1; wrk sends POST /predict with one row. Runs
alternate (ours, bare, ours, bare, ...) and the ratio compares the means. The batching case
exports a notebook whose predict cell also defines `predict_batch` (one vectorised call for
many rows): our service groups concurrent requests, the bare app calls predict per request.
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


async def predict_batch(request: Request) -> JSONResponse:
    body = await request.json()
    return JSONResponse({{"predictions": module.predict_batch(body["inputs"])}})


async def readyz(request: Request) -> JSONResponse:
    return JSONResponse({{"status": "ready"}})


app = Starlette(
    routes=[
        Route("/predict", predict, methods=["POST"]),
        Route("/predict/batch", predict_batch, methods=["POST"]),
        Route("/readyz", readyz),
    ]
)
"""
BODY = EXAMPLE
ROWS = 64
BATCH_BODY = '{"inputs": [' + ", ".join([EXAMPLE] * ROWS) + "]}"


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
    bundle: Path, port: int, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """The model service, as every backend runs it. Its queue is set above the connection
    counts here (the bare app queues without limit): a throughput run must see no 503."""
    command = [sys.executable, "-m", "jupyter_deploy_runtime", "--bundle", ".", "--port", str(port)]
    env = {
        "JUPYTER_DEPLOY_MAX_QUEUE": "256",
        **os.environ,
        "PYTHONPATH": str(bundle),
        **(env or {}),
    }
    return subprocess.Popen(command, cwd=bundle, env=env, stderr=subprocess.DEVNULL)


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


def wrk(url: str, connections: int, seconds: int, script: Path) -> tuple[float, int]:
    """(requests per second, requests) that wrk measured (non-2xx answers make it fail)."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"errors during the run:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rate, int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def compare(
    bundle: Path, script: Path, connections: int, args: argparse.Namespace, path: str = "/predict"
) -> dict[str, tuple[float, float]]:
    """Per app: mean requests/s and server CPU µs per request, alternating runs. CPU per
    request holds steadier than the rate when other work shares the machine."""
    results: dict[str, list[float]] = {"ours": [], "bare": []}
    cpu: dict[str, list[float]] = {"ours": [], "bare": []}
    for _ in range(args.rounds):
        for kind, start in (("ours", start_ours), ("bare", start_bare)):
            port = free_port()
            process = start(bundle, port, **({"env": args.ours_env} if kind == "ours" else {}))
            try:
                _wait_predict(port)
                url = f"http://127.0.0.1:{port}{path}"
                wrk(url, connections, 1, script)  # warm up
                used = cpu_seconds(process.pid)
                rate, count = wrk(url, connections, args.duration, script)
                results[kind].append(rate)
                cpu[kind].append((cpu_seconds(process.pid) - used) / count * 1e6)
            finally:
                process.terminate()
                process.wait()
    return {k: (statistics.mean(results[k]), statistics.mean(cpu[k])) for k in results}


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


def rss_mib(pid: int) -> float:
    """Resident memory of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cold_start(bundle: Path, runs: int = 5) -> dict[str, tuple[float, float]]:
    """Per app: median seconds from process start to /readyz 200, and median RSS (MiB) after
    200 single-row calls. Runs alternate ours and bare."""
    times: dict[str, list[float]] = {"ours": [], "bare": []}
    memory: dict[str, list[float]] = {"ours": [], "bare": []}
    for _ in range(runs):
        for kind, start in (("ours", start_ours), ("bare", start_bare)):
            port = free_port()
            process = start(bundle, port)
            try:
                times[kind].append(wait_ready(f"http://127.0.0.1:{port}/readyz"))
                with requests.Session() as session:
                    for _ in range(200):
                        session.post(f"http://127.0.0.1:{port}/predict", data=BODY, timeout=5)
                memory[kind].append(rss_mib(process.pid))
            finally:
                process.terminate()
                process.wait()
    return {k: (statistics.median(times[k]), statistics.median(memory[k])) for k in times}


def lua(folder: Path, name: str, body: str) -> Path:
    """A wrk script that POSTs `body` as JSON."""
    script = folder / name
    script.write_text(
        f"wrk.method = 'POST'\nwrk.body = '{body}'\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
    )
    return script


def main() -> None:
    """Run every case and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per case")
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--only", choices=["single", "batched", "rows", "start"], nargs="+")
    parser.add_argument(
        "--request-log",
        choices=["off", "on", "all"],
        default="off",
        help="our service with its request log: off, on (default cap), all (no cap)",
    )
    args = parser.parse_args()
    args.ours_env = {}
    if args.request_log != "off":
        args.ours_env["JUPYTER_DEPLOY_REQUEST_LOG"] = tempfile.mkdtemp(prefix="jd-requests-")
    if args.request_log == "all":
        args.ours_env["JUPYTER_DEPLOY_REQUEST_LOG_PER_SECOND"] = "1e9"
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    only = set(args.only or ["single", "batched", "rows", "start"])
    work = Path(tempfile.mkdtemp(prefix="jd-bench-"))
    script, rows = lua(work, "post.lua", BODY), lua(work, "rows.lua", BATCH_BODY)
    single, batched = export(work / "single", SINGLE), export(work / "batched", BATCHED)
    print(f"{'case':<40} {'ours':>9} {'bare':>9} {'ratio':>7}")
    cases = [("single", "single row", single, script, "/predict")]
    cases += [("batched", "predict_batch", batched, script, "/predict")]
    cases += [("rows", f"/predict/batch, {ROWS} rows", batched, rows, "/predict/batch")]
    for key, label, bundle, lua_script, path in cases:
        if key not in only:
            continue
        for connections in args.connections:
            result = compare(bundle, lua_script, connections, args, path)
            (ours, ours_cpu), (bare, bare_cpu) = result["ours"], result["bare"]
            name = f"{label}, {connections} conn (req/s)"
            print(f"{name:<40} {ours:>9.0f} {bare:>9.0f} {ours / bare:>6.2f}x")
            name = "  server CPU per request (µs; ratio bare/ours)"
            print(f"{name:<40} {ours_cpu:>9.0f} {bare_cpu:>9.0f} {bare_cpu / ours_cpu:>6.2f}x")
    if "start" in only:
        started = cold_start(single)
        (ours_s, ours_m), (bare_s, bare_m) = started["ours"], started["bare"]
        name = "cold start to /readyz 200 (s, median 5)"
        print(f"{name:<40} {ours_s:>9.2f} {bare_s:>9.2f} {ours_s / bare_s:>6.2f}x")
        name = "RSS after 200 calls (MiB, median 5)"
        print(f"{name:<40} {ours_m:>9.1f} {bare_m:>9.1f} {ours_m / bare_m:>6.2f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
