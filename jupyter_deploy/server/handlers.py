"""REST handlers under `{base_url}jupyter-deploy/api/`: parse, call the service, answer.

Every handler is authenticated and authorized (resource `jupyter_deploy`). Errors are JSON
`{"error", "message"}`; domain errors get their status from `jupyter_deploy.errors` here, in
`DeployHandler.write_error`, and nowhere else.
"""

from __future__ import annotations

import json
from http.client import responses
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import url_path_join
from tornado import web

from jupyter_deploy.errors import DeployError, InvalidRequest
from jupyter_deploy.server.service import DeployService

AUTH_RESOURCE = "jupyter_deploy"
SERVICE_KEY = "jupyter_deploy_service"
API = "jupyter-deploy/api"
ROLLOUT_KEYS = ("canary", "shadow", "max_error_rate", "max_p95_ms")


class DeployHandler(ExtensionHandlerMixin, APIHandler):
    """Base of the REST handlers: the service, JSON bodies and the one error mapping."""

    auth_resource = AUTH_RESOURCE

    @property
    def service(self) -> DeployService:
        """The one DeployService made by the extension."""
        service: DeployService = self.settings[SERVICE_KEY]
        return service

    def json_object(self) -> dict[str, Any]:
        """The request body as a JSON object, or InvalidRequest."""
        try:
            body = json.loads(self.request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise InvalidRequest("The request body is not JSON.") from None
        if not isinstance(body, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        return body

    def answer(self, body: Any, status: int = 200) -> None:
        """Finish with a JSON body."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer every error as `{"error", "message"}` with the domain error's status."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, DeployError):
            status_code, body = exc.http_status, exc.to_json()
        elif isinstance(exc, web.HTTPError):
            reason = exc.reason or responses.get(status_code, "Error")
            body = {"error": _code(reason), "message": exc.log_message or reason}
        else:
            body = {
                "error": "internal_error",
                "message": "jupyter-deploy hit an unexpected error; the server log has details.",
            }
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Domain errors are the user's to fix: one log line, no traceback."""
        if isinstance(value, DeployError):
            self.log.info("jupyter-deploy %s: %s", value.http_status, value.message)
            return
        super().log_exception(typ, value, tb)


def _code(reason: str) -> str:
    return "_".join(reason.lower().split()) or "error"


class PreviewHandler(DeployHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        """The generated module and metadata of a notebook, without deploying."""
        body = self.json_object()
        self.answer(await self.service.preview(body.get("path"), body.get("name")))


class DeploymentsHandler(DeployHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Every deployment."""
        self.answer(await self.service.deployments())

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Deploy a notebook: 202 with the queued build and its Location."""
        body = self.json_object()
        rollout = {k: body[k] for k in ROLLOUT_KEYS if body.get(k) is not None}
        build = await self.service.deploy(body.get("path"), body.get("name"), rollout)
        self.set_header("Location", url_path_join(self.base_url, API, "builds", build["id"]))
        self.answer(build, status=202)


class DeploymentHandler(DeployHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        """One deployment."""
        self.answer(await self.service.deployment(name))

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        """Stop and remove a deployment: 204."""
        await self.service.delete(name)
        self.set_status(204)
        self.finish()


class ModuleHandler(DeployHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        """The live predict.py of a deployment."""
        self.answer(await self.service.module(name))


class LiveFileHandler(DeployHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, path: str) -> None:
        """A text file (predict.py, requirements.txt, deploy.json) of the live version."""
        self.answer(await self.service.live_file(name, path))


class RollbackHandler(DeployHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        """Roll back to the previous (or given) version: 202 with the build."""
        build = await self.service.rollback(name, self.json_object().get("version"))
        self.set_header("Location", url_path_join(self.base_url, API, "builds", build["id"]))
        self.answer(build, status=202)


class SplitEndHandler(DeployHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str, verb: str) -> None:
        """Promote or abort the running canary or shadow: the outcome."""
        self.answer(await self.service.end_split(name, promote=verb == "promote"))


class InvokeHandler(DeployHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        """Forward the JSON body to the deployment's live /predict."""
        key = self.request.headers.get("X-API-Key") or None
        self.answer(await self.service.invoke(name, self.request.body, key))


class KeysHandler(DeployHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        """Create an API key of the deployment: shown once, in this answer."""
        key = await self.service.create_key(name, self.json_object().get("label", ""))
        self.answer(key, status=201)


class BuildHandler(DeployHandler):
    @web.authenticated
    @authorized
    async def get(self, build_id: str) -> None:
        """One build."""
        self.answer(await self.service.build(build_id))


class BuildLogsHandler(DeployHandler):
    @web.authenticated
    @authorized
    async def get(self, build_id: str) -> None:
        """Build log text from `?offset=N` on."""
        offset = self.get_query_argument("offset", "0")
        self.answer(await self.service.logs(build_id, offset))


class ConfigHandler(DeployHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The builder this server deploys to."""
        self.answer(self.service.config())


_NAME = r"([^/]+)"
HANDLERS: list[tuple[str, type[DeployHandler]]] = [
    (rf"/{API}/preview", PreviewHandler),
    (rf"/{API}/deployments", DeploymentsHandler),
    (rf"/{API}/deployments/{_NAME}", DeploymentHandler),
    (rf"/{API}/deployments/{_NAME}/module", ModuleHandler),
    (rf"/{API}/deployments/{_NAME}/files/{_NAME}", LiveFileHandler),
    (rf"/{API}/deployments/{_NAME}/rollback", RollbackHandler),
    (rf"/{API}/deployments/{_NAME}/invoke", InvokeHandler),
    (rf"/{API}/deployments/{_NAME}/keys", KeysHandler),
    (rf"/{API}/deployments/{_NAME}/(promote|abort)", SplitEndHandler),
    (rf"/{API}/builds/{_NAME}", BuildHandler),
    (rf"/{API}/builds/{_NAME}/logs", BuildLogsHandler),
    (rf"/{API}/config", ConfigHandler),
]
