"""Follow builds started through this server and publish their phase changes as events."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from jupyter_deploy.errors import DeployError, NotFound
from jupyter_deploy.wire import ALL_PHASES, FINAL_PHASES, Json

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
    """One background task per build, polling the builder until the build is final."""

    def __init__(
        self,
        get_build: Callable[[str], Json],
        emit: Callable[[Json], None],
        interval: float = 0.3,
        timeout: float = 3600.0,
        log: logging.Logger | None = None,
    ) -> None:
        self._get_build = get_build
        self._emit = emit
        self.interval = interval
        self.timeout = timeout
        self.log = log or logging.getLogger(__name__)
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def follow(self, build: Json) -> None:
        """Start following `build` (a Build as the builder answered it), once per id."""
        build_id = str(build["id"])
        if build_id in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(self._follow(build))
        self._tasks[build_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(build_id, None))

    @property
    def following(self) -> list[str]:
        """Ids of the builds being followed now."""
        return list(self._tasks)

    async def stop(self) -> None:
        """Cancel every follower (server shutdown)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _follow(self, build: Json) -> None:
        deadline = time.monotonic() + self.timeout
        last = self._publish(build, None)
        failures = 0
        while build.get("phase") not in FINAL_PHASES and time.monotonic() < deadline:
            await asyncio.sleep(self.interval)
            try:
                build = await asyncio.to_thread(self._get_build, str(build["id"]))
                failures = 0
            except NotFound:
                return
            except DeployError as exc:
                failures += 1
                self.log.warning("jupyter-deploy: following build %s: %s", build["id"], exc)
                if failures >= 20:
                    return
                continue
            last = self._publish(build, last)

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
