"""Administration pages for the organisation tree: the region tree, government units, enterprises.

Each page calls services/orgs.py, which checks that the user is an administrator (403 otherwise) and keeps a
district administrator inside their district (404 for what lies outside). A refused form is shown again with
what was typed and a message by each field.
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.models import EnterpriseScale, Organisation, OrgStatus, Region, RegionKind
from app.services import orgs, policy
from app.services.errors import ValidationFailed
from app.services.org_checks import industry_choices
from app.services.org_codes import industry_label
from app.web.inputs import int_arg

bp = Blueprint("admin_orgs", __name__, url_prefix="/admin")

REGION_KINDS = {RegionKind.district.value: _l("District"), RegionKind.township.value: _l("Township"),
                RegionKind.street.value: _l("Street"), RegionKind.park.value: _l("Park"),
                RegionKind.grid.value: _l("Grid")}
SCALES = {EnterpriseScale.large.value: _l("Large"), EnterpriseScale.medium.value: _l("Medium"),
          EnterpriseScale.small.value: _l("Small"), EnterpriseScale.micro.value: _l("Micro")}
ORG_STATUSES = {OrgStatus.active.value: _l("Active"), OrgStatus.closed.value: _l("Closed")}
REGION_FIELDS = ("code", "name", "kind", "parent_id")
UNIT_FIELDS = ("name", "parent_id")
ENTERPRISE_FIELDS = ("name", "credit_code", "industry", "region_id", "scale", "address", "legal_representative",
                     "principal_name", "contact_phone")


@bp.context_processor
def _labels() -> dict[str, Any]:
    language = str(get_locale() or "zh")
    return {"REGION_KINDS": REGION_KINDS, "SCALES": SCALES, "ORG_STATUSES": ORG_STATUSES,
            "industry_label": lambda code: industry_label(code, language)}


def _posted(names: tuple[str, ...]) -> dict[str, Any]:
    return {name: request.form.get(name, "") for name in names}


def _region_options(*, pick: bool = False, keep: Collection[int] = ()) -> list[tuple[Region, int]]:
    """The administered regions in tree order, with their depth (for an indented list). `pick`: for a form's
    picker, without the closed regions and those below them (a filter lists them all), except those in `keep`
    (what the form's record has now)."""
    found: list[tuple[Region, int]] = []
    hidden = policy.closed_regions() - set(keep) if pick else frozenset()

    def walk(nodes: list[orgs.TreeNode], depth: int) -> None:
        for node in nodes:
            if node.region.id not in hidden:
                found.append((node.region, depth))
            walk(node.children, depth + 1)

    walk(orgs.region_tree(current_user), 0)
    return found


def _unit_options() -> list[Organisation]:
    return orgs.list_units(current_user, orgs.UnitFilters(status=OrgStatus.active.value), 1, 500).items


def _submit(save: Callable[[], Any], again: Callable[[dict[str, str]], Any], done: Callable[[Any], str],
            to: str):
    """Run `save()`: a refusal shows the form again (`again(errors)`, 422, with what was typed); success says
    `done(row)` and goes to the list `to`."""
    try:
        row = save()
    except ValidationFailed as exc:
        return again(exc.fields or {"_form": exc.message})
    flash(done(row), "success")
    return redirect(url_for(to))


def _status_change(change: Callable[[OrgStatus], Any], back: str, done: Callable[[Any, bool], str], to: str):
    """Close (the form's `action` is "close") or reopen with `change(status)`: a refusal is said on the page it
    came from (`back`); success says `done(row, closed)` and goes to the list `to`."""
    closing = request.form.get("action") == "close"
    try:
        row = change(OrgStatus.closed if closing else OrgStatus.active)
    except ValidationFailed as exc:
        flash(exc.message, "danger")
        return redirect(back)
    flash(done(row, closing), "success")
    return redirect(url_for(to))


def _page_number() -> int:
    return max(int_arg("page") or 1, 1)


def _text_arg(name: str) -> str | None:
    return " ".join((request.args.get(name) or "").split())[:200] or None


# ---------------------------------------------------------------------------------------------- regions
@bp.get("/regions")
@login_required
def regions():
    """The region tree, each region with the units whose jurisdiction names it."""
    return render_template("admin/regions.html", tree=orgs.region_tree(current_user))


def _region_form(region: Region | None, values: dict[str, Any], errors: dict[str, str], status: int = 200):
    return render_template("admin/region_form.html", region=region, values=values, errors=errors,
                           parents=_region_options(pick=True, keep=[region.parent_id] if region else [])), status


@bp.route("/regions/new", methods=["GET", "POST"])
@login_required
def region_new():
    orgs.require_admin(current_user)
    if request.method == "GET":
        return _region_form(None, {"parent_id": int_arg("parent") or "", "kind": ""}, {})
    values = _posted(REGION_FIELDS)
    return _submit(lambda: orgs.create_region(current_user, values),
                   lambda errors: _region_form(None, values, errors, 422),
                   lambda region: _("Region %(name)s has been added.", name=region.name), "admin_orgs.regions")


@bp.route("/regions/<int:region_id>/edit", methods=["GET", "POST"])
@login_required
def region_edit(region_id: int):
    region = orgs.visible_region(current_user, region_id)
    if request.method == "GET":
        return _region_form(region, {"code": region.code, "name": region.name, "kind": region.kind.value,
                                     "parent_id": region.parent_id or ""}, {})
    values = _posted(REGION_FIELDS)
    return _submit(lambda: orgs.update_region(current_user, region_id, values),
                   lambda errors: _region_form(orgs.visible_region(current_user, region_id), values, errors, 422),
                   lambda region: _("Region %(name)s has been saved.", name=region.name), "admin_orgs.regions")


@bp.post("/regions/<int:region_id>/status")
@login_required
def region_status(region_id: int):
    return _status_change(lambda status: orgs.set_region_status(current_user, region_id, status),
                          url_for("admin_orgs.region_edit", region_id=region_id),
                          lambda region, closed: _("Region %(name)s has been closed; it stays in filters and "
                                                   "history.", name=region.name) if closed
                          else _("Region %(name)s has been reopened.", name=region.name), "admin_orgs.regions")


# ------------------------------------------------------------------------------------------ government units
@bp.get("/units")
@login_required
def units():
    filters = orgs.UnitFilters(region_id=int_arg("region"), status=request.args.get("status") or None,
                               text=_text_arg("q"))
    if filters.status not in (None, *ORG_STATUSES):
        filters.status = None
    page = orgs.list_units(current_user, filters, _page_number(), 20)
    return render_template("admin/units.html", page=page, filters=filters,
                           covered=orgs.jurisdictions([u.id for u in page.items]), regions=_region_options(),
                           filtered=any((filters.region_id, filters.status, filters.text)))


def _unit_form(unit: Organisation | None, values: dict[str, Any], errors: dict[str, str], status: int = 200):
    return render_template("admin/unit_form.html", unit=unit, values=values, errors=errors,
                           parents=[u for u in _unit_options() if unit is None or u.id != unit.id],
                           regions=_region_options(pick=True, keep=orgs.jurisdictions([unit.id])[unit.id]
                                                   if unit else [])), status


def _posted_unit() -> dict[str, Any]:
    values = _posted(UNIT_FIELDS)
    values["region_ids"] = request.form.getlist("region_ids")
    return values


@bp.route("/units/new", methods=["GET", "POST"])
@login_required
def unit_new():
    orgs.require_admin(current_user)
    if request.method == "GET":
        return _unit_form(None, {"parent_id": current_user.organisation_id or "", "region_ids": []}, {})
    values = _posted_unit()
    return _submit(lambda: orgs.create_unit(current_user, values),
                   lambda errors: _unit_form(None, values, errors, 422),
                   lambda unit: _("Unit %(name)s has been added.", name=unit.name), "admin_orgs.units")


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@login_required
def unit_edit(unit_id: int):
    unit = orgs.visible_unit(current_user, unit_id)
    if request.method == "GET":
        values = {"name": unit.name, "parent_id": unit.parent_id or "",
                  "region_ids": orgs.jurisdictions([unit.id])[unit.id]}
        return _unit_form(unit, values, {})
    values = _posted_unit()
    return _submit(lambda: orgs.update_unit(current_user, unit_id, values),
                   lambda errors: _unit_form(orgs.visible_unit(current_user, unit_id), values, errors, 422),
                   lambda unit: _("Unit %(name)s has been saved.", name=unit.name), "admin_orgs.units")


@bp.post("/units/<int:unit_id>/status")
@login_required
def unit_status(unit_id: int):
    return _status_change(lambda status: orgs.set_unit_status(current_user, unit_id, status),
                          url_for("admin_orgs.unit_edit", unit_id=unit_id),
                          lambda unit, closed: _("Unit %(name)s has been closed.", name=unit.name) if closed
                          else _("Unit %(name)s has been reopened.", name=unit.name), "admin_orgs.units")


# ------------------------------------------------------------------------------------------------ enterprises
@bp.get("/enterprises")
@login_required
def enterprise_list():
    status, scale = request.args.get("status") or None, request.args.get("scale") or None
    filters = orgs.EnterpriseFilters(region_id=int_arg("region"), industry=_text_arg("industry"),
                                     status=status if status in ORG_STATUSES else None,
                                     scale=scale if scale in SCALES else None, text=_text_arg("q"))
    errors: dict[str, str] = {}
    try:
        page = orgs.list_enterprises(current_user, filters, _page_number(), 20)
    except ValidationFailed as exc:
        errors = exc.fields
        filters.industry = None
        page = orgs.list_enterprises(current_user, filters, _page_number(), 20)
    return render_template("admin/enterprises.html", page=page, filters=filters, errors=errors,
                           typed_industry=_text_arg("industry") or "", regions=_region_options(),
                           industries=industry_choices(str(get_locale() or "zh")),
                           filtered=any((filters.region_id, filters.industry, filters.status, filters.scale,
                                         filters.text, errors))), 422 if errors else 200


def _enterprise_form(enterprise: Organisation | None, values: dict[str, Any], errors: dict[str, str],
                     status: int = 200):
    return render_template("admin/enterprise_form.html", enterprise=enterprise, values=values, errors=errors,
                           regions=_region_options(pick=True, keep=[enterprise.region_id] if enterprise else []),
                           industries=industry_choices(str(get_locale() or "zh"))), status


@bp.route("/enterprises/new", methods=["GET", "POST"])
@login_required
def enterprise_new():
    orgs.require_admin(current_user)
    if request.method == "GET":
        return _enterprise_form(None, {"region_id": int_arg("region") or ""}, {})
    values = _posted(ENTERPRISE_FIELDS)
    return _submit(lambda: orgs.create_enterprise(current_user, values),
                   lambda errors: _enterprise_form(None, values, errors, 422),
                   lambda ent: _("Enterprise %(name)s has been registered.", name=ent.name), "admin_orgs.enterprise_list")


@bp.route("/enterprises/<int:enterprise_id>/edit", methods=["GET", "POST"])
@login_required
def enterprise_edit(enterprise_id: int):
    enterprise = orgs.visible_enterprise(current_user, enterprise_id)
    if request.method == "GET":
        values = {name: getattr(getattr(enterprise, name), "value", getattr(enterprise, name)) or ""
                  for name in ENTERPRISE_FIELDS}
        return _enterprise_form(enterprise, values, {})
    values = _posted(ENTERPRISE_FIELDS)
    return _submit(lambda: orgs.update_enterprise(current_user, enterprise_id, values),
                   lambda errors: _enterprise_form(orgs.visible_enterprise(current_user, enterprise_id), values,
                                                   errors, 422),
                   lambda ent: _("Enterprise %(name)s has been saved.", name=ent.name), "admin_orgs.enterprise_list")


@bp.post("/enterprises/<int:enterprise_id>/status")
@login_required
def enterprise_status(enterprise_id: int):
    status = OrgStatus.closed if request.form.get("action") == "close" else OrgStatus.active
    enterprise = orgs.set_enterprise_status(current_user, enterprise_id, status)
    flash(_("Enterprise %(name)s has been closed; its records are kept.", name=enterprise.name)
          if status == OrgStatus.closed else _("Enterprise %(name)s has been reopened.", name=enterprise.name),
          "success")
    return redirect(url_for("admin_orgs.enterprise_edit", enterprise_id=enterprise_id))
