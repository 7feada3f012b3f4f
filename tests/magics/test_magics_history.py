"""The notebook `%deploy FUNCTION` makes from a kernel's cell history (a real IPython shell)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_deploy.errors import DeployError
from jupyter_deploy.magics.history import notebook_for_function


@pytest.fixture
def shell() -> Iterator[Any]:
    """A fresh in-process IPython shell that keeps history in memory."""
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance(history_length=0)
    ip.history_manager.enabled = True
    yield ip
    InteractiveShell.clear_instance()


def run_cells(ip: Any, *cells: str) -> None:
    """Run cells as a notebook would, storing them in history."""
    for cell in cells:
        ip.run_cell(cell, store_history=True, silent=False)


def sources(nb: Any) -> list[tuple[str, list[str]]]:
    """(source, tags) of every cell."""
    return [(c.source, list(c.metadata.get("tags", []))) for c in nb.cells]


def test_function_is_cut_out_of_its_cell_into_a_last_predict_cell(shell: Any) -> None:
    # Given cells where the function shares a cell with training code
    run_cells(
        shell,
        "import math",
        "model = [1, 2]\ndef predict(x: float) -> float:\n    return x + sum(model)\npredict(1)",
    )
    # When a notebook is made for predict
    nb = notebook_for_function(shell, shell.user_ns["predict"])
    # Then the def is alone in the last cell, tagged predict, and the rest stays untagged
    cells = sources(nb)
    assert cells[-1] == ("def predict(x: float) -> float:\n    return x + sum(model)", ["predict"])
    assert ("model = [1, 2]\npredict(1)", []) in cells
    assert cells[0] == ("import math", [])


def test_function_with_another_name_becomes_predict(shell: Any) -> None:
    # Given a function called classify
    run_cells(shell, "def classify(text: str) -> str:\n    return text.upper()")
    # When it is deployed
    nb = notebook_for_function(shell, shell.user_ns["classify"])
    # Then the predict cell defines predict with the same body
    assert nb.cells[-1].source == "def predict(text: str) -> str:\n    return text.upper()"


def test_the_definition_that_is_live_wins_over_later_edits(shell: Any) -> None:
    # Given predict defined, kept, redefined, and the first one put back
    first = "def predict(x: int) -> int:\n    return x + 1"
    run_cells(
        shell,
        first,
        "keep = predict",
        "def predict(x: int) -> int:\n    return x + 2",
        "predict = keep",
    )
    # When the live function is deployed
    nb = notebook_for_function(shell, shell.user_ns["predict"])
    # Then the predict cell is the one that defined the live function
    assert nb.cells[-1].source == first


def test_deploy_lines_and_broken_cells_are_left_out(shell: Any) -> None:
    # Given history with a syntax error and the lines that deploy
    run_cells(
        shell,
        "def predict(x: int) -> int:\n    return x",
        "def broken(:\n    pass",
        "%load_ext jupyter_deploy",
        "y = 1\n%deploy predict --name demo",
    )
    # When a notebook is made
    nb = notebook_for_function(shell, shell.user_ns["predict"])
    # Then none of them is in it
    text = "\n".join(c.source for c in nb.cells)
    assert "broken" not in text and "%deploy" not in text and "load_ext" not in text
    assert "y = 1" in text


def test_example_in_the_namespace_becomes_the_example_cell(shell: Any) -> None:
    # Given an example whose keys are predict's arguments
    run_cells(shell, "def predict(x: int) -> int:\n    return x", 'example = {"x": 3}')
    # When a notebook is made
    nb = notebook_for_function(shell, shell.user_ns["predict"])
    # Then it ends with an example cell
    assert sources(nb)[-1] == ('example = {"x": 3}', ["example"])


def test_example_for_another_function_is_not_used(shell: Any) -> None:
    # Given an example whose keys are not the function's arguments
    run_cells(shell, "def predict(x: int) -> int:\n    return x", 'example = {"text": "hi"}')
    # When a notebook is made
    nb = notebook_for_function(shell, shell.user_ns["predict"])
    # Then there is no example cell
    assert all("example" not in c.metadata.get("tags", []) for c in nb.cells)


def test_batch_function_joins_the_predict_cell_as_predict_batch(shell: Any) -> None:
    # Given a single and a vectorised function
    run_cells(
        shell,
        "def one(x: int) -> int:\n    return x * 2",
        "def many(items: list) -> list:\n    return [i['x'] * 2 for i in items]",
    )
    # When both are deployed
    nb = notebook_for_function(shell, shell.user_ns["one"], batch=shell.user_ns["many"])
    # Then the predict cell defines predict and predict_batch
    source = nb.cells[-1].source
    assert "def predict(x: int)" in source and "def predict_batch(items: list)" in source


def test_function_not_defined_in_a_cell_is_refused_with_its_module(shell: Any) -> None:
    # Given a function imported from a module
    run_cells(shell, "from os.path import join")
    # When it is deployed
    with pytest.raises(DeployError) as caught:
        notebook_for_function(shell, shell.user_ns["join"])
    # Then the message names the module and what to do
    assert "posixpath" in caught.value.message and "def predict" in caught.value.message
