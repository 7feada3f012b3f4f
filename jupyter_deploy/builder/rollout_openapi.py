"""The rollout part of the build service's OpenAPI document (merged in by openapi.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SIDE = {
    "type": "object",
    "description": (
        "What one version answered through the router since the split started (null figures "
        "where the platform splits the traffic: Kubernetes)"
    ),
    "properties": {
        "version": {"type": "integer"},
        "requests": {"type": ["integer", "null"]},
        "errors": {"type": ["integer", "null"], "description": "Answers with status 500 or more"},
        "error_rate": {"type": ["number", "null"]},
        "p95_ms": {"type": ["number", "null"]},
        "rate_per_s": {"type": ["number", "null"], "description": "Over the last 30 s"},
    },
    "required": ["version", "requests", "errors", "error_rate", "p95_ms", "rate_per_s"],
}
SPLIT = {
    "type": ["object", "null"],
    "description": "The canary or shadow running on the stable URL, or null (no router)",
    "properties": {
        "mode": {"enum": ["canary", "shadow"]},
        "percent": {"type": "integer"},
        "build_id": {"type": "string"},
        "started_at": {"type": "string", "format": "date-time"},
        "note": {
            "type": ["string", "null"],
            "description": "What the split really is, where it differs from percent (a pod ratio)",
        },
        "router": {
            "enum": ["running", "stopped", "none"],
            "description": "The build service's router; none where the platform splits traffic",
        },
        "auto_abort": {
            "type": "object",
            "properties": {
                "max_error_rate": {"type": ["number", "null"]},
                "max_p95_ms": {"type": ["number", "null"]},
            },
        },
        "stable": SIDE,
        "candidate": SIDE,
        "agreement": {
            "type": ["object", "null"],
            "description": "Shadow only: pairs of answers (same status and body = agreeing)",
            "properties": {
                "compared": {"type": "integer"},
                "agreeing": {"type": "integer"},
                "rate": {"type": ["number", "null"]},
                "differing": {
                    "type": "array",
                    "description": "The newest 20 requests whose answers differ",
                    "items": {
                        "type": "object",
                        "properties": {
                            "request_id": {"type": "string"},
                            "input": {"type": "string"},
                            "stable_status": {"type": "integer"},
                            "candidate_status": {"type": "integer"},
                        },
                    },
                },
            },
        },
    },
}
OUTCOME = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "outcome": {"type": "string"},
        "live_version": {"type": "integer"},
        "split": {"$ref": "#/components/schemas/Split"},
    },
    "required": ["name", "outcome", "live_version", "split"],
}
BUILD_PARAMETERS = [
    {
        "name": "canary",
        "in": "query",
        "description": "Start a canary: this percentage of requests (1-99) go to the new version",
        "schema": {"type": "integer", "minimum": 1, "maximum": 99},
    },
    {
        "name": "shadow",
        "in": "query",
        "description": "Start a shadow: copies of this percentage of requests (1-100) go to it",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
    {
        "name": "max_error_rate",
        "in": "query",
        "description": "Abort the split when the new version's error rate goes over this (0-1]",
        "schema": {"type": "number"},
    },
    {
        "name": "max_p95_ms",
        "in": "query",
        "description": "Abort the split when the new version's p95 goes over this many ms",
        "schema": {"type": "number"},
    },
]


def paths(name: dict[str, Any], errors: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """POST /v1/deployments/{name}/split, /promote and /abort (`errors`: openapi._errors)."""
    answer: dict[str, Any] = {
        "description": "The split ended",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outcome"}}},
    }
    split: dict[str, Any] = {
        "/v1/deployments/{name}/split": {
            "post": {
                "summary": "Change the running split's percentage (a graceful router reload)",
                "parameters": [name],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"percent": {"type": "integer"}},
                                "required": ["percent"],
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "The split, with its new percentage",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Split"}}
                        },
                    },
                    **errors("400", "401", "404", "409"),
                },
            }
        }
    }
    ends: dict[str, Any] = {**errors("401", "404", "409"), "200": answer}
    for verb, summary in (
        ("promote", "End the canary or shadow: the new version takes every request"),
        ("abort", "End the canary or shadow: every request goes back to the current version"),
    ):
        post: dict[str, Any] = {"summary": summary, "parameters": [name], "responses": ends}
        split[f"/v1/deployments/{{name}}/{verb}"] = {"post": post}
    return split
