"""Positions through the API (/admin/positions): administrators define, rename and retire them; people are given
them with /admin/users (`positions`). Views parse, call one service (services/positions.py), answer."""
from __future__ import annotations

from typing import Any

from app.services import positions
from app.web.api import admin_user_schemas as s
from app.web.api.blueprint import bp
from app.web.api.routes import ID, caller, errors


@bp.route("/admin/positions", methods=["GET"])
@bp.response(200, s.PositionList)
@errors(401, 403)
@bp.doc(summary="Every position (active ones first); a lane named after an active one is done by its holders")
def list_positions():
    return {"items": positions.list_positions(caller())}


@bp.route("/admin/positions", methods=["POST"])
@bp.arguments(s.PositionCreate)
@bp.response(201, s.Position)
@errors(400, 401, 403, 413)
@bp.doc(summary="Define a position held in enterprises or in government units")
def create_position(body: dict[str, Any]):
    return positions.create_position(caller(), body)


@bp.route(f"/admin/positions/<{ID}:position_id>", methods=["PATCH"])
@bp.arguments(s.PositionChanges)
@bp.response(200, s.Position)
@errors(400, 401, 403, 404, 413)
@bp.doc(summary="Rename a position, retire it (active false) or bring it back")
def update_position(body: dict[str, Any], position_id: int):
    return positions.update_position(caller(), position_id, body)
