"""The notebook corpus: teaching-style notebooks (tests/fixtures/notebooks, offline data, only
the tags added), each exported with `--execute`, served by a real model service, and its
answers compared with the notebook's own predict (the kernel's answers at capture)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from compiler_helpers import jupyter_deploy, served

from jupyter_deploy.runtime.golden import same_answer

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"
pytestmark = pytest.mark.slow


@dataclass
class Expect:
    """What a notebook's export must show beyond answering like the notebook."""

    cases: int
    needs: tuple[str, ...] = ()
    stderr_has: tuple[str, ...] = ()
    module_has: tuple[str, ...] = ()
    requirements_have: tuple[str, ...] = ()


EXPECT: dict[str, Expect] = {
    "titanic": Expect(1, module_has=("def predict_batch",)),
    "housing": Expect(
        2, module_has=("class CombinedAttributesAdder", 'rooms_ix = _load_artifact("rooms_ix")')
    ),
    "iris_grid_search": Expect(1),
    "sms_spam": Expect(2),
    "star_helpers": Expect(1, module_has=("from helpers import *",)),
    "legacy_python2": Expect(
        1,
        stderr_has=(
            "kernel 'python2' is not installed here: running it on 'python3'",
            "raised SyntaxError",
            "raised AttributeError",
            "left out (a Python 2 line?)",
        ),
    ),
    "formula_ols": Expect(2, ("statsmodels",), module_has=("def log_dose(x):",)),
    "html_keywords": Expect(2, ("bs4", "lxml"), requirements_have=("lxml==",)),
    "xgboost_cancer": Expect(1, ("xgboost",)),
    "lightgbm_diabetes": Expect(1, ("lightgbm",)),
    "torch_iris": Expect(1, ("torch",), module_has=("class Net(nn.Module):",)),
    "wine_quality_batch": Expect(2),  # its example is computed: taken from the kernel
}


def test_the_corpus_holds_every_notebook() -> None:
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) == sorted(EXPECT)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_each_notebook_deploys_and_answers_as_the_notebook(name: str, tmp_path: Path) -> None:
    expect = EXPECT[name]
    for module in expect.needs:
        pytest.importorskip(module)
    # Given a teaching notebook as its author left it (tags added)
    folder = shutil.copytree(CORPUS / name, tmp_path / name)
    # When it is exported with --execute
    done = jupyter_deploy("export", f"{name}.ipynb", "-o", "out", "--execute", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    for text in expect.stderr_has:
        assert text in done.stderr, done.stderr
    bundle = folder / "out"
    metadata = json.loads((bundle / "deploy.json").read_text())
    module = (bundle / "predict.py").read_text()
    for text in expect.module_has:
        assert text in module
    requirements = (bundle / "requirements.txt").read_text()
    for text in expect.requirements_have:
        assert text in requirements
    cases = metadata["golden"]["cases"]
    assert len(cases) == expect.cases, cases
    assert metadata["example"] == cases[0]["input"]  # the example is the first golden case
    # And --check, from another folder, finds the bundle up to date
    check = jupyter_deploy(
        "export", f"{name}/{name}.ipynb", "-o", f"{name}/out", "--check", cwd=tmp_path
    )
    assert check.returncode == 0, check.stdout + check.stderr
    # Then the served model answers each input as the notebook's own predict did
    with served(bundle) as url:
        for case in cases:
            answer = requests.post(f"{url}/predict", json=case["input"], timeout=60)
            assert answer.status_code == 200, answer.text
            assert same_answer(case["output"], answer.json()["prediction"]), (case, answer.text)
        inputs = [case["input"] for case in cases]
        batch = requests.post(f"{url}/predict/batch", json={"inputs": inputs}, timeout=60)
        assert batch.status_code == 200, batch.text
        for case, got in zip(cases, batch.json()["predictions"], strict=True):
            assert same_answer(case["output"], got)
