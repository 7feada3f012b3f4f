"""`%deploy traffic` and `%deploy compare` in a real kernel against a real build service."""

from __future__ import annotations

from typing import Any

import pytest
from magics_helpers import Builder, notebook, run, shown

pytestmark = pytest.mark.slow

SEND = """\
import time, requests
from jupyter_deploy.builder.client import BuilderClient
url = BuilderClient.from_env().deployment("magic-watch")["url"]
for score in (0.1, 0.3, 0.45, 0.48, 0.55, 0.9):
    requests.post(url + "/predict", json={"score": score}, timeout=10)
requests.post(url + "/predict", json={"score": "high"}, timeout=10)
time.sleep(1.5)  # the request log writes 5 times a second
"""
CELLS = [
    "%load_ext jupyter_deploy",
    "THRESHOLD = 0.5",
    'def predict(score: float) -> str:\n    return "yes" if score >= THRESHOLD else "no"',
    'example = {"score": 0.7}',
    "%deploy predict --name magic-watch",  # 5
    SEND,  # 6
    "%deploy traffic magic-watch --limit 3",  # 7
    "%deploy compare magic-watch --last 50",  # 8
    "THRESHOLD = 0.4",
    "%deploy compare magic-watch",  # 10
    "%deploy compare magic-watch --last 0",  # 11
]


@pytest.fixture(scope="module")
def watched(magics_builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The notebook above, executed once in a fresh kernel."""
    return run(notebook(*CELLS), magics_builder.env(), tmp_path_factory.mktemp("watch"))


def cell(nb: Any, number: int) -> Any:
    """The 1-based cell `number`."""
    return nb.cells[number - 1]


def test_traffic_shows_the_figures_and_the_newest_requests(watched: Any) -> None:
    # Given live traffic (6 answers, 1 rejected) and the build's own checks (the smoke test, and
    # the golden case replayed on /predict and /predict/batch), When %deploy traffic runs
    out = shown(cell(watched, 7))
    # Then the totals and the 3 newest requests are shown as text
    assert out.errors == [], out.everything
    assert "magic-watch: 10 requests in the last 60 min, 0 errors (0.0%), 1 rejected" in out.text
    rows = [line for line in out.text.splitlines() if "->" in line][1:]  # under the header
    assert len(rows) == 3
    assert "422" in rows[0] and '{"score": "high"}' in rows[0]
    assert '{"score": 0.9} -> {"prediction": "yes"}' in rows[1]


def test_compare_agrees_with_an_unchanged_notebook_and_names_what_a_new_threshold_changes(
    watched: Any,
) -> None:
    # Given the notebook as deployed, When %deploy compare runs
    same = shown(cell(watched, 8))
    # Then every answer agrees, with progress on stderr
    assert same.errors == [], same.everything
    assert "9 of 9 answers agree (100.0%)" in same.text
    assert "compared 9 of 9" in same.stderr
    # When THRESHOLD changes in the kernel (no redeploy) and it runs again
    changed = shown(cell(watched, 10))
    # Then the two inputs between the thresholds are listed with both answers
    assert "7 of 9 answers agree (77.8%); 2 differ" in changed.text
    differing = [line for line in changed.text.splitlines() if line.startswith('{"score"')]
    assert [line.split() for line in differing] == [
        ['{"score":', "0.45}", "no", "yes"],
        ['{"score":', "0.48}", "no", "yes"],
    ]


def test_a_bad_last_is_one_clear_line(watched: Any) -> None:
    out = shown(cell(watched, 11))
    assert out.errors == [] and out.stderr.startswith("Deploy failed: ")
    assert '"last" must be a whole number from 1' in out.stderr
