"""`%deploy` in real kernels (nbclient) against a real build service, local backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from magics_helpers import (
    Builder,
    code_cell,
    live_url,
    notebook,
    post_predict,
    run,
    shown,
)

pytestmark = pytest.mark.slow

FUNCTION_CELLS = [
    "%load_ext jupyter_deploy",
    "import math\nSCALE = 3",
    "weights = [w * 2 for w in (0.25, 0.75)]\nprint('exploring', weights)",
    "def helper(x):\n    return math.sqrt(x) * SCALE",
    "def predict(x: float) -> float:\n    return round(helper(x) + sum(weights), 3)",
    'example = {"x": 4.0}',
    "%deploy predict --name magic-fn",  # 7
    "%deploy status magic-fn",  # 8
    "%deploy test magic-fn '{\"x\": 9.0}'",  # 9
    "%deploy list",  # 10
    "%deploy logs magic-fn",  # 11
    "def classify(text: str) -> str:\n    return text.upper() + '!'",
    "import jupyter_deploy\n_ = jupyter_deploy.deploy(classify, name='magic-api')",  # 13
]


@pytest.fixture(scope="module")
def function_run(magics_builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A notebook with no tags that deploys its live functions by name, executed once."""
    cwd = tmp_path_factory.mktemp("magics-fn")
    return run(notebook(*FUNCTION_CELLS), magics_builder.env(), cwd)


def cell(nb: Any, number: int) -> Any:
    """The 1-based cell `number`."""
    return nb.cells[number - 1]


def test_deploy_function_by_name_prints_phases_and_the_live_url(function_run: Any) -> None:
    # Given a notebook with no tags, When `%deploy predict --name magic-fn` runs under nbclient
    out = shown(cell(function_run, 7))
    # Then the text progress shows the phases and the live URL, and no error
    assert out.errors == [] and out.stderr == "", out.everything
    assert "Deploying magic-fn" in out.stdout
    for phase in ("building", "starting", "testing", "live"):
        assert f"  {phase}" in out.stdout, out.stdout
    assert "testing   1 notebook answer reproduced" in out.stdout, out.stdout  # the example
    assert live_url(out.stdout).startswith("http://127.0.0.1:")


def test_the_deployed_function_answers_like_the_notebook(function_run: Any) -> None:
    # Given the function deployed from the kernel's history
    url = live_url(shown(cell(function_run, 7)).stdout)
    # When its API is called
    status, body = post_predict(url, {"x": 4.0})
    # Then it answers what predict(4.0) gives in the notebook: sqrt(4) * 3 + (0.5 + 1.5)
    assert (status, body) == (200, {"prediction": 8.0})


def test_status_says_live_with_the_url(function_run: Any) -> None:
    # When `%deploy status magic-fn` runs after the deploy
    out = shown(cell(function_run, 8))
    # Then it says Live and gives the same URL
    url = live_url(shown(cell(function_run, 7)).stdout)
    assert "magic-fn: Live at " + url in out.text, out.everything


def test_test_subcommand_posts_json_and_shows_status_and_body(function_run: Any) -> None:
    # When `%deploy test magic-fn '{"x": 9.0}'` runs
    out = shown(cell(function_run, 9))
    # Then it shows 200 and the prediction (sqrt(9) * 3 + 2 = 11)
    assert out.text.startswith("200 OK"), out.everything
    assert json.loads(out.text.splitlines()[1]) == {"prediction": 11.0}


def test_list_and_logs_show_the_deployment(function_run: Any) -> None:
    # When `%deploy list` and `%deploy logs magic-fn` run
    listing, logs = shown(cell(function_run, 10)), shown(cell(function_run, 11))
    # Then the list has the deployment as live, and the log is the build's
    assert any(line.split()[:2] == ["magic-fn", "live"] for line in listing.text.splitlines()), (
        listing.everything
    )
    assert logs.text.strip() and logs.errors == [], logs.everything


def test_python_api_deploys_a_function_of_another_name(
    function_run: Any, magics_builder: Builder
) -> None:
    # Given `jupyter_deploy.deploy(classify, name="magic-api")` ran in the notebook
    out = shown(cell(function_run, 13))
    assert out.errors == [] and out.stderr == "", out.everything
    # When its API is called
    url = magics_builder.client().deployment("magic-api")["url"]
    # Then classify answers as predict
    assert post_predict(url, {"text": "hi"}) == (200, {"prediction": "HI!"})


def write_tagged(folder: Path, deploy_line: str) -> Path:
    """A tagged notebook with a setup file, ending with the cells that deploy it."""
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "offset.txt").write_text("10\n", encoding="utf-8")
    nb = notebook(
        "%load_ext jupyter_deploy",
        "import statistics",
        code_cell(
            "with open('data/offset.txt', encoding='utf-8') as f:\n    OFFSET = int(f.read())",
            "setup",
        ),
        "coef = statistics.mean([1.0, 2.0, 3.0])\nprint('trained', coef)",
        code_cell("def predict(x: float) -> float:\n    return x * coef + OFFSET", "predict"),
        code_cell('example = {"x": 1.0}', "example"),
        deploy_line,
        "%deploy status tagged-notebook",
        "%deploy test tagged-notebook",
        "%deploy delete tagged-notebook",
        "%deploy status tagged-notebook",
    )
    path = folder / "tagged-notebook.ipynb"
    nbformat.write(nb, path)
    return path


def test_deploy_with_tags_uses_the_kernels_notebook_and_values(
    magics_builder: Builder, tmp_path: Path
) -> None:
    # Given a tagged notebook with a setup file, run in a kernel that knows its notebook
    path = write_tagged(tmp_path, "%deploy")
    env = magics_builder.env()
    env.update(JPY_SESSION_NAME=str(path), JUPYTER_DEPLOY_PROGRESS="text")
    # When it runs `%deploy` (no function: the tagged cells), status, test, delete
    nb = run(nbformat.read(path, as_version=4), env, tmp_path)
    deployed, status, tested = (shown(nb.cells[i]) for i in (6, 7, 8))
    deleted, gone = shown(nb.cells[9]), shown(nb.cells[10])
    # Then it is live under the notebook's name, and answers 1 * 2 + 10 with the example
    assert deployed.errors == [] and deployed.stderr == "", deployed.everything
    assert "tagged-notebook: Live at " + live_url(deployed.stdout) in status.text
    assert tested.text.startswith("200 OK"), tested.everything
    assert json.loads(tested.text.splitlines()[1]) == {"prediction": 12.0}
    # And delete removes it: status then says so in one line
    assert "Deleted tagged-notebook" in deleted.text
    assert gone.errors == [] and len(gone.stderr.strip().splitlines()) == 1, gone.everything


def test_deploy_with_notebook_option_needs_no_session(
    magics_builder: Builder, tmp_path: Path
) -> None:
    # Given the same notebook run by nbclient, which gives the kernel no session
    path = write_tagged(tmp_path, "%deploy --notebook tagged-notebook.ipynb --no-wait")
    # When it runs `%deploy --notebook PATH --no-wait`
    nb = run(nbformat.read(path, as_version=4), magics_builder.env(), tmp_path)
    out = shown(nb.cells[6])
    # Then the build is queued under the notebook's name
    assert out.errors == [] and out.stderr == "", out.everything
    assert "of tagged-notebook (version" in out.stdout and "is queued" in out.stdout
