"""`jupyter deploy push --canary N`, `split`, `promote` and `abort` against a real build service."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests
from builder_helpers import BuilderProcess, cleanup
from test_cli_builder import cli, notebook

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("backend_name", ["local"]),
    pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed"),
]


def test_a_canary_from_the_terminal_is_shown_promoted_and_a_shadow_aborted(
    builder: BuilderProcess, tmp_path: Path
) -> None:
    # Given a live version 1 (x * 3)
    notebook(tmp_path, 3)
    url = cli(builder, "push", "times.ipynb", "--wait", cwd=tmp_path).stdout.splitlines()[-1]
    # When version 2 (x * 4) is pushed as a 50% canary
    notebook(tmp_path, 4)
    pushed = cli(builder, "push", "times.ipynb", "--wait", "--canary", "50", cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    answers = {requests.post(f"{url}/predict", json={"x": 1}, timeout=10).json()["prediction"]}
    answers |= {requests.post(f"{url}/predict", json={"x": 1}, timeout=10).json()["prediction"]}
    # Then the same URL answers from both, and `split` shows both versions' figures
    assert answers == {3, 4}
    split = cli(builder, "split", "times", cwd=tmp_path).stdout
    assert "canary: version 2 gets 50% of requests" in split
    assert "stable    v1" in split and "candidate v2" in split
    # When it is promoted, then version 2 alone answers
    promoted = cli(builder, "promote", "times", cwd=tmp_path)
    assert "times: promoted, version 2 live" in promoted.stdout, promoted.stderr
    assert requests.post(f"{url}/predict", json={"x": 1}, timeout=10).json()["prediction"] == 4
    # When a shadow of version 3 runs and is aborted, then version 2 still answers
    notebook(tmp_path, 5)
    shadow = cli(builder, "push", "times.ipynb", "--wait", "--shadow", "100", cwd=tmp_path)
    assert shadow.returncode == 0, shadow.stderr
    assert requests.post(f"{url}/predict", json={"x": 1}, timeout=10).json()["prediction"] == 4
    # the copy answered 5 where version 2 answered 4: they disagree on that input
    watched = cli(builder, "split", "times", cwd=tmp_path).stdout
    assert "shadow: version 3 gets copies of 100% of requests" in watched
    assert "agreement 0.0% of 1 compared answers" in watched and 'differs: {"x": 1}' in watched
    aborted = cli(builder, "abort", "times", cwd=tmp_path)
    assert "times: aborted, version 2 live" in aborted.stdout
    # And ending a split that is not running says so, with a non-zero exit
    again = cli(builder, "abort", "times", cwd=tmp_path)
    assert again.returncode == 2 and "no canary or shadow running" in again.stderr
    cleanup(builder.state)
