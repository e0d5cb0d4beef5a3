"""Deadlines that act: reminders before a deadline and tiered escalation after it.

A deadline is a timer event in the diagram with a ``deadline`` property (``rectification``,
``supervision``, ``verification``) attached to the user task it watches.  Its ladder is read from
``spiffworkflow:property`` values on the timer event, falling back to the same names on the process
element, then to LADDER_DEFAULTS, so an administrator changes it in the designer:

``remindDaysBefore``            "3,1"  reminders so many days before the deadline
``remindNotify``                "officer"  who gets reminders
``overdueNotify``               "officer,principal"  who is told the moment the deadline passes
``escalateInspectorAfterDays``  "3"  the supervising inspector, so many days after ("" = never)
``escalateBureauHeadAfterDays`` "7"  the head of the bureau, so many days after ("" = never)

Each step becomes a row in the timer table (kind reminder/overdue/escalation) pointing to the
deadline's engine timer row; the scheduler fires them like any timer.  When the deadline moves (an
approved extension) the pending steps are cancelled and planned again from the new date; when the
watched task is done, they are cancelled.  A step that has fired is never sent twice for the same
deadline, even when the process loops back to the task.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.chinatime import china_date
from app.engine.specs import ParsedProcess
from app.extensions import db, transaction_memo
from app.models import (
    Hazard,
    HumanTask,
    ProcessInstance,
    Role,
    TaskStatus,
    Timer,
    TimerKind,
    TimerStatus,
    User,
)
from app.services import audit, notifications, statuses
from app.services.policy import may_own, people, task_owners, unit_chain

AUDIENCES = ("officer", "principal", "inspector", "bureau_head")
LADDER_DEFAULTS = {
    "remindDaysBefore": "3,1",
    "remindNotify": "officer",
    "overdueNotify": "officer,principal",
    "escalateInspectorAfterDays": "3",
    "escalateBureauHeadAfterDays": "7",
}
ALERT_ACTIONS = {TimerKind.reminder: "deadline_reminder", TimerKind.overdue: "deadline_overdue",
                 TimerKind.escalation: "deadline_escalated"}


@dataclass(frozen=True)
class Step:
    """One rung of a ladder: when (days relative to the deadline) and whom to tell."""

    kind: TimerKind
    offset_days: int
    audience: tuple[str, ...]


def _days(value: str, name: str) -> list[int]:
    days = []
    for part in (value or "").replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise ValueError(_("%(name)s must be whole numbers of days separated by commas (e.g. 3,1), not “%(value)s”.",
                               name=name, value=value))
        days.append(int(part))
    return days


def _audience(value: str, name: str) -> tuple[str, ...]:
    names = tuple(p.strip() for p in (value or "").replace("，", ",").split(",") if p.strip())
    unknown = [n for n in names if n not in AUDIENCES]
    if unknown:
        raise ValueError(_("%(name)s names unknown people (%(unknown)s); use %(known)s.", name=name,
                           unknown=", ".join(unknown), known=", ".join(AUDIENCES)))
    return names


def ladder(process_properties: dict[str, str], timer_properties: dict[str, str]) -> list[Step]:
    """The reminder/escalation steps of a deadline timer ([] for a timer without a `deadline`)."""
    if not timer_properties.get("deadline"):
        return []
    settings = dict(LADDER_DEFAULTS)
    settings.update({k: v for k, v in process_properties.items() if k in LADDER_DEFAULTS})
    settings.update({k: v for k, v in timer_properties.items() if k in LADDER_DEFAULTS})
    steps = [Step(TimerKind.reminder, -d, _audience(settings["remindNotify"], "remindNotify"))
             for d in sorted(set(_days(settings["remindDaysBefore"], "remindDaysBefore")), reverse=True) if d > 0]
    if overdue := _audience(settings["overdueNotify"], "overdueNotify"):
        steps.append(Step(TimerKind.overdue, 0, overdue))
    for key, who in (("escalateInspectorAfterDays", "inspector"), ("escalateBureauHeadAfterDays", "bureau_head")):
        for d in _days(settings[key], key)[:1]:
            steps.append(Step(TimerKind.escalation, d, (who,)))
    return [s for s in steps if s.audience]


def diagram_problems(parsed: ParsedProcess) -> list[tuple[str | None, str]]:
    """What is wrong with a diagram's reminder/escalation settings, by element id (for deploying)."""
    problems: list[tuple[str | None, str]] = []
    for meta in parsed.timer_events.values():
        if not meta.properties.get("deadline"):
            continue
        try:  # the timer's own settings; the process's are checked once, below, on the process
            ladder({}, meta.properties)
        except ValueError as exc:
            problems.append((meta.name, str(exc)))
        if meta.attached_to is None:
            problems.append((meta.name, _("A deadline timer must be attached to the task it watches.")))
    try:
        ladder(parsed.properties, {"deadline": "any"})
    except ValueError as exc:
        problems.append((parsed.process_key, str(exc)))
    return problems


# --------------------------------------------------------------------------------- after each step
def after_step(instance: ProcessInstance, hazard: Hazard, parsed: ParsedProcess, rows: list[Timer],
               fired: list[Timer], ready_task_timers: dict[str, list], now: datetime) -> list[Timer]:
    """Record fired timers and keep each open deadline's ladder in step with its current date.

    Runs inside the instance's transaction, under its lock.  `rows` are all the instance's timer rows,
    `fired` the engine rows that fired in this step, `ready_task_timers` the snapshot's task_timers.
    Returns the new alert rows, for the caller to insert.
    """
    planned_rows: list[Timer] = []
    for row in fired:
        audit.record("timer_fired", actor_id=None, hazard=hazard, task_spec=row.spec_name, data={
            "timer": row.id, "deadline": row.deadline, "due_at": row.due_at.isoformat(),
            "fired_at": now.isoformat(), "late": row.late})

    current: dict[str, tuple[datetime, str, str]] = {}  # timer uuid -> (deadline, watched task, event)
    for task_uuid, infos in ready_task_timers.items():
        for info in infos:
            meta = parsed.timer_events.get(info.name)
            if meta is not None and meta.properties.get("deadline") and info.due_at is not None:
                current[info.uuid] = (info.due_at, task_uuid, info.name)
    if statuses.is_final(hazard.status):
        current = {}

    alerts = [r for r in rows if r.kind != TimerKind.engine]
    planned: set[tuple[str, datetime]] = set()
    for alert in alerts:
        if alert.status != TimerStatus.pending:
            continue
        due = current.get(alert.task_uuid)
        if due is None or due[1] != alert.watch_task_uuid or due[0] != alert.anchor_at:
            alert.status = TimerStatus.cancelled  # the step is done, or its deadline moved
        else:
            planned.add((alert.task_uuid, alert.anchor_at))
    engine_rows = {r.task_uuid for r in rows if r.kind == TimerKind.engine}
    sent = {(a.deadline, a.anchor_at, a.kind, a.offset_days, a.audience) for a in alerts
            if a.status == TimerStatus.fired}
    for uuid, (anchor, watched, event) in current.items():
        if uuid not in engine_rows or (uuid, anchor) in planned:
            continue
        meta = parsed.timer_events[event]
        for step in ladder(parsed.properties, meta.properties):
            due = anchor + timedelta(days=step.offset_days)
            audience = ",".join(step.audience)
            key = (meta.properties["deadline"], anchor, step.kind, step.offset_days, audience)
            if key in sent or (step.kind == TimerKind.reminder and due <= now):
                continue  # told already, or too late to remind
            planned_rows.append(Timer(
                instance_id=instance.id, task_uuid=uuid, spec_name=event, due_at=due, status=TimerStatus.pending,
                created_at=now, kind=step.kind, hazard_id=hazard.id, watch_task_uuid=watched,
                deadline=meta.properties["deadline"], anchor_at=anchor, offset_days=step.offset_days,
                audience=audience, late=False, attempts=0))
    return planned_rows


def deadline_kind(parsed: ParsedProcess, event_name: str) -> str | None:
    meta = parsed.timer_events.get(event_name)
    return meta.properties.get("deadline") if meta is not None else None


# ---------------------------------------------------------------------------------- firing an alert
def _once_per_transaction(key: tuple, load):
    """The same lookup asked again in one transaction (a scheduler batch tells many hazards' people) is read once."""
    memo = transaction_memo().setdefault("deadline_lookups", {})
    if key not in memo:
        memo[key] = load()
    return memo[key]


def _unit_chain(unit_id: int | None) -> list[int]:
    return list(_once_per_transaction(("unit_chain", unit_id), lambda: unit_chain(unit_id)))


def _people(organisation_id: int | None, *, role: Role | None = None, bureau_head: bool | None = None) -> list[User]:
    """policy.people of one organisation, read once per transaction (None: nobody)."""
    if organisation_id is None:
        return []
    return list(_once_per_transaction(("people", organisation_id, role, bureau_head),
                                      lambda: people(organisation_id, role, bureau_head=bureau_head)))


def recipients(audience: str, hazard: Hazard, task: HumanTask | None) -> list[User]:
    """The people an audience name means for this hazard (the task's assignee when it names them)."""
    found: list[User] = []
    narrowed = task is not None and (task.bureau_head or task.position_id is not None)
    for who in (a for a in audience.split(",") if a):
        if narrowed and who == task.role.value:  # a bureau head's or a position's lane: the task's own owners
            found += [task.assignee] if task.assignee is not None else task_owners(task)
            continue
        if who in ("officer", "principal"):
            role = Role(who)
            if task is not None and task.role == role and task.assignee is not None:
                found.append(task.assignee)  # the person who took the task is the one responsible
            else:
                found += _people(hazard.enterprise_id, role=role)
        elif who == "inspector":
            if task is not None and task.role == Role.inspector and task.assignee is not None:
                found.append(task.assignee)
                continue
            for unit in _unit_chain(hazard.supervising_unit_id):  # the nearest unit that has inspectors
                people = _people(unit, role=Role.inspector, bureau_head=False)
                if people:
                    found += people
                    break
        elif who == "bureau_head":
            for unit in _unit_chain(hazard.supervising_unit_id):
                people = _people(unit, bureau_head=True)
                if people:
                    found += people
                    break
    unique: dict[int, User] = {}
    for user in found:
        unique.setdefault(user.id, user)
    return list(unique.values())


def fire_alert(alert: Timer, hazard: Hazard, now: datetime, tasks: dict[tuple[int, str], HumanTask]) -> bool:
    """Tell the alert's audience, mark the hazard overdue when due; False when it no longer applies.

    The caller holds the instance lock and commits.  `tasks`: the instance's human tasks by (instance id,
    task UUID), read under the lock (the scheduler reads them once for a batch).
    """
    task = tasks.get((alert.instance_id, alert.watch_task_uuid or ""))
    stale_reminder = alert.kind == TimerKind.reminder and (alert.anchor_at or alert.due_at) <= now
    if statuses.is_final(hazard.status) or task is None or task.status != TaskStatus.open or stale_reminder:
        alert.status = TimerStatus.cancelled  # done, or (a scheduler that was down) the overdue notice says more
        return False
    late_after = timedelta(seconds=current_app.config.get("SCHEDULER_LATE_SECONDS", 300))
    alert.status, alert.fired_at = TimerStatus.fired, now
    alert.late = now - alert.due_at > late_after
    people = recipients(alert.audience or "", hazard, task)
    params = {"number": hazard.number, "title": hazard.title,
              "enterprise": hazard.enterprise.name if hazard.enterprise else "", "deadline": alert.deadline,
              "due": china_date(alert.anchor_at or alert.due_at).isoformat(), "step": task.title,
              "days": abs(alert.offset_days or 0)}
    kind = {TimerKind.reminder: "deadline_reminder", TimerKind.overdue: "deadline_overdue"}.get(
        alert.kind, "deadline_escalated")
    # Whoever can act on the step is sent to it; everyone else to the hazard's record.
    links = {u.id: (f"/tasks/{task.id}" if may_own(u, task) and u.id != task.excluded_user_id
                    else f"/hazards/{hazard.id}") for u in people}
    notifications.notify(people, kind, params, hazard_id=hazard.id, task_id=task.id,
                         link=f"/hazards/{hazard.id}", link_for=links)
    if alert.kind != TimerKind.reminder:
        hazard.overdue = True
    audit.record(ALERT_ACTIONS[alert.kind], actor_id=None, hazard=hazard, task_spec=alert.spec_name, data={
        "timer": alert.id, "deadline": alert.deadline, "deadline_at": (alert.anchor_at or alert.due_at).isoformat(),
        "days": alert.offset_days, "audience": alert.audience, "notified": [u.id for u in people],
        "due_at": alert.due_at.isoformat(), "late": alert.late})
    return True


def pending_alerts(hazard_id: int) -> list[Timer]:
    """The reminders and escalations still to come for a hazard, soonest first."""
    return list(db.session.scalars(select(Timer).where(
        Timer.hazard_id == hazard_id, Timer.kind != TimerKind.engine, Timer.status == TimerStatus.pending)
        .order_by(Timer.due_at, Timer.id)))
