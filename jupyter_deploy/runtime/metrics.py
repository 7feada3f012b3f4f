"""Prometheus text metrics: requests by route and status, latency and batch-size histograms,
predict slots; with several workers, every scrape sums all of them.

Each worker counts in its own memory (nothing shared on the hot path). With `--workers N`
the parent gives each worker a folder (JUPYTER_DEPLOY_WORKERS_DIR) where the worker listens
on a Unix socket `<pid>.sock` that answers its counts as JSON. The worker that takes a scrape
asks its siblings and adds up their counts, plus the final counts that exited workers left
as `<pid>.json`: every scrape answers for all workers, so a rate neither jumps nor resets.
A sibling too busy to answer within a second counts with the last figures it gave (counts
only grow, so a late answer makes a scrape lag, never drop); one pid counts once, even while
an exiting worker's socket and final file both exist.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
Snapshot = dict[str, Any]


class Histogram:
    """Cumulative buckets, sum and count, as Prometheus reads them."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Record one observation."""
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value

    def add(self, counts: list[int], total: float) -> None:
        """Add another worker's counts of the same buckets."""
        self.counts = [a + b for a, b in zip(self.counts, counts, strict=True)]
        self.sum += total

    def lines(self, name: str, labels: str = "") -> list[str]:
        """Exposition lines for this histogram."""
        out, running = [], 0
        sep = "," if labels else ""
        for bound, count in zip(self.buckets, self.counts, strict=False):
            running += count
            out.append(f'{name}_bucket{{{labels}{sep}le="{bound}"}} {running}')
        count = sum(self.counts)
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {count}')
        braces = f"{{{labels}}}" if labels else ""
        out.append(f"{name}_sum{braces} {self.sum:.6f}")
        out.append(f"{name}_count{braces} {count}")
        return out


class Metrics:
    """The service's counters; updated on the event loop only (no locks needed)."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.latency: dict[str, Histogram] = {}
        self.batches = Histogram(BATCH_BUCKETS)
        self.gauges: Callable[[], dict[str, tuple[str, float]]] = dict
        self.peers: Path | None = None  # the workers' folder, with several workers
        self.answering: asyncio.AbstractServer | None = None  # held: a dropped one closes
        self.seen: dict[str, Snapshot] = {}  # each sibling's newest counts, by pid

    def record(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests[(route, status)] += 1
        histogram = self.latency.get(route)
        if histogram is None:
            histogram = self.latency[route] = Histogram(LATENCY_BUCKETS)
        histogram.observe(seconds)

    def snapshot(self) -> Snapshot:
        """This worker's counts, as JSON-able data."""
        return {
            "requests": [[route, status, n] for (route, status), n in self.requests.items()],
            "latency": {route: [h.counts, h.sum] for route, h in self.latency.items()},
            "batches": [self.batches.counts, self.batches.sum],
            "gauges": {name: value for name, (_, value) in self.gauges().items()},
        }

    async def render_all(self) -> bytes:
        """The exposition for this worker and every sibling (see the module's docstring)."""
        if self.peers is None:
            return self.render([])
        own = str(os.getpid())
        sockets = [p for p in self.peers.glob("*.sock") if p.stem != own]
        asked = await asyncio.gather(*(_ask(path) for path in sockets))
        for path, snapshot in zip(sockets, asked, strict=True):
            if snapshot is not None:
                self.seen[path.stem] = snapshot
        alive = {path.stem for path in sockets}
        for pid, snapshot in self.seen.items():
            if pid not in alive:  # gone (a crash leaves no final file): counts stay, gauges not
                snapshot["gauges"] = {}
        for path in self.peers.glob("*.json"):  # workers that exited: their final counts
            try:
                self.seen[path.stem] = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
        return self.render([s for pid, s in self.seen.items() if pid != own])

    def render(self, others: list[Snapshot]) -> bytes:
        """The Prometheus text exposition: this worker's counts plus `others`."""
        requests = defaultdict(int, self.requests)
        latency = {route: Histogram(LATENCY_BUCKETS) for route in self.latency}
        for route, histogram in self.latency.items():
            latency[route].add(histogram.counts, histogram.sum)
        batches = Histogram(BATCH_BUCKETS)
        batches.add(self.batches.counts, self.batches.sum)
        gauges = self.gauges()
        values = {name: value for name, (_, value) in gauges.items()}
        for other in others:
            for route, status, count in other["requests"]:
                requests[(route, status)] += count
            for route, (counts, total) in other["latency"].items():
                latency.setdefault(route, Histogram(LATENCY_BUCKETS)).add(counts, total)
            batches.add(*other["batches"])
            for name, value in other.get("gauges", {}).items():
                values[name] = values.get(name, 0) + value
        lines = [
            "# HELP model_requests_total Requests answered, by route and status.",
            "# TYPE model_requests_total counter",
        ]
        for (route, status), count in sorted(requests.items()):
            lines.append(f'model_requests_total{{route="{route}",status="{status}"}} {count}')
        lines += [
            "# HELP model_request_seconds Time to answer a request.",
            "# TYPE model_request_seconds histogram",
        ]
        for route, histogram in sorted(latency.items()):
            lines += histogram.lines("model_request_seconds", f'route="{route}"')
        lines += [
            "# HELP model_batch_size Inputs per predict_batch call.",
            "# TYPE model_batch_size histogram",
            *batches.lines("model_batch_size"),
        ]
        for name, (text, _) in gauges.items():
            kind, _, meaning = text.partition(": ")
            lines += [f"# HELP {name} {meaning}", f"# TYPE {name} {kind}", f"{name} {values[name]}"]
        return ("\n".join(lines) + "\n").encode()

    async def answer_peers(self, folder: Path) -> None:
        """Listen on `folder/<pid>.sock`, answering this worker's counts to its siblings."""
        self.peers = folder

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(json.dumps(self.snapshot()).encode())
            await writer.drain()
            writer.close()

        path = str(folder / f"{os.getpid()}.sock")
        self.answering = await asyncio.start_unix_server(answer, path=path)

    def leave(self) -> None:
        """On exit: leave this worker's final counts for the others, and close its socket."""
        if self.peers is None:
            return
        snapshot = self.snapshot()
        snapshot["gauges"] = {}  # a gone worker holds nothing now
        final = self.peers / f"{os.getpid()}.json"
        final.with_suffix(".tmp").write_text(json.dumps(snapshot))
        final.with_suffix(".tmp").rename(final)
        (self.peers / f"{os.getpid()}.sock").unlink(missing_ok=True)


async def _ask(path: Path) -> Snapshot | None:
    """A sibling's counts, or None when it has gone (or does not answer within a second)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), 1)
        data = await asyncio.wait_for(reader.read(), 1)
        writer.close()
        return json.loads(data)  # type: ignore[no-any-return]
    except (OSError, ValueError, asyncio.TimeoutError):
        return None
