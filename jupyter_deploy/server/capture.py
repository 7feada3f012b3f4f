"""Kernel capture: run the compiler's capture snippet in the notebook's kernel, time-limited.

The snippet runs with `store_history=False` (no execution count, nothing in the user's
history) and its output is addressed to our own client's message, so it never shows in the
notebook. The kernel serialises the values with its own libraries; we only decode the text.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from queue import Empty
from typing import Any

from tornado.web import HTTPError

from jupyter_deploy.errors import CaptureFailed, CaptureTimeout, NoRunningKernel

RUN_CELLS_HINT = "run the notebook's cells first (or load files in a setup cell)"


@dataclass
class ExecutionResult:
    """What one silent execution printed, and its error if it raised."""

    stdout: str = ""
    error: tuple[str, str] | None = None
    chunks: list[str] = field(default_factory=list)


async def capture_values(
    kernel_manager: Any, kernel_id: str, names: list[str], timeout: float
) -> dict[str, bytes]:
    """Serialise `names` in the kernel `kernel_id`; bytes per name."""
    from jupyter_deploy.compiler import capture_code, decode_capture

    result = await execute_in_kernel(kernel_manager, kernel_id, capture_code(names), timeout)
    if result.error is not None:
        ename, evalue = result.error
        listed = ", ".join(names)
        raise CaptureFailed(
            f"Capturing {listed} from the notebook's kernel failed ({ename}: {evalue}); "
            f"{RUN_CELLS_HINT}."
        )
    values: dict[str, bytes] = decode_capture(result.stdout)
    return values


async def run_in_kernel(kernel_manager: Any, kernel_id: str, code: str, timeout: float) -> str:
    """The stdout of `code` run silently in the kernel; CaptureFailed when it raised."""
    result = await execute_in_kernel(kernel_manager, kernel_id, code, timeout)
    if result.error is not None:
        ename, evalue = result.error
        raise CaptureFailed(
            f"Taking the values from the notebook's kernel failed ({ename}: {evalue}); "
            f"{RUN_CELLS_HINT}."
        )
    return result.stdout


async def execute_in_kernel(
    kernel_manager: Any, kernel_id: str, code: str, timeout: float
) -> ExecutionResult:
    """Run `code` in a running kernel and collect its stdout; CaptureTimeout after `timeout`."""
    try:
        kernel = kernel_manager.get_kernel(kernel_id)
    except (KeyError, HTTPError):
        raise NoRunningKernel(f"The notebook's kernel has stopped: {RUN_CELLS_HINT}.") from None
    client = kernel.client()
    client.start_channels()
    try:
        return await asyncio.wait_for(_execute(client, code, timeout), timeout)
    except (asyncio.TimeoutError, TimeoutError):
        raise CaptureTimeout(
            f"The notebook's kernel did not hand over the values within {timeout:.0f} s "
            "(is a cell still running?). Wait for it to finish, or raise "
            "DeployExtension.capture_timeout."
        ) from None
    finally:
        client.stop_channels()


async def _execute(client: Any, code: str, timeout: float) -> ExecutionResult:
    deadline = time.monotonic() + timeout
    await client.wait_for_ready(timeout=timeout)
    msg_id = client.execute(code, silent=False, store_history=False, allow_stdin=False)
    result = ExecutionResult()
    while True:
        remaining = max(deadline - time.monotonic(), 0.05)
        try:
            msg = await client.get_iopub_msg(timeout=remaining)
        except Empty:
            continue
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if _take(msg, result):
            break
    result.stdout = "".join(result.chunks)
    return result


def _take(msg: dict[str, Any], result: ExecutionResult) -> bool:
    """Record one iopub message; True when the execution is over (kernel idle)."""
    kind, content = msg.get("msg_type"), msg.get("content", {})
    if kind == "stream" and content.get("name") == "stdout":
        result.chunks.append(str(content.get("text", "")))
    elif kind == "error":
        result.error = (str(content.get("ename", "Error")), str(content.get("evalue", "")))
    return kind == "status" and content.get("execution_state") == "idle"
