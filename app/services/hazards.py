"""Reporting hazards and reading the register (always from the read model)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import aliased, selectinload

from app.clock import clock
from app.extensions import db
from app.models import (
    AuditEvent,
    Hazard,
    HazardStatus,
    HumanTask,
    Organisation,
    OrgKind,
    OrgStatus,
    ProcessInstance,
    Role,
    TaskStatus,
    User,
)
from app.services import attachments, audit, forms, lifecycle, processes, repeats, replica, statistics
from app.services.access import hazard_scope, visible_hazard
from app.services.capabilities import may_report_hazards
from app.services.errors import Forbidden, NotFound, ValidationFailed
from app.services.paging import Page, count_cap, paginate
from app.services.policy import acting_orgs, is_enterprise_staff
from app.services.search import search_keys, text_match, uses_keys_index
from app.services.unit_of_work import instance_step

REPORT_FORM = "report"
# Sort keys of the register, each as the ORDER BY of a hazard entity (Hazard, or an alias of a subquery).
SORTS = {
    "created": lambda h: h.created_at.desc(),
    "-created": lambda h: h.created_at.asc(),
    "deadline": lambda h: h.rectification_deadline.asc().nulls_last(),
    "number": lambda h: h.number.asc(),
}


def _reporting_enterprise(user: User, enterprise_id: Any) -> int:
    if is_enterprise_staff(user):
        ensure_may_report(user)
        return user.organisation_id
    if user.role == Role.inspector:
        if not isinstance(enterprise_id, int):
            raise ValidationFailed(_("Some fields need your attention."),
                                   fields={"enterprise_id": _("Choose the enterprise where the hazard was found.")})
        enterprise = db.session.get(Organisation, enterprise_id)
        if (enterprise is None or enterprise.kind != OrgKind.enterprise
                or enterprise.supervising_unit_id not in acting_orgs(user)):
            raise ValidationFailed(_("Some fields need your attention."),
                                   fields={"enterprise_id": _("This enterprise is not in your jurisdiction.")})
        if enterprise.status == OrgStatus.closed:
            raise ValidationFailed(_("Some fields need your attention."), fields={"enterprise_id": _(
                "This enterprise is recorded as closed; choose an enterprise in operation, or have it reopened "
                "first.")})
        return enterprise.id
    raise Forbidden(_("Only enterprise staff and inspectors can report hazards."))


def ensure_may_report(user: User) -> None:
    """Forbidden for someone who cannot report now: not enterprise staff nor an inspector, or staff of an
    enterprise recorded as closed (the report page says so before anything is typed)."""
    if not may_report_hazards(user):
        raise Forbidden(_("Only enterprise staff and inspectors can report hazards."))
    if is_enterprise_staff(user) and db.session.scalar(
            select(Organisation.status).where(Organisation.id == user.organisation_id)) == OrgStatus.closed:
        raise Forbidden(_("Your enterprise is recorded as closed, so no new hazard can be reported for it. "
                          "If it operates again, ask your district administrator to reopen it."))


def report_hazard(user: User, data: Any) -> Hazard:
    """Record a hazard (登记建档) and start the process the rules choose for it (processes.process_for)."""
    report = _checked_report(user, data)  # writes nothing: a refused report leaves the caller's work alone
    return _record(user, report, commit=True)


def report_submission(user: User, typed: Callable[[str], list[str]], uploads: Iterable[attachments.Upload],
                      enterprise_id: int | None = None) -> Hazard:
    """The report page's form with its photos, committed with the report (see attachments.submit_with_uploads).

    `enterprise_id`: where an inspector found the hazard (enterprise staff report for their own).
    """
    ensure_may_report(user)
    return attachments.submit_with_uploads(user, forms.get_form(REPORT_FORM), typed, uploads,
                                           attachments.attachment_checker(user, None),
                                           lambda data: report_hazard(user, {**data, "enterprise_id": enterprise_id}))


def record_hazard(user: User, data: Any, checklist_item_id: int | None = None) -> Hazard:
    """report_hazard inside the caller's transaction, which commits it (a check's failed items, all or nothing;
    `checklist_item_id`: the failed item, by which a repeat of the same fault is recognised)."""
    return _record(user, _checked_report(user, data), commit=False, checklist_item_id=checklist_item_id)


@dataclass
class _Report:
    enterprise: Organisation
    form: forms.FormDefinition
    cleaned: dict[str, Any]


def _checked_report(user: User, data: Any) -> _Report:
    if not isinstance(data, dict):
        raise ValidationFailed(_("The form data must be an object of field names and values."))
    data = dict(data)
    enterprise_id = _reporting_enterprise(user, data.pop("enterprise_id", None))
    form = forms.get_form(REPORT_FORM)
    cleaned = forms.validate(form, data, attachments.attachment_checker(user, None))
    return _Report(db.session.get(Organisation, enterprise_id), form, cleaned)


def _record(user: User, report: _Report, *, commit: bool, checklist_item_id: int | None = None) -> Hazard:
    enterprise, form, cleaned = report.enterprise, report.form, report.cleaned
    version = processes.active_version(processes.process_for(cleaned["source"], enterprise.industry,
                                                             enterprise.region_id))
    now = clock.now()
    hazard = Hazard(number=f"TMP-{now.timestamp()}-{user.id}", title=cleaned["title"],
                    description=cleaned["description"], location=cleaned["location"],
                    hazard_type=cleaned["hazard_type"], source=cleaned["source"], enterprise_id=enterprise.id,
                    supervising_unit_id=enterprise.supervising_unit_id, region_id=enterprise.region_id,
                    reporter_id=user.id, status=HazardStatus.reported, created_at=now, updated_at=now, audit_seq=0,
                    checklist_item_id=checklist_item_id)
    hazard.enterprise = enterprise  # the response names it: no read after the commit (issue 18)
    # keep_objects: the answer is built from these objects, so a connection lost after the commit cannot turn a
    # recorded report into an error that invites a duplicate.
    with instance_step(hazard=hazard, commit=commit, keep_objects=True) as step:
        db.session.add(hazard)
        db.session.flush()
        hazard.number = f"YH{now:%Y%m%d}{hazard.id:06d}"
        earlier = repeats.recognise(hazard)  # 反复性隐患: the same fault found here before, within the window
        step.audit("hazard_reported", actor_id=user.id, data={
            "number": hazard.number, **cleaned, **({"repeat_of": earlier} if earlier else {})})
        step.start(version, lifecycle.start_data(hazard), actor_id=user.id)
        attachments.link_to_hazard(hazard, cleaned, form.fields)
    return hazard


@dataclass
class HazardFilters:
    status: str | None = None
    grade: str | None = None
    enterprise_id: int | None = None
    overdue: bool | None = None
    text: str | None = None
    sort: str = "created"
    # The statistics' filters (period found, region, industry, type, source, which figure): a dashboard link.
    stats: statistics.StatsFilters | None = None


def hazard_query(user: User, filters: HazardFilters):
    # A search's index of keys narrows to the jurisdiction already; reading the jurisdiction's own index
    # too (tens of thousands of rows for a district) and ANDing the two only costs time.
    stmt = select(Hazard).where(hazard_scope(user, via_index=not uses_keys_index(filters.text)))
    if filters.status:
        stmt = stmt.where(Hazard.status == filters.status)
    if filters.grade == "none":  # not yet assessed
        stmt = stmt.where(Hazard.grade.is_(None))
    elif filters.grade:
        stmt = stmt.where(Hazard.grade == filters.grade)
    if filters.enterprise_id:
        stmt = stmt.where(Hazard.enterprise_id == filters.enterprise_id)
    if filters.overdue is not None:
        stmt = stmt.where(Hazard.overdue.is_(filters.overdue))
    if filters.stats is not None:
        stmt = stmt.where(*statistics.register_clauses(filters.stats))
    if filters.text:
        stmt = stmt.where(text_match(filters.text, Hazard.title, Hazard.number, Hazard.location,
                                     scope=search_keys(user)))
    return stmt


def _order(entity, sort: str) -> tuple:
    return SORTS.get(sort, SORTS["created"])(entity), entity.id.desc()


def list_hazards(user: User, filters: HazardFilters, page: int = 1, per_page: int = 20) -> Page:
    """The hazards this user may see, filtered, sorted and paginated.

    A text search reads its matches in one pass when they fit under the count cap: the matching rows
    (at most cap + 1 of them) are counted and sorted in the same statement, not once for the count and
    once for the page. Other filters count from the scope indexes (index-only, migration 0007) and read
    the page in index order. Past the cap the count shows "10,000+".
    """
    with replica.reads(user):  # may lag a few seconds; the user's own writes never do
        stmt = hazard_query(user, filters)
        offset = (page - 1) * per_page
        cap = count_cap()
        if cap and filters.text:
            matches = aliased(Hazard, stmt.limit(cap + 1).subquery())
            rows = db.session.execute(
                select(matches, func.count().over().label("total")).order_by(*_order(matches, filters.sort))
                .options(selectinload(matches.enterprise)).limit(per_page + 1).offset(offset)).all()
            if rows and rows[0].total <= cap:
                return Page([r[0] for r in rows[:per_page]], rows[0].total, page, per_page,
                            has_next=len(rows) > per_page)
        # The enterprises' names are shown in the list: one query for the page, not one per row.
        items = db.session.scalars(stmt.order_by(*_order(Hazard, filters.sort))
                                   .options(selectinload(Hazard.enterprise)).limit(per_page + 1).offset(offset))
        return paginate(stmt, page, per_page, items)


def get_hazard(user: User, hazard_id: int) -> Hazard:
    """One hazard, or NotFound when it is not the user's to see."""
    return visible_hazard(user, hazard_id)


def open_tasks(hazard_id: int) -> list[HumanTask]:
    return list(db.session.scalars(select(HumanTask).where(
        HumanTask.hazard_id == hazard_id, HumanTask.status == TaskStatus.open).order_by(HumanTask.id)))


def tasks_of(hazard_id: int) -> list[HumanTask]:
    """Every human task of the hazard, open or done, oldest first."""
    return list(db.session.scalars(select(HumanTask).where(HumanTask.hazard_id == hazard_id)
                                   .order_by(HumanTask.id)))


def timeline(hazard_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.chain == audit.hazard_chain(hazard_id))
                                   .order_by(AuditEvent.seq)))


def completed_steps(hazard_id: int) -> list[str]:
    """BPMN element ids of the user tasks completed so far (for marking the diagram)."""
    return list(db.session.scalars(select(HumanTask.spec_name).where(
        HumanTask.hazard_id == hazard_id, HumanTask.status == TaskStatus.completed).order_by(HumanTask.id)))


def process_diagram(user: User, hazard_id: int) -> str:
    """The BPMN XML of the process version this hazard runs on (NotFound when not the user's to see)."""
    hazard = visible_hazard(user, hazard_id)
    instance = db.session.get(ProcessInstance, hazard.instance_id) if hazard.instance_id else None
    if instance is None:
        raise NotFound(_("This hazard has no process diagram."))
    return instance.version.bpmn_xml
