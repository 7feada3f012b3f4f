"""`jupyter deploy traffic NAME` against a real build service and a live model service."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from builder_helpers import BuilderProcess, bundle_tarball
from test_cli_builder import cli

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend_name", ["local"])]


def test_traffic_prints_the_figures_and_the_newest_requests(
    builder: BuilderProcess, tmp_path: Path
) -> None:
    # Given a live deployment that answered 5 requests
    client = builder.client()
    build = client.wait(client.create_build("times", bundle_tarball(3, name="times"))["id"])
    for x in range(5):
        requests.post(f"{build['url']}/predict", json={"x": x}, timeout=10)
    time.sleep(1.5)  # the request log writes 5 times a second
    # When `jupyter deploy traffic times --limit 2` runs
    done = cli(builder, "traffic", "times", "--limit", "2", cwd=tmp_path)
    # Then it prints the totals (the smoke test included) and the 2 newest requests
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("times: 6 requests in the last 60 min, 0 errors (0.0%)")
    assert any('{"x": 4} -> {"prediction": 12}' in line for line in lines)
    assert sum("-> {" in line for line in lines) == 2


def test_traffic_of_an_unknown_deployment_is_one_error_line(
    builder: BuilderProcess, tmp_path: Path
) -> None:
    done = cli(builder, "traffic", "nobody", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: No deployment named 'nobody' on this build service."
