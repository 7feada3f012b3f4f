"""The captured values of a bundle (artifacts/<name>.pkl), loaded by its predict.py at import.

    from jupyter_deploy_runtime.artifacts import loader as _loader
    _load_artifact = _loader(__file__, globals())
    model = _load_artifact("model")

Classes the notebook defined were pickled by reference to `__main__`; they are looked up in
the generated module's own namespace instead, where the compiler copied them.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from functools import reduce
from pathlib import Path
from typing import Any, BinaryIO


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, namespace: dict[str, Any]) -> None:
        super().__init__(file)
        self.namespace = namespace

    def find_class(self, module: str, name: str) -> Any:
        if module != "__main__":
            return super().find_class(module, name)
        first, *rest = name.split(".")
        return reduce(getattr, rest, self.namespace[first])


def loader(module_file: str, namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A function loading `artifacts/<name>.pkl` next to `module_file`, with `namespace`'s
    classes standing in for the notebook's `__main__`."""
    folder = Path(module_file).resolve().with_name("artifacts")

    def load(name: str) -> Any:
        with open(folder / f"{name}.pkl", "rb") as file:
            return _Unpickler(file, namespace).load()

    return load
