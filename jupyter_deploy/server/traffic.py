"""Traffic, recent requests and "compare with notebook" through the server extension.

The reads pass through to the build service. A comparison replays the deployment's last N
logged inputs through the notebook's current `predict` in its running kernel, one chunk per
silent execution, as a task on the server's event loop: `POST` starts it (202), `GET` shows
its progress and result, `DELETE` cancels it between two chunks.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_deploy.compare import CHUNK, Comparison, cases_from, check_last, decode, kernel_code
from jupyter_deploy.errors import (
    CaptureFailed,
    Conflict,
    DeployError,
    InvalidRequest,
    NoRunningKernel,
    NotFound,
)
from jupyter_deploy.server.capture import execute_in_kernel
from jupyter_deploy.server.handlers import _NAME, API, DeployHandler
from jupyter_deploy.server.notebooks import clean_path, kernel_id_for
from jupyter_deploy.server.service import DeployService
from jupyter_deploy.wire import Json, check_name

KEY = "jupyter_deploy_traffic"


class Traffic:
    """The reads and the comparisons of one server (one comparison per deployment)."""

    def __init__(self, service: DeployService, chunk: int = CHUNK) -> None:
        self.service = service
        self.chunk = chunk
        self.comparisons: dict[str, Comparison] = {}
        self.cancelled: set[str] = set()
        self.tasks: dict[str, asyncio.Task[None]] = {}

    async def traffic(self, name: str, minutes: object) -> Json:
        """Per-minute figures of the deployment, from the build service."""
        builder = self.service.builder
        result: Json = await asyncio.to_thread(
            builder.traffic, check_name(name), _whole(minutes, "minutes", 60)
        )
        return result

    async def requests(self, name: str, limit: object, status: str | None) -> Json:
        """The newest logged requests, from the build service."""
        builder = self.service.builder
        limit_value = _whole(limit, "limit", 50)
        result: Json = await asyncio.to_thread(
            builder.recent_requests, check_name(name), limit_value, status or None
        )
        return result

    async def start(self, name: str, last: object, path: object = None) -> Json:
        """Begin comparing the last N logged answers with the notebook's current predict."""
        name, count = check_name(name), check_last(last)
        running = self.comparisons.get(name)
        if running is not None and running.state == "running":
            raise Conflict(f"A comparison of {name} is running: cancel it or wait for it.")
        builder = self.service.builder
        metadata = _json_object(
            await asyncio.to_thread(builder.deployment_file, name, "deploy.json")
        )
        notebook = clean_path(path or (metadata.get("source") or {}).get("path"))
        kernel_id = await kernel_id_for(
            self.service.session_manager, self.service.kernel_manager, notebook
        )
        if kernel_id is None:
            raise NoRunningKernel(
                f"{notebook} has no running kernel to compare with: open the notebook and "
                "run its cells (so predict is defined), then compare again."
            )
        answer = await asyncio.to_thread(builder.recent_requests, name, count, "200")
        cases, skipped = cases_from(answer["requests"])
        comparison = Comparison(name, len(cases), skipped)
        function = str((metadata.get("functions") or {}).get("predict") or "predict")
        self.comparisons[name] = comparison
        self.cancelled.discard(name)
        self.tasks[name] = asyncio.get_running_loop().create_task(
            self._drive(comparison, cases, kernel_id, function)
        )
        return comparison.to_json()

    def progress(self, name: str) -> Json:
        """The running or last comparison of `name`."""
        comparison = self.comparisons.get(check_name(name))
        if comparison is None:
            raise NotFound(f"No comparison of {name} yet: POST one first.")
        return comparison.to_json()

    def cancel(self, name: str) -> Json:
        """Stop the running comparison after the chunk the kernel is answering."""
        comparison = self.comparisons.get(check_name(name))
        if comparison is None:
            raise NotFound(f"No comparison of {name} to cancel.")
        if comparison.state == "running":
            self.cancelled.add(name)
        return comparison.to_json()

    async def _drive(
        self, comparison: Comparison, cases: list[Any], kernel_id: str, function: str
    ) -> None:
        timeout = self.service.settings.capture_timeout
        try:
            for start in range(0, len(cases), self.chunk):
                if comparison.name in self.cancelled:
                    comparison.state = "cancelled"
                    break
                part = cases[start : start + self.chunk]
                code = kernel_code([case.input for case in part], function)
                result = await execute_in_kernel(
                    self.service.kernel_manager, kernel_id, code, timeout
                )
                if result.error is not None:
                    ename, evalue = result.error
                    raise CaptureFailed(f"The comparison failed in the kernel ({ename}: {evalue}).")
                comparison.add(part, decode(result.stdout, function))
            if comparison.state == "running":
                comparison.state = "done"
        except DeployError as error:
            comparison.state, comparison.message = "failed", error.message
        except Exception as error:  # never leave a comparison "running" for ever
            comparison.state = "failed"
            comparison.message = f"The comparison stopped: {type(error).__name__}: {error}"
        comparison.message = comparison.message or comparison.summary()


def _json_object(text: str) -> Json:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _whole(value: object, key: str, default: int) -> int:
    if value is None or value == "":
        return default
    text = str(value)
    if not text.isdigit():
        raise InvalidRequest(f'"{key}" must be a whole number, not {value!r}.')
    return int(text)


# --- handlers -----------------------------------------------------------------------------------


class _TrafficHandler(DeployHandler):
    @property
    def traffic(self) -> Traffic:
        """The one Traffic of this server (made on first use)."""
        if KEY not in self.settings:
            self.settings[KEY] = Traffic(self.service)
        found: Traffic = self.settings[KEY]
        return found


class TrafficHandler(_TrafficHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        """Requests, errors and latency per minute (`?minutes=60`)."""
        self.answer(await self.traffic.traffic(name, self.get_query_argument("minutes", None)))


class RequestsHandler(_TrafficHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        """The newest logged requests (`?limit=50&status=`)."""
        limit = self.get_query_argument("limit", None)
        status = self.get_query_argument("status", None)
        self.answer(await self.traffic.requests(name, limit, status))


class CompareHandler(_TrafficHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        """Start a comparison `{"last": N, "path": notebook}`: 202 with its progress."""
        body = self.json_object()
        started = await self.traffic.start(name, body.get("last"), body.get("path"))
        self.answer(started, status=202)

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        """The comparison's progress, then its result."""
        self.answer(self.traffic.progress(name))

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        """Cancel the running comparison."""
        self.answer(self.traffic.cancel(name))


TRAFFIC_HANDLERS: list[tuple[str, type[DeployHandler]]] = [
    (rf"/{API}/deployments/{_NAME}/traffic", TrafficHandler),
    (rf"/{API}/deployments/{_NAME}/requests", RequestsHandler),
    (rf"/{API}/deployments/{_NAME}/compare", CompareHandler),
]
