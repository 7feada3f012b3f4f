"""Traffic figures and recent requests of a live deployment, from a real builder process."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from builder_helpers import BACKEND_OPTIONS, BuilderProcess, cleanup
from compiler_helpers import code, make_notebook

from jupyter_deploy.builder.traffic import _lines_from_end, quantile
from jupyter_deploy.compiler import compile_notebook
from jupyter_deploy.errors import DeployError

UNLUCKY = """\
def predict(x: int) -> int:
    if x == 13:
        raise ValueError("13 is unlucky")
    return x * 2
"""


def unlucky_tarball() -> bytes:
    """predict(x) = 2x, except that 13 raises (a 500)."""
    nb = make_notebook(code(UNLUCKY, "predict"), code("example = {'x': 3}", "example"))
    return compile_notebook(nb, name="unlucky", source_path="unlucky.ipynb").tarball()


@contextlib.contextmanager
def unlucky_live(state: Path, backend_name: str) -> Iterator[tuple[BuilderProcess, str]]:
    """A builder process on this backend with `unlucky` live; its stable URL."""
    builder = BuilderProcess(state, options=BACKEND_OPTIONS[backend_name]).start()
    try:
        client = builder.client()
        build = client.wait(client.create_build("unlucky", unlucky_tarball())["id"])
        assert build["phase"] == "live", build
        yield builder, str(build["url"])
    finally:
        builder.stop()
        cleanup(state)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[BuilderProcess, str]]:
    """`unlucky` live on the local backend."""
    with unlucky_live(tmp_path / "state", "local") as running:
        yield running


@pytest.fixture
def live_on_each_backend(tmp_path: Path, backend_name: str) -> Iterator[tuple[BuilderProcess, str]]:
    """`unlucky` live on the local backend, and on a real Docker engine (its log folder is
    mounted into the container)."""
    with unlucky_live(tmp_path / "state", backend_name) as running:
        yield running


def logged(client: Any, count: int, **query: Any) -> list[dict[str, Any]]:
    """The newest logged requests, once `count` are there (the log writes 5 times a second)."""
    deadline = time.monotonic() + 10
    while True:
        found: list[dict[str, Any]] = client.recent_requests("unlucky", **query)["requests"]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_traffic_against_a_live_deployment_shows_in_the_figures_and_the_requests(
    live_on_each_backend: tuple[BuilderProcess, str],
) -> None:
    builder, url = live_on_each_backend
    client = builder.client()
    # Given 20 good requests, 3 that are not valid input and 2 that make predict fail
    with requests.Session() as session:
        for x in range(100, 120):
            assert session.post(f"{url}/predict", json={"x": x}, timeout=10).ok
        for _ in range(3):
            assert session.post(f"{url}/predict", json={"x": "bad"}, timeout=10).status_code == 422
        for _ in range(2):
            assert session.post(f"{url}/predict", json={"x": 13}, timeout=10).status_code == 500
    # When the figures of the last 5 minutes are read
    figures = client.traffic("unlucky", minutes=5)
    # Then every request is counted (the smoke test's too), with errors and latency
    totals = figures["totals"]
    assert totals["requests"] == 26, figures
    assert (totals["errors"], totals["rejected"]) == (2, 3)
    assert totals["error_rate"] == round(2 / 26, 4)
    assert 0 < totals["p50_ms"] <= totals["p95_ms"] <= totals["p99_ms"]
    assert len(figures["series"]) == 5
    assert sum(m["requests"] for m in figures["series"]) == 26
    assert figures["sources"] == [{"version": 1, "replica": "main", "error": ""}]
    # And the newest requests are listed first with their input and output
    assert len(logged(client, 26, limit=50)) == 26  # every request is in the log by now
    newest = client.recent_requests("unlucky", limit=10)["requests"]
    assert len(newest) == 10
    assert newest[0]["input"] == {"x": 13} and newest[0]["status"] == 500
    assert newest[-1]["input"] == {"x": 115}
    assert newest[-1]["output"] == {"prediction": 230} and newest[-1]["version"] == 1
    # And a status filter keeps only those answers
    rejected = logged(client, 3, limit=50, status="4xx")
    assert [r["input"] for r in rejected] == [{"x": "bad"}] * 3
    assert len(logged(client, 21, limit=50, status="200")) == 21


def test_a_deployment_with_api_keys_still_shows_its_traffic(
    live: tuple[BuilderProcess, str],
) -> None:
    builder, url = live
    client = builder.client()
    # Given the deployment now takes an API key (its model service restarted with it)
    created = client.create_key("unlucky", "shop")
    assert client.wait(created["restart"]["id"])["phase"] == "live"
    before = client.traffic("unlucky", minutes=5)["totals"]["requests"]
    assert requests.get(f"{url}/metrics", timeout=10).status_code == 401  # still not public
    # When 5 requests come with the key
    key = {"Authorization": f"Bearer {created['key']}"}
    for x in range(5):
        assert requests.post(f"{url}/predict", json={"x": x}, headers=key, timeout=10).ok
    # Then the figures (read with a key the build service holds) count them
    figures = client.traffic("unlucky", minutes=5)
    assert figures["sources"] == [{"version": 1, "replica": "main", "error": ""}], figures
    assert figures["totals"]["requests"] - before == 5


def test_figures_count_only_what_came_since_the_last_reading(
    live: tuple[BuilderProcess, str],
) -> None:
    builder, url = live
    client = builder.client()
    # Given the figures were read once
    before = client.traffic("unlucky", minutes=2)["totals"]["requests"]
    # When 4 more requests arrive and the figures are read twice
    for x in range(4):
        requests.post(f"{url}/predict", json={"x": x}, timeout=10)
    client.traffic("unlucky", minutes=2)
    after = client.traffic("unlucky", minutes=2)["totals"]["requests"]
    # Then they are counted once
    assert after - before == 4


def test_bad_queries_get_400_naming_the_parameter_and_unknown_names_404(
    live: tuple[BuilderProcess, str],
) -> None:
    client = live[0].client()
    cases = [
        (lambda: client.traffic("unlucky", minutes=0), 400, "minutes"),
        (lambda: client.recent_requests("unlucky", limit=5000), 400, "limit"),
        (lambda: client.recent_requests("unlucky", status="teapot"), 400, "status"),
        (lambda: client.traffic("nobody"), 404, "nobody"),
        (lambda: client.recent_requests("nobody"), 404, "nobody"),
    ]
    for call, status, named in cases:
        with pytest.raises(DeployError) as raised:
            call()
        assert raised.value.http_status == status and named in raised.value.message


def test_deleting_a_deployment_forgets_its_traffic(live: tuple[BuilderProcess, str]) -> None:
    # Given a deployment that answered a request and whose figures were read
    builder, url = live
    requests.post(f"{url}/predict", json={"x": 1}, timeout=10)
    builder.client().traffic("unlucky")
    folder = builder.state / "traffic" / "unlucky"
    assert (folder / "minutes.json").is_file() and (folder / "v1").is_dir()
    # When it is deleted, Then its figures and request log go too
    builder.client().delete("unlucky")
    assert not folder.exists()


def test_percentiles_come_from_the_histogram_buckets() -> None:
    # Given 100 requests: 90 under 1 ms, 10 between 5 and 10 ms (cumulative buckets)
    cumulative = [90.0, 90, 90, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100]
    # Then the median is inside the first bucket and p95 halfway through the 5-10 ms one
    assert quantile(0.5, cumulative) == pytest.approx(0.5 / 0.9 * 0.001)
    assert quantile(0.95, cumulative) == pytest.approx(0.0075)
    assert quantile(0.95, [0.0] * 14) is None


def test_a_request_log_is_read_from_its_end_in_blocks(tmp_path: Path) -> None:
    # Given a log file of 5,000 lines of different lengths
    path = tmp_path / "requests-1.jsonl"
    lines = [json.dumps({"n": n, "pad": "x" * (n % 37)}) for n in range(5000)]
    path.write_text("\n".join(lines) + "\n")
    # When it is read from its end, in blocks smaller than a line or much larger
    # Then every line comes back whole, newest first
    assert list(_lines_from_end(path, block=7)) == lines[::-1]
    assert list(_lines_from_end(path)) == lines[::-1]
