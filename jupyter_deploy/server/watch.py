"""Follow builds started through this server and publish their phase changes as events."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from jupyter_deploy.builder.client import BuilderClient
from jupyter_deploy.errors import BuilderUnreachable, DeployError
from jupyter_deploy.wire import ALL_PHASES, Json

SCHEMA_ID = "https://events.jupyter.org/jupyter_deploy/build/v1"


def event_data(build: Json) -> Json:
    """The event payload for one build state: {build_id, name, phase, url, message}."""
    error = build.get("error") or None
    message = None
    if isinstance(error, dict):
        message = f"{error.get('phase', 'build')} failed: {error.get('message', '')}"
    return {
        "build_id": str(build["id"]),
        "name": str(build.get("name", "")),
        "phase": str(build["phase"]),
        "url": build.get("url") or None,
        "message": message,
    }


class BuildWatcher:
    """Follows each build started through this server (the client's one follow loop, in a
    worker thread) and emits an event on each phase change."""

    def __init__(
        self,
        client: BuilderClient | None,
        emit: Callable[[Json], None],
        interval: float = 0.3,
        timeout: float = 3600.0,
        log: logging.Logger | None = None,
    ) -> None:
        self._client = client
        self._emit = emit
        self.interval = interval
        self.timeout = timeout
        self.log = log or logging.getLogger(__name__)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stop = threading.Event()

    def follow(self, build: Json) -> None:
        """Start following `build` (a Build as the builder answered it), once per id."""
        build_id = str(build["id"])
        if build_id in self._tasks or self._client is None:
            return
        task = asyncio.get_running_loop().create_task(self._follow(build))
        self._tasks[build_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(build_id, None))

    async def stop(self) -> None:
        """Stop every follower (server shutdown)."""
        self._stop.set()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _follow(self, build: Json) -> None:
        assert self._client is not None
        loop = asyncio.get_running_loop()
        last: list[tuple[Any, ...] | None] = [self._publish(build, None)]

        def changed(current: Json) -> None:
            loop.call_soon_threadsafe(lambda: last.__setitem__(0, self._publish(current, last[0])))

        for _attempt in range(20):  # a builder that restarts is followed again
            try:
                await asyncio.to_thread(
                    self._client.wait,
                    str(build["id"]),
                    on_change=changed,
                    timeout=self.timeout,
                    interval=self.interval,
                    stop=self._stop,
                )
                return
            except BuilderUnreachable as exc:
                self.log.warning("jupyter-deploy: following build %s: %s", build["id"], exc)
                if self._stop.wait(self.interval):
                    return
            except DeployError as exc:
                self.log.warning("jupyter-deploy: stopped following build %s: %s", build["id"], exc)
                return

    def _publish(self, build: Json, last: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        if build.get("phase") not in ALL_PHASES:
            return last
        data = event_data(build)
        key = (data["phase"], data["url"], data["message"])
        if key != last:
            try:
                self._emit(data)
            except Exception:  # an event sink must never stop the follower
                self.log.exception("jupyter-deploy: could not emit a build event")
        return key
