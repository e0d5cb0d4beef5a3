"""Persisting engine steps: instance state, human tasks, timers and the hazard read model, in one transaction."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, insert, select

from app.chinatime import china_date, end_of_day, parse_date
from app.clock import clock
from app.engine import EngineError, Snapshot
from app.engine.runtime import SERIALIZER_VERSION
from app.engine.specs import ParsedProcess
from app.extensions import db
from app.models import (
    Hazard,
    HazardStatus,
    HumanTask,
    InstanceStatus,
    PeriodicReport,
    ProcessInstance,
    PublicReport,
    PublicReportStatus,
    PublicReward,
    ReportStatus,
    RewardStatus,
    Role,
    TaskStatus,
    Timer,
    TimerKind,
    TimerStatus,
)
from app.services import audit, deadlines, forms, notifications, statistics, statuses, subjects
from app.services.policy import lane_owner, people, role_for_lane, task_owners, unit_chain

# What a hazard's instance starts with: the names its diagram's conditions and scripts may read from the start.
START_DATA = ("hazard_id", "hazard_number", "title", "hazard_type", "source")


# The enterprise's periodic report (services/periodic_reports.py) is a process whose instance is not a hazard's:
# its instance starts on these names instead (the deadline timer reads `due_at`).
REPORT_PROCESS = "enterprise_report"
REPORT_START_DATA = ("report_id", "period", "period_start", "period_end", "due_date", "due_at")
# A public report's triage (services/public_answers.py): its instance starts on these; each answer adds `decision`
# (accept, merge, refer, reject) and `has_contact`, a reward proposal `reward` (propose, none), the bureau head's
# decision `reward_decision` (approve, refuse).
TRIAGE_PROCESS = "public_report_triage"
TRIAGE_START_DATA = ("public_report_id", "tracking_code", "has_enterprise", "has_contact")


def start_names(process_key: str) -> tuple[str, ...]:
    """The names an instance of this process starts with (what its conditions and timers may read)."""
    return {REPORT_PROCESS: REPORT_START_DATA, TRIAGE_PROCESS: TRIAGE_START_DATA}.get(process_key, START_DATA)


def sample_start_data(process_key: str, hazard: Hazard) -> dict:
    """What the dry run (services/dry_run.py) starts a process on: a sample hazard's data, a sample periodic
    report's, or a sample public report's."""
    if process_key == TRIAGE_PROCESS:
        return {"public_report_id": 0, "tracking_code": "SAMPLE0000", "has_enterprise": True, "has_contact": True}
    if process_key != REPORT_PROCESS:
        return start_data(hazard)
    due = clock.now() + timedelta(days=15)
    return {"report_id": 0, "period": "2026Q4", "period_start": "2026-10-01", "period_end": "2026-12-31",
            "due_date": due.date().isoformat(), "due_at": due.isoformat()}


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
        _write_state(instance, snapshot, now)

        _update_read_model(hazard, snapshot, now)
        task_due = _deadlines_of_ready_tasks(parsed, snapshot)
        open_rows = _open_rows(instance, open_rows)
        created, still_open = _sync_human_tasks(instance, hazard, snapshot, open_rows, completed_task_uuid,
                                                actor_id, now, task_due, parsed)
        # Overdue = a step still open past its deadline; an approved extension clears it.
        hazard.overdue = not statuses.is_final(hazard.status) and any(
            t.due_at is not None and t.due_at <= now for t in still_open)
        rows, fired = _sync_timers(instance, hazard, parsed, snapshot, now)
        alerts = deadlines.after_step(instance, hazard, parsed, rows, fired, snapshot.task_timers, now)
        _insert_timers([row for row in rows if row not in db.session] + alerts)
    return created


def _write_state(instance: ProcessInstance, snapshot: Snapshot, now: datetime) -> None:
    instance.state = snapshot.state
    instance.serializer_version = SERIALIZER_VERSION
    instance.updated_at = now
    if snapshot.completed:
        instance.status, instance.completed_at = InstanceStatus.completed, now


def _open_rows(instance: ProcessInstance, open_rows: dict[str, HumanTask] | None) -> dict[str, HumanTask]:
    """The instance's open tasks by engine UUID: as read under the lock, or read now."""
    if open_rows is not None:
        return open_rows
    return {t.task_uuid: t for t in db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.open)
        .execution_options(populate_existing=True))}


def apply_report_snapshot(instance: ProcessInstance, report: PeriodicReport, snapshot: Snapshot, *,
                          parsed: ParsedProcess, open_rows: dict[str, HumanTask] | None,
                          completed_task_uuid: str | None = None, actor_id: int | None = None) -> list[HumanTask]:
    """`apply_snapshot` for an instance that is not a hazard's: the enterprise's periodic report.

    The same state, human tasks and timers; the read model is the report's row (status, figures, remarks,
    late). Its deadline timer firing, or a submission after the due date, marks it late; the first time, the
    enterprise's safety officers and principals are told (services/periodic_reports.py says what a report is).
    """
    now = clock.now()
    with db.session.no_autoflush:
        _update_report(report, snapshot, now, actor_id)
        created, fired = _apply_without_hazard(instance, report, snapshot, parsed, open_rows, completed_task_uuid,
                                               actor_id, now)
        deadline_passed = any(row.deadline for row in fired) or (
            snapshot.completed and now > end_of_day(report.due_date))
        if deadline_passed and not report.late:
            report.late = True
            audit.record("report_late", actor_id=None, chain=audit.report_chain(report.id),
                         data={"period": report.period, "due_date": report.due_date.isoformat()})
            notify_report(report, "report_overdue", [Role.officer, Role.principal])
    return created


def _apply_without_hazard(instance: ProcessInstance, subject: PeriodicReport | PublicReport, snapshot: Snapshot,
                          parsed: ParsedProcess, open_rows: dict[str, HumanTask] | None,
                          completed_task_uuid: str | None, actor_id: int | None,
                          now: datetime) -> tuple[list[HumanTask], list[Timer]]:
    """What every instance that is not a hazard's writes back: its state, human tasks, timers and the reminders
    before its deadline; returns (the tasks opened, the engine timers fired now)."""
    _write_state(instance, snapshot, now)
    task_due = _deadlines_of_ready_tasks(parsed, snapshot)
    open_rows = _open_rows(instance, open_rows)
    created, _open = _sync_human_tasks(instance, subject, snapshot, open_rows, completed_task_uuid, actor_id,
                                       now, task_due, parsed)
    rows, fired = _sync_timers(instance, subject, parsed, snapshot, now)
    reminders = [] if snapshot.completed else _planned_reminders(instance, parsed, rows, snapshot, now)
    _insert_timers([row for row in rows if row not in db.session] + reminders)
    return created, fired


def _planned_reminders(instance: ProcessInstance, parsed: ParsedProcess, rows: list[Timer], snapshot: Snapshot,
                       now: datetime) -> list[Timer]:
    """Reminder rows before the deadline of an instance that is not a hazard's (a report's due date, a public
    report's first answer), on the days its deadline timer's ladder names (`remindDaysBefore`, as for a hazard's
    deadline: services/deadlines.py); each reminder once per deadline, whichever step is open."""
    planned = {(r.anchor_at, r.offset_days) for r in rows if r.kind == TimerKind.reminder}
    found: list[Timer] = []
    for task_uuid, infos in snapshot.task_timers.items():
        for info in infos:
            meta = parsed.timer_events.get(info.name)
            if meta is None or not meta.properties.get("deadline") or info.due_at is None:
                continue
            for step in deadlines.ladder(parsed.properties, meta.properties):
                due = info.due_at + timedelta(days=step.offset_days)
                if step.kind != TimerKind.reminder or due <= now or (info.due_at, step.offset_days) in planned:
                    continue
                planned.add((info.due_at, step.offset_days))
                found.append(Timer(instance_id=instance.id, task_uuid=info.uuid, spec_name=info.name, due_at=due,
                                   status=TimerStatus.pending, created_at=now, kind=TimerKind.reminder,
                                   watch_task_uuid=task_uuid, deadline=meta.properties["deadline"],
                                   anchor_at=info.due_at, offset_days=step.offset_days,
                                   audience=",".join(step.audience), late=False, attempts=0))
    return found


def fire_report_reminder(alert: Timer, report: PeriodicReport, now: datetime) -> bool:
    """A reminder before a report's due date: its audience is told, unless it was submitted (or is late) meanwhile
    or its day has passed.
    The caller (the scheduler) holds the instance lock and commits."""
    if report.status == ReportStatus.submitted or report.late or now - alert.due_at > timedelta(days=1):
        alert.status = TimerStatus.cancelled  # done, or its day has passed (a scheduler that was down)
        return False
    alert.status, alert.fired_at = TimerStatus.fired, now
    roles = [Role(who) for who in (alert.audience or "officer").split(",") if who in ("officer", "principal")]
    days = abs(alert.offset_days or 0)
    notify_report(report, "report_due_soon", roles or [Role.officer], days=days)
    audit.record("deadline_reminder", actor_id=None, chain=audit.report_chain(report.id), task_spec=alert.spec_name,
                 data={"timer": alert.id, "deadline": alert.deadline, "days": alert.offset_days,
                       "deadline_at": (alert.anchor_at or alert.due_at).isoformat(), "audience": alert.audience})
    return True


def record_report_figures(report: PeriodicReport, data: dict) -> None:
    """The figures and remarks a step's data carries, onto the report's row. The step recording them calls it too
    (services/periodic_reports.py): with parallel steps open, the instance's data is a branch's that may not have
    them."""
    if data.get("figures") is not None:
        report.figures = json.dumps(data["figures"], ensure_ascii=False, sort_keys=True)
    report.remarks = data.get("remarks", report.remarks)


def _update_report(report: PeriodicReport, snapshot: Snapshot, now: datetime, actor_id: int | None) -> None:
    data = snapshot.data
    record_report_figures(report, data)
    if data.get("sign_decision") == "return":
        report.return_reason = data.get("return_reason", report.return_reason)
    if snapshot.completed:
        report.status, report.submitted_at, report.signed_by_id = ReportStatus.submitted, now, actor_id
    else:
        # Waiting for the principal when a step in the principal's lane is open (whatever form the designer gave it).
        signing = any(role_for_lane(t.lane) == Role.principal for t in snapshot.ready_tasks)
        report.status = ReportStatus.signing if signing else ReportStatus.preparing
    report.updated_at = now


def apply_triage_snapshot(instance: ProcessInstance, report: PublicReport, snapshot: Snapshot, *,
                          parsed: ParsedProcess, open_rows: dict[str, HumanTask] | None,
                          completed_task_uuid: str | None = None, actor_id: int | None = None) -> list[HumanTask]:
    """`apply_snapshot` for a public report's triage (bpmn/public_report_triage.bpmn): the same state, human tasks
    (in the lanes of the report's supervising unit — the enterprise's lanes hold nothing of it), timers and
    reminders. What the answer does to the database (a hazard opened, a merge, another unit, a reward) the service
    did before running the step (services/public_answers.py); this marks the first answer overdue when its deadline
    timer fires, and tells the unit's inspectors and the heads of the bureau."""
    now = clock.now()
    with db.session.no_autoflush:
        created, fired = _apply_without_hazard(instance, report, snapshot, parsed, open_rows, completed_task_uuid,
                                               actor_id, now)
        report.updated_at = now
        for row in fired:
            if not row.deadline:
                continue
            report.overdue_told_at = now
            audit.record("deadline_overdue", actor_id=None, chain=audit.public_report_chain(report.id),
                         task_spec=row.spec_name, data={"timer": row.id, "deadline": row.deadline,
                                                        "deadline_at": row.due_at.isoformat(), "days": 0})
            heads = unit_chain(report.supervising_unit_id)
            notifications.notify(people(heads, Role.inspector), "public_report_overdue",
                                 {"code": report.tracking_code, "due": china_date(row.due_at).isoformat()},
                                 link=f"/public-reports/{report.id}")
    return created


def fire_triage_reminder(alert: Timer, report: PublicReport, now: datetime,
                         tasks: dict[tuple[int, str], HumanTask]) -> bool:
    """A reminder before a public report's first-answer deadline: the unit's inspectors are told, unless the task it
    watches was done meanwhile or its day has passed. The caller (the scheduler) holds the instance lock and
    commits."""
    watched = tasks.get((alert.instance_id, alert.watch_task_uuid or ""))
    if watched is None or watched.status != TaskStatus.open or now - alert.due_at > timedelta(days=1):
        alert.status = TimerStatus.cancelled
        return False
    alert.status, alert.fired_at = TimerStatus.fired, now
    deadline_at = alert.anchor_at or alert.due_at
    notifications.notify(people(unit_chain(report.supervising_unit_id), Role.inspector), "public_report_due_soon",
                         {"code": report.tracking_code, "due": china_date(deadline_at).isoformat(),
                          "days": abs(alert.offset_days or 0)}, link=f"/public-reports/{report.id}")
    audit.record("deadline_reminder", actor_id=None, chain=audit.public_report_chain(report.id),
                 task_spec=alert.spec_name,
                 data={"timer": alert.id, "deadline": alert.deadline, "days": alert.offset_days,
                       "deadline_at": deadline_at.isoformat(), "audience": alert.audience})
    return True


def notify_subject_task(subject: PeriodicReport | PublicReport, task: HumanTask, *, returned: bool) -> None:
    """Tell the people who may do a task of an instance that is not a hazard's that it arrived (a link to the
    subject's page): a periodic report's enterprise staff, a public report's inspectors or bureau heads."""
    if isinstance(subject, PeriodicReport):
        notify_report(subject, "report_returned" if returned else "report_task", [task.role], step=task.title)
        return
    reward = db.session.scalar(select(PublicReward).where(PublicReward.public_report_id == subject.id,
                                                          PublicReward.status == RewardStatus.proposed))
    due = china_date(task.due_at).isoformat() if task.due_at else ""
    if task.bureau_head and reward is not None:  # the 局领导 decide the proposed reward
        kind, params = "public_reward_proposed", {"code": subject.tracking_code, "amount": f"{reward.amount / 100:,.2f}",
                                                  "proposer": reward.proposed_by.display_name}
    elif subject.status in (PublicReportStatus.received, PublicReportStatus.referred):
        # Not answered yet (received, or referred to this unit): whichever step the diagram opens first.
        kind, params = "public_report_received", {"code": subject.tracking_code, "step": task.title, "due": due}
    else:
        kind, params = "public_triage_task", {"code": subject.tracking_code, "step": task.title, "due": due}
    notifications.notify(task_owners(task), kind, params, link=f"/public-reports/{subject.id}")


def notify_report(report: PeriodicReport, kind: str, roles: list[Role], **extra) -> list:
    """Tell the enterprise's people in `roles` about its report (a link to the report's page)."""
    params = {"period": report.period, "enterprise": report.enterprise.name if report.enterprise else "",
              "due": report.due_date.isoformat(), **extra}
    return notifications.notify(people(report.enterprise_id, roles), kind, params, link=f"/reports/{report.id}")


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


def _status(value: str) -> HazardStatus | str:
    """A step's status from the diagram: a built-in one, or one the administrators added to the vocabulary
    (deploying refuses any other)."""
    try:
        return HazardStatus(value)
    except ValueError:
        if statuses.known(value):
            return value
        raise EngineError(f"the status {value!r} of the current step is not a hazard status") from None


def _task_due(hazard: subjects.Subject, status: str | None) -> datetime | None:
    if isinstance(hazard, Hazard) and status == HazardStatus.rectifying and hazard.rectification_deadline:
        return end_of_day(hazard.rectification_deadline)
    return None


def _sync_human_tasks(instance: ProcessInstance, hazard: subjects.Subject, snapshot: Snapshot,
                      open_rows: dict[str, HumanTask], completed_task_uuid: str | None, actor_id: int | None,
                      now: datetime, task_due: dict[str, datetime],
                      parsed: ParsedProcess) -> tuple[list[HumanTask], list[HumanTask]]:
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
        owner = lane_owner(info.lane)
        if owner is None:
            raise EngineError(f"task {info.name} is in lane {info.lane!r}, which names no role", info.name)
        org = subjects.organisation_for(owner.role, hazard)
        if org is None:
            raise EngineError(f"no organisation holds the role {owner.role.value} for {getattr(hazard, 'number', hazard.id)}",
                              info.name)
        meta = parsed.user_tasks.get(info.name)
        excluded = None
        if meta is not None and meta.different_person_from is not None:
            excluded = _doer_of(instance.id, meta.different_person_from, open_rows, completed_task_uuid, actor_id)
        row = HumanTask(instance_id=instance.id, **subjects.task_ids(hazard), task_uuid=uuid, spec_name=info.name,
                        title=info.title, form_key=info.form_key or "", role=owner.role, organisation_id=org,
                        bureau_head=owner.bureau_head, position_id=owner.position_id, excluded_user_id=excluded,
                        form_version_id=forms.active_version_id_clause(info.form_key),
                        status=TaskStatus.open, created_at=now,
                        due_at=task_due.get(uuid) or _task_due(hazard, info.status))
        db.session.add(row)
        created.append(row)
    return created, still_open + created


def _doer_of(instance_id: int, spec_name: str, open_rows: dict[str, HumanTask], completed_task_uuid: str | None,
             actor_id: int | None) -> int | None:
    """Who did the latest run of an earlier user task of this instance (four-eyes): the person completing it in
    this very step, or else the last one recorded as completing it."""
    done_now = open_rows.get(completed_task_uuid or "")
    if done_now is not None and done_now.spec_name == spec_name:
        return actor_id
    return db.session.scalar(select(HumanTask.completed_by_id).where(
        HumanTask.instance_id == instance_id, HumanTask.spec_name == spec_name,
        HumanTask.status == TaskStatus.completed).order_by(HumanTask.completed_at.desc(), HumanTask.id.desc())
        .limit(1))


_TIMERS_OF = select(Timer).where(Timer.instance_id == bindparam("instance_id"))


def _sync_timers(instance: ProcessInstance, hazard: subjects.Subject, parsed, snapshot: Snapshot,
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
                    due_at=info.due_at or now, created_at=now, kind=TimerKind.engine,
                    hazard_id=hazard.id if isinstance(hazard, Hazard) else None,
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


# How each kind of subject (services/subjects.py) writes an engine step back: the unit of work's one dispatch.
SNAPSHOT_APPLIERS = {"hazard": apply_snapshot, "report": apply_report_snapshot, "public_report": apply_triage_snapshot}
