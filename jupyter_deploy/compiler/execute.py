"""`--execute`: run the notebook top to bottom in a fresh kernel (nbclient), then capture values.

The one kernel-client door that the compiler ships itself; the server extension does the same
with the notebook's live kernel, the magics with their own namespace.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from jupyter_deploy.compiler.capture import capture_code, decode_capture
from jupyter_deploy.errors import CaptureFailed, CaptureTimeout


def execute_and_capture(
    nb: Any, names: list[str], cwd: str | Path, timeout: float = 600.0
) -> dict[str, bytes]:
    """Run every code cell of `nb` in a new kernel started in `cwd`; the pickled `names`."""
    if not names:
        return {}
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    work = copy.deepcopy(nb)
    work.cells.append(nbformat.v4.new_code_cell(capture_code(names)))  # type: ignore[no-untyped-call]
    kernel = work.get("metadata", {}).get("kernelspec", {}).get("name") or "python3"
    client = NotebookClient(
        work,
        timeout=int(timeout),
        kernel_name=kernel,
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    try:
        client.execute()
    except CellTimeoutError:
        raise CaptureTimeout(
            f"A cell ran longer than {timeout:.0f} s while executing the notebook: "
            "make it faster, or deploy from the running notebook instead."
        ) from None
    return decode_capture(_stdout(work.cells[-1]), _first_error(work))


def _stdout(cell: Any) -> str:
    return "".join(
        str(output.get("text", ""))
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    )


def _first_error(nb: Any) -> str:
    """`cell N raised E: message` for the first cell that raised, or ""."""
    for index, cell in enumerate(nb.cells[:-1], start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {index} raised {output.get('ename')}: {output.get('evalue')}"
    return ""


__all__ = ["CaptureFailed", "execute_and_capture"]
