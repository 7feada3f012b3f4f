"""requirements.txt: the distributions behind the module's imports, pinned to what is installed."""

from __future__ import annotations

import functools
import sys
from importlib import metadata
from pathlib import Path

from jupyter_deploy.errors import CompileError

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"
_RUNTIME_DEFAULT = ("starlette", "uvicorn")


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())


@functools.cache
def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def runtime_distributions() -> list[str]:
    """What the model service itself needs (the runtime's requirements.txt, names only)."""
    listed = RUNTIME_DIR / "requirements.txt"
    if not listed.is_file():
        return list(_RUNTIME_DEFAULT)
    lines = (line.split("#")[0].strip() for line in listed.read_text().splitlines())
    return [line for line in lines if line]


def is_stdlib(module: str) -> bool:
    """True for a module of Python's standard library."""
    return module in sys.stdlib_module_names or module in sys.builtin_module_names


def distributions_for(modules: set[str]) -> tuple[list[str], list[str]]:
    """(distribution names, modules nothing installed provides) for top-level module names."""
    found: set[str] = set()
    unknown: list[str] = []
    for module in sorted(modules):
        if is_stdlib(module) or module == "__main__":
            continue
        names = _distributions().get(module)
        if names:
            found.add(sorted(names)[0])
        else:
            unknown.append(module)
    return sorted(found, key=str.lower), unknown


def pin(distributions: list[str], optional: frozenset[str] = frozenset()) -> list[str]:
    """`name==version` for each distribution, sorted; distributions not installed are an error."""
    pinned: dict[str, str] = {}
    for name in distributions:
        version = _version(name)
        if version is None:
            if name in optional:
                continue
            raise CompileError(
                f"{name} is needed by the model service but is not installed here: "
                f"pip install {name}, then try again."
            )
        key = name.lower().replace("_", "-")
        pinned[key] = f"{name}=={version}"
    return [pinned[key] for key in sorted(pinned)]
