"""The build service's REST API (Starlette): thin handlers over `BuildService`.

Every `/v1` route needs `Authorization: Bearer <token>` of a role that allows it
(`access.py`); domain errors become JSON answers with their `http_status` here, in one place.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from jupyter_deploy.builder.access import Token, allows, find, role_needed
from jupyter_deploy.builder.core import BuildService
from jupyter_deploy.builder.openapi import openapi_document
from jupyter_deploy.builder.rollout import Rollouts
from jupyter_deploy.builder.rollout_record import parse_plan
from jupyter_deploy.builder.traffic import traffic_routes
from jupyter_deploy.errors import (
    BundleTooLarge,
    DeployError,
    Forbidden,
    InvalidRequest,
)

MAX_BUNDLE = 512 * 1024 * 1024


class TokenAuth:
    """401 for any /v1 request without a known bearer token (constant-time compare), 403 when
    the token's role does not allow the route (`access.role_needed`); the token's name goes
    into the request's state for the audit log."""

    def __init__(self, app: ASGIApp, tokens: Sequence[Token]) -> None:
        self.app = app
        self.tokens = list(tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the token and its role, then pass the request on."""
        if scope["type"] == "http" and scope["path"].startswith("/v1"):
            given = dict(scope["headers"]).get(b"authorization", b"")
            token = find(self.tokens, given[7:]) if given[:7].lower() == b"bearer " else None
            if token is None:
                body = {"error": "unauthorized", "message": "Send Authorization: Bearer <token>."}
                await JSONResponse(body, status_code=401)(scope, receive, send)
                return
            needed = role_needed(scope["method"], scope["path"])
            if not allows(token.role, needed):
                error = Forbidden(
                    f"The token {token.name!r} has the role {token.role}: "
                    f"{scope['method']} {scope['path']} needs the role {needed}."
                )
                await JSONResponse(error.to_json(), status_code=403)(scope, receive, send)
                return
            scope.setdefault("state", {})["token"] = token.name
        await self.app(scope, receive, send)


def create_app(
    service: BuildService, token: str | Sequence[Token], max_bundle: int = MAX_BUNDLE
) -> ASGIApp:
    """The ASGI app of one build service (one admin token, or tokens with roles)."""
    tokens = [Token("admin", "admin", token)] if isinstance(token, str) else list(token)
    rollouts = Rollouts(service)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    async def create_build(request: Request) -> Response:
        plan = parse_plan(request.query_params)
        data = await _body(request, max_bundle)
        name = request.query_params.get("name")
        build = await asyncio.to_thread(rollouts.create_build, name, data, plan, _actor(request))
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
        answers = await asyncio.to_thread(service.deployments)
        return JSONResponse({"deployments": [await _with_split(a) for a in answers]})

    async def get_deployment(request: Request) -> Response:
        answer = await asyncio.to_thread(service.deployment, request.path_params["name"])
        return JSONResponse(await _with_split(answer))

    async def _with_split(deployment: dict[str, Any]) -> dict[str, Any]:
        split = await asyncio.to_thread(rollouts.describe, deployment["name"])
        return {**deployment, "split": split}

    async def promote(request: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(rollouts.promote, request.path_params["name"]))

    async def set_split(request: Request) -> Response:
        percent = (await _json(request)).get("percent")
        name = request.path_params["name"]
        return JSONResponse(await asyncio.to_thread(rollouts.set_percent, name, percent))

    async def abort(request: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(rollouts.abort, request.path_params["name"]))

    async def get_file(request: Request) -> Response:
        name, relative = request.path_params["name"], request.path_params["path"]
        path = await asyncio.to_thread(service.live_file, name, relative)
        return FileResponse(path, media_type="text/plain; charset=utf-8")

    async def rollback(request: Request) -> Response:
        body = await _json(request)
        build = await asyncio.to_thread(
            service.rollback, request.path_params["name"], body.get("version"), _actor(request)
        )
        return JSONResponse(
            build, status_code=202, headers={"Location": f"/v1/builds/{build['id']}"}
        )

    async def delete(request: Request) -> Response:
        await asyncio.to_thread(rollouts.end_for_delete, request.path_params["name"])
        await asyncio.to_thread(service.delete, request.path_params["name"], _actor(request))
        return Response(status_code=204)

    async def audit(request: Request) -> Response:
        limit = request.query_params.get("limit", "100")
        if not limit.isdigit():
            raise InvalidRequest("limit must be a whole number.")
        deployment = request.query_params.get("deployment")
        entries = await asyncio.to_thread(service.audit.entries, deployment, int(limit))
        return JSONResponse({"entries": entries})

    async def list_keys(request: Request) -> Response:
        keys = await asyncio.to_thread(service.keys.listed, request.path_params["name"])
        return JSONResponse({"keys": keys})

    async def create_key(request: Request) -> Response:
        label = str((await _json(request)).get("label") or "")[:100]
        name = request.path_params["name"]
        key = await asyncio.to_thread(service.create_key, name, label, _actor(request))
        location = f"/v1/deployments/{name}/keys/{key['id']}"
        return JSONResponse(key, status_code=201, headers={"Location": location})

    async def revoke_key(request: Request) -> Response:
        name, key_id = request.path_params["name"], request.path_params["key_id"]
        await asyncio.to_thread(service.revoke_key, name, key_id, _actor(request))
        return Response(status_code=204)

    async def list_secrets(request: Request) -> Response:
        secrets = await asyncio.to_thread(service.keys.secrets, request.path_params["name"])
        return JSONResponse({"secrets": secrets})

    async def set_secret(request: Request) -> Response:
        value = (await _json(request)).get("value")
        if not isinstance(value, str):
            raise InvalidRequest('Send {"value": "..."} with the secret as a string.')
        name, key = request.path_params["name"], request.path_params["key"]
        restart = await asyncio.to_thread(service.set_secret, name, key, value, _actor(request))
        return JSONResponse({"key": key, "masked": "*" * 8, "restart": restart})

    async def unset_secret(request: Request) -> Response:
        name, key = request.path_params["name"], request.path_params["key"]
        await asyncio.to_thread(service.unset_secret, name, key, _actor(request))
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
        Route("/v1/deployments/{name}/keys", list_keys),
        Route("/v1/deployments/{name}/keys", create_key, methods=["POST"]),
        Route("/v1/deployments/{name}/keys/{key_id}", revoke_key, methods=["DELETE"]),
        Route("/v1/deployments/{name}/secrets", list_secrets),
        Route("/v1/deployments/{name}/secrets/{key}", set_secret, methods=["PUT"]),
        Route("/v1/deployments/{name}/secrets/{key}", unset_secret, methods=["DELETE"]),
        Route("/v1/audit", audit),
        Route("/v1/deployments/{name}/promote", promote, methods=["POST"]),
        Route("/v1/deployments/{name}/abort", abort, methods=["POST"]),
        Route("/v1/deployments/{name}/split", set_split, methods=["POST"]),
        *traffic_routes(service),
    ]
    handlers: dict[Any, Any] = {DeployError: _domain_error, HTTPException: _http_error}
    app = Starlette(routes=routes, exception_handlers=handlers)
    return TokenAuth(app, tokens)


def _actor(request: Request) -> str:
    """The name of the token that made the request (for the audit log)."""
    return str(getattr(request.state, "token", "admin"))


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
