"""Open Inference Protocol (v2 REST, as KServe and Triton speak it) beside /predict.

GET  /v2                         server metadata
GET  /v2/health/live             the process answers
GET  /v2/health/ready            predict.py has loaded
GET  /v2/models/{name}           inputs and outputs (datatype, shape) from predict's type hints
GET  /v2/models/{name}/ready     as /v2/health/ready, for this model
POST /v2/models/{name}/infer     named input tensors -> predict's arguments -> tensor "prediction"

Each row of the batch dimension is one predict call, validated like /predict; one row goes
through the adaptive batcher, several go to predict_batch (or predict each) as /predict/batch
does. Inputs may be JSON or binary (the binary tensor data extension); answers are JSON.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .batching import shielded
from .encode import dumps
from .tensors import (
    DATATYPES,
    TensorError,
    flatten,
    from_binary,
    instances,
    metadata_tensor,
    output_tensor,
    shape_of,
)

if TYPE_CHECKING:
    from .app import HTTPError, ModelService

Answer = tuple[int, bytes, list[Any]]
Handler = Callable[[dict[str, Any], Any], Awaitable[Answer]]
JSON = [(b"content-type", b"application/json")]
OUTPUT = "prediction"
BINARY_HEADER = b"inference-header-content-length"


class OpenInference:
    """The /v2 routes of one model service."""

    def __init__(self, service: ModelService) -> None:
        self.service = service
        self.name = str(service.metadata.get("name") or "model")
        self.properties: dict[str, Any] = service.schema.get("properties") or {}
        self.required: list[str] = list(service.schema.get("required") or [])
        base = f"/v2/models/{self.name}"
        self.routes: dict[str, tuple[str, Handler]] = {
            "/v2": ("GET", self.server_metadata),
            "/v2/health/live": ("GET", self.live),
            "/v2/health/ready": ("GET", self.ready),
            base: ("GET", self.model_metadata),
            f"{base}/ready": ("GET", self.ready),
            f"{base}/infer": ("POST", self.infer),
        }
        self.public = {"/v2/health/live", "/v2/health/ready", f"{base}/ready"}

    def route(self, method: str, path: str) -> Handler | None:
        """The handler of a /v2 path (None for any other path); 404/405 for a wrong /v2 one."""
        if not path.startswith("/v2"):
            return None
        found = self.routes.get(path.rstrip("/") or "/")
        if found is None:
            raise self._not_found(path)
        allowed, handler = found
        if method != allowed:
            raise _error(405, f"{method} {path}: use {allowed}.", [(b"allow", allowed.encode())])
        return handler

    def label(self, path: str) -> str:
        """The metrics label of a path: the route, or "other"."""
        return path if path in self.routes else "other"

    # --- routes ----------------------------------------------------------------------------

    async def server_metadata(self, scope: dict[str, Any], receive: Any) -> Answer:
        """Name, version and extensions of this server."""
        version = str(self.service.metadata.get("generator", "jupyter-deploy")).split()[-1]
        body = {"name": "jupyter-deploy", "version": version, "extensions": []}
        return 200, dumps(body), JSON

    async def live(self, scope: dict[str, Any], receive: Any) -> Answer:
        """The process answers."""
        return 200, b'{"live":true}', JSON

    async def ready(self, scope: dict[str, Any], receive: Any) -> Answer:
        """200 once predict.py has loaded, else 503 saying why."""
        service = self.service
        if service.predict is not None:
            return 200, b'{"ready":true}', JSON
        if service.load_error is not None:
            last = service.load_error.strip().splitlines()[-1]
            raise _error(503, f"predict.py failed to load: {last}")
        raise _error(503, "The model is still loading.")

    async def model_metadata(self, scope: dict[str, Any], receive: Any) -> Answer:
        """Inputs and outputs as tensors, from predict's type hints."""
        output = self.service.metadata.get("output_schema") or {}
        body = {
            "name": self.name,
            "platform": "jupyter-deploy",
            "inputs": [metadata_tensor(n, s) for n, s in self.properties.items()],
            "outputs": [metadata_tensor(OUTPUT, output)],
        }
        return 200, dumps(body), JSON

    async def infer(self, scope: dict[str, Any], receive: Any) -> Answer:
        """Input tensors -> one predict call per batch row -> the output tensor."""
        request, binary = await self._request(scope, receive)
        self.service._ready()
        items = self._items(request, binary)
        try:
            results = await self._run(items, scope)
            plain = json.loads(self.service._encode(results))
        except Exception as error:  # an HTTPError (500, 504): answer in the protocol's shape
            raise _protocol_shape(error) from None
        body: dict[str, Any] = {"model_name": self.name, "outputs": [output_tensor(OUTPUT, plain)]}
        if isinstance(request.get("id"), str):
            body["id"] = request["id"]
        return 200, dumps(body), JSON

    # --- the pieces ------------------------------------------------------------------------

    async def _request(self, scope: dict[str, Any], receive: Any) -> tuple[dict[str, Any], bytes]:
        """The JSON part of the body and the binary part after it (empty when all JSON)."""
        raw = await self._body(scope, receive)
        header = next((v for k, v in scope["headers"] if k == BINARY_HEADER), None)
        split = len(raw)
        if header is not None:
            if not header.isdigit() or int(header) > len(raw):
                raise _error(400, f"Inference-Header-Content-Length {header!r} does not fit")
            split = int(header)
        try:
            request = json.loads(raw[:split])
        except (ValueError, UnicodeDecodeError) as error:
            raise _error(400, f"The body is not JSON ({error}).") from None
        if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
            raise _error(422, 'The body must be {"inputs": [<tensor>, ...]}.')
        return request, raw[split:]

    async def _body(self, scope: dict[str, Any], receive: Any) -> bytes:
        limit, chunks, size = self.service.settings.max_body, [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _error(413, f"The body is over {limit} bytes; send less.")
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        scope["jupyter_deploy.size"] = size
        return b"".join(chunks)

    def _items(self, request: dict[str, Any], binary: bytes) -> list[dict[str, Any]]:
        """One dict of predict's arguments per batch row, each validated like /predict."""
        columns: dict[str, list[Any]] = {}
        offset = 0
        for index, tensor in enumerate(request["inputs"]):
            name, values, offset = self._tensor(tensor, index, binary, offset)
            columns[name] = values
        missing = [n for n in self.required if n not in columns]
        if missing:
            raise _error(422, f"input tensor {missing[0]} is required (inputs: {self._names()})")
        rows = {len(v) for v in columns.values()}
        if len(rows) > 1:
            sizes = ", ".join(f"{n}: {len(v)}" for n, v in columns.items())
            raise _error(422, f"the input tensors differ in batch size ({sizes})")
        count = rows.pop() if rows else 1
        items = [{n: v[row] for n, v in columns.items()} for row in range(count)]
        for row, item in enumerate(items):
            try:
                self.service._validate(item, "" if count == 1 else f"row {row}")
            except Exception as error:  # HTTPError 422: the protocol's error shape
                raise _error(422, str(error)) from None
        return items

    def _tensor(
        self, tensor: Any, index: int, binary: bytes, offset: int
    ) -> tuple[str, list[Any], int]:
        """(name, per-row values, next binary offset) of one input tensor."""
        where = f"inputs[{index}]"
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise _error(422, f"{where} must be a tensor object with a name")
        name, shape, datatype = tensor["name"], tensor.get("shape"), tensor.get("datatype")
        where = f"input tensor {name}"
        if name not in self.properties:
            raise _error(422, f"{where} is not an input of {self.name} (inputs: {self._names()})")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise _error(422, f"{where}: shape must be a list of sizes, not {shape!r}")
        if datatype not in DATATYPES:
            raise _error(422, f"{where}: datatype {datatype!r} is not one of {sorted(DATATYPES)}")
        size = (tensor.get("parameters") or {}).get("binary_data_size")
        try:
            if isinstance(size, int) and "data" not in tensor:
                values = from_binary(binary[offset : offset + size], datatype, where)
                offset += size
            else:
                values = flatten(tensor.get("data"))
            return name, instances(values, shape, self.properties[name], where), offset
        except TensorError as error:
            raise _error(422, str(error)) from None

    async def _run(self, items: list[dict[str, Any]], scope: dict[str, Any]) -> list[Any]:
        """One row: the same path as /predict (batcher or a slot); more: as /predict/batch."""
        service = self.service
        with service._admitted():
            if len(items) == 1:
                if service.batcher is not None:
                    return [await service._guarded(service.batcher.submit(items[0]))]
                call = service.slots.call("predict", shielded, service.predict, **items[0])
                return [await service._guarded(call)]
            if service.batcher is not None:
                service.metrics.batches.observe(len(items))
                work = service.slots.call("predict_batch", service.batcher._batch, items)
            else:
                work = service.slots.call("predict_each", service._each, items)
            return list(await service._guarded(work))

    def _names(self) -> str:
        return ", ".join(self.properties) or "none"

    def _not_found(self, path: str) -> HTTPError:
        parts = path.strip("/").split("/")
        if len(parts) >= 3 and parts[1] == "models" and parts[2] != self.name:
            return _error(404, f"No model {parts[2]!r} here: this service serves {self.name!r}.")
        if "versions" in parts:
            return _error(404, "This service serves one version: leave out /versions/{v}.")
        return _error(404, f"No route {path}: see GET /openapi.json for the /v2 routes.")

    def openapi_paths(self) -> dict[str, Any]:
        """The /v2 routes for the service's OpenAPI document."""
        base = f"/v2/models/{self.name}"
        ok = {"200": {"description": "ok"}}
        error = {"description": "error", "content": {"application/json": {"schema": ERROR}}}
        failures = {code: error for code in ("400", "413", "422", "500", "503", "504")}
        infer: dict[str, Any] = {"schema": INFER_REQUEST}
        example = self._example()
        if example is not None:
            infer["example"] = example
        return {
            "/v2": {"get": {"summary": "OIP server metadata", "responses": ok}},
            "/v2/health/live": {"get": {"summary": "OIP liveness", "responses": ok}},
            "/v2/health/ready": {"get": {"summary": "OIP readiness", "responses": ok}},
            base: {"get": {"summary": "OIP model metadata (tensors)", "responses": ok}},
            f"{base}/ready": {"get": {"summary": "OIP model readiness", "responses": ok}},
            f"{base}/infer": {
                "post": {
                    "summary": "OIP inference: named input tensors -> tensor 'prediction'",
                    "requestBody": {"required": True, "content": {"application/json": infer}},
                    "responses": {"200": {"description": "output tensors"}, **failures},
                }
            },
        }

    def _example(self) -> dict[str, Any] | None:
        example = self.service.metadata.get("example")
        if not isinstance(example, dict):
            return None
        inputs = []
        for name, value in example.items():
            tensor = metadata_tensor(name, self.properties.get(name, {}))
            if tensor["datatype"] == "BYTES":
                inputs.append({**tensor, "shape": [1], "data": [json.dumps(value)]})
            else:
                shape = [1, *(shape_of(value) or [])]
                inputs.append({**tensor, "shape": shape, "data": flatten(value)})
        return {"inputs": inputs}


ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
TENSOR = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "datatype": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer"}},
        "data": {"type": "array"},
    },
    "required": ["name", "datatype", "shape"],
}
INFER_REQUEST = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "inputs": {"type": "array", "items": TENSOR}},
    "required": ["inputs"],
}


def _protocol_shape(error: Exception) -> Exception:
    """`error` with an HTTPError body {"error", "message", ...} turned into {"error": message}."""
    body = getattr(error, "body", None)
    if isinstance(body, dict) and "message" in body:
        kept = {k: v for k, v in body.items() if k == "error_id"}
        setattr(error, "body", {"error": body["message"], **kept})  # noqa: B010
    return error


def _error(status: int, message: str, headers: Any = ()) -> HTTPError:
    """An HTTPError in the protocol's shape: {"error": message}."""
    from .app import HTTPError

    error = HTTPError(status, "oip", message, headers)
    error.body = {"error": message}
    return error
