"""The iris model both service benchmarks deploy: trained here, as a kernel would, then exported."""

from __future__ import annotations

import nbformat

from jupyter_deploy.compiler import Bundle, capture_namespace, compile_notebook

TRAIN = """\
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
import numpy as np
iris = load_iris()
model = LogisticRegression(max_iter=1000).fit(iris.data, iris.target)
SPECIES = ["setosa", "versicolor", "virginica"]
"""
PREDICT = """\
def predict(features: list[float]) -> str:
    return SPECIES[int(model.predict([features])[0])]
"""
EXAMPLE = '{"features": [5.1, 3.5, 1.4, 0.2]}'


def iris_bundle(predict_cell: str = PREDICT, name: str = "iris") -> Bundle:
    """Train, capture `model`, export a notebook whose predict cell is `predict_cell`."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(TRAIN, namespace)  # the notebook's training cell, run as a kernel would
    nb = nbformat.v4.new_notebook()
    predict = nbformat.v4.new_code_cell(predict_cell)
    predict.metadata["tags"] = ["predict"]
    example = nbformat.v4.new_code_cell(f"example = {EXAMPLE}")
    example.metadata["tags"] = ["example"]
    nb.cells = [nbformat.v4.new_code_cell(TRAIN), predict, example]
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"c{index}"
    return compile_notebook(nb, name=name, artifacts=capture_namespace(namespace, ["model"]))
