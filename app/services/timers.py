"""Firing due timers: claimed from SQL, one transaction each, under the same lock as web requests.

A tick asks the timer table for the most overdue pending row (`status, due_at` index; on PostgreSQL
`FOR UPDATE SKIP LOCKED`, so any number of scheduler processes share the work), then takes the
instance lock without waiting (a busy instance is left for the next tick), checks the row is still
pending and fires it in the same transaction as everything it causes: the engine step (apply_snapshot),
notifications, the outbox e-mails and the audit event.  Either all of that commits or none of it does,
so a timer fires exactly once however many schedulers run and wherever one is killed; a scheduler that
was down finds the missed rows due on restart and fires each once, marked late.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app.clock import clock
from app.engine import EngineError
from app.extensions import db
from app.models import Hazard, ProcessInstance, Timer, TimerKind, TimerStatus
from app.services import audit, deadlines, lifecycle, processes

MAX_ATTEMPTS = 5


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
    emails_sent: int = 0
    errors: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fired or self.alerts or self.cancelled or self.failed or self.checks_opened
                    or self.checks_missed or self.emails_sent)


def _claim(now: datetime, skip: set[int]) -> Timer | None:
    stmt = (select(Timer).where(Timer.status == TimerStatus.pending, Timer.due_at <= now)
            .order_by(Timer.due_at, Timer.id).limit(1))
    if skip:
        stmt = stmt.where(Timer.id.not_in(skip))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return db.session.scalars(stmt.execution_options(populate_existing=True)).first()


def fire_timer(timer: Timer, instance: ProcessInstance, now: datetime) -> str:
    """Fire one claimed row of a locked instance; returns "fired", "alert" or "cancelled". Caller commits."""
    hazard = (db.session.get(Hazard, timer.hazard_id) if timer.hazard_id is not None
              else db.session.scalar(select(Hazard).where(Hazard.instance_id == instance.id)))
    if hazard is None:
        raise EngineError(f"instance {instance.id} has no hazard")
    if timer.kind == TimerKind.engine:
        runtime = processes.runtime_for_version(instance.version_id)
        lifecycle.apply_snapshot(instance, hazard, runtime.refresh(instance.state), parsed=runtime.parsed)
        return "fired" if timer.status == TimerStatus.fired else "cancelled"
    return "alert" if deadlines.fire_alert(timer, hazard, now) else "cancelled"


def _record_failure(timer_id: int, message: str) -> bool:
    """Count a failed attempt in its own transaction; True when the row gave up (status failed)."""
    timer = db.session.get(Timer, timer_id)
    if timer is None or timer.status != TimerStatus.pending:
        db.session.rollback()
        return False
    timer.attempts += 1
    timer.last_error = message[:2000]
    gave_up = timer.attempts >= MAX_ATTEMPTS
    if gave_up:
        timer.status = TimerStatus.failed
        audit.record("timer_failed", actor_id=None, hazard_id=timer.hazard_id, task_spec=timer.spec_name,
                     data={"timer": timer.id, "attempts": timer.attempts, "error": timer.last_error})
    db.session.commit()
    return gave_up


def fire_due(limit: int | None = None) -> TickResult:
    """Fire every timer row that is due by the clock (at most `limit`), one transaction each."""
    result = TickResult()
    skip: set[int] = set()
    postgres = db.session.get_bind().dialect.name == "postgresql"
    while limit is None or result.fired + result.alerts + result.cancelled + result.failed < limit:
        now = clock.now()
        timer = _claim(now, skip)
        if timer is None:
            db.session.rollback()
            break
        timer_id, instance_id = timer.id, timer.instance_id
        try:
            instance = lifecycle.try_lock_instance(instance_id)
            if instance is None:  # a web request or another scheduler is on this hazard right now
                db.session.rollback()
                skip.add(timer_id)
                result.busy += 1
                continue
            if not postgres:  # PostgreSQL: the claim's row lock kept it as it was; SQLite: read it again
                db.session.refresh(timer)
            if timer.status != TimerStatus.pending:  # fired with its instance a moment ago
                db.session.rollback()
                skip.add(timer_id)
                continue
            outcome = fire_timer(timer, instance, now)
            db.session.commit()
        except (StaleDataError, IntegrityError, OperationalError):
            db.session.rollback()  # someone else changed the instance meanwhile: try again next tick
            skip.add(timer_id)
            result.busy += 1
            continue
        except Exception as exc:  # one broken instance must not stop the others (logged, counted)
            db.session.rollback()
            message = f"{type(exc).__name__}: {exc}"
            current_app.logger.exception("timer %s failed", timer_id)
            skip.add(timer_id)
            result.errors.append(f"timer {timer_id}: {message}")
            if _record_failure(timer_id, message):
                result.failed += 1
            continue
        if outcome == "fired":
            result.fired += 1
        elif outcome == "alert":
            result.alerts += 1
        else:
            result.cancelled += 1
    return result


def tick(limit: int | None = None) -> TickResult:
    """One scheduler tick: fire due timers, open due checks, record missed checks, send e-mail."""
    from app.services import checklists, notifications

    result = fire_due(limit)
    result.checks_opened = checklists.open_due_checks()
    result.checks_missed = checklists.record_missed_checks()
    result.emails_sent = notifications.drain_outbox()
    return result


def pending_count() -> int:
    """Pending timer rows (for status output)."""
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(Timer).where(Timer.status == TimerStatus.pending)) or 0
