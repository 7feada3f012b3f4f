"""`--execute`: run the notebook in a fresh kernel (nbclient) up to its predict cell, as a source.

Cells run top to bottom and stop after the predict cell (setup cells further down run too):
values are then taken as of the predict cell, so a cell below it that re-binds a name never
replaces what predict saw. The kernel stays up while the compiler captures (to a fixpoint)
and computes the golden cases, then shuts down.
"""

from __future__ import annotations

import contextlib
import copy
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from jupyter_deploy.compiler.cells import EXAMPLE, PREDICT, SETUP
from jupyter_deploy.compiler.sources import KernelSource
from jupyter_deploy.errors import CaptureFailed, CaptureTimeout

DEFAULT_KERNEL = "python3"


def kernel_name(nb: Any, warn: Callable[[str], None]) -> str:
    """The notebook's kernel when it is installed here; else the default, with a warning."""
    from jupyter_client.kernelspec import KernelSpecManager

    wanted = str(nb.get("metadata", {}).get("kernelspec", {}).get("name") or DEFAULT_KERNEL)
    installed = KernelSpecManager().find_kernel_specs()  # type: ignore[no-untyped-call]
    if wanted in installed:
        return wanted
    fallback = DEFAULT_KERNEL if DEFAULT_KERNEL in installed else sorted(installed)[0]
    warn(f"the notebook's kernel {wanted!r} is not installed here: running it on {fallback!r}.")
    return fallback


def _to_run(nb: Any) -> list[int]:
    """Positions (0-based) of the code cells to run: up to the predict cell, and setup cells
    and the example cell below it (run alone: it only computes the sample input)."""
    cells = nb.get("cells", [])
    roles = [set(c.get("metadata", {}).get("tags", []) or []) for c in cells]
    last = max((i for i, tags in enumerate(roles) if PREDICT in tags), default=len(cells) - 1)
    return [
        i
        for i, cell in enumerate(cells)
        if cell.get("cell_type") == "code"
        and (i <= last or SETUP in roles[i] or EXAMPLE in roles[i])
    ]


@contextlib.contextmanager
def executed_notebook(
    nb: Any,
    cwd: str | Path,
    timeout: float = 600.0,
    warn: Callable[[str], None] = print,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[KernelSource]:
    """A fresh kernel that ran the notebook up to its predict cell, as a ValueSource.

    `progress(done, total)` is called as each cell finishes."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    work = copy.deepcopy(nb)
    client = NotebookClient(
        work,
        timeout=int(timeout),
        kernel_name=kernel_name(nb, warn),
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    kernel_log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the with below
    try:
        with kernel_log, client.setup_kernel(stderr=kernel_log):
            raised: dict[int, str] = {}
            positions = _to_run(work)
            for done, position in enumerate(positions, start=1):
                client.execute_cell(work.cells[position], position)
                if progress is not None:
                    progress(done, len(positions))
                error = _error(work.cells[position])
                if error:
                    raised[position + 1] = error
                    warn(f"{_label(work.cells[position], position)} raised {error}")
            yield KernelSource(lambda code: _run(client, work, code), raised)
    except CellTimeoutError:
        raise CaptureTimeout(
            f"A cell ran longer than {timeout:.0f} s while executing the notebook: "
            "make it faster, or deploy from the running notebook instead."
        ) from None
    except DeadKernelError:
        raise CaptureFailed(
            "The kernel died while executing the notebook (out of memory, or a crash in a "
            "library): run it in JupyterLab to see which cell, then deploy from there."
        ) from None
    except RuntimeError as error:  # nbclient's "Kernel didn't respond in N seconds"
        if "respond" not in str(error):
            raise
        raise CaptureFailed(f"The kernel could not run the notebook: {error}.") from None


def _run(client: Any, work: Any, code: str) -> str:
    """Run `code` in the kernel (a scratch cell, removed after); its stdout."""
    import nbformat

    cell = nbformat.v4.new_code_cell(code)  # type: ignore[no-untyped-call]
    work.cells.append(cell)
    try:
        client.execute_cell(cell, len(work.cells) - 1)
    finally:
        work.cells.pop()
    error = _error(cell)
    if error:
        raise CaptureFailed(f"Taking the values from the kernel failed: {error}.")
    return "".join(
        str(output.get("text", ""))
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    )


def _error(cell: Any) -> str:
    """`Type: message` (one line) of the error a cell raised, or ""."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            message = str(output.get("evalue", "")).strip().splitlines()
            return f"{output.get('ename')}: {message[0] if message else ''}".rstrip(": ")
    return ""


def _label(cell: Any, position: int) -> str:
    """How JupyterLab shows the cell after a top-to-bottom run: `cell [5] (id 'abc')`."""
    count = cell.get("execution_count")
    shown = f"cell [{count}]" if count else f"cell {position + 1}"
    return f"{shown} (id {cell.get('id')!r})" if cell.get("id") else shown
