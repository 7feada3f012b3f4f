"""The ASGI app: /predict, /predict/batch, health, readiness, metrics, OpenAPI and metadata.

Written against raw ASGI (no framework) because this is the hot path: a request costs a route
lookup, one JSON parse, a schema check and one JSON write on top of `predict` itself.
"""

from __future__ import annotations

import asyncio
import hmac
import importlib.util
import json
import os
import sys
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .batching import Batcher, over_items, shielded
from .encode import dumps
from .metrics import Metrics
from .openapi import openapi_document
from .validate import Invalid, check, check_object

Scope = dict[str, Any]
JSON = [(b"content-type", b"application/json")]
INLINE_AFTER = 50  # fast calls in a thread before predict may run on the event loop
INLINE_LIMIT = 0.001  # seconds: a call slower than this goes (back) to a thread


class ConfigError(Exception):
    """A JUPYTER_DEPLOY_* variable the service cannot use; the message names it."""


def env_number(env: Any, name: str, default: float) -> float:
    """The number in variable `name`, or `default` when unset."""
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {value!r}") from None
    if number < 0 or number != number:
        raise ConfigError(f"{name} must be zero or more, not {value!r}")
    return number


@dataclass
class Settings:
    """Limits and keys, from the environment (see docs/model-service.md)."""

    max_body: int = 8 * 1024 * 1024
    timeout: float = 30.0
    max_batch: int = 32
    max_wait: float = 0.0
    api_keys: list[str] = field(default_factory=list)
    inline: bool = True

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """JUPYTER_DEPLOY_* variables, with the defaults above."""
        env = dict(os.environ if env is None else env)
        keys = [k.strip() for k in env.get("JUPYTER_DEPLOY_API_KEYS", "").split(",")]
        key_file = env.get("JUPYTER_DEPLOY_API_KEYS_FILE")
        if key_file:
            try:
                keys += [line.strip() for line in Path(key_file).read_text().splitlines()]
            except (OSError, UnicodeDecodeError) as error:
                raise ConfigError(f"JUPYTER_DEPLOY_API_KEYS_FILE {key_file}: {error}") from None
        return cls(
            max_body=int(env_number(env, "JUPYTER_DEPLOY_MAX_BODY", cls.max_body)),
            timeout=env_number(env, "JUPYTER_DEPLOY_TIMEOUT", cls.timeout),
            max_batch=int(env_number(env, "JUPYTER_DEPLOY_MAX_BATCH", cls.max_batch)),
            max_wait=env_number(env, "JUPYTER_DEPLOY_MAX_WAIT_MS", 0) / 1000,
            api_keys=[k for k in keys if k and not k.startswith("#")],
            inline=env.get("JUPYTER_DEPLOY_INLINE", "1").lower() not in ("0", "false", "no"),
        )


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
        self.metrics = Metrics()
        self.executor = ThreadPoolExecutor(max_workers=min(32, (os.cpu_count() or 1) + 4))
        self.predict: Any = None
        self.batcher: Batcher | None = None
        self.load_error: str | None = None
        self.loading: asyncio.Task[None] | None = None
        self.inline, self.fast_calls = False, 0
        self.proven_size = 0  # the largest body predict has been fast for
        self.openapi = dumps(openapi_document(self.metadata, bool(self.settings.api_keys)))
        self.routes = {
            ("GET", "/healthz"): self.healthz,
            ("GET", "/readyz"): self.readyz,
            ("GET", "/metrics"): self.render_metrics,
            ("GET", "/openapi.json"): self.openapi_json,
            ("GET", "/metadata"): self.metadata_json,
            ("POST", "/predict"): self.predict_one,
            ("POST", "/predict/batch"): self.predict_many,
        }
        self.public = {"/healthz", "/readyz"}

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
        route = path if any(p == path for _, p in self.routes) else "other"
        try:
            handler = self.routes.get((method, path))
            if handler is None:
                raise self._no_route(method, path)
            if path not in self.public:
                self._authorise(scope)
            status, body, kind = await handler(scope, receive)
        except HTTPError as error:
            status, body, kind = error.status, dumps(error.body), error.headers
        except Exception as error:  # a bug of ours must still answer JSON, never crash
            failure = self._failed(error, "the service")
            status, body, kind = failure.status, dumps(failure.body), JSON
        headers = [*kind, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.metrics.record(route, status, time.perf_counter() - started)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.loading = asyncio.get_running_loop().create_task(self._load())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.executor.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _load(self) -> None:
        """Import predict.py once (this runs its setup cells and loads its artifacts)."""
        try:
            module = await asyncio.get_running_loop().run_in_executor(self.executor, self._import)
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
                self.executor,
                self.metrics,
                self.settings.max_batch,
                self.settings.max_wait,
            )
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

    def _authorise(self, scope: Scope) -> None:
        keys = self.settings.api_keys
        if not keys:
            return
        given = ""
        for name, value in scope["headers"]:
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                given = value[7:].decode("latin-1").strip()
            elif name == b"x-api-key":
                given = value.decode("latin-1").strip()
        if not given or not any(hmac.compare_digest(given, key) for key in keys):
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
        """200 once predict.py has loaded."""
        if self.predict is not None:
            return 200, b'{"status":"ready"}', JSON
        if self.load_error is not None:
            last = self.load_error.strip().splitlines()[-1]
            raise HTTPError(503, "load_failed", f"predict.py failed to load: {last}")
        raise HTTPError(503, "not_ready", "The model is still loading.")

    async def render_metrics(self, scope: Scope, receive: Any) -> tuple[int, bytes, list[Any]]:
        """Prometheus text."""
        return 200, self.metrics.render(), [(b"content-type", b"text/plain; version=0.0.4")]

    async def openapi_json(self, scope: Scope, receive: Any) -> tuple[int, bytes, list[Any]]:
        """The OpenAPI document of this API."""
        return 200, self.openapi, JSON

    async def metadata_json(self, scope: Scope, receive: Any) -> tuple[int, bytes, list[Any]]:
        """deploy.json."""
        return 200, dumps(self.metadata), JSON

    async def predict_one(self, scope: Scope, receive: Any) -> tuple[int, bytes, list[Any]]:
        """One input -> {"prediction": ...}."""
        body = await self._json(scope, receive)
        self._ready()
        if not isinstance(body, dict):
            raise HTTPError(
                422, "invalid_input", "The body must be a JSON object of predict's arguments."
            )
        self._validate(body, "")
        if self.batcher is not None:
            result = await self._guarded(self.batcher.submit(body))
        else:
            result = await self._call(body, scope.get("jupyter_deploy.size", 0))
        return 200, self._encode({"prediction": result}), JSON

    async def predict_many(self, scope: Scope, receive: Any) -> tuple[int, bytes, list[Any]]:
        """{"inputs": [...]} -> {"predictions": [...]}."""
        body = await self._json(scope, receive)
        self._ready()
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise HTTPError(422, "invalid_input", 'The body must be {"inputs": [<object>, ...]}.')
        for index, item in enumerate(inputs):
            if not isinstance(item, dict):
                raise HTTPError(422, "invalid_input", f"inputs[{index}] must be an object")
            self._validate(item, f"inputs[{index}]")
        if not inputs:
            return 200, b'{"predictions":[]}', JSON
        loop = asyncio.get_running_loop()
        if self.batcher is not None:
            self.metrics.batches.observe(len(inputs))
            work = loop.run_in_executor(self.executor, self.batcher._batch, inputs)
        else:
            work = loop.run_in_executor(
                self.executor, lambda: [shielded(self.predict, **i) for i in inputs]
            )
        results = await self._guarded(work)
        return 200, self._encode({"predictions": results}), JSON

    # --- the pieces ------------------------------------------------------------------------

    def _ready(self) -> None:
        if self.predict is None:
            raise HTTPError(503, "not_ready", "The model is still loading: retry in a moment.")

    async def _json(self, scope: Scope, receive: Any) -> Any:
        limit = self.settings.max_body
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise self._too_large()
        chunks, size = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        scope["jupyter_deploy.size"] = size
        try:
            return json.loads(b"".join(chunks))
        except (ValueError, UnicodeDecodeError) as error:
            raise HTTPError(400, "invalid_json", f"The body is not JSON ({error}).") from None
        except RecursionError:
            raise HTTPError(400, "invalid_json", "The body is JSON nested too deeply.") from None

    def _too_large(self) -> HTTPError:
        limit = self.settings.max_body
        return HTTPError(413, "body_too_large", f"The body is over {limit} bytes; send less.")

    def _validate(self, body: dict[str, Any], where: str) -> None:
        try:
            if where:
                check(body, self.schema, where)
            else:
                check_object(body, self.schema)
        except Invalid as problem:
            raise HTTPError(422, "invalid_input", str(problem)) from None

    async def _call(self, body: dict[str, Any], size: int) -> Any:
        """predict(**body): on the loop once proven fast for bodies this big, else in a thread
        (where the time limit holds)."""
        if self.inline and size <= self.proven_size:
            started = time.perf_counter()
            try:
                return shielded(self.predict, **body)
            except Exception as error:
                raise self._failed(error) from None
            finally:
                if time.perf_counter() - started > INLINE_LIMIT:
                    self.inline, self.fast_calls, self.proven_size = False, 0, 0
        loop = asyncio.get_running_loop()
        timed: list[float] = []
        result = await self._guarded(loop.run_in_executor(self.executor, self._timed, body, timed))
        if timed and timed[0] <= INLINE_LIMIT:
            self.fast_calls += 1
            self.proven_size = max(self.proven_size, size)
            self.inline = self.settings.inline and self.fast_calls >= INLINE_AFTER
        else:
            self.fast_calls = 0
        return result

    def _timed(self, body: dict[str, Any], timed: list[float]) -> Any:
        started = time.perf_counter()
        try:
            return shielded(self.predict, **body)
        finally:
            timed.append(time.perf_counter() - started)

    async def _guarded(self, work: Any) -> Any:
        try:
            return await asyncio.wait_for(work, self.settings.timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise HTTPError(
                504, "timeout", f"predict took longer than {self.settings.timeout:g} s."
            ) from None
        except HTTPError:
            raise
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
