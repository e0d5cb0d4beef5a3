"""Persisting engine steps: instance state, human tasks, timers and the hazard read model, in one transaction."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from app.clock import clock
from app.engine import EngineError, Snapshot
from app.extensions import db
from app.models import Hazard, HumanTask, InstanceStatus, ProcessInstance, TaskStatus, Timer, TimerStatus
from app.engine.runtime import SERIALIZER_VERSION
from app.services.assignment import organisation_for, role_for_lane
from app.services.errors import Conflict

CHINA = timezone(timedelta(hours=8))
FINAL_STATUSES = {"closed", "written_off"}


def end_of_day(day: date) -> datetime:
    """Deadlines are whole days in China Standard Time."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=CHINA).astimezone(timezone.utc)


def lock_instance(instance_id: int) -> ProcessInstance:
    """Take the instance's row lock (PostgreSQL) — the one lock discipline for web and scheduler.

    On SQLite the database's single writer plus the instance's version column give the same
    guarantee: a stale writer matches no row and gets a Conflict.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"SET LOCAL lock_timeout = '{int(current_app.config['LOCK_TIMEOUT_MS'])}ms'"))
    try:
        return db.session.scalars(select(ProcessInstance).where(ProcessInstance.id == instance_id)
                                  .with_for_update().execution_options(populate_existing=True)).one()
    except OperationalError:
        db.session.rollback()
        raise Conflict(_("This hazard is being updated by someone else right now; try again in a moment.")) \
            from None


def _parse_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def new_instance(version_id: int, snapshot: Snapshot) -> ProcessInstance:
    now = clock.now()
    instance = ProcessInstance(version_id=version_id, state=snapshot.state, serializer_version=SERIALIZER_VERSION,
                               status=InstanceStatus.running, created_at=now, updated_at=now)
    db.session.add(instance)
    db.session.flush()
    return instance


def apply_snapshot(instance: ProcessInstance, hazard: Hazard, snapshot: Snapshot, *,
                   completed_task_uuid: str | None = None, actor_id: int | None = None) -> list[HumanTask]:
    """Write an engine step back: state, human tasks, timers, read model. Returns the new tasks."""
    now = clock.now()
    instance.state = snapshot.state
    instance.serializer_version = SERIALIZER_VERSION
    instance.updated_at = now
    if snapshot.completed:
        instance.status, instance.completed_at = InstanceStatus.completed, now

    _update_read_model(hazard, snapshot, now)
    created = _sync_human_tasks(instance, hazard, snapshot, completed_task_uuid, actor_id, now)
    _sync_timers(instance, snapshot, now)
    return created


def _update_read_model(hazard: Hazard, snapshot: Snapshot, now: datetime) -> None:
    data = snapshot.data
    hazard.grade = data.get("grade", hazard.grade)
    hazard.responsible_person = data.get("responsible_person", hazard.responsible_person)
    hazard.rectification_deadline = _parse_date(data.get("rectification_deadline")) or hazard.rectification_deadline
    hazard.listed = bool(data.get("listed", hazard.listed))
    hazard.notice_number = data.get("notice_number", hazard.notice_number)
    hazard.supervision_deadline = _parse_date(data.get("supervision_deadline")) or hazard.supervision_deadline
    if snapshot.completed:
        hazard.status = snapshot.end_status or "closed"
        hazard.current_step = None
        hazard.closed_at = now
    else:
        statuses = [t.status for t in snapshot.ready_tasks if t.status]
        hazard.status = statuses[0] if statuses else "waiting"
        hazard.current_step = "、".join(t.title for t in snapshot.ready_tasks)[:200] or None
    hazard.overdue = (hazard.status not in FINAL_STATUSES and hazard.rectification_deadline is not None
                      and end_of_day(hazard.rectification_deadline) < now)
    hazard.updated_at = now


def _task_due(hazard: Hazard, status: str | None) -> datetime | None:
    if status == "rectifying" and hazard.rectification_deadline:
        return end_of_day(hazard.rectification_deadline)
    return None


def _sync_human_tasks(instance: ProcessInstance, hazard: Hazard, snapshot: Snapshot,
                      completed_task_uuid: str | None, actor_id: int | None, now: datetime) -> list[HumanTask]:
    open_rows = {t.task_uuid: t for t in db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.open))}
    ready = {t.uuid: t for t in snapshot.ready_tasks}
    for uuid, row in open_rows.items():
        if uuid not in ready:
            row.status = TaskStatus.completed if uuid == completed_task_uuid else TaskStatus.cancelled
            row.completed_at = now
            row.completed_by_id = actor_id if uuid == completed_task_uuid else None
    created = []
    for uuid, info in ready.items():
        if uuid in open_rows:
            continue
        role = role_for_lane(info.lane)
        if role is None:
            raise EngineError(f"task {info.name} is in lane {info.lane!r}, which names no role")
        org = organisation_for(role, hazard)
        if org is None:
            raise EngineError(f"no organisation holds the role {role.value} for hazard {hazard.number}")
        row = HumanTask(instance_id=instance.id, hazard_id=hazard.id, task_uuid=uuid, spec_name=info.name,
                        title=info.title, form_key=info.form_key or "", role=role, organisation_id=org,
                        status=TaskStatus.open, created_at=now, due_at=_task_due(hazard, info.status))
        db.session.add(row)
        created.append(row)
    return created


def _sync_timers(instance: ProcessInstance, snapshot: Snapshot, now: datetime) -> None:
    pending = {t.task_uuid: t for t in db.session.scalars(select(Timer).where(
        Timer.instance_id == instance.id, Timer.status == TimerStatus.pending))}
    waiting = {t.uuid: t for t in snapshot.timers}
    for uuid, row in pending.items():
        if uuid not in waiting:
            row.status = TimerStatus.fired if row.due_at <= now else TimerStatus.cancelled
            row.fired_at = now if row.status == TimerStatus.fired else None
        elif row.due_at != waiting[uuid].due_at:
            row.due_at = waiting[uuid].due_at
    for uuid, info in waiting.items():
        if uuid not in pending:
            db.session.add(Timer(instance_id=instance.id, task_uuid=uuid, spec_name=info.name,
                                 due_at=info.due_at, status=TimerStatus.pending, created_at=now))
