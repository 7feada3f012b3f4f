"""The wire vocabulary has one home (jupyter_deploy/wire.py); the panel's wire types mirror it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jupyter_deploy.builder.openapi import openapi_document
from jupyter_deploy.errors import InvalidRequest
from jupyter_deploy.wire import (
    ALL_PHASES,
    DEPLOYMENT_STATUSES,
    PHASES,
    VERSION_STATUSES,
    check_name,
)

TYPES = Path(__file__).resolve().parents[1] / "labextension" / "types.ts"


def _union(name: str) -> list[str]:
    """The string literals of a TypeScript union or field type in types.ts."""
    source = TYPES.read_text()
    found = re.search(rf"{name}\s*[:=]\s*([^;]+);", source)
    assert found, f"{name} not found in {TYPES}"
    return re.findall(r"'([a-z]+)'", found.group(1))


def test_the_panels_phases_and_statuses_mirror_the_wire_module() -> None:
    # Given the panel's wire types
    # Then they name exactly the phases and statuses the Python parts use
    assert _union("export type Phase") == list(ALL_PHASES)
    assert _union("export const PHASES: Wire.Phase\\[\\]") == list(PHASES)
    flat = re.sub(r"\s+", " ", TYPES.read_text()).replace(": | ", ": ")
    for statuses in (DEPLOYMENT_STATUSES, VERSION_STATUSES):
        assert "status: " + " | ".join(f"'{s}'" for s in statuses) + ";" in flat


def test_the_openapi_document_lists_the_wire_modules_words() -> None:
    # Given the build service's OpenAPI document
    schemas = openapi_document()["components"]["schemas"]
    # Then its enums are the wire module's
    assert schemas["Build"]["properties"]["phase"]["enum"] == list(ALL_PHASES)
    deployment = schemas["Deployment"]["properties"]
    assert deployment["status"]["enum"] == list(DEPLOYMENT_STATUSES)
    assert deployment["versions"]["items"]["properties"]["status"]["enum"] == list(VERSION_STATUSES)


@pytest.mark.parametrize("name", ["Iris", "my_model", "v1.2", "svc\n", "-a", "a-", "", "a" * 64])
def test_a_name_that_is_not_a_dns_label_is_refused_with_the_rule(name: str) -> None:
    # When a name outside the rule is checked, then the error names the rule
    with pytest.raises(InvalidRequest, match="lowercase letters, digits and '-'"):
        check_name(name)
