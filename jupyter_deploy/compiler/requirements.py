"""requirements.txt: the distributions behind the module's imports, pinned to what is installed."""

from __future__ import annotations

import functools
import sys
from importlib import metadata
from pathlib import Path

from jupyter_deploy.errors import CompileError

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"
_RUNTIME_DEFAULT = ("uvicorn", "httptools", "uvloop")


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())


@functools.cache
def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def runtime_requirements() -> dict[str, str]:
    """What the model service itself needs: name -> environment marker ("" for none), from the
    runtime's requirements.txt (`uvloop; sys_platform != "win32"`)."""
    listed = RUNTIME_DIR / "requirements.txt"
    if not listed.is_file():
        return dict.fromkeys(_RUNTIME_DEFAULT, "")
    found: dict[str, str] = {}
    for line in listed.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, marker = line.partition(";")
            found[name.strip()] = marker.strip()
    return found


def runtime_distributions() -> list[str]:
    """The names of what the model service itself needs."""
    return list(runtime_requirements())


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


def pin(
    distributions: list[str],
    optional: frozenset[str] = frozenset(),
    markers: dict[str, str] | None = None,
) -> list[str]:
    """`name==version` for each distribution, sorted; distributions not installed are an error.

    A local version label (`2.13.0+cpu`, a locally built wheel) is never pinned as is: the
    public release (`2.13.0`) is, and `local_labels` says so. `markers` adds an environment
    marker to a distribution's line (`uvloop==0.23.0; sys_platform != "win32"`).
    """
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
        marker = (markers or {}).get(name, "")
        pinned[key] = f"{name}=={version.split('+')[0]}" + (f"; {marker}" if marker else "")
    return [pinned[key] for key in sorted(pinned)]


def local_labels(distributions: list[str]) -> list[str]:
    """Comment lines for the distributions installed here under a local version label."""
    notes = []
    for name in sorted(distributions, key=str.lower):
        version = _version(name) or ""
        if "+" in version:
            public = version.split("+")[0]
            notes.append(
                f"# {name}: installed here as {version} (a local build); pinned to the "
                f"release {public}, which the package index serves."
            )
    return notes
