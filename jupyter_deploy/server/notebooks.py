"""Reading notebooks through the contents manager and finding the kernel that ran them.

No tornado here: the contents manager's own HTTP errors are recognised by their `status_code`
and turned into domain errors.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_core.utils import ensure_async

from jupyter_deploy.compiler.bundle import parse_notebook
from jupyter_deploy.errors import InvalidNotebook, InvalidRequest, NotFound, PathOutsideRoot


@dataclass
class LoadedNotebook:
    """A notebook as the contents manager gave it, with where it lives."""

    path: str
    """API path, relative to the server root, with forward slashes."""
    nb: Any
    """The `nbformat.NotebookNode` (version 4)."""
    source: bytes
    """The file's bytes (for its hash)."""
    directory: Path | None
    """The folder holding the notebook on disk, when the contents manager is file based."""


def clean_path(path: object) -> str:
    """Check an API path from a request: a relative `.ipynb` path inside the root."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidRequest('Give the notebook as "path", relative to the Jupyter root.')
    text = path.strip().replace("\\", "/")
    parts = text.split("/")
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text) or ".." in parts:
        raise PathOutsideRoot(
            f"The path {path!r} leaves the Jupyter root; give a path relative to the root."
        )
    text = posixpath.normpath(text)
    if not text.endswith(".ipynb"):
        raise InvalidRequest(f"{path!r} is not a notebook: the path must end with .ipynb.")
    return text


async def load_notebook(contents_manager: Any, path: str) -> LoadedNotebook:
    """Read and parse a notebook through the contents manager, never outside the root.

    The contents manager refuses `..`, but follows symlinks; the resolved path is checked too.
    """
    _inside_root(contents_manager, path)
    try:
        model = await ensure_async(contents_manager.get(path, content=True, type="file"))
    except Exception as exc:
        raise _contents_error(path, exc) from None
    text = model.get("content")
    if model.get("format") == "base64" or not isinstance(text, str):
        raise InvalidNotebook(f"{path} is not a text file, so it cannot be a notebook.")
    nb = parse_notebook(text, path)
    return LoadedNotebook(path, nb, text.encode("utf-8"), _directory(contents_manager, path))


def _inside_root(contents_manager: Any, path: str) -> None:
    root = getattr(contents_manager, "root_dir", None)
    if not isinstance(root, str) or not root:
        return
    base = Path(root).resolve()
    if not (base / path.lstrip("/")).resolve().is_relative_to(base):
        raise PathOutsideRoot(f"The path {path!r} leads outside the Jupyter root.")


def _directory(contents_manager: Any, path: str) -> Path | None:
    root = getattr(contents_manager, "root_dir", None)
    if not isinstance(root, str) or not root:
        return None
    return (Path(root) / path).parent


def _contents_error(path: str, exc: Exception) -> Exception:
    status = getattr(exc, "status_code", None)
    detail = getattr(exc, "log_message", None) or str(exc)
    if status == 404:
        if "outside root" in str(detail):
            return PathOutsideRoot(f"The path {path!r} is outside the Jupyter root.")
        return NotFound(f"There is no notebook at {path!r} (paths are relative to the root).")
    if status == 403:
        return PathOutsideRoot(f"The Jupyter server does not allow reading {path!r}.")
    if status == 400:
        return InvalidNotebook(f"{path} cannot be read: {_first_line(detail)}")
    return exc


def _first_line(exc: object) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


async def kernel_id_for(session_manager: Any, kernel_manager: Any, path: str) -> str | None:
    """The id of the running kernel of the notebook's session, if there is one."""
    sessions = await ensure_async(session_manager.list_sessions())
    for session in sessions:
        notebook = session.get("notebook") or {}
        session_path = str(session.get("path") or notebook.get("path") or "").lstrip("/")
        kernel_id = (session.get("kernel") or {}).get("id")
        if posixpath.normpath(session_path or ".") != path or not kernel_id:
            continue
        if kernel_id in kernel_manager:
            return str(kernel_id)
    return None
