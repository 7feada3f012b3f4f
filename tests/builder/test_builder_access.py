"""Deployment API keys, secrets and the audit log, through the API and `jupyter deploy`
(a real builder process and real model services, local backend)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from builder_helpers import BuilderProcess, cleanup, env_bundle

from jupyter_deploy.builder.client import BuilderClient

pytestmark = pytest.mark.slow
DEPLOY = "d" * 24


@pytest.fixture
def builder(tmp_path: Path) -> Iterator[BuilderProcess]:
    """A builder with an admin token and a deploy token named `kernel`; `env` is live."""
    tokens = tmp_path / "tokens"
    tokens.write_text(f"kernel deploy {DEPLOY}\n")
    options = ("--reuse-site-packages", "--tokens-file", str(tokens))
    process = BuilderProcess(tmp_path / "state", options=options).start()
    try:
        client = process.client()
        assert client.wait(client.create_build("env", env_bundle())["id"])["phase"] == "live"
        yield process
    finally:
        process.stop()
        cleanup(tmp_path / "state")


def cli(builder: BuilderProcess, *args: str, stdin: str = "", token: str | None = None) -> Any:
    """`jupyter deploy ...` against the builder."""
    env = {**os.environ, "JUPYTER_DEPLOY_BUILDER_URL": builder.url}
    env["JUPYTER_DEPLOY_TOKEN"] = token or builder.token
    return subprocess.run(
        [sys.executable, "-m", "jupyter_deploy", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ask(url: str, variable: str, key: str | None = None) -> requests.Response:
    """POST /predict asking for one variable."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.post(f"{url}/predict", json={"x": variable}, headers=headers, timeout=10)


def settle(client: BuilderClient, answer: dict[str, Any] | None) -> None:
    """Wait for the restart a change queued."""
    if answer and answer.get("restart"):
        assert client.wait(answer["restart"]["id"])["phase"] == "live"


def test_a_key_is_shown_once_listed_masked_and_revoked_without_a_rebuild(
    builder: BuilderProcess,
) -> None:
    client = builder.client()
    url = client.deployment("env")["url"]
    assert ask(url, "HOME").status_code == 200  # no key yet: open, as before
    # When a key is created with the CLI
    created = cli(builder, "keys", "create", "env", "--label", "shop")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    restart = client.build(client.deployment("env")["latest_build"])
    assert restart["kind"] == "restart"
    assert client.wait(restart["id"])["phase"] == "live"
    # Then the deployment needs it (its smoke test passed with the builder's internal key)
    assert ask(url, "HOME").status_code == 401
    assert ask(url, "HOME", key).status_code == 200
    listed = cli(builder, "keys", "list", "env").stdout
    assert key not in listed and key[:6] in listed and "shop" in listed
    # When a second key is made and the first revoked, then only the second works
    second = client.create_key("env", "app")
    settle(client, second)
    key_id = next(k["id"] for k in client.keys("env") if k["label"] == "shop")
    assert cli(builder, "keys", "revoke", "env", key_id).returncode == 0
    client.wait(client.deployment("env")["latest_build"])
    assert ask(url, "HOME", key).status_code == 401
    assert ask(url, "HOME", second["key"]).status_code == 200
    assert [k["label"] for k in client.keys("env")] == ["app"]
    # And all along the version never changed: no rebuild
    assert client.deployment("env")["live_version"] == 1


def test_a_secret_reaches_the_model_masked_and_is_written_nowhere_else(
    builder: BuilderProcess,
) -> None:
    client = builder.client()
    url = client.deployment("env")["url"]
    # When a secret is set from stdin
    done = cli(builder, "secrets", "set", "env", "DB_PASSWORD", stdin="s3cr3t-value\n")
    assert done.returncode == 0, done.stderr
    client.wait(client.deployment("env")["latest_build"])
    # Then the model service sees it as an environment variable, after a restart, no rebuild
    assert ask(url, "DB_PASSWORD").json() == {"prediction": "s3cr3t-value"}
    deployment = client.deployment("env")
    assert deployment["live_version"] == 1 and len(deployment["versions"]) == 1
    # And it is shown masked, and is in no bundle, log or build output
    listed = cli(builder, "secrets", "list", "env").stdout
    assert "DB_PASSWORD=********" in listed and "s3cr3t" not in listed
    for path in builder.state.rglob("*"):
        if "traffic" in path.relative_to(builder.state).parts:
            continue  # the request log keeps the answers, and this model answers with the secret
        if path.is_file() and path.suffix != ".sqlite3" and "sqlite3" not in path.name:
            assert b"s3cr3t-value" not in path.read_bytes(), path
    assert "s3cr3t" not in client.logs(deployment["latest_build"]).text  # (every log: above)
    # When it is removed, then the model no longer sees it
    assert cli(builder, "secrets", "unset", "env", "DB_PASSWORD").returncode == 0
    client.wait(client.deployment("env")["latest_build"])
    assert ask(url, "DB_PASSWORD").json() == {"prediction": "unset"}


def test_a_bad_secret_name_or_an_empty_value_is_refused(builder: BuilderProcess) -> None:
    bad = cli(builder, "secrets", "set", "env", "JUPYTER_DEPLOY_API_KEYS", stdin="x")
    assert bad.returncode == 2 and "cannot name a secret" in bad.stderr
    empty = cli(builder, "secrets", "set", "env", "TOKEN", stdin="")
    assert empty.returncode == 2 and "stdin" in empty.stderr


def test_the_audit_log_says_who_did_what_and_a_deploy_token_cannot_delete(
    builder: BuilderProcess,
) -> None:
    client = BuilderClient(builder.url, DEPLOY)
    again = client.wait(client.create_build("env", env_bundle())["id"])
    assert again["phase"] == "live"
    client.wait(client.rollback("env")["id"])
    refused = cli(builder, "delete", "env", token=DEPLOY)
    assert refused.returncode == 2 and "needs the role admin" in refused.stderr
    assert cli(builder, "secrets", "set", "env", "A", stdin="1").returncode == 0
    # Then `jupyter deploy audit` lists each change with its token, action and version
    audit = cli(builder, "audit", "env")
    assert audit.returncode == 0, audit.stderr
    lines = audit.stdout.strip().splitlines()
    entries = [re.sub(r"build [0-9a-f]{12}", "build B", line.split("  ", 1)[1]) for line in lines]
    assert entries == [
        "admin  push  env v1 (build B)",
        "kernel  push  env v2 (build B)",
        "kernel  rollback  env v1 (build B)",
        "admin  secret set  env (A)",
        "admin  restart  env v1 (secret A set; build B)",
    ]
    assert cli(builder, "audit", token=DEPLOY).returncode == 2


def test_the_embedded_builder_gives_kernels_a_deploy_token_that_cannot_delete(
    tmp_path: Path,
) -> None:
    from jupyter_deploy.builder import embedded

    # Given the embedded build service the server extension starts
    handle = embedded.start(tmp_path / "state")
    try:
        kernel = BuilderClient(handle.url, handle.deploy_token)
        # When a kernel pushes with its token, then the build goes live
        assert kernel.wait(kernel.create_build("env", env_bundle())["id"])["phase"] == "live"
        # And it may not delete, nor read secrets; the server's admin token may
        with pytest.raises(Exception, match="needs the role admin"):
            kernel.delete("env")
        with pytest.raises(Exception, match="needs the role admin"):
            kernel.secrets("env")
        BuilderClient(handle.url, handle.token).delete("env")
        actions = [e["token"] + " " + e["action"] for e in handle.service.audit.entries()]
        assert actions == ["kernel push", "server delete"]
    finally:
        embedded.stop(handle)


@pytest.mark.parametrize(
    ("line", "said"),
    [("ci deploy", "line 2"), ("ci owner " + "x" * 24, "line 2"), ("ci read short", "line 2")],
)
def test_a_bad_tokens_file_stops_the_builder_with_the_line_named(
    tmp_path: Path, line: str, said: str
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# comment\n{line}\n")
    command = [sys.executable, "-m", "jupyter_deploy", "builder", "--state", str(tmp_path / "s")]
    done = subprocess.run(
        [*command, "--tokens-file", str(tokens), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert said in done.stderr and "NAME ROLE TOKEN" in done.stderr
    assert "Traceback" not in done.stderr
