"""The OpenAPI document of a model service, from its deploy.json."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error", "message"],
}


def _errors(*codes: str) -> dict[str, Any]:
    meaning = {
        "400": "The body is not JSON.",
        "401": "A key is needed (Authorization: Bearer <key>).",
        "413": "The body is too large.",
        "422": "An input does not match the schema; the message names the field.",
        "500": "predict raised; the answer holds an error id for the service log.",
        "503": "The model is still loading.",
        "504": "predict took longer than the time limit.",
    }
    content = {"application/json": {"schema": ERROR}}
    return {code: {"description": meaning[code], "content": content} for code in codes}


def openapi_document(metadata: dict[str, Any], keys: bool) -> dict[str, Any]:
    """OpenAPI 3.1 for /predict, /predict/batch and the health routes."""
    request = metadata.get("input_schema") or {"type": "object"}
    output = metadata.get("output_schema") or {}
    example = metadata.get("example")
    media: dict[str, Any] = {"schema": request}
    if example is not None:
        media["example"] = example
    batch_media: dict[str, Any] = {
        "schema": {
            "type": "object",
            "properties": {"inputs": {"type": "array", "items": request}},
            "required": ["inputs"],
        }
    }
    if example is not None:
        batch_media["example"] = {"inputs": [example]}
    failures = _errors("400", "413", "422", "500", "503", "504", *(["401"] if keys else []))
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": f"{metadata.get('name', 'model')} prediction API",
            "version": str(metadata.get("version", metadata.get("generator", "1"))),
            "description": request.get("description", "Predictions from a notebook's model."),
        },
        "paths": {
            "/predict": {
                "post": {
                    "summary": "One prediction",
                    "requestBody": {"required": True, "content": {"application/json": media}},
                    "responses": {
                        "200": _ok({"prediction": output}, "prediction"),
                        **failures,
                    },
                }
            },
            "/predict/batch": {
                "post": {
                    "summary": "Many predictions in one call",
                    "requestBody": {"required": True, "content": {"application/json": batch_media}},
                    "responses": {
                        "200": _ok(
                            {"predictions": {"type": "array", "items": output}}, "predictions"
                        ),
                        **failures,
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "The process answers",
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "The model is loaded",
                    "responses": {"200": {"description": "ready"}, **_errors("503")},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "text"}},
                }
            },
            "/metadata": {
                "get": {"summary": "deploy.json", "responses": {"200": {"description": "metadata"}}}
            },
        },
    }
    if keys:
        document["components"] = {"securitySchemes": {"key": {"type": "http", "scheme": "bearer"}}}
        document["security"] = [{"key": []}]
    return document


def _ok(properties: dict[str, Any], required: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": [required]}
    return {"description": "The result", "content": {"application/json": {"schema": schema}}}
