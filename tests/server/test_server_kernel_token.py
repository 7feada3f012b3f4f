"""Kernels get the token DevOps chose for them (a `deploy` role), not the server's own."""

from __future__ import annotations

import os
from typing import Any

import pytest
from server_helpers import builder_endpoint, call  # noqa: F401 - fixtures

KERNEL_TOKEN = "k" * 24


@pytest.fixture
def jp_server_config(builder_endpoint: tuple[str, str]) -> dict[str, Any]:  # noqa: F811
    """The extension pointed at the session's builder, with a separate token for kernels."""
    url, token = builder_endpoint
    extension = {"builder_url": url, "builder_token": token, "kernel_token": KERNEL_TOKEN}
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_deploy": True}},
        "DeployExtension": extension,
    }


async def test_kernels_get_the_kernel_token_while_the_server_keeps_its_own(
    jp_fetch: Any,
    builder_endpoint: tuple[str, str],  # noqa: F811
) -> None:
    # Given a server configured with a builder token and a kernel token
    url, token = builder_endpoint
    # When it runs (and the panel reaches the builder through it)
    assert (await call(jp_fetch, "config"))["builder_url"] == url
    assert isinstance(await call(jp_fetch, "deployments"), dict)
    # Then kernels started now inherit the kernel token, not the server's
    assert os.environ["JUPYTER_DEPLOY_BUILDER_URL"] == url
    assert os.environ["JUPYTER_DEPLOY_TOKEN"] == KERNEL_TOKEN != token
