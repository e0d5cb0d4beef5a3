"""The hazard status vocabulary through the API: everybody reads it (GET /statuses); administrators add to it
(POST /admin/statuses). Views parse, call one service (services/statuses.py), answer."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from app.services import statuses
from app.web.api.blueprint import bp
from app.web.api.routes import caller, errors
from app.web.api.schemas import Flag, RequestSchema, Text, out


class Status(Schema):
    key = out(fields.String())
    label_zh = out(fields.String())
    label_en = out(fields.String())
    final = out(fields.Boolean(), description="A hazard in this status is done (nothing is overdue)")
    builtin = out(fields.Boolean())


class StatusList(Schema):
    items = out(fields.List(fields.Nested(Status)))


class StatusCreate(RequestSchema):
    key = Text(max_length=30, metadata={"description": "Lower-case letters, digits, _; made from label_en if absent"})
    label_zh = Text(required=True, min_length=1, max_length=60)
    label_en = Text(required=True, min_length=1, max_length=60)
    final = Flag(metadata={"description": "A hazard in this status is done (e.g. a rejected report's end)"})


@bp.route("/statuses", methods=["GET"])
@bp.response(200, StatusList)
@errors(401)
@bp.doc(summary="The hazard status vocabulary: the built-ins and those administrators added")
def list_statuses():
    caller()
    return {"items": statuses.vocabulary()}


@bp.route("/admin/statuses", methods=["POST"])
@bp.arguments(StatusCreate)
@bp.response(201, Status)
@errors(400, 401, 403, 413)
@bp.doc(summary="Add a hazard status (administrators); a diagram's steps and end events may then name it")
def add_status(body: dict[str, Any]):
    return statuses.add_status(caller(), body)
