"""The build service's OpenAPI document (served at /v1/openapi.json, kept in docs/)."""

from __future__ import annotations

from typing import Any

from jupyter_deploy._version import __version__
from jupyter_deploy.builder import rollout_openapi as rollout
from jupyter_deploy.wire import ALL_PHASES, BUILD_KINDS, DEPLOYMENT_STATUSES, VERSION_STATUSES

TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict[str, Any]:
    meaning = {
        "400": "Bad input (e.g. not a bundle, a path outside it, a bad name).",
        "401": "No token or a wrong one.",
        "403": "The token's role does not allow this (read < deploy < admin).",
        "404": "No such build, deployment, version or file.",
        "409": "Conflict (e.g. nothing to roll back to, a build is running).",
        "413": "The bundle, or what it unpacks to, is over a limit (named in the message).",
        "507": "The build service's disk is full: nothing was stored.",
    }
    return {code: _json(_ref("Error"), meaning[code]) for code in codes}


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
        "required": ["error", "message"],
    },
    "Build": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "version": {"type": "integer"},
            "kind": {"enum": list(BUILD_KINDS)},
            "phase": {"enum": list(ALL_PHASES)},
            "created_at": TIME,
            "updated_at": TIME,
            "finished_at": NULLABLE_TIME,
            "phases": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "phase": {"enum": list(ALL_PHASES)},
                        "started_at": TIME,
                        "finished_at": NULLABLE_TIME,
                    },
                },
            },
            "error": {
                "anyOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "properties": {"phase": {"type": "string"}, "message": {"type": "string"}},
                    },
                ]
            },
            "url": {"type": ["string", "null"]},
        },
        "required": ["id", "name", "version", "kind", "phase", "phases", "error", "url"],
    },
    "Logs": {
        "type": "object",
        "properties": {
            "offset": {"type": "integer"},
            "next_offset": {"type": "integer"},
            "text": {"type": "string"},
            "complete": {"type": "boolean"},
        },
        "required": ["offset", "next_offset", "text", "complete"],
    },
    "Deployment": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "url": {"type": ["string", "null"]},
            "status": {"enum": list(DEPLOYMENT_STATUSES)},
            "health": {
                "description": "What happened to the live version's process (null: nothing).",
                "anyOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "properties": {
                            "state": {"enum": ["live", "restarting", "crashed", "failed"]},
                            "message": {"type": "string"},
                            "restarts": {"type": "integer"},
                            "updated_at": TIME,
                        },
                    },
                ],
            },
            "live_version": {"type": ["integer", "null"]},
            "live_build": {"type": ["string", "null"]},
            "latest_build": {
                "type": ["string", "null"],
                "description": "The newest build or rollback of this name (what `logs NAME` shows)",
            },
            "openapi_url": {"type": ["string", "null"]},
            "versions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "version": {"type": "integer"},
                        "build_id": {"type": "string"},
                        "status": {"enum": list(VERSION_STATUSES)},
                        "created_at": TIME,
                    },
                },
            },
        },
        "required": ["name", "url", "status", "live_version", "versions"],
    },
    "Split": rollout.SPLIT,
    "Outcome": rollout.OUTCOME,
}
SCHEMAS["Deployment"]["properties"]["split"] = _ref("Split")

MILLIS = {"type": ["number", "null"], "description": "Milliseconds; null without requests"}
FIGURES = {
    "type": "object",
    "properties": {
        "requests": {"type": "integer"},
        "errors": {"type": "integer", "description": "Answers 5xx"},
        "rejected": {"type": "integer", "description": "Answers 4xx (bad input)"},
        "error_rate": {"type": "number"},
        "p50_ms": MILLIS,
        "p95_ms": MILLIS,
        "p99_ms": MILLIS,
    },
}
SCHEMAS["Traffic"] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "minutes": {"type": "integer"},
        "interval_seconds": {"type": "number"},
        "series": {
            "type": "array",
            "items": {"allOf": [FIGURES, {"properties": {"time": TIME}}]},
            "description": "One entry per minute, oldest first",
        },
        "totals": FIGURES,
        "sources": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["name", "minutes", "series", "totals"],
}
SCHEMAS["Requests"] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "requests": {
            "type": "array",
            "description": "Newest first, from the model services' request logs",
            "items": {
                "type": "object",
                "properties": {
                    "time": TIME,
                    "route": {"type": "string"},
                    "status": {"type": "integer"},
                    "latency_ms": {"type": "number"},
                    "input": {},
                    "output": {},
                    "version": {"type": "integer"},
                },
            },
        },
    },
    "required": ["name", "requests"],
}
NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, "description": description}


TRAFFIC_PATHS = {
    "/v1/deployments/{name}/traffic": {
        "get": {
            "summary": "Requests, errors and latency percentiles per minute (every live replica)",
            "parameters": [
                NAME,
                _query("minutes", {"type": "integer", "minimum": 1}, "Window (default 60)"),
            ],
            "responses": {"200": _json(_ref("Traffic"), "Figures"), **_errors("400", "401", "404")},
        }
    },
    "/v1/deployments/{name}/requests": {
        "get": {
            "summary": "Recent requests from the request log, newest first",
            "parameters": [
                NAME,
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Default 50"),
                _query("status", {"type": "string"}, "A code (200), a class (4xx) or error"),
            ],
            "responses": {
                "200": _json(_ref("Requests"), "Requests"),
                **_errors("400", "401", "404"),
            },
        }
    },
}
BUILD_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the build service."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jupyter-deploy build service",
            "version": __version__,
            "description": "Turns notebook bundles into live, versioned prediction APIs.",
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
        "paths": {
            "/healthz": {
                "get": {
                    "summary": "The service answers (no token needed)",
                    "security": [],
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/v1/builds": {
                "post": {
                    "summary": "Upload a bundle (.tar.gz) as a new version of a deployment",
                    "parameters": [
                        {
                            "name": "name",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        *rollout.BUILD_PARAMETERS,
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/gzip": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    "responses": {
                        "202": _json(_ref("Build"), "Queued"),
                        **_errors("400", "401", "403", "409", "413", "507"),
                    },
                }
            },
            "/v1/builds/{id}": {
                "get": {
                    "summary": "A build's phase, times and error",
                    "parameters": [BUILD_ID],
                    "responses": {
                        "200": _json(_ref("Build"), "The build"),
                        **_errors("401", "404"),
                    },
                }
            },
            "/v1/builds/{id}/logs": {
                "get": {
                    "summary": "Build log text from a byte offset on",
                    "parameters": [
                        BUILD_ID,
                        {
                            "name": "offset",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0},
                        },
                    ],
                    "responses": {
                        "200": _json(_ref("Logs"), "Log text"),
                        **_errors("400", "401", "404"),
                    },
                }
            },
            "/v1/deployments": {
                "get": {
                    "summary": "Every deployment",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "deployments": {"type": "array", "items": _ref("Deployment")}
                                },
                            },
                            "Deployments",
                        ),
                        **_errors("401"),
                    },
                }
            },
            "/v1/deployments/{name}": {
                "get": {
                    "summary": "One deployment: stable URL, live version, history",
                    "parameters": [NAME],
                    "responses": {
                        "200": _json(_ref("Deployment"), "The deployment"),
                        **_errors("401", "404"),
                    },
                },
                "delete": {
                    "summary": "Stop and remove everything the deployment started",
                    "parameters": [NAME],
                    "responses": {
                        "204": {"description": "Deleted"},
                        **_errors("401", "403", "404", "409"),
                    },
                },
            },
            "/v1/deployments/{name}/files/{path}": {
                "get": {
                    "summary": "A file of the live version (e.g. predict.py)",
                    "parameters": [
                        NAME,
                        {
                            "name": "path",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {"description": "The file, as text"},
                        **_errors("401", "404"),
                    },
                }
            },
            "/v1/deployments/{name}/rollback": {
                "post": {
                    "summary": "Serve the previous (or a named) version again",
                    "parameters": [NAME],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"version": {"type": "integer"}},
                                }
                            }
                        }
                    },
                    "responses": {
                        "202": _json(_ref("Build"), "Queued"),
                        **_errors("400", "401", "403", "404", "409"),
                    },
                }
            },
            **_access_paths(),
            **rollout.paths(NAME, _errors),
            **TRAFFIC_PATHS,
        },
    }


def _access_paths() -> dict[str, Any]:
    """Keys, secrets and the audit log (admin tokens only)."""
    key_id = {"name": "key_id", "in": "path", "required": True, "schema": {"type": "string"}}
    key = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
    entry = {"type": "object", "additionalProperties": True}
    restart = "Changed; the live version restarts (a Build of kind restart), no rebuild"
    # 409: a canary or shadow runs (or its build is under way): promote or abort it first
    return {
        "/v1/deployments/{name}/keys": {
            "get": {
                "summary": "The deployment's API keys, masked",
                "parameters": [NAME],
                "responses": {"200": _json(entry, "Keys"), **_errors("401", "403", "404")},
            },
            "post": {
                "summary": "A new API key: its secret is in this answer only",
                "parameters": [NAME],
                "requestBody": {"content": {"application/json": {"schema": entry}}},
                "responses": {"201": _json(entry, restart), **_errors("401", "403", "404", "409")},
            },
        },
        "/v1/deployments/{name}/keys/{key_id}": {
            "delete": {
                "summary": "Revoke an API key",
                "parameters": [NAME, key_id],
                "responses": {
                    "204": {"description": restart},
                    **_errors("401", "403", "404", "409"),
                },
            }
        },
        "/v1/deployments/{name}/secrets": {
            "get": {
                "summary": "The deployment's secrets: names, masked values",
                "parameters": [NAME],
                "responses": {"200": _json(entry, "Secrets"), **_errors("401", "403", "404")},
            }
        },
        "/v1/deployments/{name}/secrets/{key}": {
            "put": {
                "summary": 'Set a secret ({"value": "..."}), an environment variable of the model',
                "parameters": [NAME, key],
                "requestBody": {"content": {"application/json": {"schema": entry}}},
                "responses": {
                    "200": _json(entry, restart),
                    **_errors("400", "401", "403", "404", "409"),
                },
            },
            "delete": {
                "summary": "Remove a secret",
                "parameters": [NAME, key],
                "responses": {
                    "204": {"description": restart},
                    **_errors("401", "403", "404", "409"),
                },
            },
        },
        "/v1/audit": {
            "get": {
                "summary": "Every change: time, token name, action, deployment, version",
                "parameters": [
                    {"name": "deployment", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": _json(entry, "Entries"), **_errors("400", "401", "403")},
            }
        },
    }


if __name__ == "__main__":
    import json

    print(json.dumps(openapi_document(), indent=2, sort_keys=True))
