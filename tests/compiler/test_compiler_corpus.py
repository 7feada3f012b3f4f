"""The notebook corpus: each shape is run like a kernel would, exported, and its module, imported
in a fresh interpreter, must answer exactly as the notebook's own predict does."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from compiler_helpers import code, export_and_compare, make_notebook


@dataclass
class Shape:
    """A notebook shape: its cells, inputs to call predict with, and what its module must hold."""

    cells: list[Any]
    calls: list[dict[str, Any]]
    files: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    module_has: tuple[str, ...] = ()
    module_lacks: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()


SHAPES: dict[str, Shape] = {
    "imports spread over cells, with aliases": Shape(
        [
            "import math as m",
            "from statistics import mean as average\nimport json",
            code(
                "def predict(xs: list[float]) -> float:\n    return m.sqrt(average(xs))", "predict"
            ),
        ],
        [{"xs": [4.0, 16.0]}],
        module_has=("import math as m", "from statistics import mean as average"),
        module_lacks=("import json",),
    ),
    "helpers calling helpers across cells": Shape(
        [
            "def double(x):\n    return 2 * x",
            "def inc(x):\n    return x + 1\n\ndef unused():\n    return 0",
            "def both(x):\n    return inc(double(x))",
            code("def predict(x: int) -> int:\n    return both(x)", "predict"),
        ],
        [{"x": 3}, {"x": -1}],
        module_has=("def double", "def inc", "def both"),
        module_lacks=("def unused",),
    ),
    "a class the notebook defines": Shape(
        [
            "class Scaler:\n    def __init__(self, k):\n        self.k = k\n"
            "    def __call__(self, x):\n        return x * self.k",
            code("def predict(x: float) -> float:\n    return Scaler(3)(x)", "predict"),
        ],
        [{"x": 1.5}],
        module_has=("class Scaler",),
    ),
    "constants redefined: the last one before predict wins": Shape(
        [
            "THRESHOLD = 0.5",
            "THRESHOLD = 0.8",
            code("def predict(p: float) -> bool:\n    return p > THRESHOLD", "predict"),
        ],
        [{"p": 0.6}, {"p": 0.9}],
        module_has=("THRESHOLD = 0.8",),
        module_lacks=("THRESHOLD = 0.5",),
    ),
    "line magics and shell escapes": Shape(
        [
            "%load_ext autoreload\n!echo exploring\nimport math",
            "%time OFFSET = 10",
            code("def predict(x: int) -> int:\n    return math.floor(x / 3) + OFFSET", "predict"),
        ],
        [{"x": 10}],
        module_has=("OFFSET = 10",),
        module_lacks=("get_ipython", "autoreload", "echo"),
    ),
    "a %%time cell whose body defines a helper": Shape(
        [
            "%%time\ndef shout(s):\n    return s.upper() + '!'",
            code("def predict(text: str) -> str:\n    return shout(text)", "predict"),
        ],
        [{"text": "hi"}],
        module_has=("def shout",),
        module_lacks=("%%time", "run_cell_magic"),
    ),
    "heavy exploration cells that raise, print and sleep stay out": Shape(
        [
            "import time\nimport random",
            "time.sleep(0.2)\nprint('exploring')",
            "raise ValueError('an exploration that fails')",
            "noise = [random.random() for _ in range(1000)]",
            code("def predict(x: int) -> int:\n    return x * 2", "predict"),
        ],
        [{"x": 21}],
        module_lacks=("sleep", "exploring", "ValueError", "random"),
    ),
    "a setup cell reads a file by a literal relative path": Shape(
        [
            code("WORDS = set(open('data/stop.txt').read().split())", "setup"),
            code(
                "def predict(text: str) -> list[str]:\n"
                "    return [w for w in text.split() if w not in WORDS]",
                "predict",
            ),
        ],
        [{"text": "the cat and the hat"}],
        files={"data/stop.txt": "the\nand\n"},
        module_has=("tagged setup",),
    ),
    "files listed in the notebook metadata": Shape(
        [
            "import json, pathlib",
            code(
                "def predict(key: str) -> str:\n"
                "    return json.loads(pathlib.Path('conf/labels.json').read_text())[key]",
                "predict",
            ),
        ],
        [{"key": "a"}],
        files={"conf/labels.json": '{"a": "alpha"}'},
        metadata={"jupyter_deploy": {"files": ["conf"]}},
    ),
    "a computed scikit-learn model captured from the kernel": Shape(
        [
            "from sklearn.datasets import load_iris\nfrom sklearn.tree import DecisionTreeClassifier",
            "iris = load_iris()\nclf = DecisionTreeClassifier(random_state=0).fit(iris.data, iris.target)",
            code(
                "def predict(features: list[float]) -> int:\n"
                "    return int(clf.predict([features])[0])",
                "predict",
            ),
        ],
        [{"features": [5.1, 3.5, 1.4, 0.2]}, {"features": [6.7, 3.0, 5.2, 2.3]}],
        artifacts=("clf",),
        module_has=('clf = _load_artifact("clf")',),
        module_lacks=("\niris = load_iris()", "\nclf = DecisionTreeClassifier"),
    ),
    "an instance of a notebook class as a captured value": Shape(
        [
            "class Model:\n    def fit(self, xs):\n        self.mean = sum(xs) / len(xs)\n"
            "        return self\n    def score(self, x):\n        return x - self.mean",
            "m = Model().fit([1.0, 2.0, 3.0])",
            code("def predict(x: float) -> float:\n    return m.score(x)", "predict"),
        ],
        [{"x": 5.0}],
        artifacts=("m",),
        module_has=("class Model",),
    ),
    "several names from one computed statement": Shape(
        [
            "lo, hi = sorted([7, 3])",
            code("def predict(x: int) -> bool:\n    return lo <= x <= hi", "predict"),
        ],
        [{"x": 5}, {"x": 9}],
        artifacts=("lo", "hi"),
    ),
    "predict and predict_batch in one cell": Shape(
        [
            "import numpy as np",
            "W = [0.5, -1.0]",
            code(
                "def predict(x: list[float]) -> float:\n    return predict_batch([x])[0]\n\n"
                "def predict_batch(items):\n"
                "    return (np.array(items) @ np.array(W)).tolist()",
                "predict",
            ),
        ],
        [{"x": [2.0, 1.0]}],
        module_has=("def predict_batch",),
    ),
    "an import fallback in try/except": Shape(
        [
            "try:\n    import ujson as fastjson\nexcept ImportError:\n    import json as fastjson",
            code(
                "def predict(d: dict) -> str:\n    return fastjson.dumps(d, sort_keys=True)",
                "predict",
            ),
        ],
        [{"d": {"b": 1, "a": 2}}],
        module_has=("except ImportError",),
    ),
    "a lambda helper and a decorated function": Shape(
        [
            "import functools\nsquare = lambda v: v * v",
            "@functools.lru_cache(maxsize=None)\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)",
            code("def predict(n: int) -> int:\n    return square(fib(n))", "predict"),
        ],
        [{"n": 10}],
        module_has=("@functools.lru_cache", "square = lambda"),
    ),
    "a module next to the notebook": Shape(
        [
            "import textutil",
            code("def predict(s: str) -> str:\n    return textutil.clean(s)", "predict"),
        ],
        [{"s": "  Hello  "}],
        files={"textutil.py": "def clean(s):\n    return s.strip().lower()\n"},
    ),
    "closures, comprehensions and nested functions over globals": Shape(
        [
            "SCALE = 3\nVOCAB = {'a': 1, 'b': 2}",
            "def make_scaler(k):\n    def scale(x):\n        return x * k * SCALE\n    return scale",
            code(
                "def predict(tokens: list[str]) -> list[int]:\n"
                "    f = make_scaler(2)\n"
                "    return [f(VOCAB.get(t, 0)) for t in tokens]",
                "predict",
            ),
        ],
        [{"tokens": ["a", "b", "z"]}],
    ),
    "a global counter mutated by predict": Shape(
        [
            "calls = 0",
            code(
                "def predict(x: int) -> int:\n    global calls\n    calls += 1\n    return x + calls",
                "predict",
            ),
        ],
        [{"x": 1}, {"x": 1}],
    ),
    "a dataclass turns the input into an object": Shape(
        [
            "from dataclasses import dataclass\n\n@dataclass\nclass Point:\n    x: float\n    y: float\n"
            "    def norm(self):\n        return (self.x ** 2 + self.y ** 2) ** 0.5",
            code(
                "def predict(x: float, y: float = 0.0) -> float:\n    return Point(x, y).norm()",
                "predict",
            ),
        ],
        [{"x": 3.0, "y": 4.0}, {"x": 2.0}],
    ),
    "pandas in predict, on records": Shape(
        [
            "import pandas as pd",
            "COLUMNS = ['a', 'b']",
            code(
                "def predict(rows: list[dict]) -> list[float]:\n"
                "    frame = pd.DataFrame(rows, columns=COLUMNS)\n"
                "    return (frame['a'] + frame['b']).tolist()",
                "predict",
            ),
        ],
        [{"rows": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}],
    ),
    "setup after training cells, using a captured value": Shape(
        [
            "weights = {w: len(w) for w in ['red', 'green', 'blue']}",
            code("TOTAL = sum(weights.values())", "setup"),
            code(
                "def predict(word: str) -> float:\n    return weights.get(word, 0) / TOTAL",
                "predict",
            ),
        ],
        [{"word": "green"}],
        artifacts=("weights",),
    ),
    "a predict cell with exploration below the function": Shape(
        [
            code(
                "def predict(a: int, b: int) -> int:\n    return a - b\n\nprint(predict(3, 1))",
                "predict",
            ),
            code("example = {'a': 3, 'b': 1}", "example"),
        ],
        [{"a": 5, "b": 2}],
        module_lacks=("print(",),
    ),
    "a star import from a module beside the notebook": Shape(
        [
            "from helpers import *",
            code(
                "def predict(xs: list[float]) -> float:\n    return scaled(np.mean(xs))", "predict"
            ),
        ],
        [{"xs": [1.0, 2.0, 6.0]}],
        files={
            "helpers.py": "import numpy as np\n\nSCALE = 2.0\n\n"
            "def scaled(x):\n    return float(x * SCALE)\n"
        },
        module_has=("from helpers import *",),
    ),
}


@pytest.mark.parametrize("title", list(SHAPES))
def test_exported_module_answers_like_the_notebook(title: str, tmp_path: Path) -> None:
    # Given a notebook of this shape, run as a kernel would
    shape = SHAPES[title]
    nb = make_notebook(*shape.cells, metadata=shape.metadata)
    # When it is exported and its module is called in a fresh interpreter
    bundle = export_and_compare(nb, tmp_path, shape.calls, shape.files)
    # Then (inside export_and_compare) the answers match, and the module holds what it should
    module = bundle.module
    for text in shape.module_has:
        assert text in module
    for text in shape.module_lacks:
        assert text not in module
    assert [a["name"] for a in bundle.metadata["artifacts"]] == list(shape.artifacts)
