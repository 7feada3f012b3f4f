"""Every example notebook runs, deploys through `%deploy` to the local backend, and its API
answers the notebook's example exactly as the notebook itself does."""

from __future__ import annotations

import json
from typing import Any

import nbformat
import pytest
import requests
from magics_helpers import EXAMPLES, Builder, code_cell, live_url, post_predict, run, shown

pytestmark = pytest.mark.slow

NAMES = ("iris", "sentiment", "batching")


def tags(nb: Any) -> list[str]:
    """Every tag in the notebook, in cell order."""
    return [tag for cell in nb.cells for tag in cell.metadata.get("tags", [])]


@pytest.mark.parametrize("name", NAMES)
def test_example_is_stored_clean_and_tagged(name: str) -> None:
    # Given an example notebook as committed
    nb = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    # Then it has no outputs, runs on python3, and has one predict and one example cell
    assert all(c.get("outputs", []) == [] for c in nb.cells if c.cell_type == "code")
    assert all(c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert tags(nb).count("predict") == 1 and tags(nb).count("example") == 1
    nbformat.validate(nb)


def run_and_deploy(name: str, builder: Builder) -> tuple[Any, Any, str]:
    """Run the example top to bottom, then `%deploy` it; (notebook's answer, cells, URL)."""
    nb = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    nb.cells += [
        code_cell("import json\nprint(json.dumps(predict(**example)))"),
        code_cell("%load_ext jupyter_deploy"),
        code_cell(f"%deploy --notebook {name}.ipynb --name example-{name}"),
    ]
    run(nb, builder.env(), EXAMPLES)
    errors = [e for cell in nb.cells for e in shown(cell).errors]
    assert errors == [], errors
    deployed = shown(nb.cells[-1])
    assert deployed.stderr == "", deployed.everything
    expected = json.loads(shown(nb.cells[-3]).stdout)
    example = nb_example(nb)
    return expected, example, live_url(deployed.stdout)


def nb_example(nb: Any) -> Any:
    """The example input the notebook's `example` cell assigns."""
    for cell in nb.cells:
        if "example" in cell.metadata.get("tags", []):
            namespace: dict[str, Any] = {}
            exec(cell.source, namespace)
            return namespace["example"]
    raise AssertionError("no example cell")


@pytest.mark.parametrize("name", NAMES)
def test_example_deploys_and_answers_like_the_notebook(name: str, magics_builder: Builder) -> None:
    # Given the example run in a kernel, When it is deployed with %deploy
    expected, example, url = run_and_deploy(name, magics_builder)
    # Then the API answers the example with what predict(**example) gave in the notebook
    assert post_predict(url, example) == (200, {"prediction": expected})
    # And the service describes itself with the notebook's example
    metadata = requests.get(f"{url}/metadata", timeout=10).json()
    assert metadata["example"] == example
    if name == "batching":
        check_batching(url, example, metadata)


def check_batching(url: str, example: Any, metadata: Any) -> None:
    """/predict/batch answers many houses, each as /predict does."""
    assert metadata["functions"]["predict_batch"] == "predict_batch"
    bigger = {"area_m2": 150.0, "rooms": 5, "age_years": 2.0}
    answer = requests.post(
        f"{url}/predict/batch", json={"inputs": [example, bigger]}, timeout=30
    ).json()
    singles = [post_predict(url, item)[1]["prediction"] for item in (example, bigger)]
    assert answer == {"predictions": singles}
