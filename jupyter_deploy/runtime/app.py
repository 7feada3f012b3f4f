"""The ASGI app: /predict, /predict/batch, health, readiness, metrics, OpenAPI and metadata.

Written against raw ASGI (no framework) because this is the hot path: a request costs a route
lookup, one JSON parse, a schema check and one JSON write on top of `predict` itself.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import importlib.util
import json
import sys
import time
import traceback
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:  # about 4x faster than json on a 64-row batch; the service works without it
    from orjson import loads
except ImportError:  # pragma: no cover
    from json import loads  # type: ignore[assignment]

from .batching import Batcher, over_items, shielded
from .encode import dumps
from .guard import CUT_OFF
from .inline import heartbeat
from .metrics import Metrics
from .oip import OpenInference
from .openapi import openapi_document
from .requestlog import RequestLog
from .settings import ConfigError, Settings, env_number
from .slots import Expired, Refused, Slots, in_thread
from .validate import Invalid, check, check_object, compile_check

__all__ = ["ConfigError", "HTTPError", "ModelService", "Settings", "env_number"]

Scope = dict[str, Any]
JSON = [(b"content-type", b"application/json")]
RETRY_AFTER = (b"retry-after", b"1")
SWITCH_INTERVAL = 0.0005  # seconds a thread holds the GIL before another may take it
WATCHDOG_MIN = 10.0  # seconds: the event loop may be held this long whatever the time limit


class HTTPError(Exception):
    """An answer other than 200, with a JSON body."""

    def __init__(
        self, status: int, code: str, message: str, headers: Any = (), **extra: Any
    ) -> None:
        super().__init__(message)
        self.status, self.body = status, {"error": code, "message": message, **extra}
        self.headers: list[tuple[bytes, bytes]] = [*JSON, *headers]


class ModelService:
    """One bundle's predict, served."""

    def __init__(self, bundle: Path, settings: Settings | None = None) -> None:
        self.bundle = bundle.resolve()
        self.settings = settings or Settings.from_env()
        self.metadata: dict[str, Any] = json.loads((self.bundle / "deploy.json").read_text())
        self.schema: dict[str, Any] = self.metadata.get("input_schema") or {}
        self.fast_check = compile_check(self.schema) or (lambda value: False)
        self.metrics = Metrics()
        self.request_log = RequestLog.from_env()
        self.slots = Slots(
            self.settings.slots,
            self.settings.max_queue,
            self.settings.timeout,
            self.settings.inline_budget,
            self.settings.max_queue_wait,
        )
        self.metrics.gauges = self._gauges
        self.predict: Any = None
        self.batcher: Batcher | None = None
        self.load_error: str | None = None
        self.loading: asyncio.Task[None] | None = None
        self.watching: asyncio.Task[None] | None = None
        self.beating: asyncio.Task[None] | None = None
        self.replace: Callable[[str], None] | None = None  # set by the server: stop, to be replaced
        self.oip = OpenInference(self)  # the Open Inference Protocol's /v2 routes
        document = openapi_document(self.metadata, bool(self.settings.api_keys))
        document["paths"].update(self.oip.openapi_paths())
        self.openapi = dumps(document)
        self.routes = {
            ("GET", "/healthz"): self.healthz,
            ("GET", "/readyz"): self.readyz,
            ("GET", "/metrics"): self.render_metrics,
            ("GET", "/openapi.json"): self.openapi_json,
            ("GET", "/metadata"): self.metadata_json,
            ("POST", "/predict"): self.predict_one,
            ("POST", "/predict/batch"): self.predict_many,
        }
        self.public = {"/healthz", "/readyz", *self.oip.public}

    # --- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """The ASGI entry point."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        path, method = scope["path"], scope["method"]
        route = path if any(p == path for _, p in self.routes) else self.oip.label(path)
        try:
            handler = self.routes.get((method, path)) or self.oip.route(method, path)
            if handler is None:
                raise self._no_route(method, path)
            if path not in self.public:
                if scope.get("jupyter_deploy.crowded"):
                    raise self._crowded()
                self._authorise(scope)
            status, body, kind = await handler(scope, receive)
        except HTTPError as error:
            status, body, kind = error.status, dumps(error.body), error.headers
        except Exception as error:  # a bug of ours must still answer JSON, never crash
            failure = self._failed(error, "the service")
            status, body, kind = failure.status, dumps(failure.body), JSON
        headers = [*kind, (b"content-length", str(len(body)).encode())]
        headers.append((b"x-answer-digest", b"%08x" % zlib.crc32(body)))  # shadow comparisons
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        elapsed = time.perf_counter() - started
        self.metrics.record(route, status, elapsed)
        if self.request_log is not None:
            given = scope.get("jupyter_deploy.body", b"")
            self.request_log.record(route, status, elapsed, given, body)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                loop = asyncio.get_running_loop()
                self.loading = loop.create_task(self._load())
                self.watching = loop.create_task(self._watch())
                if self.settings.timeout:  # a loop held this long ends the process (inline.py)
                    limit = max(self.settings.timeout, WATCHDOG_MIN)
                    self.beating = loop.create_task(heartbeat(limit))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in (self.watching, self.beating):
                    if task is not None:
                        task.cancel()
                self.slots.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _load(self) -> None:
        """Import predict.py once (this runs its setup cells and loads its artifacts)."""
        try:
            module = await asyncio.wrap_future(in_thread(self._import))
        except BaseException:
            self.load_error = traceback.format_exc()
            print(f"predict.py failed to load:\n{self.load_error}", file=sys.stderr, flush=True)
            return
        functions = self.metadata.get("functions") or {}
        self.predict = getattr(module, functions.get("predict") or "predict")
        batch_name = functions.get("predict_batch")
        if batch_name and hasattr(module, batch_name):
            self.batcher = Batcher(
                over_items(getattr(module, batch_name), self.metadata.get("batch_items")),
                self.predict,
                self.slots,
                self.metrics,
                self.settings.max_batch,
                self.settings.max_wait,
            )
        gc.collect()
        # The loop waits at most this long for the GIL while predicts run in slot threads
        # (CPython's default, 5 ms, starved it under CPU-bound calls: a 503 took seconds).
        sys.setswitchinterval(SWITCH_INTERVAL)
        gc.freeze()  # the model and its libraries stay: collections skip them from now on
        print("model loaded, ready", file=sys.stderr, flush=True)

    def _import(self) -> Any:
        if str(self.bundle) not in sys.path:
            sys.path.insert(0, str(self.bundle))
        spec = importlib.util.spec_from_file_location("predict", self.bundle / "predict.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["predict"] = module
        spec.loader.exec_module(module)
        return module

    async def _watch(self) -> None:
        """Ask to be replaced once a slot has been stuck longer than the stuck limit."""
        limit = self.settings.stuck_limit
        while True:
            await asyncio.sleep(min(1.0, max(limit / 4, 0.05)))
            stuck = self.slots.stuck()
            if stuck and time.monotonic() - min(stuck) > limit and self.replace is not None:
                self.replace(
                    f"{len(stuck)} of {self.slots.count} predict slots stuck for over "
                    f"{limit:g} s after their time limit"
                )
                return

    def _gauges(self) -> dict[str, tuple[str, float]]:
        return {
            "model_hung_calls_total": (
                "counter: predict calls still running when their caller got 504",
                self.slots.hung_total,
            ),
            "model_stuck_slots": (
                "gauge: predict slots held by hung calls",
                len(self.slots.stuck()),
            ),
            "model_busy_slots": ("gauge: predict slots running a call", self.slots.busy()),
            "model_inline_overruns_total": (
                "counter: calls interrupted on the event loop at their budget, then run in a slot",
                self.slots.inline.overruns,
            ),
            "model_slow_clients_total": (
                "counter: connections closed with 408 for headers or a body too slow to arrive",
                CUT_OFF["total"],
            ),
            "model_queue_wait_seconds": (
                "gauge: how long the oldest call queued for a slot has waited",
                round(self.slots.queue_wait(), 6),
            ),
            "model_pending_requests": (
                "gauge: predict requests admitted and not answered yet",
                self.slots.pending,
            ),
        }

    def _no_route(self, method: str, path: str) -> HTTPError:
        if any(p == path for _, p in self.routes):
            allowed = ", ".join(m for m, p in self.routes if p == path)
            return HTTPError(
                405,
                "method_not_allowed",
                f"{method} {path}: use {allowed}.",
                [(b"allow", allowed.encode())],
            )
        return HTTPError(
            404,
            "not_found",
            f"No route {path}: POST /predict, POST /predict/batch, GET /openapi.json.",
        )

    def _crowded(self) -> HTTPError:
        limit = self.settings.max_connections
        return HTTPError(
            503,
            "too_many_connections",
            f"The service holds its limit of {limit} connections; retry in a moment.",
            [RETRY_AFTER, (b"connection", b"close")],
        )

    def _authorise(self, scope: Scope) -> None:
        keys = self.settings.api_keys
        if not keys:
            return
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                given = value[7:].strip()
            elif name == b"x-api-key":
                given = value.strip()
        # bytes, not str: compare_digest refuses str with non-ASCII characters
        if not given or not any(hmac.compare_digest(given, key.encode()) for key in keys):
            raise HTTPError(
                401,
                "unauthorized",
                "This API needs a key: Authorization: Bearer <key> (or X-API-Key: <key>).",
                [(b"www-authenticate", b"Bearer")],
            )

    # --- routes --------------------------------------------------------------------------

    async def healthz(self, scope: Scope, receive: Any) -> tuple[int, bytes, list[Any]]:
        """The process answers."""
        return 200, b'{"status":"ok"}', JSON

    async def readyz(self, scope: Scope, receive: Any) -> tuple[int, bytes, list[Any]]:
        """200 once predict.py has loaded and while a slot or the queue can take work."""
        self._ready()
        refusal = self.slots.refusal()
        if refusal is not None:
            raise HTTPError(503, refusal.code, str(refusal), [RETRY_AFTER])
        return 200, b'{"status":"ready"}', JSON

    async def render_metrics(self, scope: Scope, receive: Any) -> tuple[int, bytes, list[Any]]:
        """Prometheus text (every worker's counts when there are several)."""
        return (
            200,
            await self.metrics.render_all(),
            [(b"content-type", b"text/plain; version=0.0.4")],
        )

    async def openapi_json(self, scope: Scope, receive: Any) -> tuple[int, bytes, list[Any]]:
        """The OpenAPI document of this API."""
        return 200, self.openapi, JSON

    async def metadata_json(self, scope: Scope, receive: Any) -> tuple[int, bytes, list[Any]]:
        """deploy.json."""
        return 200, dumps(self.metadata), JSON

    async def predict_one(self, scope: Scope, receive: Any) -> tuple[int, bytes, list[Any]]:
        """One input -> {"prediction": ...}."""
        self._room()  # refused before the body is read: a refusal costs next to nothing
        body = await self._json(scope, receive)
        self._ready()
        if not isinstance(body, dict):
            raise HTTPError(
                422, "invalid_input", "The body must be a JSON object of predict's arguments."
            )
        self._validate(body, "")
        with self._admitted():
            if self.batcher is not None:
                result = await self._guarded(self.batcher.submit(body))
            else:
                work = self.slots.call("predict", shielded, self.predict, **body)
                result = await self._guarded(work)
        return 200, self._encode({"prediction": result}), JSON

    async def predict_many(self, scope: Scope, receive: Any) -> tuple[int, bytes, list[Any]]:
        """{"inputs": [...]} -> {"predictions": [...]}."""
        self._room()
        body = await self._json(scope, receive)
        self._ready()
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise HTTPError(422, "invalid_input", 'The body must be {"inputs": [<object>, ...]}.')
        limit = self.settings.max_inputs
        if len(inputs) > limit:
            raise HTTPError(
                413,
                "too_many_inputs",
                f"{len(inputs)} inputs is over the limit of {limit} per request "
                "(JUPYTER_DEPLOY_MAX_INPUTS); split the batch.",
                limit=limit,
            )
        if not all(map(self.fast_check, inputs)):  # the slow check names the problem
            for index, item in enumerate(inputs):
                if not isinstance(item, dict):
                    raise HTTPError(422, "invalid_input", f"inputs[{index}] must be an object")
                self._validate(item, f"inputs[{index}]")
        if not inputs:
            return 200, b'{"predictions":[]}', JSON
        with self._admitted():
            if self.batcher is not None:
                self.metrics.batches.observe(len(inputs))
                work = self.slots.call("predict_batch", self.batcher._batch, inputs)
            else:
                work = self.slots.call("predict_each", self._each, inputs)
            results = await self._guarded(work)
        return 200, self._encode({"predictions": results}), JSON

    # --- the pieces ------------------------------------------------------------------------

    def _each(self, inputs: list[dict[str, Any]]) -> list[Any]:
        """predict over each input (no predict_batch), in one call."""
        return [shielded(self.predict, **item) for item in inputs]

    def _ready(self) -> None:
        if self.predict is not None:
            return
        if self.load_error is not None:
            last = self.load_error.strip().splitlines()[-1]
            raise HTTPError(
                503,
                "load_failed",
                f"predict.py failed to load, so this service cannot answer: {last} "
                "(the service log has the traceback; fix the notebook and deploy again).",
            )
        raise HTTPError(
            503, "not_ready", "The model is still loading: retry in a moment.", [RETRY_AFTER]
        )

    def _room(self) -> None:
        refusal = self.slots.refusal()
        if refusal is not None:
            raise HTTPError(503, refusal.code, str(refusal), [RETRY_AFTER])

    def _admitted(self) -> Any:
        self._room()
        return self.slots.admitted()

    async def _json(self, scope: Scope, receive: Any) -> Any:
        limit = self.settings.max_body
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise self._too_large()
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":  # the client left, or was cut off
                raise HTTPError(408, "body_timeout", "The body did not arrive in time.")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        scope["jupyter_deploy.size"] = size
        scope["jupyter_deploy.body"] = raw = b"".join(chunks) if len(chunks) > 1 else chunks[0]
        try:
            return loads(raw)
        except (ValueError, UnicodeDecodeError) as error:
            raise HTTPError(400, "invalid_json", f"The body is not JSON ({error}).") from None
        except RecursionError:
            raise HTTPError(400, "invalid_json", "The body is JSON nested too deeply.") from None

    def _too_large(self) -> HTTPError:
        limit = self.settings.max_body
        return HTTPError(413, "body_too_large", f"The body is over {limit} bytes; send less.")

    def _validate(self, body: dict[str, Any], where: str) -> None:
        if self.fast_check(body):
            return
        try:
            if where:
                check(body, self.schema, where)
            else:
                check_object(body, self.schema)
        except Invalid as problem:
            raise HTTPError(422, "invalid_input", str(problem)) from None

    async def _guarded(self, work: asyncio.Future[Any]) -> Any:
        """The outcome of `work` (a future that expires at the time limit) as an answer."""
        try:
            return await work
        except Expired:
            raise HTTPError(
                504, "timeout", f"predict took longer than {self.settings.timeout:g} s."
            ) from None
        except HTTPError:
            raise
        except Refused as refusal:
            raise HTTPError(503, refusal.code, str(refusal), [RETRY_AFTER]) from None
        except Exception as error:
            raise self._failed(error) from None

    def _failed(self, error: BaseException, where: str = "predict") -> HTTPError:
        error_id = uuid.uuid4().hex[:12]
        trace = "".join(traceback.format_exception(error))
        print(f"error {error_id} in {where}:\n{trace}", file=sys.stderr, flush=True)
        return HTTPError(
            500,
            "predict_failed" if where == "predict" else "internal_error",
            f"{where} raised {type(error).__name__}; the service log has the details "
            f"under error id {error_id}.",
            error_id=error_id,
        )

    def _encode(self, value: Any) -> bytes:
        try:
            return dumps(value)
        except (TypeError, ValueError) as error:
            raise self._failed(error) from None
