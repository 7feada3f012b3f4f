"""The model service under offered load of 1x, 2x and 4x its capacity, and a soak at capacity.

    python benchmarks/overload.py [--seconds 10] [--soak 300] [--generators 2] [--predict-ms 0]

Serves the iris example (one worker, default limits) on 127.0.0.1. Capacity is what wrk
measures with 16 connections (closed loop). Offered load is open loop: generator processes
send requests on a fixed schedule whatever the answers (keep-alive connections, a new one
when none is idle), and latency counts from the scheduled send time, so a slow service
cannot slow the load down. A generator that falls behind its schedule by more than 20 ms
skips those requests (column `unsent`) instead of sending them in a burst: the `sent/s`
column is the load really offered. Checks: goodput (200s per second) stays at least 90% of
capacity, the p99 latency of accepted requests stays under 10x the unloaded p99, and every
rejected request is a 503 answered fast. The soak runs at capacity and compares the
service's RSS after warm-up with its RSS at the end (target: less than 10% growth).

`--predict-ms N` makes each call also spend N ms of CPU in Python before the model's call, as
a heavier model would: the share of the service's CPU that refusing the excess costs (a 503 is
answered after the headers, about 70 µs here) then shrinks against what an answer costs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

from iris import EXAMPLE
from serve import SINGLE, _wait_predict, export, free_port, lua, rss_mib, start_ours

Result = tuple[int, float]  # (status, seconds from the scheduled send; status 0: no answer)
REQUEST = (
    "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    f"Content-Length: {len(EXAMPLE)}\r\n\r\n{EXAMPLE}"
).encode()
MAX_OPEN = 512  # connections per generator; beyond them a due request is not sent
LATE = 0.02  # seconds behind schedule after which a due request is not sent (counted)


async def _one(
    port: int, idle: deque[tuple[asyncio.StreamReader, asyncio.StreamWriter]], due: float
) -> Result:
    loop = asyncio.get_running_loop()
    try:
        reader, writer = idle.pop() if idle else await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        status = int(head[9:12])
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        if b"connection: close" in head.lower():
            writer.close()
        else:
            idle.append((reader, writer))
        return status, loop.time() - due
    except (OSError, ValueError, IndexError, asyncio.TimeoutError, asyncio.IncompleteReadError):
        return 0, loop.time() - due


async def _offer(port: int, rate: float, seconds: float) -> tuple[list[Result], int]:
    """Send `rate` requests per second for `seconds`; (results, requests not sent)."""
    loop = asyncio.get_running_loop()
    idle: deque[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = deque()
    tasks: set[asyncio.Task[Result]] = set()
    results: list[Result] = []
    total, sent, skipped = int(rate * seconds), 0, 0
    start = loop.time() + 0.05
    while sent + skipped < total:
        now = loop.time()
        due_count = min(total, int((now - start) * rate) + 1)
        while sent + skipped < due_count:
            due = start + (sent + skipped) / rate
            if len(tasks) >= MAX_OPEN or now - due > LATE:
                skipped += 1  # a generator that fell behind skips rather than bursts
                continue
            task = loop.create_task(_one(port, idle, due))
            task.add_done_callback(lambda t: (tasks.discard(t), results.append(t.result())))
            tasks.add(task)
            sent += 1
        await asyncio.sleep(0.001)
    if tasks:
        await asyncio.wait(tasks, timeout=35)
    for _, writer in idle:
        writer.close()
    return results, skipped


def _generator(port: int, rate: float, seconds: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out.put(asyncio.run(_offer(port, rate, seconds)))


def offer(port: int, rate: float, seconds: float, generators: int) -> tuple[list[Result], int]:
    """Offered load from `generators` processes; all results and the requests not sent."""
    out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    workers = [
        multiprocessing.Process(target=_generator, args=(port, rate / generators, seconds, out))
        for _ in range(generators)
    ]
    for worker in workers:
        worker.start()
    results: list[Result] = []
    skipped = 0
    for _ in workers:
        got, missed = out.get(timeout=seconds + 60)
        results += got
        skipped += missed
    for worker in workers:
        worker.join()
    return results, skipped


def goodput_of(url: str, seconds: int, script: Path) -> float:
    """200s per second that wrk gets with 16 connections (closed loop). With a queue shorter
    than that, some of its requests are refused: they do not count."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rate * (total - int(refused.group(1) if refused else 0)) / total


def heavier(ms: float) -> str:
    """The iris predict cell, spending `ms` of CPU in Python first (0: as it is)."""
    if not ms:
        return SINGLE
    spin = (
        "def predict(features: list[float]) -> str:\n"
        "    import time\n"
        f"    end = time.thread_time() + {ms / 1000!r}\n"
        "    while time.thread_time() < end:\n"
        "        pass\n"
    )
    return SINGLE.replace("def predict(features: list[float]) -> str:\n", spin, 1)


def p99(values: list[float]) -> float:
    """The 99th percentile (0 for no values)."""
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else sum(values)


def main() -> None:
    """Capacity, unloaded p99, 1x/2x/4x offered load, then the soak."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="per offered-load level")
    parser.add_argument("--soak", type=float, default=300, help="soak seconds (0: none)")
    parser.add_argument("--generators", type=int, default=2, help="load generator processes")
    parser.add_argument("--queue", default="32", help="JUPYTER_DEPLOY_MAX_QUEUE (the default)")
    parser.add_argument("--predict-ms", type=float, default=0, help="extra CPU per call, ms")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jd-overload-"))
    bundle = export(work / "iris", heavier(args.predict_ms))
    port = free_port()
    service = start_ours(bundle, port, {"JUPYTER_DEPLOY_MAX_QUEUE": args.queue})
    try:
        _wait_predict(port)
        script = lua(work, "post.lua", EXAMPLE)
        url = f"http://127.0.0.1:{port}/predict"
        goodput_of(url, 2, script)  # warm up
        capacity = goodput_of(url, 5, script)
        quiet, _ = offer(port, capacity * 0.1, 5, 1)
        base = p99([s for status, s in quiet if status == 200])
        print(f"capacity (wrk, 16 connections, 200s only): {capacity:.0f} req/s")
        print(f"unloaded p99 (10% of capacity, open loop): {base * 1000:.2f} ms\n")
        print(f"{'offered':>8} {'sent/s':>8} {'goodput':>9} {'p99 ok':>9} {'p99 ok/base':>12} "
              f"{'503s':>7} {'p99 503':>8} {'max 503':>8} {'other':>6} {'unsent':>7}")  # fmt: skip
        for factor in (1, 2, 4):
            results, skipped = offer(port, capacity * factor, args.seconds, args.generators)
            ok = [s for status, s in results if status == 200]
            refused = [s for status, s in results if status == 503]
            other = len(results) - len(ok) - len(refused)
            if other:
                kinds = sorted({status for status, _ in results if status not in (200, 503)})
                print(f"   other answers: {kinds} (0: no answer)", flush=True)
            goodput = len(ok) / args.seconds / capacity
            print(
                f"{factor:>7}x {len(results) / args.seconds:>8.0f} {goodput:>8.0%} "
                f"{p99(ok) * 1000:>7.1f}ms {p99(ok) / base:>11.1f}x {len(refused):>7} "
                f"{p99(refused) * 1000:>6.1f}ms {max(refused, default=0) * 1000:>6.1f}ms "
                f"{other:>6} {skipped:>7}",
                flush=True,
            )
        if args.soak:
            soak(port, service.pid, capacity, args)
    finally:
        service.terminate()
        service.wait()


def soak(port: int, pid: int, capacity: float, args: argparse.Namespace) -> None:
    """RSS after a warm-up minute at capacity against RSS at the end of the soak."""
    offer(port, capacity, min(60, args.soak / 5), args.generators)
    before = rss_mib(pid)
    started, answered, chunk = time.monotonic(), 0, 30.0
    while time.monotonic() - started < args.soak:
        results, _ = offer(port, capacity, chunk, args.generators)
        answered += sum(1 for status, _ in results if status == 200)
    after = rss_mib(pid)
    print(
        f"\nsoak: {args.soak:.0f} s at capacity, {answered} answered; RSS {before:.1f} -> "
        f"{after:.1f} MiB ({(after - before) / before:+.1%})"
    )


if __name__ == "__main__":
    sys.exit(main())
