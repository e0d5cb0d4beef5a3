"""The enterprise's statutory report (企业隐患排查治理情况季报/年报, domain.md "Time limits and reports").

Each enterprise files, for every quarter, a report due by the 15th day of the next quarter, and for every year one
due by 31 January, signed by its principal. A report is an instance of the shipped process `enterprise_report`
(bpmn/enterprise_report.bpmn): the safety officer prepares it from the figures the statistics compute for that
enterprise and period (services/statistics.enterprise_figures; forms/report_prepare.json: the officer checks them
and may add remarks), the principal signs it or sends it back with a reason (forms/report_sign.json), and signing
submits it to the supervising unit. The diagram's deadline timer (`due_at`: the due date's 24:00 China time) marks
it late and tells the enterprise (services/lifecycle.apply_report_snapshot).

Opening a period (`flask reports open --period 2026Q4`, and the scheduler on the first day after each period ends)
starts one report per active enterprise and period — idempotent: the row's (enterprise, period) key is unique.
The bureau sees, for its jurisdiction, who has submitted, who is late and who has not yet, and may remind them.
Every step of a report goes through the unit of work (services/unit_of_work.py), audited in the report's chain.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.chinatime import end_of_day, today
from app.clock import clock
from app.extensions import db
from app.models import (
    AuditEvent,
    HumanTask,
    Organisation,
    OrgKind,
    OrgStatus,
    PeriodicReport,
    ProcessVersion,
    ReportStatus,
    Role,
    TaskStatus,
    User,
)
from app.services import audit, forms, lifecycle, processes, statistics
from app.services.access import check_task_owner, hazard_scope, task_scope
from app.services.capabilities import may_oversee_reports
from app.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.services.paging import Page, paginate
from app.services.policy import GOVERNMENT_ROLES, acting_orgs
from app.services.unit_of_work import instance_step

PROCESS_KEY = lifecycle.REPORT_PROCESS
_PERIOD = re.compile(r"^(\d{4})(?:Q([1-4]))?$")
OPEN_BATCH = 200  # reports a scheduler tick opens at most (the rest the next ticks)


@dataclass(frozen=True)
class Period:
    key: str       # "2026Q4" or "2026"
    start: date
    end: date
    due: date      # the 15th day of the next quarter; 31 January of the next year

    @property
    def annual(self) -> bool:
        return "Q" not in self.key


def parse_period(text: Any) -> Period:
    """A quarter ("2026Q4") or a year ("2026"); ValidationFailed says how to write one."""
    match = _PERIOD.match(str(text or "").strip().upper())
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise ValidationFailed(_("Write the period as a quarter such as 2026Q4 or a year such as 2026."),
                               fields={"period": _("Write a quarter such as 2026Q4 or a year such as 2026.")})
    year = int(match.group(1))
    if match.group(2) is None:
        return Period(str(year), date(year, 1, 1), date(year, 12, 31), date(year + 1, 1, 31))
    quarter = int(match.group(2))
    start = date(year, 3 * quarter - 2, 1)
    next_start = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return Period(f"{year}Q{quarter}", start, next_start - timedelta(days=1), next_start + timedelta(days=14))


def ended_periods(day: date) -> list[Period]:
    """The periods that ended most recently before `day`: the last quarter, and the last year in January."""
    quarter = (day.month - 1) // 3  # the quarter before the current one, 0 meaning Q4 of last year
    periods = [parse_period(f"{day.year - 1}Q4" if quarter == 0 else f"{day.year}Q{quarter}")]
    if day.month == 1:
        periods.append(parse_period(str(day.year - 1)))
    return periods


# ------------------------------------------------------------------------------------------------ opening
def _enterprises_without(period: Period, limit: int | None):
    stmt = (select(Organisation).where(
        Organisation.kind == OrgKind.enterprise, Organisation.status == OrgStatus.active,
        ~select(PeriodicReport.id).where(PeriodicReport.enterprise_id == Organisation.id,
                                         PeriodicReport.period == period.key).exists())
        .order_by(Organisation.id))
    return list(db.session.scalars(stmt.limit(limit) if limit else stmt))


def open_period(text: Any, *, limit: int | None = None) -> int:
    """Start the report of every active enterprise that has none for this period; returns how many were opened.

    Idempotent: an enterprise with a report for the period is skipped (and a concurrent opener's row wins).
    Each report is one unit of work: its row, its instance, its first task, the audit event.
    """
    period = parse_period(text)
    version = processes.active_version(PROCESS_KEY)
    opened = 0
    for enterprise in _enterprises_without(period, limit):
        now = clock.now()
        report = PeriodicReport(period=period.key, period_start=period.start, period_end=period.end,
                                due_date=period.due, enterprise_id=enterprise.id,
                                supervising_unit_id=enterprise.supervising_unit_id, region_id=enterprise.region_id,
                                status=ReportStatus.preparing, late=False, created_at=now, updated_at=now)
        report.enterprise = enterprise
        try:
            db.session.add(report)
            db.session.flush()
        except IntegrityError:  # another opener was first: one report per enterprise and period
            db.session.rollback()
            continue
        with instance_step(subject=report) as step:
            step.start(version, start_data(report), actor_id=None)
            step.audit("report_opened", actor_id=None, data={"period": period.key, "due_date": period.due.isoformat()})
        opened += 1
    return opened


def start_data(report: PeriodicReport) -> dict[str, Any]:
    """What a report's instance starts on (lifecycle.REPORT_START_DATA)."""
    return {"report_id": report.id, "period": report.period, "period_start": report.period_start.isoformat(),
            "period_end": report.period_end.isoformat(), "due_date": report.due_date.isoformat(),
            "due_at": end_of_day(report.due_date).isoformat()}


_opened_in_process: set[str] = set()


def open_ended_periods() -> int:
    """The scheduler's job: open the reports of the periods that have ended, from the day after a period ends until
    its due date (at most OPEN_BATCH a tick; a scheduler that was down catches up). Off when
    REPORTS_OPEN_AUTOMATICALLY is not set, or when the report process is not installed.

    A period found fully opened is remembered by this process, so that later ticks do not ask again.
    """
    if not current_app.config.get("REPORTS_OPEN_AUTOMATICALLY") or db.session.scalar(select(ProcessVersion.id).where(
            ProcessVersion.process_key == PROCESS_KEY, ProcessVersion.active.is_(True))) is None:
        return 0
    opened = 0
    day = today()
    for period in ended_periods(day):
        if period.key in _opened_in_process or day > period.due:
            continue
        done = open_period(period.key, limit=OPEN_BATCH)
        if done < OPEN_BATCH:
            _opened_in_process.add(period.key)
        opened += done
    return opened


# ------------------------------------------------------------------------------------------------- reading
def _can_see(user: User, report: PeriodicReport) -> bool:
    if user.role == Role.admin:
        return True
    orgs = acting_orgs(user)
    if user.role in GOVERNMENT_ROLES:
        return report.supervising_unit_id in orgs
    return report.enterprise_id in orgs


def visible_report(user: User, report_id: int) -> PeriodicReport:
    """The report, or NotFound when it does not exist or is not this user's to see."""
    report = db.session.get(PeriodicReport, report_id, options=[joinedload(PeriodicReport.enterprise)])
    if report is None or not _can_see(user, report):
        raise NotFound(_("Report %(id)s was not found.", id=report_id))
    return report


def figures_of(report: PeriodicReport) -> dict[str, Any]:
    """The figures as prepared (once prepared), else as computed now from the statistics."""
    if report.figures:
        return json.loads(report.figures)
    return compute_figures(report)


def compute_figures(report: PeriodicReport) -> dict[str, Any]:
    """The enterprise's figures for the report's period (definitions: services/statistics.py)."""
    f = statistics.enterprise_figures(report.enterprise_id, report.period_start, report.period_end)
    return {"found": f.found, "fixed": f.fixed, "rate": f.rate, "overdue": f.overdue,
            "major_found": f.major_found, "major_written_off": f.major_written_off, "listed": f.listed,
            "five_in_place": f.five_in_place, "funds_committed": str(f.yuan("funds_committed")),
            "funds_spent": str(f.yuan("funds_spent"))}


@dataclass
class ReportView:
    report: PeriodicReport
    figures: dict[str, Any]
    open_tasks: list[HumanTask]       # every step open now, oldest first (a diagram may open several at once)
    steps: list[HumanTask] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)


def report_view(user: User, report_id: int) -> ReportView:
    report = visible_report(user, report_id)
    steps = list(db.session.scalars(select(HumanTask).where(HumanTask.report_id == report.id)
                                    .options(joinedload(HumanTask.assignee)).order_by(HumanTask.id)))
    return ReportView(report, figures_of(report), [t for t in steps if t.status == TaskStatus.open], steps,
                      report_events(report))


def report_events(report: PeriodicReport) -> list[AuditEvent]:
    """The report's audit chain, oldest first (the caller has the report through visible_report)."""
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.chain == audit.report_chain(report.id))
                                   .options(joinedload(AuditEvent.actor)).order_by(AuditEvent.seq)))


# The field of the preparing step's form where the officer confirms the figures (forms/report_prepare.json).
FIGURES_FIELD = "figures_checked"


def records_figures(form: forms.FormDefinition | None) -> bool:
    """Whether completing a step with this form records the figures computed now: the preparing step, known by
    its form's figures field — so a step pointed at a copy of the form in the designer still records them."""
    return form is not None and FIGURES_FIELD in form.schema.get("properties", {})


@dataclass(frozen=True)
class ReportFilters:
    """What a list of reports may be narrowed to (the API's query): a period, a step status, late or not."""
    period: Any = None               # "2026Q4" or "2026" (parse_period); None: every period
    status: ReportStatus | None = None
    late: bool | None = None


def list_reports(user: User, page: int = 1, per_page: int = 25, filters: ReportFilters | None = None) -> Page:
    """The reports the user may see, newest period first (an enterprise's own; a bureau's jurisdiction)."""
    t = PeriodicReport
    where = [hazard_scope(user, on=t)]
    if filters is not None:
        if filters.period is not None:
            where.append(t.period == parse_period(filters.period).key)
        if filters.status is not None:
            where.append(t.status == filters.status)
        if filters.late is not None:
            where.append(t.late.is_(filters.late))
    stmt = select(t).where(*where).order_by(t.period_end.desc(), t.period.desc(), t.id)
    rows = db.session.scalars(stmt.options(joinedload(PeriodicReport.enterprise))
                              .limit(per_page + 1).offset((page - 1) * per_page)).all()
    return paginate(stmt, page, per_page, rows)


# ------------------------------------------------------------------------------------------------- acting
def complete_step(user: User, report_id: int, data: Any, task_id: int | None = None) -> PeriodicReport:
    """Do one open step of the report — `task_id`, or (None) its one open step — with the submitted form, in one unit
    of work: prepare, sign / send back, or any step the diagram opens (several may be open at once; the page offers
    each with its form).

    A step whose form records the figures (records_figures) records those computed now with the officer's remarks;
    signing submits the report.
    """
    report = visible_report(user, report_id)
    open_ids = list(db.session.scalars(select(HumanTask.id).where(HumanTask.report_id == report.id,
                                                                  HumanTask.status == TaskStatus.open)))
    if task_id is None and len(open_ids) > 1:
        raise Conflict(_("Several steps of this report are open; say which one you are doing."))
    task_id = task_id if task_id is not None else next(iter(open_ids), None)
    if task_id is None or task_id not in open_ids:
        raise Conflict(_("This step is no longer open; nothing was changed."))

    def why_not() -> None:
        check_task_owner(user, db.session.get(HumanTask, task_id))
        raise Conflict(_("Someone else completed this step first."))

    with instance_step(task_id=task_id, task_scope=task_scope(user), missing=why_not, keep_objects=True) as step:
        task = step.task
        if task is None or task.status != TaskStatus.open or step.report is None or step.report.id != report.id:
            raise Conflict(_("Someone else completed this step first."))
        check_task_owner(user, task)
        form = forms.task_form(task)
        cleaned = forms.validate(form, data)
        submitted = dict(cleaned)
        if records_figures(form):
            submitted["figures"] = compute_figures(step.report)
            submitted.setdefault("remarks", "")
        step.run(lambda runtime, state: runtime.complete(state, task.task_uuid, submitted), actor_id=user.id,
                 completed_task_uuid=task.task_uuid)
        if records_figures(form):
            lifecycle.record_report_figures(step.report, submitted)
        step.audit("task_completed", actor_id=user.id, task_spec=task.spec_name,
                   data={"task": task.title, "form": task.form_key, "form_version_id": form.version_id,
                         "data": submitted})
    return step.report


# ------------------------------------------------------------------------------------------- the bureau
PROGRESS = ("submitted", "late", "pending")


def _progress_clause(which: str):
    t = PeriodicReport
    if which == "submitted":
        return t.status == ReportStatus.submitted
    if which == "late":
        return and_(t.status != ReportStatus.submitted, t.late.is_(True))
    return and_(t.status != ReportStatus.submitted, t.late.is_(False))


@dataclass
class Overview:
    period: str
    periods: list[str]
    counts: dict[str, int]
    page: Page
    show: str | None


def overview(user: User, period_text: Any = None, show: str | None = None, page: int = 1,
             per_page: int = 50) -> Overview:
    """For a period: how many reports in the user's scope are submitted, late, not yet due; and the list."""
    scope = hazard_scope(user, on=PeriodicReport)
    periods = list(db.session.scalars(select(PeriodicReport.period).where(scope).group_by(PeriodicReport.period)
                                      .order_by(func.max(PeriodicReport.period_end).desc(),
                                                PeriodicReport.period.desc()).limit(24)))
    key = parse_period(period_text).key if period_text else (periods[0] if periods else ended_periods(today())[0].key)
    t = PeriodicReport
    where = [scope, t.period == key]
    counts = dict(zip(PROGRESS, db.session.execute(select(
        *[func.count().filter(_progress_clause(p)) for p in PROGRESS]).where(*where)).one(), strict=True))
    if show in PROGRESS:
        where.append(_progress_clause(show))
    else:
        show = None
    order = case((t.status == ReportStatus.submitted, 2), (t.late.is_(True), 0), else_=1)
    stmt = select(t).join(Organisation, Organisation.id == t.enterprise_id).where(*where)
    rows = db.session.scalars(stmt.options(joinedload(t.enterprise)).order_by(order, Organisation.name, t.id)
                              .limit(per_page + 1).offset((page - 1) * per_page)).all()
    return Overview(key, periods, counts, paginate(stmt, page, per_page, rows), show)


def remind(user: User, period_text: Any, report_id: int | None = None) -> int:
    """A bureau's reminder to one enterprise (`report_id`) or to every late one of the period in its jurisdiction:
    a notification to the enterprise's safety officers and principals, audited on each report. Returns how many
    reports were reminded; all of them or none (one transaction)."""
    if not may_oversee_reports(user):
        raise Forbidden(_("Only the supervising unit reminds enterprises of their reports."))
    t = PeriodicReport
    if report_id is not None:
        report = visible_report(user, report_id)
        if report.status == ReportStatus.submitted:
            raise Conflict(_("This report has been submitted; there is nothing to remind."))
        targets = [report.id]
    else:
        period = parse_period(period_text)
        targets = list(db.session.scalars(select(t.id).where(hazard_scope(user, on=t), t.period == period.key,
                                                             _progress_clause("late")).order_by(t.id)))
    instances = dict(db.session.execute(select(t.id, t.instance_id).where(t.id.in_(targets))).all()) if targets else {}
    now = clock.now()
    try:
        for rid in targets:
            with instance_step(instances[rid], commit=False) as step:
                report = step.report
                if report is None or report.status == ReportStatus.submitted:
                    continue
                lifecycle.notify_report(report, "report_reminder", [Role.officer, Role.principal],
                                        by=user.display_name)
                report.last_reminded_at = now
                step.audit("report_reminded", actor_id=user.id, data={"period": report.period})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return len(targets)

