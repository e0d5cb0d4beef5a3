"""Firing due timers: claimed from SQL in small batches, under the same lock as web requests.

A tick asks the timer table for the most overdue pending rows (`status, due_at, id` index) and, on
PostgreSQL, locks each row's instance and then the row with `FOR UPDATE OF process_instance, timer
SKIP LOCKED`: a row whose hazard a web request or another scheduler process is working on right now
is left for the next tick, so any number of scheduler processes share the work and none ever waits
for another.  Each claimed row is checked to be still pending and fired in the same transaction as
everything it causes: the engine step (apply_snapshot), notifications, the outbox e-mails and the
audit event.  Up to BATCH rows share one transaction (one claim, one commit); when any of them fails,
the whole batch is rolled back and its rows are fired again one transaction each, so one broken row
neither stops nor double-fires the others.  Either everything a row caused commits or none of it does,
so a timer fires exactly once however many schedulers run and wherever one is killed; a scheduler
that was down finds the missed rows due on restart and fires each once, marked late.

On PostgreSQL the scheduler's transactions commit with `synchronous_commit = off`: a commit lost to
a database crash (never to a killed scheduler) takes the whole transaction with it — the timer is
pending again and fires on restart together with everything it causes — and any later synchronous
commit (a web request acting on what the timer did) flushes it first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from app import metrics
from app.clock import clock
from app.engine import EngineError
from app.extensions import db
from app.models import Hazard, HumanTask, PeriodicReport, ProcessInstance, Timer, TimerKind, TimerStatus
from app.services import deadlines, lifecycle, subjects
from app.services.errors import Conflict
from app.services.unit_of_work import InstanceStep, instance_step

MAX_ATTEMPTS = 5
BATCH = 25  # due rows claimed, fired and committed together


@dataclass
class TickResult:
    """What one tick did; true when it did anything."""

    fired: int = 0          # timer events of diagrams
    alerts: int = 0         # reminders, overdue notices, escalations
    cancelled: int = 0      # rows that no longer applied when their time came
    busy: int = 0           # rows whose instance was locked by someone else (left for the next tick)
    failed: int = 0
    checks_opened: int = 0
    checks_missed: int = 0
    reports_opened: int = 0  # the enterprises' quarterly/annual reports (services/periodic_reports.py)
    triages_started: int = 0  # public reports received before their triage process (services/public_answers.py)
    emails_sent: int = 0
    uploads_removed: int = 0  # files no form used (services/attachments.remove_unlinked)
    errors: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fired or self.alerts or self.cancelled or self.failed or self.checks_opened
                    or self.checks_missed or self.reports_opened or self.triages_started or self.emails_sent or self.uploads_removed)


def _claim(now: datetime, skip: set[int], n: int, postgres: bool, timer_id: int | None = None) -> list[Timer]:
    """Up to `n` due pending rows, most overdue first, each with its instance locked (PostgreSQL).

    The instance is locked before the row (the order of `OF`), so this never holds a row whose instance
    someone else holds; rows of busy instances are skipped.  SQLite has one writer; the instance's
    version column turns a concurrent change into a StaleDataError at flush.
    """
    stmt = (select(Timer).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
            .where(Timer.status == TimerStatus.pending, Timer.due_at <= now)
            .order_by(Timer.due_at, Timer.id).limit(n))
    if timer_id is not None:
        stmt = stmt.where(Timer.id == timer_id)
    if skip:
        stmt = stmt.where(Timer.id.not_in(skip))
    if postgres:
        stmt = stmt.with_for_update(skip_locked=True, of=[ProcessInstance.__table__, Timer.__table__])
    return list(db.session.scalars(stmt.execution_options(populate_existing=True)))


def _commit_without_waiting(postgres: bool) -> None:
    """This transaction's commit need not wait for the disk (see the module docstring); read at commit time."""
    if postgres:
        db.session.execute(text("SET LOCAL synchronous_commit = off"))


def fire_timer(timer: Timer, instance: ProcessInstance | None, now: datetime,
               tasks: dict[tuple[int, str], HumanTask]) -> str:
    """Fire one claimed row of a locked instance; returns "fired", "alert" or "cancelled". Caller commits.

    `instance` (its full row, state included) is needed for engine rows only: a reminder or escalation
    never runs the engine.  `tasks`: the human tasks of the alert rows' instances, read under the lock.
    """
    hazard = (db.session.get(Hazard, timer.hazard_id) if timer.hazard_id is not None
              else db.session.scalar(select(Hazard).where(Hazard.instance_id == timer.instance_id)))
    if hazard is None:  # an instance that is not a hazard's (services/subjects.py): a periodic or public report
        subject = subjects.owner_other_than_hazard(timer.instance_id)
        if subject is None:
            raise EngineError(f"instance {timer.instance_id} has no hazard")
        if timer.kind == TimerKind.reminder:
            if isinstance(subject, PeriodicReport):
                fired = lifecycle.fire_report_reminder(timer, subject, now)
            else:
                fired = lifecycle.fire_triage_reminder(timer, subject, now, tasks)
            return "alert" if fired else "cancelled"
        if timer.kind != TimerKind.engine or instance is None:
            raise EngineError(f"instance {timer.instance_id}: a report has no {timer.kind.value} timers")
        step = InstanceStep(instance, subject)
        step.run(lambda runtime, state: runtime.refresh(state), actor_id=None)
        step.announce_arrivals()
        return "fired" if timer.status == TimerStatus.fired else "cancelled"
    if timer.kind == TimerKind.engine:
        assert instance is not None, "an engine row's instance is read with the claim"
        step = InstanceStep(instance, hazard)
        step.run(lambda runtime, state: runtime.refresh(state), actor_id=None)
        step.announce_arrivals()
        return "fired" if timer.status == TimerStatus.fired else "cancelled"
    return "alert" if deadlines.fire_alert(timer, hazard, now, tasks=tasks) else "cancelled"


def _fire_claimed(timers: list[Timer], now: datetime, postgres: bool) -> list[tuple[int, str | None]]:
    """Fire claimed rows in the current transaction: (timer id, outcome, None for a row no longer pending).

    The rows' hazards, the engine rows' instances and the alert rows' human tasks are read in one statement
    each (their instances are locked already); the caller commits, or rolls back when this raises.
    """
    hazard_ids = {t.hazard_id for t in timers if t.hazard_id is not None}
    # Held here: the session's identity map keeps objects only while someone refers to them.
    hazards = db.session.scalars(select(Hazard).where(Hazard.id.in_(hazard_ids)).options(joinedload(Hazard.enterprise))
                                 .execution_options(populate_existing=True)).all() if hazard_ids else []
    engine_ids = {t.instance_id for t in timers if t.kind == TimerKind.engine}
    instances = {i.id: i for i in db.session.scalars(
        select(ProcessInstance).where(ProcessInstance.id.in_(engine_ids))
        .execution_options(populate_existing=True))} if engine_ids else {}
    alert_ids = {t.instance_id for t in timers if t.kind != TimerKind.engine}
    tasks = {(t.instance_id, t.task_uuid): t for t in db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id.in_(alert_ids))
        .execution_options(populate_existing=True))} if alert_ids else {}
    outcomes: list[tuple[int, str | None]] = []
    for timer in timers:
        if not postgres:  # PostgreSQL: the claim's row lock kept it as it was; SQLite: read it again
            db.session.flush()  # (keeping what the rows fired before it changed, e.g. a cancelled alert)
            db.session.refresh(timer)
        if timer.status != TimerStatus.pending or timer.due_at > now:
            # fired or cancelled with its instance a moment ago, or that step moved it later
            outcomes.append((timer.id, None))
            continue
        outcomes.append((timer.id, fire_timer(timer, instances.get(timer.instance_id), now, tasks)))
    del hazards
    return outcomes


def _record_failure(timer_id: int, message: str) -> bool:
    """Count a failed attempt in its own unit of work; True when the row gave up (status failed)."""
    timer = db.session.get(Timer, timer_id)
    if timer is None:
        db.session.rollback()
        return False
    try:
        with instance_step(timer.instance_id) as step:
            db.session.refresh(timer)
            if timer.status != TimerStatus.pending:
                return False
            timer.attempts += 1
            timer.last_error = message[:2000]
            gave_up = timer.attempts >= MAX_ATTEMPTS
            if gave_up:
                timer.status = TimerStatus.failed
                step.audit("timer_failed", actor_id=None, task_spec=timer.spec_name,
                           data={"timer": timer.id, "attempts": timer.attempts, "error": timer.last_error})
    except Conflict:  # its instance is busy (or gone): the next tick tries the row again
        return False
    return gave_up


def _count(result: TickResult, outcome: str | None) -> None:
    if outcome == "fired":
        result.fired += 1
    elif outcome == "alert":
        result.alerts += 1
    elif outcome == "cancelled":
        result.cancelled += 1


def _fire_one(timer_id: int, now: datetime, postgres: bool, skip: set[int], result: TickResult) -> None:
    """Claim and fire one row in its own transaction; a failure is rolled back, logged and counted."""
    try:
        claimed = _claim(now, skip, 1, postgres, timer_id=timer_id)
        if not claimed:  # fired meanwhile, or its instance is busy: left for the next tick
            db.session.rollback()
            skip.add(timer_id)
            result.busy += 1
            return
        _commit_without_waiting(postgres)
        [(_id, outcome)] = _fire_claimed(claimed, now, postgres)
        db.session.commit()
    except (StaleDataError, IntegrityError, OperationalError):
        db.session.rollback()  # someone else changed the instance meanwhile: try again next tick
        skip.add(timer_id)
        result.busy += 1
        return
    except Exception as exc:  # one broken instance must not stop the others (logged, counted)
        db.session.rollback()
        message = f"{type(exc).__name__}: {exc}"
        current_app.logger.exception("timer %s failed", timer_id)
        skip.add(timer_id)
        result.errors.append(f"timer {timer_id}: {message}")
        if _record_failure(timer_id, message):
            result.failed += 1
        return
    if outcome is None:
        skip.add(timer_id)
    _count(result, outcome)


def fire_due(limit: int | None = None) -> TickResult:
    """Fire every timer row that is due by the clock (at most `limit`), BATCH rows per transaction."""
    result = TickResult()
    skip: set[int] = set()
    postgres = db.session.get_bind().dialect.name == "postgresql"
    while limit is None or (done := result.fired + result.alerts + result.cancelled + result.failed) < limit:
        now = clock.now()
        n = BATCH if limit is None else min(BATCH, limit - done)
        timers = _claim(now, skip, n, postgres)
        if not timers:
            db.session.rollback()
            break
        _commit_without_waiting(postgres)
        ids = [t.id for t in timers]
        try:
            outcomes = _fire_claimed(timers, now, postgres)
            db.session.commit()
        except Exception as exc:  # noqa: BLE001 — isolated below: the batch again, one row per transaction
            db.session.rollback()
            current_app.logger.info("a batch of %s timers failed (%s); firing them one by one",
                                    len(ids), type(exc).__name__)
            for timer_id in ids:
                _fire_one(timer_id, now, postgres, skip, result)
            continue
        for timer_id, outcome in outcomes:
            if outcome is None:
                skip.add(timer_id)
            _count(result, outcome)
    return result


def tick(limit: int | None = None) -> TickResult:
    """One scheduler tick: fire due timers, open due checks, record missed checks, open the periodic reports of a
    period that has ended, start the triage of public reports received without one, send e-mail, remove unused
    uploads."""
    from app.services import attachments, checklists, notifications, periodic_reports, public_reports

    result = fire_due(limit)
    metrics.TIMERS_FIRED.inc(result.fired)
    result.checks_opened = checklists.open_due_checks()
    result.checks_missed = checklists.record_missed_checks()
    result.reports_opened = periodic_reports.open_ended_periods()
    result.triages_started = public_reports.start_missing_triages()
    notifications.queue_arrival_emails()
    result.emails_sent = notifications.drain_outbox()
    result.uploads_removed = attachments.remove_unlinked()
    return result


def pending_count() -> int:
    """Pending timer rows (for status output)."""
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(Timer).where(Timer.status == TimerStatus.pending)) or 0
