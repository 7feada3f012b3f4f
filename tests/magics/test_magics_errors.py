"""`%deploy` errors: one clear line on stderr, no traceback, in a real kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from magics_helpers import (
    Builder,
    notebook,
    run,
    shown,
)

pytestmark = pytest.mark.slow

ERROR_CELLS = {
    "unknown function": ("%deploy nosuch --name x", "There is no function nosuch"),
    "builder unreachable": (
        "%deploy predict --name x --builder http://127.0.0.1:9 --token t",
        "does not answer",
    ),
    "compile error": ("%deploy broken --name broken", "undefined_scale"),
    "no notebook known": ("%deploy", "--notebook PATH"),
    "unknown deployment": ("%deploy status no-such-deployment", "no-such-deployment"),
    "bad JSON": ("%deploy test x {not json", "not JSON"),
    "bad option": ("%deploy predict --colour red", "unrecognized arguments"),
    "not a function": ("import jupyter_deploy\njupyter_deploy.deploy(42)", "not a function"),
    "failing smoke test": ("%deploy failing --name magic-failing", "failed while"),
}


@pytest.fixture(scope="module")
def error_run(magics_builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One kernel that runs every failing `%deploy` line after a few definitions."""
    cells = [
        "%load_ext jupyter_deploy",
        "def predict(x: float) -> float:\n    return x",
        "def broken(x: float) -> float:\n    return x * undefined_scale",
        "def failing(x: float) -> float:\n    raise ValueError('boom')",
        'example = {"x": 1.0}',
        *(line for line, _ in ERROR_CELLS.values()),
    ]
    cwd: Path = tmp_path_factory.mktemp("magics-errors")
    nb = run(notebook(*cells), magics_builder.env(), cwd)
    return dict(zip(ERROR_CELLS, nb.cells[5:], strict=True))


@pytest.mark.parametrize("case", list(ERROR_CELLS))
def test_error_is_one_clear_line_without_traceback(error_run: Any, case: str) -> None:
    # Given a `%deploy` line that cannot succeed, When it runs in a kernel
    out = shown(error_run[case])
    # Then the cell does not raise, and stderr holds one line that says what is wrong
    assert out.errors == [], out.everything
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.everything
    assert lines[0].startswith("Deploy failed: ")
    assert ERROR_CELLS[case][1] in lines[0], lines[0]
    assert "Traceback" not in out.everything
