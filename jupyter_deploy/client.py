"""`connect(name)`: a deployment as a Python object, for the product engineer's code.

    from jupyter_deploy import connect
    iris = connect("iris")                      # builder URL and token as the CLI finds them
    iris.predict(features=[5.1, 3.5, 1.4, 0.2])

A thin, typed layer over two things that already exist: `BuilderClient` (to find the live URL)
and the model service's wire contract (`POST /predict`, `POST /predict/batch`). Failures are the
domain errors of `jupyter_deploy.errors`; a 503 (model loading, version switching) is retried with
exponential backoff before it becomes `ModelUnavailable`.
"""

from __future__ import annotations

import os
import time
from typing import Any

import requests

from jupyter_deploy.builder.client import BuilderClient
from jupyter_deploy.errors import (
    DeployError,
    InvalidInput,
    ModelUnavailable,
    NoLiveVersion,
    PredictFailed,
    Unauthorized,
)
from jupyter_deploy.wire import Json, check_name

API_KEY_ENV = "JUPYTER_DEPLOY_API_KEY"
RETRY_AFTER_CAP = 5.0  # seconds: the longest one Retry-After is honoured for


class Model:
    """One deployment's live API: `predict(**inputs)`, `predict_batch([...])`, `metadata()`."""

    def __init__(
        self,
        name: str,
        url: str,
        api_key: str | None = None,
        retries: int = 5,
        backoff: float = 0.2,
        timeout: float = 30.0,
    ) -> None:
        self.name, self.url = name, url.rstrip("/")
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self._session = requests.Session()
        if api_key:
            self._session.headers["Authorization"] = f"Bearer {api_key}"

    def __repr__(self) -> str:
        return f"Model({self.name!r}, url={self.url!r})"

    def predict(self, **inputs: Any) -> Any:
        """`predict(**inputs)` on the live version; its return value."""
        return self._post("/predict", inputs)["prediction"]

    def predict_batch(self, inputs: list[dict[str, Any]]) -> list[Any]:
        """One call for many inputs (each a dict of predict's arguments); results in order."""
        return list(self._post("/predict/batch", {"inputs": inputs})["predictions"])

    def metadata(self) -> Json:
        """The live version's deploy.json: input schema, example, source notebook, ..."""
        return self._send("GET", "/metadata", None)

    def _post(self, path: str, body: Json) -> Json:
        return self._send("POST", path, body)

    def _send(self, method: str, path: str, body: Json | None) -> Json:
        """One call, retried on 503 and refused connections with exponential backoff."""
        delay, problem = self.backoff, ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(delay)
                delay *= 2
            try:
                response = self._session.request(
                    method, f"{self.url}{path}", json=body, timeout=self.timeout
                )
            except requests.ConnectionError as error:
                problem = f"it does not answer ({type(error).__name__})"
                continue
            except requests.Timeout:
                raise ModelUnavailable(
                    f"{self.name} did not answer {path} within {self.timeout:g} s."
                ) from None
            if response.status_code != 503:
                return self._answer(response, path)
            problem = f"it answered 503: {_message(response)}"
            delay = max(delay, _retry_after(response))
        raise ModelUnavailable(
            f"{self.name} at {self.url} is not available after {self.retries + 1} tries: {problem}"
        )

    def _answer(self, response: requests.Response, path: str) -> Json:
        status = response.status_code
        if status == 200:
            body: Json = response.json()
            return body
        message = _message(response)
        if status == 401:
            raise Unauthorized(
                f"{self.name} needs an API key: connect({self.name!r}, api_key=...) "
                f"or set {API_KEY_ENV}. The service said: {message}"
            )
        if status in (400, 413, 422):
            raise InvalidInput(f"{self.name} refused the input: {message}")
        if status == 500:
            error_id = str(_json(response).get("error_id", ""))
            raise PredictFailed(f"{self.name}: {message}", error_id)
        raise DeployError(f"{self.name} answered {status} to {path}: {message}")


def connect(
    name: str,
    *,
    builder_url: str | None = None,
    token: str | None = None,
    api_key: str | None = None,
    retries: int = 5,
    backoff: float = 0.2,
    timeout: float = 30.0,
) -> Model:
    """The live deployment `name`, found through the build service.

    The builder is `builder_url`/`token` or, as for the CLI, $JUPYTER_DEPLOY_BUILDER_URL and
    $JUPYTER_DEPLOY_TOKEN; the API key is `api_key` or $JUPYTER_DEPLOY_API_KEY.
    """
    check_name(name)
    deployment = BuilderClient.from_env(builder_url, token).deployment(name)
    url = deployment.get("url")
    if not url:
        raise NoLiveVersion(
            f"{name} has no live version yet (status {deployment.get('status')}): "
            "wait for its build to finish, then connect again."
        )
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None
    return Model(name, str(url), key, retries=retries, backoff=backoff, timeout=timeout)


def _json(response: requests.Response) -> Json:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _message(response: requests.Response) -> str:
    return str(_json(response).get("message") or response.text[:300] or response.reason)


def _retry_after(response: requests.Response) -> float:
    try:
        return min(float(response.headers.get("Retry-After", "0")), RETRY_AFTER_CAP)
    except ValueError:
        return 0.0
