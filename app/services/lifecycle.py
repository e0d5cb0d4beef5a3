"""Persisting engine steps: instance state, human tasks, timers and the hazard read model, in one transaction."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, insert, select

from app.chinatime import end_of_day, parse_date
from app.clock import clock
from app.engine import EngineError, Snapshot
from app.engine.runtime import SERIALIZER_VERSION
from app.engine.specs import ParsedProcess
from app.extensions import db
from app.models import (
    FINAL_STATUSES,
    Hazard,
    HazardStatus,
    HumanTask,
    InstanceStatus,
    ProcessInstance,
    TaskStatus,
    Timer,
    TimerKind,
    TimerStatus,
)
from app.services import deadlines, forms, statistics
from app.services.policy import organisation_for, role_for_lane

# What a hazard's instance starts with: the names its diagram's conditions and scripts may read from the start.
START_DATA = ("hazard_id", "hazard_number", "title", "hazard_type", "source")


def start_data(hazard: Hazard) -> dict:
    """The data a hazard's instance starts on (its diagram sees these names)."""
    return {"hazard_id": hazard.id, "hazard_number": hazard.number, "title": hazard.title,
            "hazard_type": hazard.hazard_type, "source": hazard.source}


def new_instance(version_id: int, snapshot: Snapshot) -> ProcessInstance:
    now = clock.now()
    instance = ProcessInstance(version_id=version_id, state=snapshot.state, serializer_version=SERIALIZER_VERSION,
                               status=InstanceStatus.running, created_at=now, updated_at=now)
    db.session.add(instance)
    db.session.flush()
    return instance


def apply_snapshot(instance: ProcessInstance, hazard: Hazard, snapshot: Snapshot, *, parsed: ParsedProcess,
                   open_rows: dict[str, HumanTask] | None, completed_task_uuid: str | None = None,
                   actor_id: int | None = None) -> list[HumanTask]:
    """Write an engine step back: state, human tasks, timers, read model. Returns the new tasks.

    Called by the unit of work (services/unit_of_work.py) under the instance's lock. `open_rows`: the
    instance's open tasks by engine UUID as read under the lock (None: read them here). Nothing is
    flushed before the commit unless a fired timer needs its row's id for the audit trail: every row
    this writes goes out in one flush, one statement per table.
    """
    now = clock.now()
    with db.session.no_autoflush:
        instance.state = snapshot.state
        instance.serializer_version = SERIALIZER_VERSION
        instance.updated_at = now
        if snapshot.completed:
            instance.status, instance.completed_at = InstanceStatus.completed, now

        _update_read_model(hazard, snapshot, now)
        task_due = _deadlines_of_ready_tasks(parsed, snapshot)
        if open_rows is None:
            open_rows = {t.task_uuid: t for t in db.session.scalars(
                select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.open)
                .execution_options(populate_existing=True))}
        created, still_open = _sync_human_tasks(instance, hazard, snapshot, open_rows, completed_task_uuid,
                                                actor_id, now, task_due)
        # Overdue = a step still open past its deadline; an approved extension clears it.
        hazard.overdue = hazard.status not in FINAL_STATUSES and any(
            t.due_at is not None and t.due_at <= now for t in still_open)
        rows, fired = _sync_timers(instance, hazard, parsed, snapshot, now)
        alerts = deadlines.after_step(instance, hazard, parsed, rows, fired, snapshot.task_timers, now)
        _insert_timers([row for row in rows if row not in db.session] + alerts)
    return created


def _insert_timers(rows: list[Timer]) -> None:
    """New timer rows that nothing in this step refers to by id, in one Core executemany.

    Through the ORM they would go out as one INSERT … RETURNING with a parameter per column and row, which the
    driver parses anew for every step (too many parameters for its statement cache); these rows need no id back.
    """
    if rows:
        columns = [c.key for c in Timer.__table__.columns if c.key != "id"]
        db.session.execute(insert(Timer.__table__), [{c: getattr(row, c) for c in columns} for row in rows])


def _deadlines_of_ready_tasks(parsed, snapshot: Snapshot) -> dict[str, datetime]:
    """Each ready task's deadline: the earliest deadline timer (one with a `deadline` property) on it."""
    due: dict[str, datetime] = {}
    for task_uuid, timers in snapshot.task_timers.items():
        for timer in timers:
            if deadlines.deadline_kind(parsed, timer.name) and timer.due_at is not None:
                due[task_uuid] = min(due.get(task_uuid, timer.due_at), timer.due_at)
    return due


def _update_read_model(hazard: Hazard, snapshot: Snapshot, now: datetime) -> None:
    data = snapshot.data
    hazard.grade = data.get("grade", hazard.grade)
    hazard.responsible_person = data.get("responsible_person", hazard.responsible_person)
    hazard.rectification_deadline = parse_date(data.get("rectification_deadline")) or hazard.rectification_deadline
    hazard.listed = bool(data.get("listed", hazard.listed))
    hazard.notice_number = data.get("notice_number", hazard.notice_number)
    hazard.supervision_deadline = parse_date(data.get("supervision_deadline")) or hazard.supervision_deadline
    hazard.five_in_place, hazard.plan_funds, hazard.funds_spent = statistics.plan_figures(data)
    for name, value in statistics.plan_items(data).items():
        setattr(hazard, name, value)
    tier = data.get("supervision_tier")
    hazard.supervision_tier = str(tier)[:20] if hazard.listed and tier else None
    if snapshot.completed:
        hazard.status = _status(snapshot.end_status or HazardStatus.closed)
        hazard.current_step = None
        hazard.closed_at = now
    else:
        statuses = [t.status for t in snapshot.ready_tasks if t.status]
        hazard.status = _status(statuses[0]) if statuses else HazardStatus.waiting
        hazard.current_step = "、".join(t.title for t in snapshot.ready_tasks)[:200] or None
    hazard.updated_at = now


def _status(value: str) -> HazardStatus:
    """A step's status from the diagram (deploying refuses one that is not a hazard status)."""
    try:
        return HazardStatus(value)
    except ValueError:
        raise EngineError(f"the status {value!r} of the current step is not a hazard status") from None


def _task_due(hazard: Hazard, status: str | None) -> datetime | None:
    if status == HazardStatus.rectifying and hazard.rectification_deadline:
        return end_of_day(hazard.rectification_deadline)
    return None


def _sync_human_tasks(instance: ProcessInstance, hazard: Hazard, snapshot: Snapshot,
                      open_rows: dict[str, HumanTask], completed_task_uuid: str | None, actor_id: int | None,
                      now: datetime, task_due: dict[str, datetime]) -> tuple[list[HumanTask], list[HumanTask]]:
    ready = {t.uuid: t for t in snapshot.ready_tasks}
    for uuid, row in open_rows.items():
        if uuid not in ready:
            row.status = TaskStatus.completed if uuid == completed_task_uuid else TaskStatus.cancelled
            row.completed_at = now
            row.completed_by_id = actor_id if uuid == completed_task_uuid else None
        else:  # a deadline may have moved (an approved extension)
            due = task_due.get(uuid) or _task_due(hazard, ready[uuid].status)
            if due != row.due_at:
                row.due_at = due
    still_open = [row for uuid, row in open_rows.items() if uuid in ready]
    created = []
    for uuid, info in ready.items():
        if uuid in open_rows:
            continue
        role = role_for_lane(info.lane)
        if role is None:
            raise EngineError(f"task {info.name} is in lane {info.lane!r}, which names no role", info.name)
        org = organisation_for(role, hazard)
        if org is None:
            raise EngineError(f"no organisation holds the role {role.value} for hazard {hazard.number}", info.name)
        row = HumanTask(instance_id=instance.id, hazard_id=hazard.id, task_uuid=uuid, spec_name=info.name,
                        title=info.title, form_key=info.form_key or "", role=role, organisation_id=org,
                        form_version_id=forms.active_version_id_clause(info.form_key),
                        status=TaskStatus.open, created_at=now,
                        due_at=task_due.get(uuid) or _task_due(hazard, info.status))
        db.session.add(row)
        created.append(row)
    return created, still_open + created


_TIMERS_OF = select(Timer).where(Timer.instance_id == bindparam("instance_id"))


def _sync_timers(instance: ProcessInstance, hazard: Hazard, parsed, snapshot: Snapshot,
                 now: datetime) -> tuple[list[Timer], list[Timer]]:
    """Mirror the engine's timers into the timer table; returns (all rows, engine rows fired now)."""
    rows = list(db.session.scalars(_TIMERS_OF, {"instance_id": instance.id}))
    engine = {t.task_uuid: t for t in rows if t.kind == TimerKind.engine}
    waiting = {t.uuid: t for t in snapshot.timers}
    fired_now = {t.uuid: t for t in snapshot.fired_timers}
    late_after = timedelta(seconds=current_app.config.get("SCHEDULER_LATE_SECONDS", 300))
    fired: list[Timer] = []
    for uuid, row in engine.items():
        if row.status != TimerStatus.pending:
            continue
        if uuid in waiting:
            if row.due_at != waiting[uuid].due_at:
                row.due_at = waiting[uuid].due_at
        elif uuid in fired_now:
            row.status, row.fired_at, row.late = TimerStatus.fired, now, now - row.due_at > late_after
            fired.append(row)
        else:
            row.status = TimerStatus.cancelled  # its task was done first, or the timer was interrupted
    for info in snapshot.timers + snapshot.fired_timers:
        if info.uuid in engine:
            continue
        done = info.uuid in fired_now  # a timer that fell due within this very step
        row = Timer(instance_id=instance.id, task_uuid=info.uuid, spec_name=info.name,
                    due_at=info.due_at or now, created_at=now, kind=TimerKind.engine, hazard_id=hazard.id,
                    watch_task_uuid=info.attached_to, deadline=deadlines.deadline_kind(parsed, info.name),
                    status=TimerStatus.fired if done else TimerStatus.pending, fired_at=now if done else None,
                    late=False, attempts=0)
        if done:
            db.session.add(row)  # an id for the audit trail (below)
        rows.append(row)
        engine[info.uuid] = row
        if done:
            fired.append(row)
    if fired:
        db.session.flush()  # the audit trail names the fired rows by id
    return rows, fired
