"""Fault injection: a missing, wrong or too weak token on every route of the build service
(a real builder process with a tokens file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from builder_helpers import BuilderProcess, bundle_tarball, cleanup

from jupyter_deploy.builder.app import create_app
from jupyter_deploy.builder.backends.local import LocalBackend
from jupyter_deploy.builder.core import BuildService

pytestmark = pytest.mark.slow

READ, DEPLOY = "r" * 24, "d" * 24
ROUTES = [  # every /v1 route, with the least role that may call it
    ("GET", "/v1/openapi.json", "read"),
    ("POST", "/v1/builds?name=tok", "deploy"),
    ("GET", "/v1/builds/{build}", "read"),
    ("GET", "/v1/builds/{build}/logs", "read"),
    ("GET", "/v1/deployments", "read"),
    ("GET", "/v1/deployments/tok", "read"),
    ("DELETE", "/v1/deployments/tok", "admin"),
    ("GET", "/v1/deployments/tok/files/predict.py", "read"),
    ("POST", "/v1/deployments/tok/rollback", "deploy"),
    ("GET", "/v1/deployments/tok/keys", "admin"),
    ("POST", "/v1/deployments/tok/keys", "admin"),
    ("DELETE", "/v1/deployments/tok/keys/nokey", "admin"),
    ("GET", "/v1/deployments/tok/secrets", "admin"),
    ("PUT", "/v1/deployments/tok/secrets/DB_PASSWORD", "admin"),
    ("DELETE", "/v1/deployments/tok/secrets/DB_PASSWORD", "admin"),
    ("GET", "/v1/audit", "admin"),
    ("POST", "/v1/deployments/tok/promote", "deploy"),
    ("POST", "/v1/deployments/tok/abort", "deploy"),
    ("POST", "/v1/deployments/tok/split", "deploy"),
    ("GET", "/v1/deployments/tok/traffic", "read"),
    ("GET", "/v1/deployments/tok/requests", "read"),
]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuilderProcess]:
    """A builder with an admin token, a deploy token and a read token; `tok` is live."""
    root = tmp_path_factory.mktemp("tokens")
    tokens = root / "tokens"
    tokens.write_text(f"# who role token\nci deploy {DEPLOY}\nviewer read {READ}\n")
    options = ("--reuse-site-packages", "--tokens-file", str(tokens))
    process = BuilderProcess(root / "state", options=options).start()
    try:
        client = process.client()
        client.wait(client.create_build("tok", bundle_tarball(2, "tok"))["id"])
        yield process
    finally:
        process.stop()
        cleanup(root / "state")


def test_the_table_names_every_route_of_the_app(tmp_path: Path) -> None:
    state = tmp_path / "state"
    service = BuildService(state, LocalBackend(state, {"reuse_site_packages": True}))
    app = create_app(service, "x" * 24)
    served = {
        (method, route.path)
        for route in app.app.routes  # type: ignore[attr-defined]
        for method in route.methods - {"HEAD"}
        if route.path.startswith("/v1")
    }
    listed = {(m, p.split("?")[0]) for m, p, _ in ROUTES}
    generic = {
        (m, p.replace("{build}", "{id}").replace("/tok", "/{name}").replace("nokey", "{key_id}"))
        for m, p in listed
    }
    generic = {(m, p.replace("files/predict.py", "files/{path:path}")) for m, p in generic}
    generic = {(m, p.replace("secrets/DB_PASSWORD", "secrets/{key}")) for m, p in generic}
    assert generic == served


def call(builder: BuilderProcess, method: str, path: str, token: str | None) -> int:
    """The status of one call with this token (None: no Authorization header)."""
    build = builder.client().deployment("tok")["live_build"]
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    body = bundle_tarball(3, "tok") if path.startswith("/v1/builds?") else b'{"value": "v"}'
    answer = requests.request(
        method,
        builder.url + path.replace("{build}", build),
        headers=headers,
        data=body if method in ("POST", "PUT") else None,
        timeout=30,
    )
    return answer.status_code


@pytest.mark.parametrize(("method", "path", "needed"), ROUTES)
def test_a_missing_or_wrong_token_gets_401_and_a_weaker_role_403(
    guarded: BuilderProcess, method: str, path: str, needed: str
) -> None:
    # When the route is called without a token, or with a token that is not one of ours
    for token in (None, "", "wrong-token-of-some-length", guarded.token + "x"):
        assert call(guarded, method, path, token) == 401, token
    # Then a read token may only read, and a deploy token may not administer
    if needed in ("deploy", "admin"):
        assert call(guarded, method, path, READ) == 403
    if needed == "admin":
        assert call(guarded, method, path, DEPLOY) == 403
    # And nothing was changed by a refused call
    assert guarded.client().deployment("tok")["live_version"] == 1


def test_a_refusal_names_the_token_its_role_and_the_role_needed(guarded: BuilderProcess) -> None:
    answer = requests.delete(
        f"{guarded.url}/v1/deployments/tok",
        headers={"Authorization": f"Bearer {DEPLOY}"},
        timeout=10,
    )
    assert answer.status_code == 403
    assert answer.json() == {
        "error": "forbidden",
        "message": "The token 'ci' has the role deploy: DELETE /v1/deployments/tok needs the "
        "role admin.",
    }
    reader = requests.get(
        f"{guarded.url}/v1/deployments", headers={"Authorization": f"Bearer {READ}"}
    )
    assert reader.status_code == 200
