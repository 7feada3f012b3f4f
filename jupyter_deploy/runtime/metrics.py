"""Prometheus text metrics: requests by route and status, latency and batch-size histograms."""

from __future__ import annotations

import bisect
from collections import defaultdict

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class Histogram:
    """Cumulative buckets, sum and count, as Prometheus reads them."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        """Record one observation."""
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def lines(self, name: str, labels: str = "") -> list[str]:
        """Exposition lines for this histogram."""
        out, running = [], 0
        sep = "," if labels else ""
        for bound, count in zip(self.buckets, self.counts, strict=False):
            running += count
            out.append(f'{name}_bucket{{{labels}{sep}le="{bound}"}} {running}')
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.count}')
        braces = f"{{{labels}}}" if labels else ""
        out.append(f"{name}_sum{braces} {self.sum:.6f}")
        out.append(f"{name}_count{braces} {self.count}")
        return out


class Metrics:
    """The service's counters; updated on the event loop only (no locks needed)."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.latency: dict[str, Histogram] = {}
        self.batches = Histogram(BATCH_BUCKETS)

    def record(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests[(route, status)] += 1
        histogram = self.latency.get(route)
        if histogram is None:
            histogram = self.latency[route] = Histogram(LATENCY_BUCKETS)
        histogram.observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        lines = [
            "# HELP model_requests_total Requests answered, by route and status.",
            "# TYPE model_requests_total counter",
        ]
        for (route, status), count in sorted(self.requests.items()):
            lines.append(f'model_requests_total{{route="{route}",status="{status}"}} {count}')
        lines += [
            "# HELP model_request_seconds Time to answer a request.",
            "# TYPE model_request_seconds histogram",
        ]
        for route, histogram in sorted(self.latency.items()):
            lines += histogram.lines("model_request_seconds", f'route="{route}"')
        lines += [
            "# HELP model_batch_size Inputs per predict_batch call.",
            "# TYPE model_batch_size histogram",
            *self.batches.lines("model_batch_size"),
        ]
        return ("\n".join(lines) + "\n").encode()
