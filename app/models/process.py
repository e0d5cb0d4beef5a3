"""Deployed process versions, running instances, human tasks and timers."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, enum_type
from app.models.org import Role


class InstanceStatus(str, enum.Enum):
    running = "running"
    completed = "completed"
    error = "error"


class TaskStatus(str, enum.Enum):
    open = "open"
    completed = "completed"
    cancelled = "cancelled"


class TimerStatus(str, enum.Enum):
    pending = "pending"
    fired = "fired"
    cancelled = "cancelled"
    failed = "failed"  # kept failing when fired; needs an administrator (see last_error)


class TimerKind(str, enum.Enum):
    engine = "engine"          # a timer event of the diagram the instance waits on
    reminder = "reminder"      # before a deadline (derived from a deadline timer's properties)
    overdue = "overdue"        # the moment a deadline passes: the first people are told
    escalation = "escalation"  # a later tier: the supervising inspector, the head of the bureau



class ProcessVersion(Base):
    """One deployed BPMN document; stored once, shared by all its instances."""

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_key", "number"), UniqueConstraint("process_key", "sha256"))
    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    number: Mapped[int]
    bpmn_xml: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=False)
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    deployed_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(String(500))


class ProcessInstance(Base):
    """A running lifecycle: its own serialized state only, never the spec."""

    __tablename__ = "process_instance"
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    state: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(20))
    status: Mapped[InstanceStatus] = mapped_column(enum_type(InstanceStatus, "instance_status"))
    # Bumped on every write; a stale writer matches no row and gets "already handled".
    lock_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    version: Mapped[ProcessVersion] = relationship()
    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012 — SQLAlchemy reads it as is


class HumanTask(Base):
    """A user task waiting for (or done by) a person; the worklist reads only this table."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_queue", "status", "role", "organisation_id"),
        Index("ix_human_task_assignee", "assignee_id", "status"),
        Index("ix_human_task_instance", "instance_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazard.id"), index=True)
    # A task of an instance that is not a hazard's: the enterprise's periodic report (models/report.py).
    report_id: Mapped[int | None] = mapped_column(ForeignKey("periodic_report.id"), index=True)
    # A task of a public report's triage (models/public_report.py).
    public_report_id: Mapped[int | None] = mapped_column(ForeignKey("public_report.id"), index=True)
    task_uuid: Mapped[str] = mapped_column(String(36))
    spec_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    form_key: Mapped[str] = mapped_column(String(100))
    # The form version the task was given; editing the form later does not change this task's form.
    form_version_id: Mapped[int | None] = mapped_column(ForeignKey("form_version.id"))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    # The lane's owners more narrowly than the role (policy.LaneOwner): only the bureau heads (局领导), or only
    # the holders of a position (then `role` is any role of the position's kind).
    bureau_head: Mapped[bool] = mapped_column(default=False)
    position_id: Mapped[int | None] = mapped_column(ForeignKey("position.id"))
    # Four-eyes (the task's `differentPersonFrom`): the person who completed that earlier step may not do this one.
    excluded_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[TaskStatus] = mapped_column(enum_type(TaskStatus, "task_status"))
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    hazard = relationship("Hazard", foreign_keys=[hazard_id])
    assignee = relationship("User", foreign_keys=[assignee_id])


class Timer(Base):
    """Due work of an instance; the scheduler selects only rows that are due.

    An ``engine`` row is a timer event the instance waits on.  A deadline timer (one with a
    ``deadline`` property) also gets reminder/overdue/escalation rows, computed from its fire time
    and the ladder configured on the diagram; they name it by its ``task_uuid`` within the instance.
    """

    __tablename__ = "timer"
    __table_args__ = (Index("ix_timer_due", "status", "due_at", "id"),)  # id: the claim's tie-break
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_uuid: Mapped[str] = mapped_column(String(36))
    spec_name: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime]
    status: Mapped[TimerStatus] = mapped_column(enum_type(TimerStatus, "timer_status"))
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    kind: Mapped[TimerKind] = mapped_column(enum_type(TimerKind, "timer_kind"), default=TimerKind.engine)
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazard.id"), index=True)
    watch_task_uuid: Mapped[str | None] = mapped_column(String(36))  # the user task a deadline is for
    deadline: Mapped[str | None] = mapped_column(String(30))         # rectification | supervision | ...
    anchor_at: Mapped[datetime | None]    # the deadline an alert was computed from
    offset_days: Mapped[int | None]       # alert time relative to the deadline (negative: before)
    audience: Mapped[str | None] = mapped_column(String(100))        # e.g. "officer,principal"
    late: Mapped[bool] = mapped_column(default=False)                # fired noticeably after due_at
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    instance = relationship("ProcessInstance", foreign_keys=[instance_id])  # written after its instance


class ProcessRule(Base):
    """Which process a new hazard starts: the first rule (lowest position) whose conditions all hold.

    A condition left empty matches anything; no rule matching means the shipped lifecycle (the default).
    """

    __tablename__ = "process_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(index=True)
    process_key: Mapped[str] = mapped_column(String(100))
    source: Mapped[str | None] = mapped_column(String(40))      # the report's source (government_inspection, ...)
    industry: Mapped[str | None] = mapped_column(String(60))    # the enterprise's industry
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))  # the enterprise's region or above
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]


class StepFailure(Base):
    """A completion of a waiting task that the engine refused because of the diagram (a condition reading a
    missing name, a failing script, no flow taken at a gateway): nothing of the step was written, so this row,
    written on its own, is what tells the administrator (the process library's failing instances). One row a
    task; a later refusal of the same task counts up."""

    __tablename__ = "step_failure"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), unique=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    element_id: Mapped[str | None] = mapped_column(String(100))  # where the engine stopped, when it says
    reason: Mapped[str] = mapped_column(Text)                    # the engine's words, for the administrator only
    attempts: Mapped[int] = mapped_column(default=1)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
