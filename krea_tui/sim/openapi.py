"""The simulator's `/openapi.json`, generated from the catalogue in the shape Krea serves.

The client refreshes its catalogue from this document (catalog_build.build_catalog), so every
fact the catalogue keeps must survive the trip: name (summary), first prose line and cost table
(description), aliases (x-krea-deprecated-field-aliases), schema with its field order, example.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from krea_tui.core.catalog import Catalog, ModelInfo
from krea_tui.sim.jobs import STATUSES

ALIAS_SUNSET = "2026-06-19"
ALIAS_MIGRATION_URL = "https://docs.krea.ai/developers/deprecations#public-api-snake-case-fields"

_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}
_JOB = {
    "type": "object",
    "properties": {
        "job_id": {"type": "string", "format": "uuid"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "type": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "completed_at": {"type": ["string", "null"], "format": "date-time"},
        "result": {
            "type": ["object", "null"],
            "properties": {
                "urls": {"type": "array", "items": {"type": "string", "format": "uri"}},
                "error": {"type": "string"},
            },
        },
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        },
    },
    "required": ["job_id", "status", "created_at"],
}


def _json(schema: Mapping[str, Any], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": copy.deepcopy(dict(schema))}},
    }


def _cost_table(model: ModelInfo) -> list[str]:
    cost = model.cost or {}
    columns = [str(c) for c in cost.get("columns") or []]
    rows = [[str(cell) for cell in row] for row in cost.get("rows") or []]
    if columns and rows:
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return lines
    if model.avg_seconds:
        return [
            "| Average Completion Time |",
            "|---|",
            f"| ~{model.avg_seconds:g} seconds |",
        ]
    return []


def _description(model: ModelInfo) -> str:
    lines = [model.description or model.name, *_cost_table(model)]
    if model.aliases:
        lines += ["> **Deprecated request fields:**", ">"]
        lines += [
            f"> - `{old}` -> `{new}` until {ALIAS_SUNSET}" for old, new in model.aliases.items()
        ]
        lines += [
            ">",
            "> Deprecated fields are accepted for compatibility only and are not shown in the "
            "request schema.",
        ]
    return "\n".join(lines) + "\n"


def _schema_in_field_order(model: ModelInfo) -> dict[str, Any]:
    schema = copy.deepcopy(dict(model.schema))
    properties = schema.get("properties")
    if isinstance(properties, dict):
        ordered = {f.name: properties[f.name] for f in model.fields if f.name in properties}
        ordered.update({k: v for k, v in properties.items() if k not in ordered})
        schema["properties"] = ordered
    return schema


def _operation(model: ModelInfo) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": _schema_in_field_order(model)}
    if model.example:
        body["example"] = dict(model.example)
    operation: dict[str, Any] = {
        "tags": ["Image Enhance" if model.kind == "enhance" else "Image"],
        "summary": model.name,
        "description": _description(model),
        "parameters": [
            {
                "name": "X-Webhook-URL",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "format": "uri"},
                "description": "URL to receive a POST request when the job completes.",
            }
        ],
        "requestBody": {"content": {"application/json": body}},
        "responses": {
            "200": _json(_JOB, "The job in a pending state; poll /jobs/{id} for the result."),
            "400": _json(_ERROR, "The request body is invalid."),
            "401": _json(_ERROR, "You are not authenticated."),
            "402": _json(_ERROR, "You have run out of credits."),
            "410": _json(_ERROR, "The model was retired."),
            "429": _json(_ERROR, "You have reached the maximum number of concurrent jobs."),
        },
    }
    if model.aliases:
        operation["x-krea-deprecated-field-aliases"] = [
            {
                "from": old,
                "to": new,
                "sunset_date": ALIAS_SUNSET,
                "reason": "Public API request fields are moving to snake_case.",
                "migration_url": ALIAS_MIGRATION_URL,
            }
            for old, new in model.aliases.items()
        ]
    if model.deprecated:
        operation["deprecated"] = True
    return operation


def _job_paths() -> dict[str, Any]:
    job_id = {
        "in": "path",
        "name": "id",
        "required": True,
        "schema": {"type": "string"},
        "description": "A unique identifier for a job",
    }
    list_params = [
        {"in": "query", "name": "cursor", "schema": {"type": "string", "format": "date-time"}},
        {
            "in": "query",
            "name": "limit",
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        },
        {"in": "query", "name": "types", "schema": {"type": "string"}},
        {"in": "query", "name": "status", "schema": {"type": "string", "enum": list(STATUSES)}},
    ]
    page = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": _JOB},
            "next_cursor": {"type": ["string", "null"]},
        },
        "required": ["items", "next_cursor"],
    }
    return {
        "/jobs": {
            "get": {
                "tags": ["General"],
                "summary": "List jobs",
                "parameters": list_params,
                "responses": {
                    "200": _json(page, "List of jobs"),
                    "400": _json(_ERROR, "Invalid query parameters"),
                    "401": _json(_ERROR, "Unauthorized"),
                },
            }
        },
        "/jobs/{id}": {
            "get": {
                "tags": ["General"],
                "summary": "Get a job by ID",
                "parameters": [job_id],
                "responses": {
                    "200": _json(_JOB, "The most up-to-date state of the job."),
                    "404": _json(_ERROR, "The job was not found"),
                },
            },
            "delete": {
                "tags": ["General"],
                "summary": "Delete a job by ID",
                "parameters": [job_id],
                "responses": {
                    "200": {"description": "The job was deleted successfully"},
                    "404": _json(_ERROR, "The job was not found"),
                    "409": _json(_ERROR, "The job is not in a cancellable state"),
                },
            },
        },
    }


def build_openapi(catalog: Catalog, server_url: str | None = None) -> dict[str, Any]:
    paths: dict[str, Any] = _job_paths()
    for model in [*catalog.models(), *catalog.enhancers()]:
        paths[model.endpoint] = {"post": _operation(model)}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Krea API", "version": "v1"},
        "tags": [{"name": "General"}, {"name": "Image"}, {"name": "Image Enhance"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
