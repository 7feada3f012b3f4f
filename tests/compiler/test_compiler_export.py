"""`jupyter deploy export` as a user meets it: bad files are one line, --execute shows no
traceback, -o writes atomically and deletes nothing it did not write, --check from any cwd."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from compiler_helpers import call_module, code, jupyter_deploy, make_notebook, write_notebook

CONSTANT = make_notebook(
    "FACTOR = 3",
    code("def predict(x: int) -> int:\n    return x * FACTOR", "predict"),
    code("example = 2", "example"),
)


@pytest.mark.parametrize("text", ["[]", "null", '{"cells": 5}', '{"cells": [1]}', "{"])
def test_json_that_is_not_a_notebook_is_one_line_and_exit_2(text: str, tmp_path: Path) -> None:
    (tmp_path / "bad.ipynb").write_text(text)
    done = jupyter_deploy("export", "bad.ipynb", "-o", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "bad.ipynb" in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()


def test_a_cell_too_deep_to_parse_is_one_line_and_exit_2(tmp_path: Path) -> None:
    nb = make_notebook(code("x = " + "(" * 5000 + ")" * 5000, "predict"))
    write_notebook(nb, tmp_path)
    done = jupyter_deploy("export", "model.ipynb", "-o", "out", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "cell 1" in done.stderr


def test_a_file_name_with_quotes_and_backslashes_gives_a_module_that_imports(
    tmp_path: Path,
) -> None:
    # Given a notebook whose name has quotes, a backslash and triple quotes
    name = 'it\'s a """quoted""" \\ name.ipynb'
    write_notebook(CONSTANT, tmp_path, name)
    # When exported
    done = jupyter_deploy("export", name, "-o", "out", "--name", "quoted", cwd=tmp_path)
    # Then the module imports and answers
    assert done.returncode == 0, done.stderr
    assert call_module(tmp_path / "out", [{"x": 2}]) == [6]


def test_export_refuses_a_folder_of_other_files_unless_forced_and_deletes_nothing(
    tmp_path: Path,
) -> None:
    write_notebook(CONSTANT, tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    # When exported into a folder that holds someone's files
    refused = jupyter_deploy("export", "model.ipynb", "-o", "out", cwd=tmp_path)
    # Then it is refused, one line, naming --force
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["notes.txt"]
    # When forced, then the bundle is written among the files, which stay
    forced = jupyter_deploy("export", "model.ipynb", "-o", "out", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"
    assert (tmp_path / "out" / "predict.py").is_file()
    # When exported again over the earlier bundle (no --force needed), the files still stay
    again = jupyter_deploy("export", "model.ipynb", "-o", "out", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no leftovers


def test_check_gives_the_same_verdict_from_any_working_directory(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_notebook(CONSTANT, project / "notebooks")
    made = jupyter_deploy("export", "notebooks/model.ipynb", "-o", "build", cwd=project)
    assert made.returncode == 0, made.stderr
    metadata = json.loads((project / "build" / "deploy.json").read_text())
    assert metadata["source"]["path"] == "model.ipynb"  # relative to the notebook's folder
    for cwd, notebook, out in [
        (project, "notebooks/model.ipynb", "build"),
        (project / "notebooks", "model.ipynb", "../build"),
        (tmp_path, "project/notebooks/model.ipynb", "project/build"),
    ]:
        done = jupyter_deploy("export", notebook, "-o", out, "--check", cwd=cwd)
        assert done.returncode == 0, (cwd, done.stdout, done.stderr)


@pytest.mark.slow
def test_execute_runs_a_python2_notebook_on_the_default_kernel_and_lists_raising_cells(
    tmp_path: Path,
) -> None:
    # Given an old notebook (kernelspec python2) with a cell that raises above predict
    nb = make_notebook(
        "import math",
        "scale = math.sqrt(16)",
        "1 / 0  # a leftover experiment",
        code("def predict(x: float) -> float:\n    return x * scale", "predict"),
        code("example = 2.0", "example"),
        metadata={"kernelspec": {"name": "python2", "display_name": "Python 2"}},
    )
    write_notebook(nb, tmp_path)
    # When exported with --execute
    done = jupyter_deploy("export", "model.ipynb", "-o", "out", "--execute", cwd=tmp_path)
    # Then it ran on python3 with a warning, the raising cell is a one-line warning, no traceback
    assert done.returncode == 0, done.stderr
    assert "kernel 'python2' is not installed here: running it on 'python3'" in done.stderr
    assert "warning: cell [3] (id 'c3') raised ZeroDivisionError: division by zero" in (done.stderr)
    assert "Traceback" not in done.stderr
    assert call_module(tmp_path / "out", [{"x": 2.0}]) == [8.0]


@pytest.mark.slow
def test_execute_refuses_a_value_whose_cell_raised(tmp_path: Path) -> None:
    # Given a cell that raises after binding nothing useful, and predict needs its value
    nb = make_notebook(
        "import json",
        "table = json.loads('{\"a\": 1}')\ntable['b']",
        code("def predict(k: str) -> int:\n    return table[k]", "predict"),
    )
    write_notebook(nb, tmp_path)
    done = jupyter_deploy("export", "model.ipynb", "-o", "out", "--execute", cwd=tmp_path)
    # Then the export fails in one line naming the cell, the error and the value
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cell 2 (id 'c2') raised KeyError: 'b'"), done.stderr
    assert "computes table" in last and "Traceback" not in done.stderr


@pytest.mark.slow
def test_the_captured_comment_names_type_size_and_the_cell_that_changed_it(
    tmp_path: Path,
) -> None:
    nb = make_notebook(
        "counts = {}",
        "counts.update({'a': 1, 'b': 2})",
        code("def predict(k: str) -> int:\n    return counts.get(k, 0)", "predict"),
    )
    write_notebook(nb, tmp_path)
    done = jupyter_deploy("export", "model.ipynb", "-o", "out", "--execute", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    module = (tmp_path / "out" / "predict.py").read_text()
    assert "# counts: a builtins.dict, " in module
    assert "bytes; last changed in cell 2 (id 'c2')" in module
    assert call_module(tmp_path / "out", [{"k": "b"}]) == [2]


@pytest.mark.slow
def test_a_kernel_that_dies_while_executing_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # Given a cell that kills its kernel
    nb = make_notebook(
        "import os",
        "os._exit(1)",
        code("def predict(x: int) -> int:\n    return x", "predict"),
    )
    write_notebook(nb, tmp_path)
    # When exported with --execute
    done = jupyter_deploy("export", "model.ipynb", "-o", "out", "--execute", cwd=tmp_path)
    # Then one line says the kernel died, exit 2, no traceback, nothing written
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: The kernel died"), done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_cell_that_runs_past_the_timeout_is_one_message_naming_the_fix(tmp_path: Path) -> None:
    from jupyter_deploy.compiler.execute import executed_notebook
    from jupyter_deploy.errors import CaptureTimeout

    # Given a cell that runs for a minute
    nb = make_notebook(
        "import time",
        "time.sleep(60)",
        code("def predict(x: int) -> int:\n    return x", "predict"),
    )
    # When the notebook is executed with a 2-second limit per cell
    with (
        pytest.raises(CaptureTimeout) as caught,
        executed_notebook(nb, tmp_path, timeout=2, warn=lambda _: None),
    ):
        pass
    # Then the error says so in one sentence, with what to do
    assert str(caught.value).startswith("A cell ran longer than 2 s while executing the notebook")
    assert "deploy from the running notebook" in str(caught.value)
