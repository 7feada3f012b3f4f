"""The cost of the rollout router's hop: the model service direct against nginx in front of it.

    python benchmarks/router.py [--duration 5] [--rounds 2] [--connections 1 16]

Two model services serve the same exported iris bundle (one worker each). Cases, alternated
round by round: `direct` (wrk to one service's port, what the stable URL is when no split
runs), `canary 10%` (the router's configuration from jupyter_deploy/builder/router.py, 90/10
between the two services) and `shadow 100%` (the router answers from one service and mirrors
every request to the other). With 1 connection the p50 difference is the hop's cost per
request; with 16, the req/s ratio is the throughput cost. Needs `wrk` and `nginx`.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from serve import BODY, SINGLE, _wait_predict, export, free_port, start_ours

from jupyter_deploy.builder.router import Router, Split


def wrk(url: str, connections: int, seconds: int, script: Path) -> tuple[float, float]:
    """(requests per second, p50 latency in ms) that wrk measured; errors abort the run."""
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    out = subprocess.run(
        [*command, "-s", str(script), url], capture_output=True, text=True, check=True
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"errors during the run:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"\n\s+50%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return rate, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    """Run every case and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per case")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed: apt-get install {tool}")
    work = Path(tempfile.mkdtemp(prefix="jd-router-bench-"))
    script = work / "post.lua"
    script.write_text(
        f"wrk.method = 'POST'\nwrk.body = '{BODY}'\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
    )
    bundle = export(work / "bundle", SINGLE)
    ports = [free_port(), free_port()]
    services = [start_ours(bundle, port) for port in ports]
    routers: dict[str, tuple[Router, int, int]] = {}
    try:
        for port in ports:
            _wait_predict(port)
        urls = {"direct": f"http://127.0.0.1:{ports[0]}/predict"}
        for mode, percent in (("canary", 10), ("shadow", 100)):
            router, public = Router(work / mode), free_port()
            pid = router.start(Split(mode, percent, ports[0], ports[1]), public, free_port())
            routers[mode] = (router, pid, public)
            urls[f"{mode} {percent}%"] = f"http://127.0.0.1:{public}/predict"
        print(f"{'case':<28} {'req/s':>8} {'p50 ms':>8} {'vs direct':>10}")
        for connections in args.connections:
            results: dict[str, list[tuple[float, float]]] = {case: [] for case in urls}
            for _ in range(args.rounds):
                for case, url in urls.items():
                    wrk(url, connections, 1, script)  # warm up
                    results[case].append(wrk(url, connections, args.duration, script))
            base = statistics.mean(r for r, _ in results["direct"])
            for case, runs in results.items():
                rate = statistics.mean(r for r, _ in runs)
                p50 = statistics.mean(p for _, p in runs)
                label = f"{case}, {connections} conn."
                print(f"{label:<28} {rate:>8.0f} {p50:>8.3f} {rate / base:>9.2f}x", flush=True)
    finally:
        for router, pid, _ in routers.values():
            router.quit(pid)
        for service in services:
            service.terminate()
            service.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
