"""A broken notebook is refused with a short message naming the cell and the name."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from compiler_helpers import code, make_notebook

from jupyter_deploy.compiler import analyze, capture_namespace, compile_notebook
from jupyter_deploy.errors import (
    ArtifactNotCaptured,
    ArtifactNotSerializable,
    CellSyntaxError,
    CompileError,
    InvalidNotebook,
    MultiplePredictCells,
    NoPredictCell,
    NoPredictFunction,
    UnresolvedName,
    UnsupportedMagic,
)

PREDICT = code("def predict(x: int) -> int:\n    return x", "predict")


def refusal(nb: object, error: type[CompileError], **kwargs: object) -> str:
    """The message compile_notebook refuses `nb` with (checked to be one short line)."""
    with pytest.raises(error) as caught:
        compile_notebook(nb, name="m", **kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "Traceback" not in message and "\n" not in message
    return message


def test_a_notebook_without_a_predict_cell_is_refused() -> None:
    # Given cells, none tagged predict / When compiled / Then the message says how to tag one
    message = refusal(make_notebook("def predict(x):\n    return x"), NoPredictCell)
    assert "tagged 'predict'" in message


def test_two_predict_cells_are_refused_naming_both() -> None:
    nb = make_notebook(PREDICT, code("def predict(y):\n    return y", "predict"))
    message = refusal(nb, MultiplePredictCells)
    assert "cell 1 (id 'c1')" in message and "cell 2 (id 'c2')" in message


def test_a_predict_cell_without_a_predict_function_is_refused() -> None:
    nb = make_notebook(code("def forecast(x):\n    return x", "predict"))
    message = refusal(nb, NoPredictFunction)
    assert "cell 1" in message and "def predict" in message


def test_a_syntax_error_in_a_tagged_cell_names_the_cell_and_the_line() -> None:
    nb = make_notebook("import math", code("x = 1\ny = (2 +\n", "setup"), PREDICT)
    message = refusal(nb, CellSyntaxError)
    assert "cell 2 (id 'c2'), line 2" in message


def test_an_untagged_cell_that_does_not_parse_is_left_out_with_a_warning() -> None:
    # Given an old notebook with a Python 2 print statement in an exploration cell
    nb = make_notebook("import math", "print 'hello'", PREDICT)
    # When compiled, then the cell is left out and the warning names it and the line
    bundle = compile_notebook(nb, name="m")
    assert any("cell 2 (id 'c2'), line 1" in w and "left out" in w for w in bundle.warnings)


def test_an_undefined_name_names_the_name_and_the_cell_that_uses_it() -> None:
    nb = make_notebook(
        "def helper(x):\n    return x + OFFSET",
        code("def predict(x: int) -> int:\n    return helper(x)", "predict"),
    )
    message = refusal(nb, UnresolvedName)
    assert "'OFFSET'" in message and "cell 1 (id 'c1')" in message


def test_a_computed_value_without_a_kernel_says_how_to_fix_it() -> None:
    nb = make_notebook(
        "table = dict(zip('abc', range(3)))",
        code("def predict(k: str) -> int:\n    return table[k]", "predict"),
    )
    message = refusal(nb, ArtifactNotCaptured)
    assert "table (computed in cell 1" in message
    assert "--execute" in message and "setup" in message


def test_a_value_that_cannot_be_serialised_is_refused_with_its_name_and_why() -> None:
    nb = make_notebook(
        "lock = make_lock()", code("def predict(x: int) -> int:\n    return x", "predict")
    )
    names = ["lock"]
    with pytest.raises(ArtifactNotSerializable) as caught:
        capture_namespace({"lock": threading.Lock()}, names)
    message = str(caught.value)
    assert message.startswith("lock (a _thread.lock) cannot be serialised")
    assert "setup" in message
    assert analyze(nb).artifact_names == []  # predict does not use it: nothing to capture


def test_a_magic_that_cannot_run_in_a_service_is_refused_in_a_setup_cell() -> None:
    nb = make_notebook(code("%%bash\necho setting up", "setup"), PREDICT)
    message = refusal(nb, UnsupportedMagic)
    assert "cell 1" in message and "%%bash" in message


def test_a_shell_escape_in_a_setup_cell_is_dropped_with_a_warning() -> None:
    nb = make_notebook(code("!pip install tiny\nLIMIT = 3", "setup"), PREDICT)
    bundle = compile_notebook(nb, name="m")
    assert "pip install" not in bundle.module
    assert any("!pip install tiny dropped" in w for w in bundle.warnings)


def test_a_file_listed_in_metadata_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    nb = make_notebook(PREDICT, metadata={"jupyter_deploy": {"files": ["missing.csv"]}})
    message = refusal(nb, InvalidNotebook, notebook_dir=tmp_path)
    assert "'missing.csv'" in message


def test_a_deployment_name_that_is_not_a_dns_label_is_refused() -> None:
    with pytest.raises(Exception, match="cannot name a deployment"):
        compile_notebook(make_notebook(PREDICT), name="Bad Name!")


def test_a_file_that_is_not_a_notebook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json")
    with pytest.raises(InvalidNotebook, match="not a readable notebook"):
        compile_notebook(path)


def test_a_name_hidden_by_a_star_import_of_a_package_says_so() -> None:
    # Given `from math import *` (an installed module the compiler does not import)
    nb = make_notebook(
        "from math import *",
        code("def predict(x: float) -> float:\n    return sqrt(x)", "predict"),
    )
    # When compiled, then the message says that the star import hides where sqrt comes from
    with pytest.raises(UnresolvedName) as caught:
        compile_notebook(nb, name="m")
    message = str(caught.value)
    assert "`from math import *`, which hides where names come from" in message
    assert "from math import sqrt" in message and "no cell defines" not in message.split(";")[1]
