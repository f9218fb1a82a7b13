"""OpenAPI 3.1 document of the admin API: paths written here, bodies from the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from web.admin import PREFIX
from web.payloads import BulkImport, EventIn

REF = "#/components/schemas/{model}"
SUBJECT = {"name": "address", "in": "path", "required": True, "schema": {"type": "string"}}
ERRORS = {
    "401": {"description": "no bearer token"},
    "403": {"description": "token not accepted"},
    "422": {"description": "invalid input; `detail[].loc` names the field"},
}


def _body(model: type[BaseModel]) -> dict[str, Any]:
    ref = {"$ref": REF.format(model=model.__name__)}
    return {"required": True, "content": {"application/json": {"schema": ref}}}


def _op(summary: str, ok: str, **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": {"200": {"description": ok}, **ERRORS}, **extra}


def _paths() -> dict[str, Any]:
    subject = {"parameters": [SUBJECT]}
    html = {"name": "format", "in": "query", "schema": {"enum": ["json", "html"]}}
    return {
        "/events": {"post": _op("Record a consent event", "ids", requestBody=_body(EventIn))},
        "/events/import": {
            "post": _op("Bulk import consent events", "count", requestBody=_body(BulkImport))
        },
        "/subjects/{address}": {
            "get": _op("State and history of an address", "subject", **subject)
        },
        "/subjects/{address}/export": {
            "get": _op(
                "Export everything held about an address (schema_version 1)",
                "export",
                parameters=[SUBJECT, html],
            )
        },
        "/subjects/{address}/erase": {
            "post": _op("Erase an address, keeping a suppression hash", "receipt", **subject)
        },
        "/policy/reload": {
            "post": _op("Reload the policy file", "reloaded (409: kept the running policy)")
        },
        "/decisions": {
            "get": _op(
                "Decision records about one recipient, or a period's aggregates",
                "records or aggregates (501 when no audit store is configured)",
                parameters=[
                    {"name": "recipient", "in": "query", "schema": {"type": "string"}},
                    *(
                        {
                            "name": n,
                            "in": "query",
                            "schema": {"type": "string", "format": "date-time"},
                        }
                        for n in ("since", "until")
                    ),
                ],
            )
        },
    }


def document() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(EventIn, "validation"), (BulkImport, "validation")], ref_template=REF
    )
    return {
        "openapi": "3.1.0",
        "info": {"title": "consent-relay admin API", "version": "1"},
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {PREFIX + path: item for path, item in _paths().items()},
    }
