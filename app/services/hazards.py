"""Reporting hazards and reading the register (always from the read model)."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Text, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased, selectinload

from app.clock import clock
from app.extensions import db, escape_like
from app.models import (
    Attachment,
    AuditEvent,
    Hazard,
    HumanTask,
    Organisation,
    OrgKind,
    ProcessInstance,
    Role,
    TaskStatus,
    User,
)
from app.services import attachments, audit, forms, lifecycle, processes
from app.services.access import acting_orgs, hazard_scope, hazard_scope_orgs, visible_hazard
from app.services.errors import Forbidden, NotFound, ValidationFailed

REPORT_FORM = "report"
# Sort keys of the register, each as the ORDER BY of a hazard entity (Hazard, or an alias of a subquery).
SORTS = {
    "created": lambda h: h.created_at.desc(),
    "-created": lambda h: h.created_at.asc(),
    "deadline": lambda h: h.rectification_deadline.asc().nulls_last(),
    "number": lambda h: h.number.asc(),
}


def _reporting_enterprise(user: User, enterprise_id: Any) -> int:
    if user.role in (Role.officer, Role.principal) and user.organisation_id:
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
        return enterprise.id
    raise Forbidden(_("Only enterprise staff and inspectors can report hazards."))


def can_report(user: User) -> bool:
    """Whether this user may report hazards: enterprise staff, and inspectors (for an enterprise they supervise)."""
    if user.role in (Role.officer, Role.principal):
        return user.organisation_id is not None
    return user.role == Role.inspector


def report_hazard(user: User, data: Any) -> Hazard:
    """Record a hazard (登记建档) and start its lifecycle on the active process version."""
    report = _checked_report(user, data)  # writes nothing: a refused report leaves the caller's work alone
    try:
        hazard = _record(user, report)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return hazard


def report_submission(user: User, typed: Callable[[str], list[str]], uploads: Iterable[attachments.Upload],
                      enterprise_id: int | None = None) -> Hazard:
    """The report page's form with its photos, committed with the report (see attachments.submit_with_uploads).

    `enterprise_id`: where an inspector found the hazard (enterprise staff report for their own).
    """
    if not can_report(user):
        raise Forbidden(_("Only enterprise staff and inspectors can report hazards."))
    return attachments.submit_with_uploads(user, forms.get_form(REPORT_FORM), typed, uploads,
                                           attachments.attachment_checker(user, None),
                                           lambda data: report_hazard(user, {**data, "enterprise_id": enterprise_id}))


def record_hazard(user: User, data: Any) -> Hazard:
    """report_hazard inside the caller's transaction, which commits it (a check's failed items, all or nothing)."""
    return _record(user, _checked_report(user, data))


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


def _record(user: User, report: _Report) -> Hazard:
    enterprise, form, cleaned = report.enterprise, report.form, report.cleaned
    now = clock.now()
    hazard = Hazard(number=f"TMP-{now.timestamp()}-{user.id}", title=cleaned["title"],
                    description=cleaned["description"], location=cleaned["location"],
                    hazard_type=cleaned["hazard_type"], source=cleaned["source"], enterprise_id=enterprise.id,
                    supervising_unit_id=enterprise.supervising_unit_id, region_id=enterprise.region_id,
                    reporter_id=user.id, status="reported", created_at=now, updated_at=now)
    db.session.add(hazard)
    db.session.flush()
    hazard.number = f"YH{now:%Y%m%d}{hazard.id:06d}"
    audit.record("hazard_reported", actor_id=user.id, hazard_id=hazard.id,
                 data={"number": hazard.number, **cleaned})
    version = processes.active_version()
    snapshot = processes.runtime(version).start({
        "hazard_id": hazard.id, "hazard_number": hazard.number, "title": hazard.title,
        "hazard_type": hazard.hazard_type, "source": hazard.source,
    })
    instance = lifecycle.new_instance(version.id, snapshot)
    hazard.instance_id = instance.id
    lifecycle.apply_snapshot(instance, hazard, snapshot, actor_id=user.id)
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


@dataclass
class Page:
    """One page of a list. With `capped`, `total` is a lower bound: more rows match than were counted."""
    items: list
    total: int
    page: int
    per_page: int
    capped: bool = False
    has_next: bool | None = None

    @property
    def more(self) -> bool:
        """Whether a next page exists."""
        return self.has_next if self.has_next is not None else self.page * self.per_page < self.total

    @property
    def pages(self) -> int:
        """How many pages there are (when capped: how many are known to exist, at least one past this one)."""
        known = max(1, -(-self.total // self.per_page))
        return max(known, self.page + 1 if self.more else self.page) if self.capped else known


def count_cap() -> int:
    """How many rows a list counts at most (LIST_COUNT_CAP; 0 counts everything)."""
    return max(int(current_app.config.get("LIST_COUNT_CAP", 10_000)), 0)


def capped_count(stmt) -> tuple[int, bool]:
    """(count, capped) of the rows `stmt` selects, reading at most LIST_COUNT_CAP + 1 of them.

    An exact count(*) of a city's register reads every visible row; past the cap the number is shown as
    "10,000+" and the pagination offers previous/next without a last page.
    """
    cap = count_cap()
    total = count_upto(stmt, cap + 1 if cap else None)
    return (cap, True) if cap and total > cap else (total, False)


def count_upto(stmt, most: int | None) -> int:
    """How many rows `stmt` selects, reading at most `most` of them (None: all)."""
    return db.session.scalar(count_upto_query(stmt, most)) or 0


def count_upto_query(stmt, most: int | None):
    """SELECT count_upto(stmt, most), for reading it together with other counts."""
    rows = stmt.order_by(None).with_only_columns(literal(1), maintain_column_froms=True)
    if most is not None:
        rows = rows.limit(most)
    return select(func.count()).select_from(rows.subquery())


def paginate(stmt, page: int, per_page: int, rows) -> Page:
    """A Page from the (capped) count of `stmt` and `rows`, the page's rows read with one row extra."""
    rows = list(rows)
    if len(rows) <= per_page and (rows or page == 1):  # the last page: the total is known without counting
        return Page(rows, (page - 1) * per_page + len(rows), page, per_page, has_next=False)
    total, capped = capped_count(stmt)
    return Page(rows[:per_page], total, page, per_page, capped=capped, has_next=len(rows) > per_page)


def search_keys(user: User) -> list[str] | None:
    """The scope keys of migration 0006 that cover what this user may see; None for everything."""
    scope = hazard_scope_orgs(user)
    if scope is None:
        return None
    column, orgs = scope
    prefix = "u" if column is Hazard.supervising_unit_id else "e"
    return [f"{prefix}:{org}" for org in sorted(orgs)]


def text_match(text: str, *columns, scope: list[str] | None = None):
    """Rows whose columns contain `text` (case-insensitive).

    On PostgreSQL the index of migration 0006 narrows the rows first: every substring of two or more
    characters contains all of its character bigrams, and `scope` (see search_keys) limits them to the
    user's jurisdiction inside the index. The ILIKE keeps the exact matches; the caller's scope clause
    still decides what is visible.
    """
    text = text.strip()
    pattern = f"%{escape_like(text)}%"
    clause = or_(*(column.ilike(pattern, escape="\\") for column in columns))
    if _keys_search(text):
        keys = func.hl_hazard_keys(Hazard.title, Hazard.number, Hazard.location, Hazard.supervising_unit_id,
                                   Hazard.enterprise_id)
        clause = keys.op("@>")(func.hl_grams(text)) & clause
        if scope:
            clause = keys.op("&&")(cast(scope, ARRAY(Text))) & clause
    return clause


def _keys_search(text: str | None) -> bool:
    """Whether text_match will use the index of keys (which applies the jurisdiction itself)."""
    return bool(text) and len(text.strip()) >= 2 and db.session.get_bind().dialect.name == "postgresql"


def hazard_query(user: User, filters: HazardFilters):
    # A search's index of keys narrows to the jurisdiction already; reading the jurisdiction's own index
    # too (tens of thousands of rows for a district) and ANDing the two only costs time.
    stmt = select(Hazard).where(hazard_scope(user, via_index=not _keys_search(filters.text)))
    if filters.status:
        stmt = stmt.where(Hazard.status == filters.status)
    if filters.grade:
        stmt = stmt.where(Hazard.grade == filters.grade)
    if filters.enterprise_id:
        stmt = stmt.where(Hazard.enterprise_id == filters.enterprise_id)
    if filters.overdue is not None:
        stmt = stmt.where(Hazard.overdue.is_(filters.overdue))
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
    items = db.session.scalars(stmt.order_by(*_order(Hazard, filters.sort)).options(selectinload(Hazard.enterprise))
                               .limit(per_page + 1).offset(offset))
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


@dataclass
class Evidence:
    before: list[Attachment]
    after: list[Attachment]
    documents: list[Attachment]


def _submitted(event: AuditEvent) -> tuple[str | None, dict]:
    data = json.loads(event.data)
    if event.action == "hazard_reported":
        return REPORT_FORM, data
    if event.action == "task_completed" and isinstance(data.get("data"), dict):
        return data.get("form"), data["data"]
    return None, {}


def evidence(hazard_id: int) -> Evidence:
    """The hazard's files sorted for a before/after gallery: report photos, later photos, documents."""
    files = {a.id: a for a in attachments.hazard_attachments(hazard_id)}
    before: list[int] = []
    after: list[int] = []
    for event in timeline(hazard_id):
        key, data = _submitted(event)
        if not key:
            continue
        try:
            form = forms.get_form(key)
        except NotFound:
            continue  # a form removed since; its files still show up under documents
        for spec in form.fields:
            ids = data.get(spec["name"]) if spec.get("widget") == "attachments" else None
            if isinstance(ids, list):
                (before if key == REPORT_FORM else after).extend(i for i in ids if isinstance(i, int))
    placed = set()
    out = Evidence([], [], [])
    for ids, bucket in ((before, out.before), (after, out.after)):
        for i in ids:
            if i in files and i not in placed and files[i].kind == "image":
                bucket.append(files[i])
                placed.add(i)
    out.documents = [a for a in files.values() if a.id not in placed]
    return out


def process_diagram(user: User, hazard_id: int) -> str:
    """The BPMN XML of the process version this hazard runs on (NotFound when not the user's to see)."""
    hazard = visible_hazard(user, hazard_id)
    instance = db.session.get(ProcessInstance, hazard.instance_id) if hazard.instance_id else None
    if instance is None:
        raise NotFound(_("This hazard has no process diagram."))
    return instance.version.bpmn_xml
