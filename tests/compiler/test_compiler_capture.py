"""Capture: values as of the predict cell, to a fixpoint, in an order the module can run, with
the kernel's own answers recorded as golden cases (a real kernel through `--execute`)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest
from compiler_helpers import call_module, code, export_executed, make_notebook

from jupyter_deploy.compiler.session import compile_with_capture
from jupyter_deploy.compiler.sources import NamespaceSource
from jupyter_deploy.runtime.golden import same_answer

TEXT_IMPORTS = (
    "from sklearn.feature_extraction.text import CountVectorizer\n"
    "from sklearn.linear_model import LogisticRegression"
)
TEXT_TRAINING = (
    "texts = ['good movie', 'bad movie', 'great film', 'awful film']\n"
    "labels = [1, 0, 1, 0]\n"
    "vect = CountVectorizer()\n"
    "X = vect.fit_transform(texts)\n"
    "clf = LogisticRegression().fit(X, labels)"
)


@pytest.mark.slow
def test_execute_captures_what_predict_saw_not_a_rebinding_below_the_predict_cell(
    tmp_path: Path,
) -> None:
    # Given a text model whose vectorizer is re-bound, unfitted, in a cell below predict
    nb = make_notebook(
        TEXT_IMPORTS,
        TEXT_TRAINING,
        code(
            "def predict(text: str) -> int:\n"
            "    return int(clf.predict(vect.transform([text]))[0])",
            "predict",
        ),
        code("example = 'good film'", "example"),
        "predict(example), predict('bad movie')",
        "vect = CountVectorizer()  # another experiment",
    )
    # When it is exported with --execute
    bundle, metadata = export_executed(nb, tmp_path)
    # Then the module answers with the fitted vectorizer, as the notebook's predict did
    assert call_module(bundle, [{"text": "good film"}, {"text": "bad movie"}]) == [1, 0]
    # And the kernel's answers travel as golden cases (the example, then the literal call)
    cases = metadata["golden"]["cases"]
    assert cases == [
        {"input": {"text": "good film"}, "output": 1},
        {"input": {"text": "bad movie"}, "output": 0},
    ]


HOUSING = [
    "import numpy as np\nimport pandas as pd\n"
    "from sklearn.base import BaseEstimator, TransformerMixin\n"
    "from sklearn.pipeline import Pipeline\nfrom sklearn.linear_model import LinearRegression",
    "housing = pd.DataFrame({'rooms': [3, 4, 5, 6, 2], 'households': [1, 2, 2, 3, 1],"
    " 'value': [10.0, 14.0, 17.0, 21.0, 7.0]})\ncols = list(housing.columns)",
    "rooms_ix, households_ix = [cols.index(c) for c in ('rooms', 'households')]",
    "class CombinedAttributesAdder(BaseEstimator, TransformerMixin):\n"
    "    def fit(self, X, y=None):\n        return self\n"
    "    def transform(self, X):\n        X = np.asarray(X, dtype=float)\n"
    "        return np.c_[X, X[:, rooms_ix] / X[:, households_ix]]",
    "from sklearn.base import BaseEstimator, TransformerMixin  # repeated, as notebooks do",
    "model = Pipeline([('add', CombinedAttributesAdder()), ('lr', LinearRegression())])\n"
    "model.fit(housing[['rooms', 'households']].values, housing['value'])",
    code(
        "def predict(rows: list[list[float]]) -> list[float]:\n"
        "    return model.predict(rows).tolist()",
        "predict",
    ),
    code("example = [[3.0, 1.0], [5.0, 2.0]]", "example"),
]


@pytest.mark.slow
def test_a_notebook_class_inside_a_pickle_brings_the_globals_it_reads(tmp_path: Path) -> None:
    # Given a fitted pipeline holding a notebook class that reads computed module globals,
    # and an import repeated below the class
    nb = make_notebook(*HOUSING)
    # When exported with --execute
    bundle, metadata = export_executed(nb, tmp_path)
    # Then the globals were captured too (the second round of the fixpoint)
    assert {a["name"] for a in metadata["artifacts"]} == {"rooms_ix", "households_ix", "model"}
    # And the class comes after the import it needs: the module loads and answers as the kernel
    module = (bundle / "predict.py").read_text()
    assert module.index("from sklearn.base import") < module.index("class CombinedAttributes")
    (case,) = metadata["golden"]["cases"]
    assert case["input"] == {"rows": [[3.0, 1.0], [5.0, 2.0]]}  # predict(example) shape
    assert same_answer(case["output"], call_module(bundle, [case["input"]])[0])


def test_a_namespace_is_a_source_like_a_kernel() -> None:
    # Given a namespace where a predict cell ran (as in %deploy)
    nb = make_notebook(
        "offset = sum([1, 2, 3])",
        code("def predict(x: float) -> float:\n    return x + offset", "predict"),
        code("example = {'x': 1.5}", "example"),
        "predict(2)",
    )
    namespace: dict[str, Any] = {"offset": 6}
    exec("def predict(x: float) -> float:\n    return x + offset", namespace)
    # When compiled with capture from it
    bundle = compile_with_capture(nb, NamespaceSource(namespace), name="m")
    # Then the value and the golden cases come from the namespace
    assert bundle.files["artifacts/offset.pkl"]
    assert bundle.metadata["golden"]["cases"] == [
        {"input": {"x": 1.5}, "output": 7.5},
        {"input": {"x": 2}, "output": 8},
    ]


@pytest.mark.parametrize(
    ("notebook", "service", "same"),
    [
        (10.0, 9.999999999999998, True),
        (10.0, 10.001, False),
        ([1, {"a": 0.1}], [1.0, {"a": 0.1 + 1e-12}], True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        (True, 1, False),
        ("x", "x", True),
        (0.0, 1e-12, True),
        (math.pi, math.pi * (1 + 2e-6), False),
    ],
)
def test_answers_agree_as_json_with_floats_within_the_tolerance(
    notebook: Any, service: Any, same: bool
) -> None:
    assert same_answer(notebook, service) is same


def test_the_kernel_side_runs_on_the_kernels_own_python() -> None:
    # The snippet must not need jupyter_deploy in the kernel: it only uses the standard library
    from jupyter_deploy.compiler.sources import snippet

    text = snippet("modules", {})
    import subprocess

    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", text], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "__jupyter_deploy_capture__" in done.stdout


def test_a_predict_that_is_not_deterministic_is_reported_and_its_cases_skipped() -> None:
    # Given a predict that adds noise
    nb = make_notebook(
        "import random",
        code("def predict(x: float) -> float:\n    return x + random.random()", "predict"),
        code("example = {'x': 1.0}", "example"),
    )
    namespace: dict[str, Any] = {}
    for cell in nb.cells:
        exec(cell.source, namespace)
    # When compiled with capture
    bundle = compile_with_capture(nb, NamespaceSource(namespace), name="noisy")
    # Then no golden case is kept for it, and a warning says why
    assert bundle.metadata["golden"]["cases"] == []
    assert any("not deterministic" in w for w in bundle.warnings)
