"""The server extension's core: notebook -> bundle -> builder, and the test console's proxy.

No tornado in here; the handlers parse the request, call one method, and answer. Blocking
calls (the builder client, the model service) run in worker threads.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jupyter_deploy.builder.client import BuilderClient
from jupyter_deploy.errors import (
    BackendUnavailable,
    InvalidRequest,
    NoRunningKernel,
)
from jupyter_deploy.server.capture import RUN_CELLS_HINT, run_in_kernel
from jupyter_deploy.server.notebooks import (
    LoadedNotebook,
    clean_path,
    kernel_id_for,
    load_notebook,
)
from jupyter_deploy.wire import Json, check_name, default_name

_BUILD_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
CAPTURED_AT_DEPLOY = "captured at deploy"
LIVE_FILES = ("predict.py", "requirements.txt", "deploy.json")


@dataclass
class ServiceSettings:
    """What the service needs from the extension's configuration."""

    builder_url: str
    embedded: bool
    capture_timeout: float = 60.0
    invoke_timeout: float = 30.0


class DeployService:
    """Everything the REST API does, as plain async methods returning JSON-able values."""

    def __init__(
        self,
        contents_manager: Any,
        session_manager: Any,
        kernel_manager: Any,
        builder: BuilderClient | None,
        settings: ServiceSettings,
        on_build: Callable[[Json], None] | None = None,
        unavailable_reason: str = "",
    ) -> None:
        self.contents_manager = contents_manager
        self.session_manager = session_manager
        self.kernel_manager = kernel_manager
        self._builder = builder
        self.settings = settings
        self.on_build = on_build
        self.unavailable_reason = unavailable_reason

    # --- notebook -> bundle ---------------------------------------------------------------

    async def preview(self, path: object, name: object = None) -> Json:
        """The module, requirements, deploy.json and warnings, without deploying."""
        loaded = await load_notebook(self.contents_manager, clean_path(path))
        deploy_name = self._name(name, loaded.path)
        names = self._artifact_names(loaded)
        bundle = await asyncio.to_thread(self._compile, loaded, deploy_name, None, True)
        return {
            "name": deploy_name,
            "module": _text(bundle.files.get("predict.py", b"")),
            "requirements": _text(bundle.files.get("requirements.txt", b"")),
            "metadata": bundle.metadata,
            "warnings": list(bundle.warnings),
            "artifacts": [{"name": n, "status": CAPTURED_AT_DEPLOY} for n in names],
        }

    async def deploy(
        self, path: object, name: object = None, rollout: dict[str, Any] | None = None
    ) -> Json:
        """Compile with values captured from the notebook's kernel; queue a build (a Build).

        `rollout`: canary/shadow PERCENT and thresholds, checked by the builder (rollouts.md).
        """
        loaded = await load_notebook(self.contents_manager, clean_path(path))
        deploy_name = self._name(name, loaded.path)
        source = await self._kernel_source(loaded.path, self._artifact_names(loaded))
        bundle = await asyncio.to_thread(self._compile, loaded, deploy_name, source)
        tarball = await asyncio.to_thread(bundle.tarball)
        create = functools.partial(self.builder.create_build, **(rollout or {}))
        build: Json = await self._call(create, deploy_name, tarball)
        self._started(build)
        return build

    def _artifact_names(self, loaded: LoadedNotebook) -> list[str]:
        from jupyter_deploy.compiler import analyze

        plan = analyze(loaded.nb, source_path=loaded.path, directory=loaded.directory)
        return list(plan.artifact_names)

    def _compile(
        self, loaded: LoadedNotebook, name: str, source: Any = None, preview: bool = False
    ) -> Any:
        from jupyter_deploy.compiler import compile_notebook
        from jupyter_deploy.compiler.session import compile_with_capture

        options: dict[str, Any] = {
            "name": name,
            "source_path": loaded.path,
            "notebook_dir": loaded.directory,
            "source_bytes": loaded.source,
        }
        if preview:
            return compile_notebook(loaded.nb, preview=True, **options)
        return compile_with_capture(loaded.nb, source, **options)

    async def _kernel_source(self, path: str, names: list[str]) -> Any:
        """The notebook's running kernel as a value source (None when there is none and
        nothing needs capturing)."""
        from jupyter_deploy.compiler.sources import KernelSource

        kernel_id = await kernel_id_for(self.session_manager, self.kernel_manager, path)
        if kernel_id is None:
            if not names:
                return None
            raise NoRunningKernel(
                f"{path} has no running kernel to take {', '.join(names)} from: {RUN_CELLS_HINT}."
            )
        loop = asyncio.get_running_loop()
        manager, timeout = self.kernel_manager, self.settings.capture_timeout

        def run(code: str) -> str:
            work = run_in_kernel(manager, kernel_id, code, timeout)
            return asyncio.run_coroutine_threadsafe(work, loop).result()

        return KernelSource(run)

    # --- the builder, passed through ------------------------------------------------------

    async def build(self, build_id: str) -> Json:
        """One build, as the builder reports it."""
        result: Json = await self._call(self.builder.build, _build_id(build_id))
        return result

    async def logs(self, build_id: str, offset: object) -> Json:
        """Build log text from `offset` on."""
        start = _offset(offset)
        chunk = await self._call(self.builder.logs, _build_id(build_id), start)
        return {
            "offset": start,
            "next_offset": chunk.next_offset,
            "text": chunk.text,
            "complete": chunk.complete,
        }

    async def deployments(self) -> Json:
        """Every deployment the builder knows."""
        return {"deployments": await self._call(self.builder.deployments)}

    async def deployment(self, name: str) -> Json:
        """One deployment with its stable URL and versions."""
        result: Json = await self._call(self.builder.deployment, check_name(name))
        return result

    async def module(self, name: str) -> Json:
        """The live `predict.py` of a deployment."""
        text = await self._call(self.builder.deployment_file, check_name(name), "predict.py")
        return {"module": text}

    async def live_file(self, name: str, path: str) -> Json:
        """A text file of a deployment's live version: predict.py, requirements.txt, deploy.json."""
        if path not in LIVE_FILES:
            listed = ", ".join(LIVE_FILES)
            raise InvalidRequest(f"{path!r} is not a file the panel reads: ask for {listed}.")
        text = await self._call(self.builder.deployment_file, check_name(name), path)
        return {"path": path, "text": text}

    async def rollback(self, name: str, version: object = None) -> Json:
        """Go back to the previous (or the given) version; a Build."""
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise InvalidRequest(f'"version" must be a whole number, not {version!r}.')
        build: Json = await self._call(self.builder.rollback, check_name(name), version)
        self._started(build)
        return build

    async def end_split(self, name: str, promote: bool) -> Json:
        """Promote or abort the canary or shadow of `name`; the outcome."""
        end = self.builder.promote if promote else self.builder.abort
        result: Json = await self._call(end, check_name(name))
        return result

    async def delete(self, name: str) -> None:
        """Stop and remove a deployment."""
        await self._call(self.builder.delete, check_name(name))

    def config(self) -> Json:
        """Where builds go, and whether that builder is the embedded one."""
        url = self.settings.builder_url or None
        return {"builder_url": url, "embedded": self.settings.embedded}

    # --- test console ---------------------------------------------------------------------

    async def invoke(self, name: str, body: bytes, api_key: str | None = None) -> Json:
        """POST `body` to the deployment's live /predict (URL from the builder only), with the
        API key the panel holds when the deployment needs one."""
        payload = _json_body(body)
        timeout = self.settings.invoke_timeout
        call = self.builder.invoke
        result: Json = await self._call(call, check_name(name), payload, timeout, api_key)
        return result

    async def create_key(self, name: str, label: object = "") -> Json:
        """A new API key of the deployment (its secret is in this answer only)."""
        if not isinstance(label, str):
            raise InvalidRequest(f'"label" must be a string, not {label!r}.')
        key: Json = await self._call(self.builder.create_key, check_name(name), label[:100])
        return key

    # --- plumbing -------------------------------------------------------------------------

    @property
    def builder(self) -> BuilderClient:
        """The builder client, or BackendUnavailable saying why there is none."""
        if self._builder is None:
            raise BackendUnavailable(
                self.unavailable_reason or "No build service is configured or running."
            )
        return self._builder

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    def _name(self, name: object, path: str) -> str:
        if name is None or name == "":
            return default_name(path)
        if not isinstance(name, str):
            raise InvalidRequest(f'"name" must be a string, not {name!r}.')
        return check_name(name)

    def _started(self, build: Json) -> None:
        if self.on_build is not None and isinstance(build, dict) and "id" in build:
            self.on_build(build)


def _build_id(build_id: str) -> str:
    if not _BUILD_ID.match(build_id) or ".." in build_id:
        raise InvalidRequest(f"{build_id!r} is not a build id.")
    return build_id


def _offset(offset: object) -> int:
    try:
        value = int(str(offset if offset is not None else 0))
    except ValueError:
        raise InvalidRequest(f'"offset" must be a whole number, not {offset!r}.') from None
    if value < 0:
        raise InvalidRequest(f'"offset" must not be negative, not {value}.')
    return value


def _json_body(body: bytes) -> Any:
    if not body.strip():
        raise InvalidRequest("Send the input as a JSON object, e.g. the notebook's example.")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("The request body is not JSON.") from None


def _text(data: bytes | str) -> str:
    return data if isinstance(data, str) else data.decode("utf-8", "replace")
