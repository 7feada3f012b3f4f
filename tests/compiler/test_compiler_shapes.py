"""The natural shapes of `example` and `predict_batch`: decided by type hints, served as the
notebook calls them, and refused at compile time when the service could not call them."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path
from typing import Any

import pytest
import requests
from compiler_helpers import code, make_notebook, ran, served

from jupyter_deploy.compiler import compile_notebook
from jupyter_deploy.compiler.session import compile_with_capture
from jupyter_deploy.compiler.sources import NamespaceSource
from jupyter_deploy.errors import CompileError

LENGTHS = code(
    "def predict(text: str) -> int:\n    return len(text)\n\n"
    "def predict_batch(texts: list[str]) -> list[int]:\n    return [len(t) for t in texts]",
    "predict",
)


def compiled(*cells: Any) -> Any:
    """Compile with values and golden cases from the notebook run in-process."""
    nb = make_notebook(*cells)
    return compile_with_capture(nb, NamespaceSource(ran(nb)), name="shapes")


def test_an_example_that_is_the_single_arguments_value_becomes_its_arguments() -> None:
    # Given predict(text) and `example = "hello"`, as in predict(example)
    bundle = compiled(LENGTHS, code("example = 'hello'", "example"))
    # Then deploy.json carries the arguments by name, and the golden case has the kernel's answer
    assert bundle.metadata["example"] == {"text": "hello"}
    assert bundle.metadata["golden"]["cases"] == [{"input": {"text": "hello"}, "output": 5}]


def test_an_example_dict_of_arguments_is_kept_even_for_one_parameter() -> None:
    bundle = compiled(LENGTHS, code("example = {'text': 'hi'}", "example"))
    assert bundle.metadata["example"] == {"text": "hi"}


def test_a_dict_valued_single_parameter_takes_a_dict_example_as_its_value() -> None:
    # Given predict(row: dict) and an example that is a row (its keys are not predict's)
    bundle = compiled(
        code("def predict(row: dict) -> float:\n    return row['a'] + row['b']", "predict"),
        code("example = {'a': 1.0, 'b': 2.0}", "example"),
    )
    assert bundle.metadata["example"] == {"row": {"a": 1.0, "b": 2.0}}


@pytest.mark.slow
def test_predict_batch_over_values_is_served_batched_as_the_notebook_calls_it(
    tmp_path: Path,
) -> None:
    # Given predict_batch(texts: list[str]): a list of predict's one argument
    bundle = compiled(LENGTHS, code("example = 'hello'", "example"), "predict('abc')")
    assert bundle.metadata["batch_items"] == {"shape": "values", "parameter": "text"}
    # When the service gets many concurrent requests (grouped into predict_batch calls)
    with served(bundle.write(tmp_path / "bundle")) as url:
        words = ["x" * n for n in range(1, 61)]
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            answers = list(
                pool.map(
                    lambda w: requests.post(f"{url}/predict", json={"text": w}, timeout=30), words
                )
            )
        batch = requests.post(f"{url}/predict/batch", json={"inputs": [{"text": "ab"}]}, timeout=30)
    # Then every answer is right
    assert [a.status_code for a in answers] == [200] * len(words)
    assert [a.json()["prediction"] for a in answers] == list(range(1, 61))
    assert batch.json() == {"predictions": [2]}


def test_predict_batch_over_dicts_is_kept_for_several_parameters() -> None:
    bundle = compiled(
        code(
            "def predict(a: int, b: int) -> int:\n    return a * b\n\n"
            "def predict_batch(items):\n    return [i['a'] * i['b'] for i in items]",
            "predict",
        ),
        code("example = {'a': 2, 'b': 3}", "example"),
    )
    assert bundle.metadata["batch_items"] == {"shape": "arguments"}
    assert bundle.metadata["golden"]["cases"] == [{"input": {"a": 2, "b": 3}, "output": 6}]


def test_predict_batch_over_values_with_several_parameters_is_refused_naming_the_fix() -> None:
    nb = make_notebook(
        code(
            "def predict(a: int, b: int) -> int:\n    return a * b\n\n"
            "def predict_batch(items: list[int]) -> list[int]:\n    return items",
            "predict",
        )
    )
    with pytest.raises(CompileError) as caught:
        compile_notebook(nb, name="m")
    assert "predict_batch" in str(caught.value) and "items: list[dict]" in str(caught.value)


def test_predict_batch_that_fails_on_the_shape_the_service_uses_is_refused() -> None:
    # Given predict(x) with one parameter and a predict_batch over dicts without a telling hint
    with pytest.raises(CompileError) as caught:
        compiled(
            code(
                "def predict(x: int) -> int:\n    return x * 2\n\n"
                "def predict_batch(items: list) -> list:\n    return [i['x'] * 2 for i in items]",
                "predict",
            ),
            code("example = {'x': 3}", "example"),
        )
    # Then the export is refused naming predict_batch, the shape and the fix
    message = str(caught.value)
    assert message.startswith("predict_batch, given a list of 'x' values (as the service")
    assert "raised TypeError" in message
    assert "items: list[dict]" in message


def test_predict_batch_that_disagrees_with_predict_is_refused() -> None:
    with pytest.raises(CompileError, match="predict_batch disagrees with predict on"):
        compiled(
            code(
                "def predict(x: int) -> int:\n    return x * 2\n\n"
                "def predict_batch(xs: list[int]) -> list[int]:\n    return [x * 3 for x in xs]",
                "predict",
            ),
            code("example = 3", "example"),
        )
