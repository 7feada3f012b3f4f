"""`jupyter_deploy.connect` against a real build service (local backend) and real model services."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from builder_helpers import BuilderProcess, bundle_tarball, cleanup
from compiler_helpers import code
from runtime_helpers import PLAIN, start_service

from jupyter_deploy import connect
from jupyter_deploy.client import Model
from jupyter_deploy.errors import (
    BuilderError,
    InvalidInput,
    ModelUnavailable,
    PredictFailed,
    Unauthorized,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuilderProcess]:
    """A build service with `double` (predict(x) = 2 * x) live on it."""
    state = tmp_path_factory.mktemp("client") / "state"
    builder = BuilderProcess(state).start()
    try:
        client = builder.client()
        build = client.create_build("double", bundle_tarball(2, "double"))
        final = client.wait(str(build["id"]), timeout=300)
        assert final["phase"] == "live", final
        yield builder
    finally:
        builder.stop()
        cleanup(state)


def test_connect_finds_the_live_url_and_predicts(live: BuilderProcess) -> None:
    # Given a live deployment on a build service
    # When a product engineer connects by name and calls predict with keyword arguments
    model = connect("double", builder_url=live.url, token=live.token)
    # Then predict, predict_batch and metadata answer from the live version
    assert model.predict(x=21) == 42
    assert model.predict_batch([{"x": 1}, {"x": 2}]) == [2, 4]
    assert model.metadata()["name"] == "double"
    assert model.url == live.client().deployment("double")["url"].rstrip("/")


def test_connect_reads_the_builder_from_the_cli_settings(
    live: BuilderProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the builder URL and token in the same variables the CLI reads
    monkeypatch.setenv("JUPYTER_DEPLOY_BUILDER_URL", live.url)
    monkeypatch.setenv("JUPYTER_DEPLOY_TOKEN", live.token)
    # When connecting with the name only
    # Then it works
    assert connect("double").predict(x=5) == 10


def test_connect_to_an_unknown_deployment_is_a_typed_404(live: BuilderProcess) -> None:
    # Given a build service without "nothing-here"
    # When connecting to it
    with pytest.raises(BuilderError) as caught:
        connect("nothing-here", builder_url=live.url, token=live.token)
    # Then the error carries the builder's 404 and names the deployment
    assert caught.value.http_status == 404
    assert "nothing-here" in str(caught.value)


def test_a_wrong_token_is_unauthorized(live: BuilderProcess) -> None:
    # Given a wrong builder token
    # When connecting
    # Then it is Unauthorized, not a crash
    with pytest.raises(Unauthorized):
        connect("double", builder_url=live.url, token="wrong")


def test_bad_input_is_invalid_input_naming_the_field(live: BuilderProcess) -> None:
    # Given a connected model whose predict takes x: int
    model = connect("double", builder_url=live.url, token=live.token)
    # When it is called with a string
    with pytest.raises(InvalidInput) as caught:
        model.predict(x="seven")
    # Then the typed error names the field
    assert "x" in str(caught.value) and caught.value.http_status == 422


def test_an_exception_in_predict_is_predict_failed_with_its_error_id(tmp_path: Path) -> None:
    # Given a service whose predict raises
    failing = "def predict(x: int) -> int:\n    raise ValueError('no')"
    service = start_service(tmp_path, [code(failing, "predict")])
    try:
        # When it is called
        with pytest.raises(PredictFailed) as caught:
            Model("svc", service.url).predict(x=1)
        # Then the error id is the one in the service log
        assert caught.value.error_id
        assert caught.value.error_id in service.log.read_text()
    finally:
        service.process.kill()


def test_a_loading_service_is_retried_with_backoff_until_ready(tmp_path: Path) -> None:
    # Given a service still running a 3-second setup cell (it answers 503 meanwhile)
    slow = code("import time\ntime.sleep(3)", "setup")
    service = start_service(tmp_path, [slow, code(PLAIN, "predict")], ready=False)
    try:
        started = time.monotonic()
        # When predict is called with enough retries
        answer = Model("svc", service.url, retries=8, backoff=0.1).predict(x=7)
        # Then it answers once loaded, after waiting rather than failing
        assert answer == 7
        assert time.monotonic() - started > 0.5
    finally:
        service.process.kill()


def test_a_service_that_stays_unavailable_is_model_unavailable(tmp_path: Path) -> None:
    # Given a service whose setup takes a minute
    slow = code("import time\ntime.sleep(60)", "setup")
    service = start_service(tmp_path, [slow, code(PLAIN, "predict")], ready=False)
    try:
        # When predict is called with two retries
        with pytest.raises(ModelUnavailable) as caught:
            Model("svc", service.url, retries=2, backoff=0.05).predict(x=1)
        # Then the error says how many tries and what the service said
        assert "3 tries" in str(caught.value) and "503" in str(caught.value)
    finally:
        service.process.kill()


def test_an_api_key_is_sent_when_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a service that needs an API key
    env = {"JUPYTER_DEPLOY_API_KEYS": "s3cret"}
    service = start_service(tmp_path, [code(PLAIN, "predict")], env=env)
    try:
        # When called without a key, Then it is Unauthorized and says how to give one
        with pytest.raises(Unauthorized) as caught:
            Model("svc", service.url).predict(x=1)
        assert "api_key" in str(caught.value)
        # When called with the key, Then it answers
        assert Model("svc", service.url, api_key="s3cret").predict(x=4) == 4
    finally:
        service.process.kill()
