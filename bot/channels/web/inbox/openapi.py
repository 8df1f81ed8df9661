"""``/openapi.json``: the API described from the same operation table and pydantic models the routes use,
so the document cannot drift from what the server accepts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot.channels.web.inbox.api import Operation
from bot.channels.web.inbox.models import ErrorOut

REF = "#/components/schemas/{model}"


def _parameters(operation: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    if "{ticket_id" in operation.path:
        params.append(
            {"name": "ticket_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
        )
    for name, description, allowed in operation.query:
        schema: dict[str, Any] = {"type": "string"}
        if allowed is not None:
            schema["enum"] = list(allowed)
        params.append({"name": name, "in": "query", "description": description, "schema": schema})
    return params


def document(operations: list[Operation], *, extra_paths: dict[str, Any]) -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorOut}
    for operation in operations:
        models.update(m for m in (operation.response, operation.body) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    _, schemas = models_json_schema(
        [(m, "serialization" if m.__name__.endswith("Out") else "validation") for m in ordered],
        ref_template=REF,
    )
    error = {"content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorOut")}}}}
    paths: dict[str, Any] = {}
    for operation in operations:
        path = operation.path.replace("{ticket_id:int}", "{ticket_id}")
        entry: dict[str, Any] = {
            "operationId": operation.name,
            "summary": operation.summary,
            "parameters": _parameters(operation),
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": REF.format(model=(operation.response or ErrorOut).__name__)}
                        }
                    },
                },
                "401": {"description": "Not logged in", **error},
            },
        }
        if operation.change:
            entry["responses"].update(
                {
                    "403": {
                        "description": "Session without a valid X-CSRF-Token, or a foreign Origin",
                        **error,
                    },
                    "404": {"description": "No such ticket", **error},
                    "409": {"description": "Not possible now (resolved, held by someone else …)", **error},
                    "422": {"description": "The body does not fit the schema", **error},
                }
            )
            body_schema = (
                {"$ref": REF.format(model=operation.body.__name__)}
                if operation.body is not None
                else {"type": "object", "additionalProperties": False}
            )
            entry["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": body_schema}},
            }
        paths.setdefault(path, {})[operation.method.lower()] = entry
    paths.update(extra_paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "carebot staff inbox API",
            "version": "1",
            "description": "The support queue of carebot for the browser inbox and for scripts. "
            "Authenticate with a session cookie from /login (then send X-CSRF-Token on every POST) or "
            "with Authorization: Bearer <token> from `python -m bot staff token NAME`. Every action goes "
            "through the same service as the command line and the Telegram staff group. See docs/inbox.md.",
        },
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "carebot_staff"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }


EVENTS_PATH = {
    "/api/events": {
        "get": {
            "operationId": "events",
            "summary": "Live updates as Server-Sent Events: `hello`, then `change` with new tickets, tickets "
            "with new customer messages, and tickets touched. Resume with Last-Event-ID.",
            "parameters": [
                {
                    "name": "lifetime",
                    "in": "query",
                    "description": "seconds before the stream ends (the browser reconnects); default 300",
                    "schema": {"type": "number", "minimum": 0},
                }
            ],
            "responses": {
                "200": {"description": "text/event-stream", "content": {"text/event-stream": {}}},
                "401": {"description": "Not logged in"},
            },
        }
    }
}
