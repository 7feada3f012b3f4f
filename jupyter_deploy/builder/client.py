"""`BuilderClient`: the one Python client of the build service REST API.

The CLI, the server extension and the magics all reach the builder through this class.
Errors come back as the domain errors of `jupyter_deploy.errors`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import requests

from jupyter_deploy.errors import (
    BuilderError,
    BuilderUnreachable,
    BuildTimeout,
    Conflict,
    DeployError,
    InvalidRequest,
    NotFound,
    ServiceUnreachable,
    Unauthorized,
)
from jupyter_deploy.wire import FINAL_PHASES, Json, is_name

URL_ENV = "JUPYTER_DEPLOY_BUILDER_URL"
TOKEN_ENV = "JUPYTER_DEPLOY_TOKEN"


@dataclass
class LogChunk:
    text: str
    next_offset: int
    complete: bool


class BuilderClient:
    """Talks to one build service: `BuilderClient(url, token)` or `BuilderClient.from_env()`."""

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        if not url:
            raise DeployError(
                f"No builder configured: pass --builder URL or set {URL_ENV} (and {TOKEN_ENV})."
            )
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def from_env(cls, url: str | None = None, token: str | None = None) -> BuilderClient:
        """A client from explicit values, falling back to the environment variables."""
        return cls(url or os.environ.get(URL_ENV, ""), token or os.environ.get(TOKEN_ENV, ""))

    # --- REST calls -----------------------------------------------------------------------

    def health(self) -> bool:
        """True when the builder answers `/healthz`."""
        try:
            return self._session.get(f"{self.url}/healthz", timeout=2).ok
        except requests.RequestException:
            return False

    def create_build(self, name: str, tarball: bytes, **rollout: Any) -> Json:
        """Upload a bundle tarball; returns the queued Build.

        `rollout`: canary=PERCENT or shadow=PERCENT (and max_error_rate, max_p95_ms) to start
        a split at the switch instead of switching every request (docs/rollouts.md).
        """
        extra = {k: v for k, v in rollout.items() if v is not None}
        return self._call(
            "POST",
            "/v1/builds",
            params={"name": name, **extra},
            data=tarball,
            headers={"Content-Type": "application/gzip"},
        )

    def build(self, build_id: str) -> Json:
        """The Build with this id."""
        return self._call("GET", f"/v1/builds/{build_id}")

    def logs(self, build_id: str, offset: int = 0) -> LogChunk:
        """Build log text from `offset` on."""
        body = self._call("GET", f"/v1/builds/{build_id}/logs", params={"offset": offset})
        return LogChunk(body["text"], body["next_offset"], body["complete"])

    def deployments(self) -> list[Json]:
        """Every deployment the builder knows."""
        return list(self._call("GET", "/v1/deployments")["deployments"])

    def deployment(self, name: str) -> Json:
        """One deployment, with its live URL and version history."""
        return self._call("GET", f"/v1/deployments/{name}")

    def deployment_file(self, name: str, path: str = "predict.py") -> str:
        """A file of the live version of a deployment, as text."""
        response = self._request("GET", f"/v1/deployments/{name}/files/{path}")
        return response.text

    def rollback(self, name: str, version: int | None = None) -> Json:
        """Go back to the previous (or a named) version; returns the rollback Build."""
        body = {} if version is None else {"version": version}
        return self._call("POST", f"/v1/deployments/{name}/rollback", json=body)

    def promote(self, name: str) -> Json:
        """End the running canary or shadow: the new version takes every request."""
        return self._call("POST", f"/v1/deployments/{name}/promote", timeout=120)

    def set_split(self, name: str, percent: int) -> Json:
        """Change the running canary's (or shadow's) percentage; the split's figures."""
        return self._call("POST", f"/v1/deployments/{name}/split", json={"percent": percent})

    def abort(self, name: str) -> Json:
        """End the running canary or shadow: every request goes back to the current version."""
        return self._call("POST", f"/v1/deployments/{name}/abort", timeout=120)

    def delete(self, name: str) -> None:
        """Stop and remove everything the deployment started."""
        self._request("DELETE", f"/v1/deployments/{name}")

    def create_key(self, name: str, label: str = "") -> Json:
        """A new API key of a deployment: the answer is the only place its secret appears."""
        return self._call("POST", f"/v1/deployments/{name}/keys", json={"label": label})

    def keys(self, name: str) -> list[Json]:
        """A deployment's API keys, masked."""
        return list(self._call("GET", f"/v1/deployments/{name}/keys")["keys"])

    def revoke_key(self, name: str, key_id: str) -> None:
        """Revoke one API key (the deployment restarts without it)."""
        self._request("DELETE", f"/v1/deployments/{name}/keys/{key_id}")

    def set_secret(self, name: str, key: str, value: str) -> Json:
        """Set a deployment secret (an environment variable of its model service)."""
        return self._call("PUT", f"/v1/deployments/{name}/secrets/{key}", json={"value": value})

    def secrets(self, name: str) -> list[Json]:
        """A deployment's secrets, masked."""
        return list(self._call("GET", f"/v1/deployments/{name}/secrets")["secrets"])

    def unset_secret(self, name: str, key: str) -> None:
        """Remove a deployment secret."""
        self._request("DELETE", f"/v1/deployments/{name}/secrets/{key}")

    def audit(self, name: str | None = None, limit: int = 100) -> list[Json]:
        """The audit log (of one deployment when named), oldest first."""
        params: dict[str, Any] = {"limit": limit, **({"deployment": name} if name else {})}
        return list(self._call("GET", "/v1/audit", params=params)["entries"])

    def traffic(self, name: str, minutes: int = 60) -> Json:
        """Requests, errors and latency percentiles per minute for the last `minutes`."""
        return self._call("GET", f"/v1/deployments/{name}/traffic", params={"minutes": minutes})

    def recent_requests(self, name: str, limit: int = 50, status: str | None = None) -> Json:
        """The newest logged requests (time, status, latency, input, output), newest first."""
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        return self._call("GET", f"/v1/deployments/{name}/requests", params=params)

    # --- following a build, calling a deployment -------------------------------------------

    def wait(
        self,
        build_id: str,
        on_change: Callable[[Json], None] | None = None,
        on_log: Callable[[str], None] | None = None,
        on_tick: Callable[[], None] | None = None,
        timeout: float = 900.0,
        interval: float = 0.25,
        stop: threading.Event | None = None,
    ) -> Json:
        """Follow a build until it is live or failed: the one follow loop of every door.

        Calls `on_change` on each new phase (or URL), `on_log` with each piece of log text (read
        to its end once the build is over) and `on_tick` after every poll. Setting `stop` ends
        the loop early with the last Build seen (a server shutting down).
        """
        deadline = time.monotonic() + timeout
        offset, last = 0, None
        while True:
            build = self.build(build_id)
            final = build["phase"] in FINAL_PHASES
            if on_log is not None:
                offset = self._read_logs(build_id, offset, on_log, to_end=final)
            if on_change is not None and (build["phase"], build.get("url")) != last:
                last = (build["phase"], build.get("url"))
                on_change(build)
            if on_tick is not None:
                on_tick()
            if final or (stop is not None and stop.is_set()):
                return build
            if time.monotonic() > deadline:
                name = build.get("name")
                raise BuildTimeout(
                    f"Build {build_id} of {name} did not finish in {timeout:.0f} s; "
                    f"`status {name}` tells how it ends."
                )
            if stop is not None:
                stop.wait(interval)
            else:
                time.sleep(interval)

    def _read_logs(
        self, build_id: str, offset: int, on_log: Callable[[str], None], to_end: bool
    ) -> int:
        for _ in range(50 if to_end else 1):
            chunk = self.logs(build_id, offset)
            offset = chunk.next_offset
            if chunk.text:
                on_log(chunk.text)
            if chunk.complete or not chunk.text:
                break
        return offset

    def latest_build_id(self, name_or_build: str) -> str:
        """The newest build of a deployment NAME, or the build id itself when given one."""
        if is_name(name_or_build):
            try:
                build_id = self.deployment(name_or_build).get("latest_build")
            except BuilderError as error:
                if error.http_status != 404:
                    raise
            else:
                if not build_id:
                    raise Conflict(f"{name_or_build} has no build yet.")
                return str(build_id)
        try:
            return str(self.build(name_or_build)["id"])
        except BuilderError as error:
            if error.http_status != 404:
                raise
            raise NotFound(f"There is no deployment or build called {name_or_build!r}.") from None

    def example(self, name: str) -> Any:
        """The example input of the live version of `name` (from its deploy.json)."""
        try:
            metadata = json.loads(self.deployment_file(name, "deploy.json"))
        except (ValueError, BuilderError):
            metadata = {}
        example = metadata.get("example") if isinstance(metadata, dict) else None
        if example is None:
            raise InvalidRequest(f"{name} has no example input: give the input as JSON.")
        return example

    def invoke(
        self, name: str, payload: Any, timeout: float = 30.0, api_key: str | None = None
    ) -> Json:
        """POST `payload` to the live /predict of `name`: {status, body, latency_ms}."""
        deployment = self.deployment(name)
        url = deployment.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise Conflict(f"{name} has no live URL yet (status {deployment.get('status')!r}).")
        return invoke(url, payload, timeout, api_key)

    def _call(self, method: str, path: str, **kwargs: Any) -> Json:
        response = self._request(method, path, **kwargs)
        body: Json = response.json()
        return body

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            kwargs.setdefault("timeout", self.timeout)
            response = self._session.request(method, f"{self.url}{path}", **kwargs)
        except requests.RequestException as exc:
            raise BuilderUnreachable(
                f"The build service at {self.url} does not answer ({type(exc).__name__}). "
                "Check that it runs and that the URL is right."
            ) from None
        if response.status_code == 401:
            raise Unauthorized(f"The build service at {self.url} refused the token.")
        if response.status_code >= 400:
            raise _error_from(response)
        return response


def invoke(url: str, payload: Any, timeout: float = 30.0, api_key: str | None = None) -> Json:
    """POST `payload` to a model service's /predict (with its API key, if it needs one):
    {status, body, latency_ms}."""
    target = url.rstrip("/") + "/predict"
    headers = {"X-API-Key": api_key} if api_key else {}
    started = time.perf_counter()
    try:
        response = requests.post(target, json=payload, timeout=timeout, headers=headers)
    except requests.RequestException as exc:
        raise ServiceUnreachable(
            f"The live API at {target} does not answer ({type(exc).__name__})."
        ) from None
    latency_ms = (time.perf_counter() - started) * 1000.0
    try:
        answer: Any = response.json()
    except ValueError:
        answer = response.text
    return {"status": response.status_code, "body": answer, "latency_ms": latency_ms}


def describe_invocation(result: Json) -> str:
    """An invocation as two lines: `200 OK in 3 ms`, then the answer as JSON."""
    status = int(result["status"])
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    body = result["body"]
    answer = body if isinstance(body, str) else json.dumps(body)
    return f"{status} {reason} in {float(result['latency_ms']):.0f} ms\n{answer}"


def _error_from(response: requests.Response) -> BuilderError:
    try:
        body = response.json()
        message, code = str(body["message"]), str(body.get("error", "builder_error"))
    except (ValueError, KeyError, TypeError):
        message, code = response.text[:500] or response.reason, "builder_error"
    return BuilderError(message, http_status=response.status_code, code=code)
