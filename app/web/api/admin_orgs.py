"""Administrators' API for the organisation tree: /api/v1/admin/regions, /units and /enterprises.

Each view parses with its schema (app/web/api/admin_schemas_orgs.py), calls one service of
app/services/orgs.py (which checks the administrator and their district) and returns what it returned.
"""
from __future__ import annotations

from typing import Any

from flask.views import MethodView

from app.models import Organisation, OrgStatus
from app.models import Region as RegionModel
from app.services import orgs
from app.web.api import admin_schemas_orgs as s
from app.web.api.blueprint import bp
from app.web.api.routes import ID, Extended, caller, errors, idempotent

ADMIN = "/admin"


# ------------------------------------------------------------------------------------------------ regions
@bp.route(f"{ADMIN}/regions", methods=["GET"])
@bp.arguments(s.RegionQuery, location="query")
@bp.response(200, s.RegionPage)
@errors(401, 403)
@bp.doc(summary="Regions the caller administers, by code, one page")
def admin_list_regions(args: dict[str, Any]):
    filters = orgs.RegionFilters(kind=args.get("kind"), parent_id=args.get("parent"), text=args.get("q"))
    return orgs.list_regions(caller(), filters, args["page"], args["per_page"])


@bp.route(f"{ADMIN}/regions", methods=["POST"])
@bp.arguments(s.RegionCreate)
@bp.response(201, s.Region)
@errors(400, 401, 403, 413, 422)
@bp.doc(summary="Add a region (a district administrator: below a region of their district)")
@idempotent(orgs.visible_region, creates=RegionModel)
def admin_create_region(body: dict[str, Any]):
    return orgs.create_region(caller(), body)


# One rule per item path for GET and PATCH: with two rules, an id out of range (0) would be answered 405, not 404.
@bp.route(f"{ADMIN}/regions/<{ID}:region_id>")
class RegionItem(MethodView):
    @bp.response(200, s.Region)
    @errors(401, 403, 404)
    @bp.doc(summary="A region the caller administers")
    def get(self, region_id: int):
        return orgs.visible_region(caller(), region_id)

    @bp.arguments(s.RegionUpdate)
    @bp.response(200, s.Region)
    @errors(400, 401, 403, 404, 413, 422)
    @bp.doc(summary="Change a region's code, name, kind or parent")
    def patch(self, body: dict[str, Any], region_id: int):
        return orgs.update_region(caller(), region_id, body)


@bp.route(f"{ADMIN}/regions/<{ID}:region_id>/close", methods=["POST"])
@bp.response(200, s.Region)
@errors(401, 403, 404, 422)
@bp.doc(summary="Close a region (merged into another): no picker offers it or the regions below it any more; "
                "refused while enterprises in operation are in it")
def admin_close_region(region_id: int):
    return orgs.set_region_status(caller(), region_id, OrgStatus.closed)


@bp.route(f"{ADMIN}/regions/<{ID}:region_id>/reopen", methods=["POST"])
@bp.response(200, s.Region)
@errors(401, 403, 404)
@bp.doc(summary="Reopen a closed region")
def admin_reopen_region(region_id: int):
    return orgs.set_region_status(caller(), region_id, OrgStatus.active)


# ------------------------------------------------------------------------------------------ government units
def _with_jurisdiction(units: list[Organisation]) -> list[Extended]:
    covered = orgs.jurisdictions([u.id for u in units])
    return [Extended(u, region_ids=covered[u.id]) for u in units]


def _unit_answer(unit: Organisation) -> Extended:
    return _with_jurisdiction([unit])[0]


@bp.route(f"{ADMIN}/units", methods=["GET"])
@bp.arguments(s.UnitQuery, location="query")
@bp.response(200, s.UnitPage)
@errors(401, 403)
@bp.doc(summary="Government units the caller administers, by name, one page")
def admin_list_units(args: dict[str, Any]):
    filters = orgs.UnitFilters(region_id=args.get("region"), status=args.get("status"), text=args.get("q"))
    page = orgs.list_units(caller(), filters, args["page"], args["per_page"])
    page.items = _with_jurisdiction(page.items)
    return page


@bp.route(f"{ADMIN}/units", methods=["POST"])
@bp.arguments(s.UnitCreate)
@bp.response(201, s.Unit)
@errors(400, 401, 403, 413, 422)
@bp.doc(summary="Add a government unit with its jurisdiction")
@idempotent(lambda user, unit_id: _unit_answer(orgs.visible_unit(user, unit_id)), creates=Organisation)
def admin_create_unit(body: dict[str, Any]):
    return _unit_answer(orgs.create_unit(caller(), body))


@bp.route(f"{ADMIN}/units/<{ID}:unit_id>")
class UnitItem(MethodView):
    @bp.response(200, s.Unit)
    @errors(401, 403, 404)
    @bp.doc(summary="A government unit the caller administers, with its jurisdiction")
    def get(self, unit_id: int):
        return _unit_answer(orgs.visible_unit(caller(), unit_id))

    @bp.arguments(s.UnitUpdate)
    @bp.response(200, s.Unit)
    @errors(400, 401, 403, 404, 413, 422)
    @bp.doc(summary="Change a unit's name, parent or jurisdiction (enterprises whose supervision changes move)")
    def patch(self, body: dict[str, Any], unit_id: int):
        return _unit_answer(orgs.update_unit(caller(), unit_id, body))


@bp.route(f"{ADMIN}/units/<{ID}:unit_id>/close", methods=["POST"])
@bp.response(200, s.Unit)
@errors(401, 403, 404, 422)
@bp.doc(summary="Close (deactivate) a unit that no longer supervises any region")
def admin_close_unit(unit_id: int):
    return _unit_answer(orgs.set_unit_status(caller(), unit_id, OrgStatus.closed))


@bp.route(f"{ADMIN}/units/<{ID}:unit_id>/reopen", methods=["POST"])
@bp.response(200, s.Unit)
@errors(401, 403, 404)
@bp.doc(summary="Reopen a closed unit")
def admin_reopen_unit(unit_id: int):
    return _unit_answer(orgs.set_unit_status(caller(), unit_id, OrgStatus.active))


# ------------------------------------------------------------------------------------------------ enterprises
@bp.route(f"{ADMIN}/enterprises", methods=["GET"])
@bp.arguments(s.EnterpriseQuery, location="query")
@bp.response(200, s.EnterprisePage)
@errors(401, 403, 422)
@bp.doc(summary="Enterprises the caller administers, by name, one page")
def admin_list_enterprises(args: dict[str, Any]):
    filters = orgs.EnterpriseFilters(region_id=args.get("region"), industry=args.get("industry"),
                                     status=args.get("status"), scale=args.get("scale"), text=args.get("q"))
    return orgs.list_enterprises(caller(), filters, args["page"], args["per_page"])


@bp.route(f"{ADMIN}/enterprises", methods=["POST"])
@bp.arguments(s.EnterpriseCreate)
@bp.response(201, s.Enterprise)
@errors(400, 401, 403, 413, 422)
@bp.doc(summary="Register an enterprise in a region the caller administers")
@idempotent(orgs.visible_enterprise, creates=Organisation)
def admin_create_enterprise(body: dict[str, Any]):
    return orgs.create_enterprise(caller(), body)


@bp.route(f"{ADMIN}/enterprises/<{ID}:enterprise_id>")
class EnterpriseItem(MethodView):
    @bp.response(200, s.Enterprise)
    @errors(401, 403, 404)
    @bp.doc(summary="An enterprise the caller administers")
    def get(self, enterprise_id: int):
        return orgs.visible_enterprise(caller(), enterprise_id)

    @bp.arguments(s.EnterpriseUpdate)
    @bp.response(200, s.Enterprise)
    @errors(400, 401, 403, 404, 409, 413, 422)
    @bp.doc(summary="Change an enterprise's record; a new region moves its supervision from now on")
    def patch(self, body: dict[str, Any], enterprise_id: int):
        return orgs.update_enterprise(caller(), enterprise_id, body)


@bp.route(f"{ADMIN}/enterprises/<{ID}:enterprise_id>/close", methods=["POST"])
@bp.response(200, s.Enterprise)
@errors(401, 403, 404)
@bp.doc(summary="Close an enterprise (it is kept, with its hazards and history)")
def admin_close_enterprise(enterprise_id: int):
    return orgs.set_enterprise_status(caller(), enterprise_id, OrgStatus.closed)


@bp.route(f"{ADMIN}/enterprises/<{ID}:enterprise_id>/reopen", methods=["POST"])
@bp.response(200, s.Enterprise)
@errors(401, 403, 404)
@bp.doc(summary="Reopen a closed enterprise")
def admin_reopen_enterprise(enterprise_id: int):
    return orgs.set_enterprise_status(caller(), enterprise_id, OrgStatus.active)
