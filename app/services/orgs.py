"""Administering the organisation tree: regions, government units with their jurisdiction, enterprises.

Every write is one transaction, validated by services/org_checks.py and audited (who, when, what changed) on
the system chain. Administrators only (403 for anyone else); a district administrator sees and changes the
regions, units and enterprises of their district (policy.administered_*), anything else is "not found".

Supervision follows the tree: an enterprise is supervised by the lowest unit whose jurisdiction covers its
region (policy.resolve_supervising_unit). When a change moves that — the enterprise moves to another
region, a region moves, a unit's jurisdiction changes — the enterprise's open hazards and their open
inspector tasks move with it, each through its instance's unit of work and with an event in its own audit
chain; closed hazards and the audit trail stay as they were.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import and_, delete, false, func, select, true

from app.extensions import db
from app.models import (
    FINAL_STATUSES,
    Hazard,
    Jurisdiction,
    Organisation,
    OrgKind,
    OrgStatus,
    PeriodicReport,
    Region,
    RegionKind,
    ReportStatus,
    Role,
    TaskStatus,
    User,
)
from app.services import audit, policy
from app.services.capabilities import may_administer
from app.services.errors import Forbidden, NotFound, ValidationFailed
from app.services.org_checks import Checked, check_enterprise, check_region, check_unit, jurisdiction_of
from app.services.org_codes import normalise_industry
from app.services.paging import Page, paginate
from app.services.search import escape_like
from app.services.unit_of_work import instance_step


def require_admin(user: User) -> None:
    """Administrators only: anyone else is refused (403)."""
    if user is None or not may_administer(user):
        raise Forbidden(_("Only administrators can manage regions, government units and enterprises."))


W = TypeVar("W", bound=Callable[..., Any])


def _one_transaction(write: W) -> W:
    """A write service: committed when it returns, rolled back (nothing half-written) when it raises.

    `service.__wrapped__` is the same write inside the caller's transaction (the Excel import, which commits a
    whole workbook at once)."""
    @wraps(write)
    def wrapper(*args, **kwargs):
        try:
            result = write(*args, **kwargs)
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise
    return wrapper  # type: ignore[return-value]


def _refuse(checked: Checked, what: str) -> None:
    if checked.errors:
        raise ValidationFailed(_("The %(what)s cannot be saved: fix the fields marked.", what=what),
                               fields=checked.errors)


def _visible(user: User, model, row_id: int, scope, missing: str):
    """The row if it lies within `scope` (the administrator's), else NotFound saying `missing`."""
    require_admin(user)
    found = db.session.scalar(select(model).where(model.id == row_id, scope(user)))
    if found is None:
        raise NotFound(missing)
    return found


def _one_page(stmt, order, page: int, per_page: int) -> Page:
    rows = db.session.scalars(stmt.order_by(*order).offset((page - 1) * per_page).limit(per_page + 1))
    return paginate(stmt, page, per_page, rows)


def _contains(column, text: str):
    return column.ilike(f"%{escape_like(text)}%", escape="\\")


def _changes(row: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} of what `values` changes on `row`, setting it."""
    changed: dict[str, list[Any]] = {}
    for name, value in values.items():
        old = getattr(row, name)
        if old != value:
            changed[name] = [getattr(old, "value", old), getattr(value, "value", value)]
            setattr(row, name, value)
    return changed


# ---------------------------------------------------------------------------------------------- regions
def _region_scope(user: User):
    regions = policy.administered_regions(user)
    return true() if regions is None else Region.id.in_(regions) if regions else false()


def visible_region(user: User, region_id: int) -> Region:
    """The region if this administrator administers it, else NotFound."""
    return _visible(user, Region, region_id, _region_scope, _("Region %(id)s was not found.", id=region_id))


@dataclass
class RegionFilters:
    kind: str | None = None
    parent_id: int | None = None
    text: str | None = None


def list_regions(user: User, filters: RegionFilters, page: int = 1, per_page: int = 50) -> Page:
    """The regions this administrator administers, by code, one page."""
    require_admin(user)
    stmt = select(Region).where(_region_scope(user))
    if filters.kind:
        kind = RegionKind._value2member_map_.get(filters.kind)
        stmt = stmt.where(Region.kind == kind) if kind is not None else stmt.where(false())
    if filters.parent_id is not None:
        stmt = stmt.where(Region.parent_id == filters.parent_id)
    if filters.text:
        stmt = stmt.where(_contains(Region.name, filters.text) | _contains(Region.code, filters.text))
    return _one_page(stmt, (Region.code, Region.id), page, per_page)


@dataclass
class TreeNode:
    region: Region
    units: list[Organisation]
    children: list[TreeNode]


def region_tree(user: User) -> list[TreeNode]:
    """The administered regions as a tree (roots first, children by code), each with the units covering it."""
    require_admin(user)
    regions = list(db.session.scalars(select(Region).where(_region_scope(user)).order_by(Region.code)))
    ids = {r.id for r in regions}
    units: dict[int, list[Organisation]] = {}
    for region_id, unit in db.session.execute(
            select(Jurisdiction.region_id, Organisation).join(Organisation, Organisation.id == Jurisdiction.unit_id)
            .where(Jurisdiction.region_id.in_(ids)).order_by(Organisation.name)):
        units.setdefault(region_id, []).append(unit)
    nodes = {r.id: TreeNode(r, units.get(r.id, []), []) for r in regions}
    roots = []
    for region in regions:
        parent = nodes.get(region.parent_id) if region.parent_id else None
        (parent.children if parent else roots).append(nodes[region.id])
    return roots


@_one_transaction
def create_region(user: User, values: dict[str, Any]) -> Region:
    """Add a region below one the administrator administers (a system administrator may add a district)."""
    require_admin(user)
    checked = check_region(user, values)
    _refuse(checked, _("region"))
    region = Region(**checked.values)
    db.session.add(region)
    db.session.flush()
    audit.record("region_created", actor_id=user.id, data={"region": region.id, **_plain(checked.values)})
    return region


@_one_transaction
def update_region(user: User, region_id: int, values: dict[str, Any]) -> Region:
    """Change a region's code, name, kind or parent; moving it re-resolves who supervises the enterprises below."""
    region = visible_region(user, region_id)
    checked = check_region(user, values, region)
    _refuse(checked, _("region"))
    changed = _changes(region, checked.values)
    if changed:
        db.session.flush()
        moved = _resupervise(user, _enterprises_in(policy.region_subtree([region.id])), "parent_id") \
            if "parent_id" in changed else []
        audit.record("region_updated", actor_id=user.id, data={"region": region.id, "name": region.name,
                                                                 "changes": changed,
                                                                 "enterprises_moved": moved})
    return region


@_one_transaction
def set_region_status(user: User, region_id: int, status: OrgStatus) -> Region:
    """Close a region (a township merged into another: pickers no longer offer it or the regions below it, filters
    and history keep them) or reopen it. Refused while enterprises in operation are in it or below it: move them
    to their new region first."""
    region = visible_region(user, region_id)
    if region.status == status:
        return region
    if status == OrgStatus.closed:
        in_operation = db.session.scalar(select(func.count()).select_from(Organisation).where(
            Organisation.kind == OrgKind.enterprise, Organisation.status == OrgStatus.active,
            Organisation.region_id.in_(list(policy.region_subtree([region.id]))))) or 0
        if in_operation:
            message = ngettext("%(num)d enterprise in operation is still in this region or below it: move it to its "
                               "new region (or close it) first.",
                               "%(num)d enterprises in operation are still in this region or below it: move them to "
                               "their new region (or close them) first.", in_operation)
            raise ValidationFailed(message, fields={"status": message})
    before, region.status = region.status, status
    audit.record("region_closed" if status == OrgStatus.closed else "region_reopened", actor_id=user.id,
                 data={"region": region.id, "name": region.name, "status": [before.value, status.value]})
    return region


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in values.items()}


# ------------------------------------------------------------------------------------------ government units
def _unit_scope(user: User):
    units = policy.administered_units(user)
    scope = Organisation.kind == OrgKind.government
    return scope if units is None else and_(scope, Organisation.id.in_(units)) if units else false()


def visible_unit(user: User, unit_id: int) -> Organisation:
    """The government unit if this administrator administers it, else NotFound."""
    return _visible(user, Organisation, unit_id, _unit_scope,
                    _("Government unit %(id)s was not found.", id=unit_id))


@dataclass
class UnitFilters:
    region_id: int | None = None
    status: str | None = None
    text: str | None = None


def list_units(user: User, filters: UnitFilters, page: int = 1, per_page: int = 50) -> Page:
    """The government units this administrator administers, by name, one page."""
    require_admin(user)
    stmt = select(Organisation).where(_unit_scope(user))
    if filters.region_id is not None:
        stmt = stmt.where(Organisation.id.in_(select(Jurisdiction.unit_id)
                                              .where(Jurisdiction.region_id == filters.region_id)))
    if filters.status:
        stmt = stmt.where(Organisation.status == filters.status)
    if filters.text:
        stmt = stmt.where(_contains(Organisation.name, filters.text))
    return _one_page(stmt, (Organisation.name, Organisation.id), page, per_page)


def jurisdictions(unit_ids: list[int]) -> dict[int, list[int]]:
    """The region ids each unit covers."""
    found: dict[int, list[int]] = {unit_id: [] for unit_id in unit_ids}
    if unit_ids:
        for unit_id, region_id in db.session.execute(select(Jurisdiction.unit_id, Jurisdiction.region_id)
                                                     .where(Jurisdiction.unit_id.in_(unit_ids))
                                                     .order_by(Jurisdiction.region_id)):
            found[unit_id].append(region_id)
    return found


@_one_transaction
def create_unit(user: User, values: dict[str, Any]) -> Organisation:
    """Add a government unit below one the administrator administers, with its jurisdiction."""
    require_admin(user)
    checked = check_unit(user, values)
    _refuse(checked, _("unit"))
    fields = dict(checked.values)
    region_ids = fields.pop("region_ids", [])
    unit = Organisation(kind=OrgKind.government, status=OrgStatus.active, **fields)
    db.session.add(unit)
    db.session.flush()
    policy.forget_units()
    db.session.add_all(Jurisdiction(unit_id=unit.id, region_id=r) for r in region_ids)
    db.session.flush()
    moved = _resupervise(user, _enterprises_in(policy.region_subtree(region_ids)), "region_ids") if region_ids else []
    audit.record("unit_created", actor_id=user.id, data={"unit": unit.id, **_plain(fields), "region_ids": region_ids,
                                                           "enterprises_moved": moved})
    return unit


@_one_transaction
def update_unit(user: User, unit_id: int, values: dict[str, Any]) -> Organisation:
    """Change a unit's name, parent or jurisdiction; enterprises whose supervising unit this changes move."""
    unit = visible_unit(user, unit_id)
    checked = check_unit(user, values, unit)
    _refuse(checked, _("unit"))
    fields = dict(checked.values)
    region_ids = fields.pop("region_ids", None)
    changed = _changes(unit, fields)
    moved: list[int] = []
    if region_ids is not None:
        before = jurisdiction_of(unit.id)
        if region_ids != before:
            changed["region_ids"] = [before, region_ids]
            db.session.execute(delete(Jurisdiction).where(Jurisdiction.unit_id == unit.id,
                                                          Jurisdiction.region_id.not_in(region_ids)))
            db.session.add_all(Jurisdiction(unit_id=unit.id, region_id=r) for r in region_ids if r not in before)
            db.session.flush()
            touched = policy.region_subtree(set(before) ^ set(region_ids))
            moved = _resupervise(user, _enterprises_in(touched), "region_ids")
    if "parent_id" in changed:
        policy.forget_units()
    if changed:
        audit.record("unit_updated", actor_id=user.id, data={"unit": unit.id, "name": unit.name, "changes": changed,
                                                             "enterprises_moved": moved})
    return unit


@_one_transaction
def set_unit_status(user: User, unit_id: int, status: OrgStatus) -> Organisation:
    """Close (deactivate) or reopen a unit. A unit that still supervises regions or has open units below it
    cannot close: its jurisdiction goes to another unit first."""
    unit = visible_unit(user, unit_id)
    if status == OrgStatus.closed and unit.status != status:
        below = db.session.scalar(select(Organisation.id).where(Organisation.parent_id == unit.id,
                                                                Organisation.status == OrgStatus.active).limit(1))
        if jurisdiction_of(unit.id) or below is not None:
            message = _("This unit still supervises regions or has open units below it: give its jurisdiction to "
                        "another unit (and close or move the units below) first.")
            raise ValidationFailed(message, fields={"region_ids": message})
    return _set_status(user, unit, status, "unit")


# ------------------------------------------------------------------------------------------------ enterprises
def _enterprise_scope(user: User):
    units = policy.administered_units(user)
    scope = Organisation.kind == OrgKind.enterprise
    return scope if units is None else and_(scope, Organisation.supervising_unit_id.in_(units)) if units else false()


def visible_enterprise(user: User, enterprise_id: int) -> Organisation:
    """The enterprise if this administrator administers it, else NotFound."""
    return _visible(user, Organisation, enterprise_id, _enterprise_scope,
                    _("Enterprise %(id)s was not found.", id=enterprise_id))


@dataclass
class EnterpriseFilters:
    region_id: int | None = None
    industry: str | None = None
    status: str | None = None
    scale: str | None = None
    text: str | None = None


def enterprise_query(user: User, filters: EnterpriseFilters):
    """SELECT of the enterprises this administrator administers that match the filters (unordered)."""
    require_admin(user)
    stmt = select(Organisation).where(_enterprise_scope(user))
    if filters.region_id is not None:
        stmt = stmt.where(Organisation.region_id.in_(policy.region_subtree([filters.region_id])))
    if filters.industry:
        code = normalise_industry(filters.industry)
        if code is None:
            message = _("%(code)s is not an industry code of GB/T 4754-2017; enter a section letter (A–T) or a "
                        "division (e.g. C26).", code=filters.industry)
            raise ValidationFailed(message, fields={"industry": message})
        stmt = stmt.where(Organisation.industry.like(f"{code}%"))
    if filters.status:
        stmt = stmt.where(Organisation.status == filters.status)
    if filters.scale:
        stmt = stmt.where(Organisation.scale == filters.scale)
    text = (filters.text or "").strip()
    if text:
        clause = _contains(Organisation.name, text) | _contains(Organisation.credit_code, text)
        if len(text) >= 2 and db.session.get_bind().dialect.name == "postgresql":
            # migration 0013's GIN index narrows to the rows holding every bigram; the ILIKE keeps the matches.
            keys = func.hl_organisation_grams(Organisation.name, Organisation.credit_code)
            clause = keys.op("@>")(func.hl_grams(text)) & clause
        stmt = stmt.where(clause)
    return stmt


def list_enterprises(user: User, filters: EnterpriseFilters, page: int = 1, per_page: int = 20) -> Page:
    """The enterprises this administrator administers matching the filters, by name, one page."""
    stmt = enterprise_query(user, filters)
    return _one_page(stmt, (Organisation.name, Organisation.id), page, per_page)


@_one_transaction
def create_enterprise(user: User, values: dict[str, Any]) -> Organisation:
    """Register an enterprise in a region the administrator administers; the unit covering it supervises it."""
    require_admin(user)
    checked = check_enterprise(user, values)
    _refuse(checked, _("enterprise"))
    enterprise = Organisation(kind=OrgKind.enterprise, status=OrgStatus.active, **checked.values)
    db.session.add(enterprise)
    db.session.flush()
    audit.record("enterprise_created", actor_id=user.id,
                 data={"enterprise": enterprise.id, **_plain(checked.values)})
    return enterprise


@_one_transaction
def update_enterprise(user: User, enterprise_id: int, values: dict[str, Any]) -> Organisation:
    """Change an enterprise's record; a new region moves its supervision (open hazards and inspector tasks)."""
    enterprise = visible_enterprise(user, enterprise_id)
    checked = check_enterprise(user, values, enterprise)
    _refuse(checked, _("enterprise"))
    fields = dict(checked.values)
    new_unit = fields.pop("supervising_unit_id", enterprise.supervising_unit_id)
    changed = _changes(enterprise, fields)
    if new_unit != enterprise.supervising_unit_id:
        changed["supervising_unit_id"] = [enterprise.supervising_unit_id, new_unit]
        _move_supervision(user, enterprise, new_unit)
    if changed:
        audit.record("enterprise_updated", actor_id=user.id, data={"enterprise": enterprise.id, "name": enterprise.name,
                                                                     "changes": changed})
    return enterprise


@_one_transaction
def set_enterprise_status(user: User, enterprise_id: int, status: OrgStatus) -> Organisation:
    """Close an enterprise (it stays, with its hazards and history) or reopen it."""
    return _set_status(user, visible_enterprise(user, enterprise_id), status, "enterprise")


def _set_status(user: User, org: Organisation, status: OrgStatus, what: str) -> Organisation:
    if org.status != status:
        before, org.status = org.status, status
        closing = status == OrgStatus.closed
        data = {what: org.id, "name": org.name, "status": [before.value, status.value]}
        if what == "unit":
            audit.record("unit_closed" if closing else "unit_reopened", actor_id=user.id, data=data)
        else:
            audit.record("enterprise_closed" if closing else "enterprise_reopened", actor_id=user.id, data=data)
    return org


# ------------------------------------------------------------------------------------------------ supervision
def _enterprises_in(region_ids) -> list[Organisation]:
    if not region_ids:
        return []
    return list(db.session.scalars(select(Organisation).where(Organisation.kind == OrgKind.enterprise,
                                                              Organisation.region_id.in_(list(region_ids)))
                                   .order_by(Organisation.id)))


def _resupervise(user: User, enterprises: list[Organisation], field: str) -> list[int]:
    """Resolve each enterprise's supervising unit again; move those whose unit changed. Refused (naming
    `field`) when a change would leave an enterprise with no unit at all."""
    moved = []
    for enterprise in enterprises:
        unit = policy.resolve_supervising_unit(enterprise.region_id)
        if unit == enterprise.supervising_unit_id:
            continue
        if unit is None:
            message = _("The enterprise %(name)s would have no supervising unit: give a unit jurisdiction over its "
                        "region first.", name=enterprise.name)
            raise ValidationFailed(message, fields={field: message})
        _move_supervision(user, enterprise, unit)
        moved.append(enterprise.id)
    return moved


def _move_supervision(user: User, enterprise: Organisation, unit_id: int) -> None:
    """From now on `unit_id` supervises the enterprise: its open hazards and their open inspector tasks go there
    (a claim by an inspector of the old unit is released), each step audited in the hazard's chain."""
    old = enterprise.supervising_unit_id
    enterprise.supervising_unit_id = unit_id
    unit_name = db.session.scalar(select(Organisation.name).where(Organisation.id == unit_id))
    open_hazards = db.session.execute(select(Hazard.id, Hazard.instance_id).where(
        Hazard.enterprise_id == enterprise.id, Hazard.status.not_in(list(FINAL_STATUSES))).order_by(Hazard.id)).all()
    for hazard_id, instance_id in open_hazards:
        if instance_id is None:
            db.session.get(Hazard, hazard_id).supervising_unit_id = unit_id
            continue
        with instance_step(instance_id, commit=False) as step:
            step.hazard.supervising_unit_id = unit_id
            for task in (step.open_tasks or {}).values():
                if task.role == Role.inspector and task.status == TaskStatus.open:
                    task.organisation_id, task.assignee_id = unit_id, None
            step.audit("supervision_moved", actor_id=user.id,
                       data={"enterprise": enterprise.id, "from_unit": old, "to_unit": unit_id,
                             "to_unit_name": unit_name, "region": enterprise.region_id})
    # Its reports not yet submitted are filed with the new unit; submitted ones stay where they were filed.
    open_reports = db.session.execute(select(PeriodicReport.id, PeriodicReport.instance_id).where(
        PeriodicReport.enterprise_id == enterprise.id, PeriodicReport.status != ReportStatus.submitted)
        .order_by(PeriodicReport.id)).all()
    for report_id, instance_id in open_reports:
        if instance_id is None:
            db.session.get(PeriodicReport, report_id).supervising_unit_id = unit_id
            continue
        with instance_step(instance_id, commit=False) as step:
            if step.report.status == ReportStatus.submitted:  # signed meanwhile: it stays where it was filed
                continue
            step.report.supervising_unit_id = unit_id
            step.audit("supervision_moved", actor_id=user.id,
                       data={"enterprise": enterprise.id, "from_unit": old, "to_unit": unit_id,
                             "to_unit_name": unit_name, "region": enterprise.region_id})
