"""The OpenAPI 3.1 description of /api/v1 (served at /api/v1/openapi.json)."""
from __future__ import annotations

from typing import Any

# Lists count at most LIST_COUNT_CAP rows (10,000 by default): past it `total` is that cap, a lower bound.
_COUNTED_PAGE: dict[str, Any] = {
    "total": {"type": "integer", "description": "Matching rows; a lower bound when total_capped is true"},
    "total_capped": {"type": "boolean",
                     "description": "True when more rows match than were counted (show the total as e.g. 10,000+)"},
    "page": {"type": "integer"}, "per_page": {"type": "integer"},
    "pages": {"type": "integer", "description": "Pages known to exist (a lower bound when total_capped is true)"},
    "has_next": {"type": "boolean", "description": "Whether a next page exists"},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json(_ref("Error"), "Malformed request (bad JSON, bad query parameter)"),
    "401": _json(_ref("Error"), "Missing or invalid bearer token"),
    "403": _json(_ref("Error"), "Visible, but not yours to act on"),
    "404": _json(_ref("Error"), "Not found, or not visible to you"),
}


def _op(summary: str, responses: dict[str, Any], *, params: list | None = None, body: dict | None = None,
        secure: bool = True, extra_errors: tuple[str, ...] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": dict(responses)}
    for code in ("400", "401", "403", "404") + extra_errors:
        op["responses"].setdefault(code, ERRORS.get(code) or _json(_ref("Error"), {
            "409": "Task already completed, or the instance is busy",
            "413": "File too large",
            "422": "Validation failed; `fields` holds a message per field",
            "429": "Too many attempts"}[code]))
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {"required": True, "content": body}
    if not secure:
        op["security"] = []
    return op


def _q(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


def openapi_document() -> dict[str, Any]:
    task_id = [_path_id("task_id")]
    return {
        "openapi": "3.1.0",
        "info": {"title": "HazardLoop API", "version": "1.0.0",
                 "description": "Closed-loop lifecycle of workplace safety hazards (隐患闭环)."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/auth/token": {"post": _op("Exchange user name and password for a bearer token",
                                        {"200": _json(_ref("Token"), "A token")},
                                        body={"application/json": {"schema": _ref("Credentials")}},
                                        secure=False, extra_errors=("429",))},
            "/hazards": {
                "get": _op("Hazards visible to the caller", {"200": _json(_ref("HazardPage"), "One page")}, params=[
                    _q("status", {"type": "string"}, "Read-model status, e.g. rectifying"),
                    _q("grade", {"type": "string", "enum": ["general", "major"]}, "Grade"),
                    _q("enterprise", {"type": "integer"}, "Enterprise id"),
                    _q("overdue", {"type": "boolean"}, "Only (not) overdue hazards"),
                    _q("q", {"type": "string"}, "Text in number, title or location"),
                    _q("sort", {"type": "string", "enum": ["created", "-created", "deadline", "number"]}, "Order"),
                    _q("page", {"type": "integer", "minimum": 1}, "Page number"),
                    _q("per_page", {"type": "integer", "minimum": 1, "maximum": 100}, "Page size")]),
                "post": _op("Report a hazard and start its lifecycle",
                            {"201": _json(_ref("HazardSummary"), "The new hazard")},
                            body={"application/json": {"schema": _ref("HazardReport")}}, extra_errors=("422",)),
            },
            "/hazards/{hazard_id}": {"get": _op("A hazard with its current tasks, timeline and attachments",
                                                {"200": _json(_ref("HazardDetail"), "The hazard")},
                                                params=[_path_id("hazard_id")])},
            "/tasks": {"get": _op("The caller's open tasks, including unclaimed tasks of their groups",
                                  {"200": _json({"type": "object", "properties": {
                                      "items": {"type": "array", "items": {"type": "object"}}, **_COUNTED_PAGE}},
                                      "One page of tasks")}, params=[
                                      _q("grade", {"type": "string"}, "Grade"),
                                      _q("status", {"type": "string"}, "Hazard status"),
                                      _q("enterprise", {"type": "integer"}, "Enterprise id"),
                                      _q("overdue", {"type": "boolean"}, "Overdue only"),
                                      _q("q", {"type": "string"}, "Text"),
                                      _q("page", {"type": "integer", "minimum": 1}, "Page"),
                                      _q("per_page", {"type": "integer", "minimum": 1, "maximum": 200}, "Size")])},
            "/tasks/{task_id}": {"get": _op("A task with its form definition",
                                            {"200": _json(_ref("Task"), "The task")}, params=task_id)},
            "/tasks/{task_id}/claim": {"post": _op("Claim a group task", {"200": _json(_ref("Task"), "Claimed")},
                                                   params=task_id, extra_errors=("409",))},
            "/tasks/{task_id}/release": {"post": _op("Release a claimed task",
                                                     {"200": _json(_ref("Task"), "Released")},
                                                     params=task_id, extra_errors=("409",))},
            "/tasks/{task_id}/delegate": {"post": _op(
                "Hand the task to a colleague with the same role and organisation",
                {"200": _json(_ref("Task"), "Delegated")}, params=task_id,
                body={"application/json": {"schema": {"type": "object", "required": ["user_id"],
                                                      "properties": {"user_id": {"type": "integer"}}}}},
                extra_errors=("409", "422"))},
            "/tasks/{task_id}/complete": {"post": _op(
                "Complete a task with its form data", {"200": _json(_ref("Task"), "Completed")}, params=task_id,
                body={"application/json": {"schema": {"type": "object", "required": ["data"],
                                                      "properties": {"data": {"type": "object"}}}}},
                extra_errors=("409", "422"))},
            "/forms/{key}": {"get": _op("A form definition (JSON Schema plus display hints)",
                                        {"200": _json({"type": "object"}, "The form")},
                                        params=[{"name": "key", "in": "path", "required": True,
                                                 "schema": {"type": "string"}}])},
            "/attachments": {"post": _op(
                "Upload a photo or document", {"201": _json(_ref("Attachment"), "Stored")},
                body={"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                    "file": {"type": "string", "format": "binary"}}}}}, extra_errors=("413", "422"))},
            "/attachments/{attachment_id}": {"get": _op("Download an attachment", {"200": {
                "description": "The file", "content": {"application/octet-stream": {}}}},
                params=[_path_id("attachment_id")])},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {
                    "error": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}}}},
                "Credentials": {"type": "object", "required": ["username", "password"], "properties": {
                    "username": {"type": "string"}, "password": {"type": "string"}}},
                "Token": {"type": "object", "properties": {"token": {"type": "string"},
                                                           "expires_at": {"type": "string", "format": "date-time"}}},
                "HazardReport": {"type": "object", "description": "Fields of forms/report.json; inspectors add "
                                 "enterprise_id", "required": ["title", "description", "location", "hazard_type",
                                                               "source"],
                                 "properties": {"title": {"type": "string"}, "description": {"type": "string"},
                                                "location": {"type": "string"}, "hazard_type": {"type": "string"},
                                                "source": {"type": "string"},
                                                "photos": {"type": "array", "items": {"type": "integer"}},
                                                "enterprise_id": {"type": "integer"}}},
                "HazardSummary": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "number": {"type": "string"}, "title": {"type": "string"},
                    "status": {"type": "string"}, "grade": {"type": ["string", "null"]},
                    "overdue": {"type": "boolean"}}},
                "HazardDetail": {"allOf": [_ref("HazardSummary"), {"type": "object", "properties": {
                    "current_tasks": {"type": "array", "items": _ref("Task")},
                    "timeline": {"type": "array", "items": {"type": "object"}},
                    "attachments": {"type": "array", "items": _ref("Attachment")}}}]},
                "HazardPage": {"type": "object", "properties": {
                    "items": {"type": "array", "items": _ref("HazardSummary")}, **_COUNTED_PAGE}},
                "Task": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "hazard_id": {"type": "integer"}, "name": {"type": "string"},
                    "title": {"type": "string"}, "form": {"type": "string"}, "role": {"type": "string"},
                    "status": {"type": "string"}, "assignee_id": {"type": ["integer", "null"]}}},
                "Attachment": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"}, "content_type": {"type": "string"},
                    "size": {"type": "integer"}, "sha256": {"type": "string"}}},
            },
        },
    }
