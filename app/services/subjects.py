"""What a process instance is about — its subject: a hazard, an enterprise's periodic report, or a public report.

Every instance belongs to exactly one subject, whose row names it (`instance_id`). The unit of work
(services/unit_of_work.py) reads the subject under the instance's lock; lifecycle writes the engine's snapshot back
to it; its tasks carry its id in one column of `human_task`; its audit events go to its chain; its pages and
notifications link to it. This module is the one place that says, for each kind of subject, which column, which
chain, which page and which organisation holds a lane's role — so that adding a kind adds a row here, not another
if/else in every step.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Hazard, HumanTask, PeriodicReport, PublicReport, Role
from app.services import audit
from app.services.policy import ENTERPRISE_ROLES, GOVERNMENT_ROLES

Subject = Hazard | PeriodicReport | PublicReport


@dataclass(frozen=True)
class SubjectKind:
    name: str                      # "hazard", "report", "public_report"
    model: type
    task_column: str               # the column of human_task that names it
    link: Callable[[int], str]     # its page, by id
    chain: Callable[[int], str] | None  # its audit chain (None: the hazard's own, kept on its row)
    enterprise_lanes: bool         # whether the enterprise's lanes may hold its tasks (never a public report's)


HAZARD = SubjectKind("hazard", Hazard, "hazard_id", lambda i: f"/hazards/{i}", None, True)
REPORT = SubjectKind("report", PeriodicReport, "report_id", lambda i: f"/reports/{i}", audit.report_chain, True)
PUBLIC_REPORT = SubjectKind("public_report", PublicReport, "public_report_id", lambda i: f"/public-reports/{i}",
                            audit.public_report_chain, False)
KINDS = (HAZARD, REPORT, PUBLIC_REPORT)
# The instances that are not a hazard's, looked for in this order when an instance has no hazard.
OTHER_KINDS = (REPORT, PUBLIC_REPORT)


def kind_of(subject: Any) -> SubjectKind:
    for kind in KINDS:
        if isinstance(subject, kind.model):
            return kind
    raise TypeError(f"{type(subject).__name__} is not the subject of a process instance")


def task_ids(subject: Subject) -> dict[str, int]:
    """The column and value that tie a task to its subject."""
    return {kind_of(subject).task_column: subject.id}


def owner_other_than_hazard(instance_id: int) -> Subject | None:
    """The periodic report or public report whose instance this is (with its enterprise), read afresh."""
    for kind in OTHER_KINDS:
        found = db.session.scalars(select(kind.model).where(kind.model.instance_id == instance_id)
                                   .options(joinedload(kind.model.enterprise))
                                   .execution_options(populate_existing=True)).one_or_none()
        if found is not None:
            return found
    return None


def organisation_for(role: Role, subject: Subject) -> int | None:
    """The organisation whose holders of `role` act on the subject's task: the enterprise for its staff (never for a
    public report, which the enterprise does not see), the supervising unit for inspectors."""
    if role in ENTERPRISE_ROLES:
        return subject.enterprise_id if kind_of(subject).enterprise_lanes else None
    if role in GOVERNMENT_ROLES:
        return subject.supervising_unit_id
    return None


def chain_of(subject: Subject) -> str | None:
    """The audit chain of a subject other than a hazard (a hazard's chain is kept on its row: None)."""
    kind = kind_of(subject)
    return kind.chain(subject.id) if kind.chain is not None else None


def task_subject_link(task: HumanTask) -> str:
    """The page where a task is done or read: its hazard's task page, or its report's / public report's page."""
    if task.hazard_id is not None:
        return f"/tasks/{task.id}"
    for kind in OTHER_KINDS:
        subject_id = getattr(task, kind.task_column)
        if subject_id is not None:
            return kind.link(subject_id)
    return f"/tasks/{task.id}"


def load_subjects(tasks: list[HumanTask]) -> None:
    """Read the periodic and public reports of these tasks (not hazards') in one statement per kind, and set each
    task's `subject` (what My work shows and links to)."""
    for kind in OTHER_KINDS:
        column = kind.task_column
        ids = {getattr(t, column) for t in tasks if getattr(t, column) is not None}
        if not ids:
            continue
        rows = {r.id: r for r in db.session.scalars(select(kind.model).where(kind.model.id.in_(ids))
                                                    .options(joinedload(kind.model.enterprise)))}
        for task in tasks:
            if getattr(task, column) is not None:
                task.subject = rows.get(getattr(task, column))


# The columns that name an instance's subject whichever it is (outer joins on its instance): see subject_of_row.
_LABELS = {HAZARD.name: Hazard.number, REPORT.name: PeriodicReport.period, PUBLIC_REPORT.name: PublicReport.tracking_code}


def join_subjects(stmt, instance_id_column):
    """`stmt` with every kind of subject outer-joined on `instance_id_column` and, for each, its id and its label
    (a hazard's number, a periodic report's period, a public report's tracking code) as columns at the end."""
    for kind in KINDS:
        stmt = stmt.outerjoin(kind.model, kind.model.instance_id == instance_id_column)
    return stmt.add_columns(*[c for kind in KINDS for c in (kind.model.id, _LABELS[kind.name])])


@dataclass(frozen=True)
class SubjectRef:
    kind: str
    id: int
    label: str
    link: str


def subject_of_row(values) -> SubjectRef | None:
    """The subject named by the last columns join_subjects added (`values`: those 2 × len(KINDS) values)."""
    for i, kind in enumerate(KINDS):
        subject_id, label = values[2 * i], values[2 * i + 1]
        if subject_id is not None:
            return SubjectRef(kind.name, subject_id, str(label), kind.link(subject_id))
    return None
