"""The build service's REST API (Starlette): thin handlers over `BuildService`.

Every `/v1` route needs `Authorization: Bearer <token>`; domain errors become JSON answers
with their `http_status` here, in one place.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from jupyter_deploy.builder.core import BuildService
from jupyter_deploy.builder.openapi import openapi_document
from jupyter_deploy.builder.traffic import traffic_routes
from jupyter_deploy.errors import BundleTooLarge, DeployError, InvalidRequest

MAX_BUNDLE = 512 * 1024 * 1024


class TokenAuth:
    """401 for any /v1 request without the right bearer token (constant-time compare)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the token, then pass the request on."""
        if scope["type"] == "http" and scope["path"].startswith("/v1"):
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not (given[:7].lower() == b"bearer " and hmac.compare_digest(given[7:], self.token)):
                body = {"error": "unauthorized", "message": "Send Authorization: Bearer <token>."}
                await JSONResponse(body, status_code=401)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(service: BuildService, token: str, max_bundle: int = MAX_BUNDLE) -> ASGIApp:
    """The ASGI app of one build service."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    async def create_build(request: Request) -> Response:
        data = await _body(request, max_bundle)
        build = await asyncio.to_thread(
            service.create_build, request.query_params.get("name"), data
        )
        return JSONResponse(
            build, status_code=202, headers={"Location": f"/v1/builds/{build['id']}"}
        )

    async def get_build(request: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(service.build, request.path_params["id"]))

    async def get_logs(request: Request) -> Response:
        offset = request.query_params.get("offset", "0")
        if not offset.isdigit():
            raise InvalidRequest("offset must be a byte offset (a whole number).")
        chunk = await asyncio.to_thread(service.logs, request.path_params["id"], int(offset))
        return JSONResponse(chunk)

    async def list_deployments(request: Request) -> Response:
        return JSONResponse({"deployments": await asyncio.to_thread(service.deployments)})

    async def get_deployment(request: Request) -> Response:
        return JSONResponse(
            await asyncio.to_thread(service.deployment, request.path_params["name"])
        )

    async def get_file(request: Request) -> Response:
        name, relative = request.path_params["name"], request.path_params["path"]
        path = await asyncio.to_thread(service.live_file, name, relative)
        return FileResponse(path, media_type="text/plain; charset=utf-8")

    async def rollback(request: Request) -> Response:
        body = await _json(request)
        build = await asyncio.to_thread(
            service.rollback, request.path_params["name"], body.get("version")
        )
        return JSONResponse(
            build, status_code=202, headers={"Location": f"/v1/builds/{build['id']}"}
        )

    async def delete(request: Request) -> Response:
        await asyncio.to_thread(service.delete, request.path_params["name"])
        return Response(status_code=204)

    routes = [
        Route("/healthz", healthz),
        Route("/v1/openapi.json", openapi),
        Route("/v1/builds", create_build, methods=["POST"]),
        Route("/v1/builds/{id}", get_build),
        Route("/v1/builds/{id}/logs", get_logs),
        Route("/v1/deployments", list_deployments),
        Route("/v1/deployments/{name}", get_deployment),
        Route("/v1/deployments/{name}", delete, methods=["DELETE"]),
        Route("/v1/deployments/{name}/files/{path:path}", get_file),
        Route("/v1/deployments/{name}/rollback", rollback, methods=["POST"]),
        *traffic_routes(service),
    ]
    handlers: dict[Any, Any] = {DeployError: _domain_error, HTTPException: _http_error}
    app = Starlette(routes=routes, exception_handlers=handlers)
    return TokenAuth(app, token)


async def _body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise BundleTooLarge(f"The bundle is over {limit // (1024 * 1024)} MiB.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BundleTooLarge(f"The bundle is over {limit // (1024 * 1024)} MiB.")
        chunks.append(chunk)
    return b"".join(chunks)


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidRequest('The body must be JSON, e.g. {} or {"version": 2}.') from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return body


async def _domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DeployError)
    return JSONResponse(error.to_json(), status_code=error.http_status)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    message = f"{request.method} {request.url.path}: {error.detail}. See GET /v1/openapi.json."
    return JSONResponse({"error": code, "message": message}, status_code=error.status_code)
