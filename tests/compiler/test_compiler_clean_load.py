"""Every bundle is loaded in a clean interpreter before it ships: names that live only in
strings are pulled in, modules named by a string are pinned, failures are named."""

from __future__ import annotations

from pathlib import Path

import pytest
from compiler_helpers import call_module, code, export_executed, make_notebook

from jupyter_deploy.compiler.session import compile_with_capture
from jupyter_deploy.errors import CompileError
from jupyter_deploy.runtime.golden import same_answer


@pytest.mark.slow
def test_a_function_named_only_in_a_formula_string_travels_with_the_model(
    tmp_path: Path,
) -> None:
    # Given a statsmodels formula that calls a notebook function (no code names it)
    pytest.importorskip("statsmodels")
    nb = make_notebook(
        "import pandas as pd\nimport statsmodels.formula.api as smf",
        "def double_it(x):\n    return 2 * x",
        "df = pd.DataFrame({'x': [1.0, 2.0, 3.0, 4.0, 5.0], 'y': [2.1, 3.9, 6.2, 7.8, 10.1]})\n"
        "fit = smf.ols('y ~ double_it(x)', data=df).fit()",
        code(
            "def predict(x: float) -> float:\n"
            "    return float(fit.predict(pd.DataFrame({'x': [x]}))[0])",
            "predict",
        ),
        code("example = 2.5", "example"),
    )
    # When exported with --execute
    bundle, metadata = export_executed(nb, tmp_path)
    # Then the function is in the module and the module answers as the kernel did
    assert "def double_it(x):" in (bundle / "predict.py").read_text()
    (case,) = metadata["golden"]["cases"]
    assert same_answer(case["output"], call_module(bundle, [{"x": 2.5}])[0])


def test_a_parser_named_by_a_string_is_pinned() -> None:
    # Given BeautifulSoup told to use "lxml" (no import names lxml)
    pytest.importorskip("lxml")
    nb = make_notebook(
        "from bs4 import BeautifulSoup",
        code(
            "def predict(html: str) -> str:\n    return BeautifulSoup(html, 'lxml').get_text()",
            "predict",
        ),
        code("example = '<p>Hello <b>world</b></p>'", "example"),
    )
    # When compiled (loaded and called on the example in a clean interpreter)
    bundle = compile_with_capture(nb, None, name="soup")
    # Then lxml is pinned beside beautifulsoup4
    names = [line.split("==")[0] for line in bundle.metadata["requirements"]]
    assert "lxml" in names and "beautifulsoup4" in names


def test_a_local_version_label_is_pinned_as_the_public_release_with_a_comment() -> None:
    # Given torch installed from a local CPU build (2.13.0+cpu)
    torch = pytest.importorskip("torch")
    if "+" not in torch.__version__:
        pytest.skip("torch here has no local version label")
    nb = make_notebook(
        "import torch",
        code("def predict(x: float) -> float:\n    return float(torch.tensor(x) * 2)", "predict"),
    )
    bundle = compile_with_capture(nb, None, name="t")
    text = bundle.files["requirements.txt"].decode()
    public = torch.__version__.split("+")[0]
    assert f"torch=={public}\n" in text and "+cpu" not in text.replace(
        f"installed here as {torch.__version__}", ""
    )
    assert f"# torch: installed here as {torch.__version__} (a local build)" in text


def test_a_module_that_fails_to_load_fails_the_export_naming_why(tmp_path: Path) -> None:
    # Given a setup cell that reads a file that is not there
    nb = make_notebook(
        code("WORDS = open('no-such-file.txt').read().split()", "setup"),
        code("def predict(w: str) -> bool:\n    return w in WORDS", "predict"),
    )
    # When compiled
    with pytest.raises(CompileError) as caught:
        compile_with_capture(nb, None, name="m", notebook_dir=tmp_path)
    # Then the export fails naming the error
    assert "fails in a clean interpreter" in str(caught.value)
    assert "FileNotFoundError" in str(caught.value) and "no-such-file.txt" in str(caught.value)
