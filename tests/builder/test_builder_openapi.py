"""The build service documents itself: the served OpenAPI document is the one in docs/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from builder_helpers import BuilderProcess

DOC = Path(__file__).resolve().parents[2] / "docs" / "builder-openapi.json"


@pytest.mark.parametrize("backend_name", ["local"])
def test_the_served_openapi_document_is_the_one_in_docs(builder: BuilderProcess) -> None:
    served = requests.get(
        f"{builder.url}/v1/openapi.json",
        headers={"Authorization": f"Bearer {builder.token}"},
        timeout=10,
    ).json()
    assert served == json.loads(DOC.read_text()), (
        "docs/builder-openapi.json is stale: regenerate it with "
        "python -m jupyter_deploy.builder.openapi > docs/builder-openapi.json"
    )
    assert set(served["paths"]) >= {"/v1/builds", "/v1/builds/{id}", "/v1/deployments/{name}"}
