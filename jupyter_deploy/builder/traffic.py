"""Traffic of the deployments: per-minute figures from the services' /metrics, recent requests.

Every `interval` seconds (and on each read) the builder scrapes the Prometheus text of every
live version (each replica: on Kubernetes each pod, through the API server's pod proxy),
turns the counters' growth since the last scrape into requests, errors and a latency
histogram for the current minute, and keeps the last `hours` of minutes in
`<state>/traffic/<name>/minutes.json`. Recent requests are the model services' request logs:
JSON lines in `<state>/traffic/<name>/v<N>/` (the folder each version is given in
JUPYTER_DEPLOY_REQUEST_LOG), or, on Kubernetes, the pods' own output.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from jupyter_deploy.builder.keys import key_headers
from jupyter_deploy.errors import InvalidRequest
from jupyter_deploy.wire import Json

if TYPE_CHECKING:
    from jupyter_deploy.builder.backends.base import Backend, Version
    from jupyter_deploy.builder.core import BuildService

LOG_ENV = "JUPYTER_DEPLOY_REQUEST_LOG"
ROUTES = ("/predict", "/predict/batch")
BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_LIMIT = 1000
_SAMPLE = re.compile(r"^(\w+)\{([^}]*)\} ([0-9.eE+-]+|\+Inf|NaN)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def request_log_dir(state_dir: Path, deployment: str, version: int, make: bool = True) -> Path:
    """The folder a version writes its request log to (given in JUPYTER_DEPLOY_REQUEST_LOG),
    made private (0700 at each level, like the rest of the state folder) unless `make` is off."""
    folder = state_dir / "traffic" / deployment / f"v{version}"
    if make:
        _private_dirs(state_dir, folder)
    return folder


def _private_dirs(root: Path, folder: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for level in [*reversed(folder.relative_to(root).parents), folder.relative_to(root)]:
        path = root / level
        if str(level) != ".":
            path.mkdir(mode=0o700, exist_ok=True)
            path.chmod(0o700)


# --- reading one /metrics text ---------------------------------------------------------------


def parse_metrics(text: str) -> Json:
    """{"requests": {status: count}, "buckets": [cumulative count per bound, +Inf last]}."""
    counts: dict[str, float] = {}
    buckets = [0.0] * (len(BOUNDS) + 1)
    for line in text.splitlines():
        match = _SAMPLE.match(line.strip())
        if match is None:
            continue
        metric, labels, value = match.group(1), dict(_LABEL.findall(match.group(2))), match[3]
        if labels.get("route") not in ROUTES:
            continue
        if metric == "model_requests_total":
            status = labels.get("status", "0")
            counts[status] = counts.get(status, 0) + float(value)
        elif metric == "model_request_seconds_bucket":
            bound = labels.get("le", "+Inf")
            index = len(BOUNDS) if bound == "+Inf" else _bound_index(float(bound))
            if index is not None:
                buckets[index] += float(value)
    return {"requests": counts, "buckets": buckets}


def _bound_index(bound: float) -> int | None:
    for index, known in enumerate(BOUNDS):
        if abs(known - bound) < 1e-9:
            return index
    return None


def growth(now: Json, before: Json | None) -> Json:
    """What the counters grew by since `before` (a restarted service counts from zero)."""
    if before is not None:
        shrank = any(now["requests"].get(s, 0) < c for s, c in before["requests"].items())
        if shrank or now["buckets"][-1] < before["buckets"][-1]:
            before = None
    old_counts = before["requests"] if before else {}
    old_buckets = before["buckets"] if before else [0.0] * len(now["buckets"])
    return {
        "requests": {s: c - old_counts.get(s, 0) for s, c in now["requests"].items()},
        "buckets": [a - b for a, b in zip(now["buckets"], old_buckets, strict=True)],
    }


def quantile(q: float, cumulative: list[float]) -> float | None:
    """The q-quantile (seconds) of a cumulative histogram, linear within a bucket."""
    total = cumulative[-1] if cumulative else 0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, count in zip(BOUNDS, cumulative, strict=False):
        if count >= rank:
            share = (rank - below) / (count - below) if count > below else 1.0
            return lower + (bound - lower) * share
        lower, below = bound, count
    return BOUNDS[-1]


# --- the figures, kept per minute --------------------------------------------------------------


class Traffic:
    """Scrapes the live versions of a build service and keeps per-minute figures."""

    def __init__(
        self, service: BuildService, hours: float | None = None, interval: float | None = None
    ) -> None:
        self.service = service
        self.hours = hours or float(os.environ.get("JUPYTER_DEPLOY_TRAFFIC_HOURS") or 6)
        self.interval = interval or float(os.environ.get("JUPYTER_DEPLOY_TRAFFIC_INTERVAL") or 15)
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def root(self) -> Path:
        """<state>/traffic."""
        return self.service.state.root / "traffic"

    def start(self) -> None:
        """Scrape every `interval` seconds in a daemon thread, until `stop` or the state closes."""
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="jd-traffic", daemon=True)
            self.thread.start()

    def stop(self) -> None:
        """End the scraping thread."""
        self.stopped.set()

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                for name in self.service.state.deployment_names():
                    self.scrape(name)
            except sqlite3.ProgrammingError:  # the build service closed its state: we are done
                return
            except Exception as error:  # one bad scrape must not end the figures
                print(f"traffic: scrape failed: {error}", flush=True)

    def scrape(self, name: str) -> list[Json]:
        """Add what every live replica of `name` served since the last scrape; the sources."""
        with self.lock:  # one scrape at a time: counters must be read in order
            sources, texts = [], []
            live = self._live_versions(name)
            if not live:  # nothing serves (or the deployment was just deleted): nothing to add
                return []
            key = self.service.keys.own_key(name)  # /metrics needs a key when the service has any
            for version in live:
                for replica, text, problem in metrics_texts(self.service.backend, version, key):
                    source = {"version": version.version, "replica": replica, "error": problem}
                    sources.append(source)
                    if text is not None:
                        texts.append((f"v{version.version}/{replica}", parse_metrics(text)))
            data = self._load(name)
            minute = str(int(time.time() // 60 * 60))
            slot = data["minutes"].setdefault(minute, _empty())
            for key, counters in texts:
                _add(slot, growth(counters, data["last"].get(key)))
                data["last"][key] = counters
            prefixes = tuple(f"v{version.version}/" for version in live)
            data["last"] = {k: v for k, v in data["last"].items() if k.startswith(prefixes)}
            cutoff = time.time() - self.hours * 3600
            data["minutes"] = {m: v for m, v in data["minutes"].items() if int(m) >= cutoff}
            self._save(name, data)
        return sources

    def figures(self, name: str, minutes: int = 60) -> Json:
        """Requests, errors and latency percentiles for each of the last `minutes` minutes."""
        if not 1 <= minutes <= self.hours * 60:
            raise InvalidRequest(f"minutes must be 1 to {int(self.hours * 60)}, not {minutes}.")
        self.service.state.deployment_row(name)  # 404 for an unknown name
        sources = self.scrape(name)
        with self.lock:
            kept = self._load(name)["minutes"]
        this_minute = int(time.time() // 60 * 60)
        series, total = [], _empty()
        for start in range(this_minute - (minutes - 1) * 60, this_minute + 1, 60):
            slot = kept.get(str(start), _empty())
            _add(total, slot)
            series.append({"time": _iso(start), **_summary(slot)})
        return {
            "name": name,
            "minutes": minutes,
            "interval_seconds": self.interval,
            "series": series,
            "totals": _summary(total),
            "sources": sources,
        }

    def _live_versions(self, name: str) -> list[Version]:
        rows = [r for r in self.service.state.versions(name) if r["status"] == "live"]
        return [self.service._version(row) for row in rows]

    def _path(self, name: str) -> Path:
        return self.root / name / "minutes.json"

    def _load(self, name: str) -> Json:
        try:
            data: Json = json.loads(self._path(name).read_text())
            return data
        except (OSError, ValueError):
            return {"minutes": {}, "last": {}}

    def _save(self, name: str, data: Json) -> None:
        path = self._path(name)
        _private_dirs(self.service.state.root, path.parent)
        scratch = path.with_suffix(".tmp")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(data))
        scratch.replace(path)


def _empty() -> Json:
    return {"requests": {}, "buckets": [0.0] * (len(BOUNDS) + 1)}


def _add(target: Json, source: Json) -> None:
    """Add the counts and buckets of `source` to `target`."""
    for status, count in source["requests"].items():
        target["requests"][status] = target["requests"].get(status, 0) + count
    target["buckets"] = [a + b for a, b in zip(target["buckets"], source["buckets"], strict=True)]


def _summary(slot: Json) -> Json:
    counts = {int(s): int(c) for s, c in slot["requests"].items()}
    served = sum(counts.values())
    errors = sum(c for s, c in counts.items() if s >= 500)
    rejected = sum(c for s, c in counts.items() if 400 <= s < 500)

    def millis(q: float) -> float | None:
        value = quantile(q, slot["buckets"])
        return None if value is None else round(value * 1000, 3)

    return {
        "requests": served,
        "errors": errors,
        "rejected": rejected,
        "error_rate": round(errors / served, 4) if served else 0.0,
        "p50_ms": millis(0.5),
        "p95_ms": millis(0.95),
        "p99_ms": millis(0.99),
    }


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# --- where the figures and the requests come from ----------------------------------------------


def metrics_texts(
    backend: Backend, version: Version, key: str | None = None
) -> Iterator[tuple[str, str | None, str]]:
    """(replica, Prometheus text or None, problem) for each replica of a version; `key` is the
    build service's own key of the deployment (/metrics is not public when it takes keys)."""
    if backend.name == "kubernetes":
        yield from _pod_metrics(backend, version, key)
        return
    url = backend.private_url(version) + "/metrics"
    try:
        response = requests.get(url, headers=key_headers(key), timeout=5)
        response.raise_for_status()
        yield "main", response.text, ""
    except requests.HTTPError as error:
        yield "main", None, f"{url}: HTTP {error.response.status_code}"
    except requests.RequestException as error:
        yield "main", None, f"{url}: {type(error).__name__}"


def _pods(backend: Any, version: Version) -> tuple[str, list[str]]:
    from jupyter_deploy.builder.backends.kubernetes import object_name

    selector = (
        f"app.kubernetes.io/name={object_name(version.deployment)},"
        f"jupyter-deploy/version=v{version.version}"
    )
    path = f"/api/v1/namespaces/{backend.namespace}/pods"
    found = backend._call("GET", path, query=[("labelSelector", selector)]) or {}
    return path, [pod["metadata"]["name"] for pod in found.get("items") or []]


def _pod_metrics(
    backend: Any, version: Version, key: str | None
) -> Iterator[tuple[str, str | None, str]]:
    """Each pod's /metrics through the API server's pod proxy, on the port the backend's
    manifests give the model service (8000 on the plain target, 8080 on KServe), the key in
    X-API-Key (the API server keeps Authorization for itself)."""
    from jupyter_deploy.errors import BuildFailed

    path, pods = _pods(backend, version)
    headers = key_headers(key, proxied=True)
    for pod in pods:
        proxy = f"{path}/{pod}:{backend.pod_port}/proxy/metrics"
        try:
            yield pod, backend._call_text(proxy, headers=headers), ""
        except BuildFailed as error:
            yield pod, None, str(error)


def recent_requests(
    service: BuildService, name: str, limit: int = 50, status: str | None = None
) -> Json:
    """The newest logged requests of `name` (every version), newest first."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be 1 to {MAX_LIMIT}, not {limit}.")
    wanted = _status_filter(status)
    service.state.deployment_row(name)  # 404 for an unknown name
    found: list[Json] = []
    for version, lines in _log_sources(service, name):
        taken = 0
        for line in lines:
            if taken >= limit:
                break
            record = _record(line)
            if record is None or not wanted(int(record.get("status", 0))):
                continue
            record["version"] = version
            found.append(record)
            taken += 1
    found.sort(key=lambda r: str(r.get("time", "")), reverse=True)
    return {"name": name, "requests": found[:limit]}


def _status_filter(status: str | None) -> Any:
    if status is None or status == "":
        return lambda code: True
    if re.fullmatch(r"[1-5]xx", status):
        return lambda code: code // 100 == int(status[0])
    if status == "error":
        return lambda code: code >= 400
    if status.isdigit() and 100 <= int(status) <= 599:
        return lambda code: code == int(status)
    raise InvalidRequest(f"status must be a code (200), a class (5xx) or error, not {status!r}.")


def _record(line: str) -> Json | None:
    if '"kind":"request"' not in line:
        return None
    try:
        record = json.loads(line[line.index("{") :])
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _log_sources(service: BuildService, name: str) -> Iterator[tuple[int, Iterator[str]]]:
    """(version, lines newest first) for each request log file or pod of `name`."""
    rows = service.state.versions(name)
    if service.backend.name == "kubernetes":
        for row in rows:
            if row["status"] == "live":
                yield from _pod_logs(service.backend, service._version(row))
        return
    for row in rows:
        folder = request_log_dir(service.state.root, name, int(row["version"]), make=False)
        for path in sorted(folder.glob("requests-*.jsonl")):
            yield int(row["version"]), _lines_from_end(path)


def _lines_from_end(path: Path, block: int = 1 << 16) -> Iterator[str]:
    """A file's lines, last first, read from its end in blocks (a reader wanting the newest
    50 of a 10 MiB log reads a few blocks, not the file)."""
    try:
        with open(path, "rb") as file:
            position = file.seek(0, os.SEEK_END)
            rest = b""
            while position > 0:
                step = min(block, position)
                position -= step
                file.seek(position)
                lines = (file.read(step) + rest).split(b"\n")
                rest = lines.pop(0)  # the start of a line that began in an earlier block
                for line in reversed(lines):
                    if line:
                        yield line.decode("utf-8", "replace")
            if rest:
                yield rest.decode("utf-8", "replace")
    except OSError:  # rotated away while reading: what was read stands
        return


def _pod_logs(backend: Any, version: Version) -> Iterator[tuple[int, Iterator[str]]]:
    from jupyter_deploy.errors import BuildFailed

    _, pods = _pods(backend, version)
    for pod in pods:
        try:
            text = backend.pod_log(pod, 2000)
        except BuildFailed:
            continue
        yield version.version, reversed(text.splitlines())


# --- the REST routes (mounted by builder/app.py) ------------------------------------------------


def traffic_routes(service: BuildService, traffic: Traffic | None = None) -> list[Any]:
    """GET /v1/deployments/{name}/traffic and /requests, scraping in the background."""
    import asyncio

    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    figures = traffic or Traffic(service)
    figures.start()

    async def get_traffic(request: Request) -> Response:
        minutes = _whole(request.query_params.get("minutes"), "minutes", 60)
        name = request.path_params["name"]
        return JSONResponse(await asyncio.to_thread(figures.figures, name, minutes))

    async def get_requests(request: Request) -> Response:
        limit = _whole(request.query_params.get("limit"), "limit", 50)
        status = request.query_params.get("status")
        name = request.path_params["name"]
        return JSONResponse(await asyncio.to_thread(recent_requests, service, name, limit, status))

    return [
        Route("/v1/deployments/{name}/traffic", get_traffic),
        Route("/v1/deployments/{name}/requests", get_requests),
    ]


def _whole(value: str | None, key: str, default: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise InvalidRequest(f"{key} must be a whole number, not {value!r}.")
    return int(value)
