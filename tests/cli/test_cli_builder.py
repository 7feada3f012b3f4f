"""`jupyter deploy push|status|list|logs|test|rollback|delete` against a real build service."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from builder_helpers import BuilderProcess
from compiler_helpers import code, make_notebook, write_notebook

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend_name", ["local"])]


def cli(builder: BuilderProcess, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `jupyter deploy ...` with the builder in the environment."""
    env = {**os.environ, "JUPYTER_DEPLOY_BUILDER_URL": builder.url}
    env["JUPYTER_DEPLOY_TOKEN"] = builder.token
    return subprocess.run(
        [sys.executable, "-m", "jupyter_deploy", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def notebook(folder: Path, factor: int) -> Path:
    """A notebook whose predict multiplies by `factor`."""
    nb = make_notebook(
        f"FACTOR = {factor}",
        code("def predict(x: int) -> int:\n    return x * FACTOR", "predict"),
        code("example = {'x': 1}", "example"),
    )
    return write_notebook(nb, folder, "times.ipynb")


def test_push_prints_progress_and_the_live_url_last(
    builder: BuilderProcess, tmp_path: Path
) -> None:
    notebook(tmp_path, 3)
    pushed = cli(builder, "push", "times.ipynb", "--wait", cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    lines = pushed.stdout.strip().splitlines()
    firsts = [line.split()[0] for line in lines if line.strip()]
    assert {"queued", "building", "starting", "testing", "live"} <= set(firsts)
    url = lines[-1]
    assert requests.post(f"{url}/predict", json={"x": 2}, timeout=10).json() == {"prediction": 6}
    # Then status, list and logs describe it
    status = cli(builder, "status", "times", cwd=tmp_path)
    assert "times: live, version 1" in status.stdout and url in status.stdout
    assert "times" in cli(builder, "list", cwd=tmp_path).stdout
    build_id = builder.client().deployment("times")["live_build"]
    assert "smoke test" in cli(builder, "logs", build_id, cwd=tmp_path).stdout
    assert "smoke test" in cli(builder, "logs", "times", cwd=tmp_path).stdout
    # And test calls the live API with the example, or with the JSON given
    tested = cli(builder, "test", "times", cwd=tmp_path)
    assert tested.returncode == 0 and tested.stdout.splitlines()[1] == '{"prediction": 3}'
    assert "200 OK in" in tested.stdout
    given = cli(builder, "test", "times", '{"x": 4}', cwd=tmp_path)
    assert given.stdout.splitlines()[1] == '{"prediction": 12}'
    refused = cli(builder, "test", "times", '{"x": "four"}', cwd=tmp_path)
    assert refused.returncode == 1 and refused.stdout.startswith("422 ")
    # When a second version is pushed and rolled back, then the first answers again
    notebook(tmp_path, 5)
    second = cli(builder, "push", "times.ipynb", "--execute", "--wait", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    # (run by a kernel, the notebook's own answer is a golden case the testing phase reproduced)
    assert "testing   1 notebook answer reproduced" in second.stdout
    assert cli(builder, "rollback", "times", "--wait", cwd=tmp_path).returncode == 0
    assert requests.post(f"{url}/predict", json={"x": 2}, timeout=10).json() == {"prediction": 6}
    # And delete removes it
    assert cli(builder, "delete", "times", cwd=tmp_path).returncode == 0
    missing = cli(builder, "status", "times", cwd=tmp_path)
    assert missing.returncode == 2 and "No deployment named 'times'" in missing.stderr


def test_a_failed_push_exits_non_zero_with_the_reason(
    builder: BuilderProcess, tmp_path: Path
) -> None:
    nb = make_notebook(
        code("def predict(x: int) -> int:\n    raise ValueError('nope')", "predict"),
        code("example = {'x': 1}", "example"),
    )
    write_notebook(nb, tmp_path, "broken.ipynb")
    pushed = cli(builder, "push", "broken.ipynb", "--wait", cwd=tmp_path)
    assert pushed.returncode == 2
    assert "failed while testing" in pushed.stderr and "smoke test" in pushed.stderr


def test_a_wrong_token_is_refused_in_one_line(builder: BuilderProcess, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_deploy",
            "list",
            "--builder",
            builder.url,
            "--token",
            "bad",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "refused the token" in done.stderr
