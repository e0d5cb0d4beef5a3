"""Where the loop stalls (issue 14): per element of a process version, how many hazards (or reports) wait there
now, and how long people took there — median and 90th percentile — with the share past its deadline.

Read from the human-task table only (never a serialized workflow), for the instances now on the version, within
the administrator's jurisdiction (policy.administered_units: a district administrator sees the tasks of the
hazards and reports its units supervise):

- now: open tasks at the element; overdue now: those past their deadline;
- median / p90: durations (completed_at − created_at) of the element's tasks completed in the last WINDOW_DAYS —
  on PostgreSQL `percentile_cont` in SQL; elsewhere (SQLite) the same continuous percentile in Python over the
  newest SAMPLE_LIMIT durations (a bounded read);
- overdue share: of the element's open tasks and those completed in the window that had a deadline, the share
  past it (now, or when completed).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from app.clock import clock
from app.extensions import db
from app.models import (
    Hazard,
    HumanTask,
    PeriodicReport,
    ProcessInstance,
    ProcessVersion,
    TaskStatus,
    User,
)
from app.services.capabilities import may_administer
from app.services.errors import Forbidden, NotFound
from app.services.paging import Page, paginate
from app.services.policy import administered_units

WINDOW_DAYS = 365
SAMPLE_LIMIT = 20000  # per version, SQLite only


@dataclass
class ElementHeat:
    element_id: str
    title: str
    now: int = 0
    overdue_now: int = 0
    completed: int = 0
    median_seconds: float | None = None
    p90_seconds: float | None = None
    with_deadline: int = 0
    past_deadline: int = 0

    @property
    def overdue_share(self) -> float | None:
        return round(self.past_deadline / self.with_deadline, 4) if self.with_deadline else None

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["overdue_share"] = self.overdue_share
        return found


def percentile(values: list[float], fraction: float) -> float | None:
    """The continuous percentile (linear interpolation between ranks), as PostgreSQL's percentile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _version(user: User, process_key: str, number: int) -> ProcessVersion:
    if not may_administer(user):
        raise Forbidden(_("Only administrators can design and deploy processes."))
    version = db.session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == process_key,
                                                             ProcessVersion.number == number))
    if version is None:
        raise NotFound(_("Version %(n)s of %(key)s does not exist.", n=number, key=process_key))
    return version


def _scope(user: User):
    """The tasks within the user's jurisdiction (None: every task)."""
    units = administered_units(user)
    if units is None:
        return None
    if not units:
        return HumanTask.id.is_(None)
    return or_(HumanTask.hazard_id.in_(select(Hazard.id).where(Hazard.supervising_unit_id.in_(units))),
               HumanTask.report_id.in_(select(PeriodicReport.id).where(PeriodicReport.supervising_unit_id.in_(units))))


def _where(user: User, version: ProcessVersion) -> list:
    where = [HumanTask.instance_id.in_(select(ProcessInstance.id).where(ProcessInstance.version_id == version.id))]
    scope = _scope(user)
    if scope is not None:
        where.append(scope)
    return where


def heat(user: User, process_key: str, number: int) -> dict[str, ElementHeat]:
    """Each element of the version that has tasks, with its figures (administrators only)."""
    version = _version(user, process_key, number)
    now = clock.now()
    since = now - timedelta(days=WINDOW_DAYS)
    where = _where(user, version)
    t = HumanTask
    found: dict[str, ElementHeat] = {}
    is_open = t.status == TaskStatus.open
    done = and_(t.status == TaskStatus.completed, t.completed_at >= since)
    for name, title, open_, overdue_now, completed, with_deadline, past in db.session.execute(
            select(t.spec_name, func.max(t.title), func.count().filter(is_open),
                   func.count().filter(and_(is_open, t.due_at < now)), func.count().filter(done),
                   func.count().filter(and_(or_(is_open, done), t.due_at.is_not(None))),
                   func.count().filter(or_(and_(is_open, t.due_at < now), and_(done, t.completed_at > t.due_at))))
            .where(*where, or_(is_open, done)).group_by(t.spec_name)):
        found[name] = ElementHeat(name, title, open_, overdue_now, completed, with_deadline=with_deadline,
                                  past_deadline=past)
    if db.session.get_bind().dialect.name == "postgresql":
        seconds = func.extract("epoch", t.completed_at - t.created_at)
        for name, median, p90 in db.session.execute(
                select(t.spec_name, func.percentile_cont(0.5).within_group(seconds),
                       func.percentile_cont(0.9).within_group(seconds)).where(*where, done).group_by(t.spec_name)):
            found[name].median_seconds = float(median) if median is not None else None
            found[name].p90_seconds = float(p90) if p90 is not None else None
    else:
        durations: dict[str, list[float]] = {}
        for name, created, completed in db.session.execute(
                select(t.spec_name, t.created_at, t.completed_at).where(*where, done)
                .order_by(t.completed_at.desc()).limit(SAMPLE_LIMIT)):
            durations.setdefault(name, []).append((completed - created).total_seconds())
        for name, values in durations.items():
            found[name].median_seconds = percentile(values, 0.5)
            found[name].p90_seconds = percentile(values, 0.9)
    return found


@dataclass
class WaitingItem:
    task: HumanTask
    kind: str            # "hazard" or "report"
    label: str
    link: str


def waiting_at(user: User, process_key: str, number: int, element_id: str, page: int = 1,
               per_page: int = 50) -> Page:
    """The hazards (and reports) whose open task is at this element now, longest waiting first."""
    version = _version(user, process_key, number)
    t = HumanTask
    stmt = (select(t, Hazard, PeriodicReport).outerjoin(Hazard, Hazard.id == t.hazard_id)
            .outerjoin(PeriodicReport, PeriodicReport.id == t.report_id)
            .where(*_where(user, version), t.status == TaskStatus.open, t.spec_name == element_id[:100]))
    rows = db.session.execute(stmt.order_by(t.created_at, t.id).limit(per_page + 1)
                              .offset((page - 1) * per_page)).all()
    items = []
    for task, hazard, report in rows:
        if hazard is not None:
            items.append(WaitingItem(task, "hazard", f"{hazard.number} · {hazard.title}", f"/hazards/{hazard.id}"))
        elif report is not None:
            items.append(WaitingItem(task, "report", report.number, f"/reports/{report.id}"))
    return paginate(stmt, page, per_page, items)

