"""Scheduled checks (一企一标准、一岗一清单): checklists per post, check tasks on a schedule, failures become hazards.

A checklist's schedule is a crontab rule in China time (team daily, workshop weekly, plant monthly
or any rule); APScheduler's CronTrigger computes the next run, which is stored in SQL
(`checklist.next_due_at`) so the scheduler's tick only reads what is due.  Each run is a check
task, open until the next run is due; a check not done by then is recorded as missed and the
enterprise principal is told.  When the scheduler was down, the runs it missed are created as
missed at once and only the latest is opened.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError

from app.chinatime import CHINA, china_time
from app.clock import clock
from app.extensions import db
from app.models import (
    Checklist,
    ChecklistItem,
    CheckResult,
    CheckStatus,
    CheckTask,
    Organisation,
    OrgKind,
    Role,
    User,
)
from app.services import attachments, audit, forms, hazards, notifications
from app.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.services.policy import ENTERPRISE_ROLES, acting_orgs, is_enterprise_staff, people

# 班组每天、车间每周、厂级每月 — at 08:00 China time unless the enterprise sets its own rule.
LEVEL_SCHEDULES = {"team": "0 8 * * *", "workshop": "0 8 * * mon", "plant": "0 8 1 * *"}
LEVELS = ("team", "workshop", "plant", "custom")
HAZARD_TYPES = ("unsafe_behaviour", "unsafe_condition", "management_defect")
MAX_CATCH_UP = 370  # runs created (as missed) for one checklist after a long outage


def cron(schedule: str) -> CronTrigger:
    """The trigger for a crontab rule (minute hour day month weekday) in China time; ValueError if bad."""
    return CronTrigger.from_crontab(schedule.strip(), timezone=CHINA)


def next_run(schedule: str, after: datetime) -> datetime:
    """The first run of the rule strictly after `after` (UTC)."""
    fire = cron(schedule).get_next_fire_time(None, after + timedelta(seconds=1))
    if fire is None:
        raise ValueError("the rule never fires")
    return fire.astimezone(after.tzinfo)


# ---------------------------------------------------------------------------------- the checklists
def _enterprise_of(user: User) -> int:
    if not is_enterprise_staff(user):
        raise Forbidden(_("Only enterprise staff keep checklists."))
    return user.organisation_id


def _text(data: dict, name: str, limit: int, errors: dict, message: str) -> str:
    value = data.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        errors[name] = message
    elif len(value) > limit:
        errors[name] = _("At most %(n)s characters.", n=limit)
    return value


def create_checklist(user: User, data: Any) -> Checklist:
    """Create a checklist for the user's enterprise: post, schedule, who checks, and its items."""
    enterprise_id = _enterprise_of(user)
    if not isinstance(data, dict):
        raise ValidationFailed(_("The form data must be an object of field names and values."))
    errors: dict[str, str] = {}
    title = _text(data, "title", 200, errors, _("Give the checklist a name."))
    post = _text(data, "post", 100, errors, _("Name the post (岗位) that does this check."))
    location = _text(data, "location", 200, errors, _("Say where the check takes place."))
    level = data.get("level") if data.get("level") in LEVELS else None
    if level is None:
        errors["level"] = _("Choose how often: team daily, workshop weekly, plant monthly or your own rule.")
    schedule = (data.get("schedule") or "").strip() if level == "custom" else LEVEL_SCHEDULES.get(level or "", "")
    if level == "custom":
        try:
            if cron(schedule).get_next_fire_time(None, clock.now()) is None:
                raise ValueError(_("this rule never fires (no such date); check the day and month"))
        except ValueError as exc:
            errors["schedule"] = _("Write a crontab rule such as “0 8 * * mon” (minute hour day month weekday): "
                                   "%(reason)s", reason=str(exc))
    role = Role.principal if data.get("role") == "principal" else Role.officer
    assignee = None
    if data.get("assignee_id") not in (None, ""):
        raw = data["assignee_id"]
        assignee = db.session.get(User, int(raw)) if str(raw).isdigit() else None
        if assignee is None or assignee.organisation_id != enterprise_id or assignee.role != role:
            errors["assignee_id"] = _("Choose a colleague in your enterprise who holds the role that checks.")
    raw_items = data.get("items")
    if isinstance(raw_items, str):
        raw_items = [line for line in raw_items.splitlines() if line.strip()]
    items = []
    for entry in raw_items or []:
        entry = {"text": entry} if isinstance(entry, str) else entry
        text = str(entry.get("text", "")).strip() if isinstance(entry, dict) else ""
        if text:
            hazard_type = entry.get("hazard_type") if entry.get("hazard_type") in HAZARD_TYPES else "unsafe_condition"
            items.append((text[:500], (str(entry.get("standard") or "").strip() or None), hazard_type))
    if not items:
        errors["items"] = _("List at least one thing to check, one per line.")
    if errors:
        raise ValidationFailed(_("Some fields need your attention."), fields=errors)
    now = clock.now()
    checklist = Checklist(enterprise_id=enterprise_id, title=title, post=post, level=level, schedule=schedule,
                          location=location, role=role, assignee_id=assignee.id if assignee else None,
                          next_due_at=next_run(schedule, now), created_by_id=user.id, created_at=now)
    db.session.add(checklist)
    db.session.flush()
    for position, (text, standard, hazard_type) in enumerate(items, 1):
        db.session.add(ChecklistItem(checklist_id=checklist.id, position=position, text=text, standard=standard,
                                     hazard_type=hazard_type))
    audit.record("checklist_created", actor_id=user.id, data={
        "checklist": checklist.id, "enterprise": enterprise_id, "title": title, "post": post,
        "schedule": schedule, "items": [i[0] for i in items]})
    db.session.commit()
    return checklist


def _visible_enterprises(user: User):
    if user.role == Role.admin:
        return None
    if user.role == Role.inspector:
        return select(Organisation.id).where(Organisation.kind == OrgKind.enterprise,
                                             Organisation.supervising_unit_id.in_(acting_orgs(user)))
    return [user.organisation_id] if user.organisation_id else []


@dataclass
class ChecklistSummary:
    checklist: Checklist
    open: int
    completed: int
    missed: int


def list_checklists(user: User) -> list[ChecklistSummary]:
    """Checklists the user may see, with how many runs were done and missed."""
    stmt = select(Checklist).order_by(Checklist.enterprise_id, Checklist.id)
    scope = _visible_enterprises(user)
    if scope is not None:
        stmt = stmt.where(Checklist.enterprise_id.in_(scope))
    lists = list(db.session.scalars(stmt))
    counts: dict[tuple[int, CheckStatus], int] = {}
    if lists:
        for checklist_id, status, n in db.session.execute(
                select(CheckTask.checklist_id, CheckTask.status, func.count())
                .where(CheckTask.checklist_id.in_([c.id for c in lists]))
                .group_by(CheckTask.checklist_id, CheckTask.status)):
            counts[(checklist_id, status)] = n
    return [ChecklistSummary(c, counts.get((c.id, CheckStatus.open), 0), counts.get((c.id, CheckStatus.completed), 0),
                             counts.get((c.id, CheckStatus.missed), 0)) for c in lists]


def _check_scope(user: User):
    """Check tasks the user may do: their enterprise's, for their role, unassigned or assigned to them."""
    if not is_enterprise_staff(user):
        return None
    return and_(CheckTask.organisation_id == user.organisation_id, CheckTask.role == user.role,
                or_(CheckTask.assignee_id.is_(None), CheckTask.assignee_id == user.id))


def my_checks(user: User) -> list[CheckTask]:
    """Open checks for the user, soonest first."""
    scope = _check_scope(user)
    if scope is None:
        return []
    return list(db.session.scalars(select(CheckTask).where(CheckTask.status == CheckStatus.open, scope)
                                   .order_by(CheckTask.due_at, CheckTask.id)))


def my_checks_count_query(user: User):
    """SELECT how many checks my_checks would list (for the header); None when the user keeps no checks."""
    scope = _check_scope(user)
    if scope is None:
        return None
    return select(func.count()).select_from(CheckTask).where(CheckTask.status == CheckStatus.open, scope)


def recent_checks(user: User, *, status: CheckStatus | None = None, limit: int = 100) -> list[CheckTask]:
    """The latest check runs the user may see (missed ones are the accountability record)."""
    stmt = select(CheckTask).order_by(CheckTask.scheduled_for.desc(), CheckTask.id.desc()).limit(limit)
    scope = _visible_enterprises(user)
    if scope is not None:
        stmt = stmt.where(CheckTask.organisation_id.in_(scope))
    if status is not None:
        stmt = stmt.where(CheckTask.status == status)
    return list(db.session.scalars(stmt))


def get_check(user: User, check_id: int) -> CheckTask:
    """One check run, or NotFound when it is not the user's to see."""
    check = db.session.get(CheckTask, check_id)
    scope = _visible_enterprises(user) if check is not None else []
    visible = check is not None and (scope is None or (
        check.organisation_id in scope if isinstance(scope, list) else
        db.session.scalar(scope.where(Organisation.id == check.organisation_id)) is not None))
    if not visible:
        raise NotFound(_("Check %(id)s was not found.", id=check_id))
    return check


def can_do(user: User, check: CheckTask) -> bool:
    return (check.status == CheckStatus.open and user.organisation_id == check.organisation_id
            and user.role == check.role and check.assignee_id in (None, user.id))


def _hazard_report(check: CheckTask, item: ChecklistItem, note: str, photos: list[int]) -> dict[str, Any]:
    """The hazard report a failed item becomes, filled in from the checklist."""
    checklist = check.checklist
    description = f"{checklist.title}（{checklist.post}）{_('check item')}：{item.text}"
    if item.standard:
        description += f"\n{_('Standard')}：{item.standard}"
    if note:
        description += f"\n{_('Found')}：{note}"
    report: dict[str, Any] = {"title": item.text[:200], "description": description[:2000],
                              "location": checklist.location[:200], "hazard_type": item.hazard_type,
                              "source": "self_check"}
    if photos:
        report["photos"] = photos
    return report


def submit_check(user: User, check_id: int, results: Any, note: str | None = None) -> CheckTask:
    """Record a check: every item passed or failed; each failed item is reported as a hazard."""
    check = get_check(user, check_id)
    if check.status != CheckStatus.open:
        raise Conflict(_("This check has already been closed (done or missed); nothing was changed."))
    if not can_do(user, check):
        raise Forbidden(_("This check is for another post or person; you cannot record it."))
    if not isinstance(results, dict):
        raise ValidationFailed(_("Answer every item of the checklist."))
    errors: dict[str, str] = {}
    answers: list[tuple[ChecklistItem, bool, str, list[int]]] = []
    for item in check.checklist.items:
        answer = results.get(str(item.id), results.get(item.id))
        answer = answer if isinstance(answer, dict) else {"ok": answer}
        ok = answer.get("ok")
        if ok not in (True, False):
            errors[f"item_{item.id}"] = _("Say whether this item passed or failed.")
            continue
        item_note = str(answer.get("note") or "").strip()[:2000]
        photos = [p for p in answer.get("photos") or [] if isinstance(p, int)]
        if not ok and not item_note:
            errors[f"item_{item.id}"] = _("Describe what you found, so the hazard report is clear.")
        answers.append((item, ok, item_note, photos))
    if errors:
        raise ValidationFailed(_("Some items need your attention."), fields=errors)
    # Validate every hazard report before anything is stored, so a check is all-or-nothing for the user.
    report_form = forms.get_form(hazards.REPORT_FORM)
    for item, ok, item_note, photos in answers:
        if not ok:
            forms.validate(report_form, _hazard_report(check, item, item_note, photos),
                           attachments.attachment_checker(user, None))
    # One transaction: the check, its results and the hazards its failed items become, or nothing of them.
    try:
        now = clock.now()
        check.status, check.completed_at, check.completed_by_id = CheckStatus.completed, now, user.id
        check.note = (note or "").strip()[:2000] or None
        for item, ok, item_note, photos in answers:
            row = CheckResult(check_task_id=check.id, item_id=item.id, ok=ok, note=item_note or None)
            if not ok:
                row.hazard_id = hazards.record_hazard(user, _hazard_report(check, item, item_note, photos)).id
            db.session.add(row)
        audit.record("check_completed", actor_id=user.id, data={
            "check": check.id, "checklist": check.checklist_id, "scheduled_for": check.scheduled_for.isoformat(),
            "failed": [item.id for item, ok, _n, _p in answers if not ok]})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return check


# ------------------------------------------------------------------------------------ the scheduler
def _claim_due_checklist(now: datetime) -> Checklist | None:
    stmt = (select(Checklist).where(Checklist.active.is_(True), Checklist.next_due_at <= now)
            .order_by(Checklist.next_due_at, Checklist.id).limit(1))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return db.session.scalars(stmt).first()


def _people(check: CheckTask) -> list[User]:
    if check.assignee_id:
        user = db.session.get(User, check.assignee_id)
        return [user] if user else []
    return people(check.organisation_id, check.role)


def _principals(organisation_id: int) -> list[User]:
    return people(organisation_id, Role.principal)


def _params(check: CheckTask) -> dict[str, str]:
    return {"checklist": check.checklist.title, "post": check.checklist.post, "location": check.checklist.location,
            "scheduled": china_time(check.scheduled_for), "due": china_time(check.due_at)}


def _missed(check: CheckTask, now: datetime, *, notify: bool = True) -> None:
    check.status = CheckStatus.missed
    check.completed_at = now
    audit.record("check_missed", actor_id=None, data={
        "check": check.id, "checklist": check.checklist_id, "enterprise": check.organisation_id,
        "post": check.checklist.post, "scheduled_for": check.scheduled_for.isoformat(),
        "due_at": check.due_at.isoformat()})
    if notify:
        notifications.notify(_people(check) + _principals(check.organisation_id), "check_missed", _params(check),
                             link=f"/checks/{check.id}")


def open_due_checks(limit: int = 500) -> int:
    """Open a check task for every checklist run that is due; returns how many were opened."""
    opened = 0
    for _i in range(limit):
        try:
            result = _open_next_due_check()
        except (IntegrityError, OperationalError):  # another scheduler (SQLite: no row locks) was first
            db.session.rollback()
            break
        if result is None:
            break
        opened += result
    return opened


def _open_next_due_check() -> int | None:
    """Handle the most overdue checklist: its missed runs and its current one (None when none is due)."""
    opened = 0
    now = clock.now()
    checklist = _claim_due_checklist(now)
    if checklist is None:
        db.session.rollback()
        return None
    run = checklist.next_due_at
    created = 0
    last_missed = None
    while run is not None and run <= now and created < MAX_CATCH_UP:
        window_end = next_run(checklist.schedule, run)
        exists = db.session.scalar(select(CheckTask.id).where(
            CheckTask.checklist_id == checklist.id, CheckTask.scheduled_for == run))
        if exists is None:
            check = CheckTask(checklist_id=checklist.id, organisation_id=checklist.enterprise_id,
                              role=checklist.role, assignee_id=checklist.assignee_id, scheduled_for=run,
                              due_at=window_end, status=CheckStatus.open, created_at=now)
            check.checklist = checklist
            db.session.add(check)
            db.session.flush()
            if window_end <= now:  # the scheduler was down for this whole run
                _missed(check, now, notify=False)
                last_missed = check
            else:
                notifications.notify(_people(check), "check_due", _params(check), link=f"/checks/{check.id}")
                opened += 1
        created += 1
        run = window_end
    if last_missed is not None:  # one message for the runs missed while the scheduler was down
        notifications.notify(_people(last_missed) + _principals(last_missed.organisation_id), "check_missed",
                             _params(last_missed), link=f"/checks/{last_missed.id}")
    checklist.next_due_at = run if run is not None and run > now else next_run(checklist.schedule, now)
    db.session.commit()
    return opened


def record_missed_checks(limit: int = 500) -> int:
    """Close every open check whose window has passed as missed; returns how many."""
    missed = 0
    for _i in range(limit):
        now = clock.now()
        stmt = (select(CheckTask).where(CheckTask.status == CheckStatus.open, CheckTask.due_at <= now)
                .order_by(CheckTask.due_at, CheckTask.id).limit(1))
        if db.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        check = db.session.scalars(stmt).first()
        if check is None:
            db.session.rollback()
            break
        _missed(check, now)
        try:
            db.session.commit()
        except OperationalError:  # SQLite busy with another writer: the next tick tries again
            db.session.rollback()
            break
        missed += 1
    return missed


def assignable_people(user: User) -> list[User]:
    """Colleagues a checklist may be assigned to (the user's enterprise staff)."""
    if not user.organisation_id:
        return []
    return sorted(people(user.organisation_id, ENTERPRISE_ROLES), key=lambda u: (u.role.value, u.id))
