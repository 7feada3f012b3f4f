"""The server extension's canary routes: deploy with `canary`, see the split, abort it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from server_helpers import (  # noqa: F401 - fixtures
    builder_endpoint,
    call,
    call_error,
    constant_notebook,
    jp_server_config,
    wait_final,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed"),
]


async def test_a_canary_deployed_from_the_server_shows_its_split_and_aborts(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    # Given a live version of a notebook
    constant_notebook(jp_root_dir, "canary.ipynb", factor=2)
    body: dict[str, Any] = {"path": "canary.ipynb", "name": "server-canary"}
    first = await call(jp_fetch, "deployments", method="POST", body=body)
    assert (await wait_final(jp_fetch, first["id"]))["phase"] == "live"
    # When the panel deploys a new version as a 20% canary
    constant_notebook(jp_root_dir, "canary.ipynb", factor=3)
    canary = await call(jp_fetch, "deployments", method="POST", body={**body, "canary": 20})
    assert (await wait_final(jp_fetch, canary["id"]))["phase"] == "live"
    # Then the deployment carries the split, with both versions
    split = (await call(jp_fetch, "deployments", "server-canary"))["split"]
    assert split["mode"] == "canary" and split["percent"] == 20
    assert (split["stable"]["version"], split["candidate"]["version"]) == (1, 2)
    # When it is aborted, then version 1 alone serves, and a second abort is a 409
    outcome = await call(jp_fetch, "deployments", "server-canary", "abort", method="POST")
    assert outcome["outcome"] == "aborted" and outcome["live_version"] == 1
    assert (await call(jp_fetch, "deployments", "server-canary"))["split"] is None
    status, answer = await call_error(
        jp_fetch, "deployments", "server-canary", "abort", method="POST"
    )
    assert status == 409 and "no canary or shadow running" in answer["message"]
    # And a canary percentage out of range is a 400 naming it
    status, answer = await call_error(
        jp_fetch, "deployments", method="POST", body={**body, "canary": 150}
    )
    assert status == 400 and "canary='150'" in answer["message"]
    await call(jp_fetch, "deployments", "server-canary", method="DELETE")
