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
from app.services.capabilities import may_keep_checks
from app.services.errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from app.services.policy import ENTERPRISE_ROLES, acting_orgs, is_enterprise_staff, people

# 班组每天、车间每周、厂级每月 — at 08:00 China time unless the enterprise sets its own rule.
LEVEL_SCHEDULES = {"team": "0 8 * * *", "workshop": "0 8 * * mon", "plant": "0 8 1 * *"}
LEVELS = ("team", "workshop", "plant", "custom")
HAZARD_TYPES = ("unsafe_behaviour", "unsafe_condition", "management_defect")
MAX_CATCH_UP = 370  # runs created (as missed) for one checklist after a long outage


def cron(schedule: str) -> CronTrigger:
    """The trigger for a crontab rule (minute hour day month weekday) in China time; ValueError if bad."""
    return CronTrigger.from_crontab(schedule.strip(), timezone=CHINA)


def _cron_fields() -> list[tuple[str, str]]:
    """The five fields of a crontab rule: their names and what each accepts, in the user's language."""
    return [(_("minute"), _("0–59")), (_("hour"), _("0–23")), (_("day of month"), _("1–31")),
            (_("month"), _("1–12 or jan–dec")), (_("day of week"), _("0–6 (0 is Sunday) or mon–sun"))]


def schedule_problem(schedule: str) -> str | None:
    """What is wrong with a crontab rule, in the user's language, naming the field; None when it is good.

    APScheduler's own messages are English and name no field; each field is tried alone to say which one is
    wrong and what it accepts.
    """
    parts = schedule.split()
    example = _("Write five fields, e.g. “0 8 * * mon” (minute hour day-of-month month day-of-week).")
    if len(parts) != 5:
        return _("The rule has %(n)s fields; it needs five. %(example)s", n=len(parts), example=example)
    for position, (name, accepts) in enumerate(_cron_fields()):
        alone = ["*"] * 5
        alone[position] = parts[position]
        try:
            cron(" ".join(alone))
        except ValueError:
            return _("The %(field)s field “%(value)s” is not valid: it takes %(accepts)s, lists (1,15), ranges "
                     "(1-5) or steps (*/2).", field=name, value=parts[position][:20], accepts=accepts)
    try:
        trigger = cron(schedule)
    except ValueError:
        return example
    if trigger.get_next_fire_time(None, clock.now()) is None:
        return _("This rule never fires (no such date); check the day and the month.")
    return None


def describe_schedule(schedule: str, locale: str = "zh") -> str:
    """A crontab rule in words (“At 08:00, only on Monday” / “在 08:00, 仅在 星期一”), by cron-descriptor.

    cron-descriptor translates its sentences but takes the names of days and months from the process's C
    locale (English); they are replaced with Babel's names for the user's language. A rule it cannot read is
    shown as it is.
    """
    import calendar

    from babel.dates import get_day_names, get_month_names
    from cron_descriptor import ExpressionDescriptor, Options

    options = Options()
    options.locale_code = "zh_CN" if locale.startswith("zh") else "en_US"
    options.use_24hour_time_format = True
    try:
        text = ExpressionDescriptor(schedule, options).get_description()
    except Exception:  # noqa: BLE001 - a rule the describer cannot read is shown as typed
        return schedule
    if not locale.startswith("zh"):
        return text
    days = get_day_names("wide", locale="zh_CN")   # 0 = Monday, like calendar.day_name
    months = get_month_names("wide", locale="zh_CN")
    for number in range(12, 0, -1):  # December before December's prefixes
        text = text.replace(calendar.month_name[number], months[number])
    for number in range(7):
        text = text.replace(calendar.day_name[number], days[number])
    return text


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


@dataclass
class _ChecklistValues:
    title: str
    post: str
    location: str
    level: str
    schedule: str
    role: Role
    assignee_id: int | None
    items: list[tuple[str, str | None, str]]  # text, standard, hazard type


def _checklist_values(enterprise_id: int, data: Any) -> _ChecklistValues:
    """Validate a checklist's fields (creating or editing); ValidationFailed names every field to fix."""
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
        problem = schedule_problem(schedule) if len(schedule) <= 100 else _("At most %(n)s characters.", n=100)
        if problem:
            errors["schedule"] = problem
    role = Role.principal if data.get("role") == "principal" else Role.officer
    assignee = None
    if data.get("assignee_id") not in (None, ""):
        raw = data["assignee_id"]
        assignee = db.session.get(User, int(raw)) if str(raw).isdigit() and len(str(raw)) < 10 else None
        if assignee is None or assignee.organisation_id != enterprise_id or assignee.role != role \
                or not assignee.active:
            errors["assignee_id"] = _("Choose a colleague in your enterprise who holds the role that checks.")
    raw_items = data.get("items")
    if isinstance(raw_items, str):
        raw_items = [line for line in raw_items.splitlines() if line.strip()]
    items = []
    for entry in raw_items if isinstance(raw_items, list) else []:
        entry = {"text": entry} if isinstance(entry, str) else entry
        text = str(entry.get("text", "")).strip() if isinstance(entry, dict) else ""
        if len(text) > 500:
            errors["items"] = _("Item %(n)s is longer than %(limit)s characters; shorten it.", n=len(items) + 1,
                                limit=500)
        if text:
            hazard_type = entry.get("hazard_type") if entry.get("hazard_type") in HAZARD_TYPES else "unsafe_condition"
            items.append((text[:500], (str(entry.get("standard") or "").strip()[:300] or None), hazard_type))
    if not items:
        errors["items"] = _("List at least one thing to check, one per line.")
    elif len(items) > 200:
        errors["items"] = _("At most %(n)s items per checklist; split it by post.", n=200)
    if errors:
        raise ValidationFailed(_("Some fields need your attention."), fields=errors)
    return _ChecklistValues(title, post, location, level, schedule, role, assignee.id if assignee else None, items)


def create_checklist(user: User, data: Any) -> Checklist:
    """Create a checklist for the user's enterprise: post, schedule, who checks, and its items; with `start_now`
    the first check opens at once (due at the next scheduled run) instead of at the first scheduled run."""
    enterprise_id = _enterprise_of(user)
    values = _checklist_values(enterprise_id, data)
    now = clock.now()
    checklist = Checklist(enterprise_id=enterprise_id, title=values.title, post=values.post, level=values.level,
                          schedule=values.schedule, location=values.location, role=values.role,
                          assignee_id=values.assignee_id,
                          # "Start now": the scheduler's next tick opens the first check (until the next run).
                          next_due_at=now if data.get("start_now") in (True, "1", "on") else next_run(values.schedule, now),
                          created_by_id=user.id, created_at=now)
    db.session.add(checklist)
    db.session.flush()
    for position, (text, standard, hazard_type) in enumerate(values.items, 1):
        db.session.add(ChecklistItem(checklist_id=checklist.id, position=position, text=text, standard=standard,
                                     hazard_type=hazard_type))
    audit.record("checklist_created", actor_id=user.id, data={
        "checklist": checklist.id, "enterprise": enterprise_id, "title": values.title, "post": values.post,
        "schedule": values.schedule, "items": [i[0] for i in values.items]})
    db.session.commit()
    return checklist


def get_checklist(user: User, checklist_id: int) -> Checklist:
    """One checklist, or NotFound when it is not the user's to see."""
    return _visible_row(user, Checklist, checklist_id, "enterprise_id",
                        lambda: _("Checklist %(id)s was not found.", id=checklist_id))


def can_edit(user: User, checklist: Checklist) -> bool:
    """Enterprise staff keep their own enterprise's checklists."""
    return is_enterprise_staff(user) and user.organisation_id == checklist.enterprise_id


def _editable(user: User, checklist_id: int) -> Checklist:
    checklist = get_checklist(user, checklist_id)
    if not can_edit(user, checklist):
        raise Forbidden(_("Only the enterprise's own staff change its checklists."))
    return checklist


def update_checklist(user: User, checklist_id: int, data: Any) -> Checklist:
    """Change a checklist. Items whose text stays keep their history; items taken off are retired (past
    results still name them); a changed schedule sets the next check from now, open checks stay open."""
    checklist = _editable(user, checklist_id)
    values = _checklist_values(checklist.enterprise_id, data)
    before = {"title": checklist.title, "post": checklist.post, "location": checklist.location,
              "schedule": checklist.schedule, "role": checklist.role.value, "assignee": checklist.assignee_id,
              "items": [i.text for i in checklist.items]}
    now = clock.now()
    if values.schedule != checklist.schedule and checklist.active:
        checklist.next_due_at = next_run(values.schedule, now)
    checklist.title, checklist.post, checklist.location = values.title, values.post, values.location
    checklist.level, checklist.schedule, checklist.role = values.level, values.schedule, values.role
    checklist.assignee_id = values.assignee_id
    current = {item.text: item for item in checklist.items}
    for position, (text, standard, hazard_type) in enumerate(values.items, 1):
        item = current.pop(text, None)
        if item is None:
            db.session.add(ChecklistItem(checklist_id=checklist.id, position=position, text=text,
                                         standard=standard, hazard_type=hazard_type))
        else:
            item.position = position
            if standard is not None:
                item.standard = standard
    for item in current.values():
        item.retired = True
    after = {"title": values.title, "post": values.post, "location": values.location, "schedule": values.schedule,
             "role": values.role.value, "assignee": values.assignee_id, "items": [i[0] for i in values.items]}
    audit.record("checklist_changed", actor_id=user.id, data={
        "checklist": checklist.id, "title": values.title,
        "changed": {k: [before[k], after[k]] for k in after if before[k] != after[k]}})
    db.session.commit()
    db.session.expire(checklist, ["items"])
    return checklist


def set_checklist_active(user: User, checklist_id: int, active: bool) -> Checklist:
    """Retire a checklist (no more checks are scheduled; its record stays) or put it back into use."""
    checklist = _editable(user, checklist_id)
    if checklist.active == active:
        return checklist
    checklist.active = active
    checklist.next_due_at = next_run(checklist.schedule, clock.now()) if active else None
    audit.record("checklist_reactivated" if active else "checklist_retired", actor_id=user.id,
                 data={"checklist": checklist.id, "title": checklist.title})
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
    if not may_keep_checks(user):
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


def recent_checks(user: User, *, status: CheckStatus | None = None, checklist_id: int | None = None,
                  limit: int = 100) -> list[CheckTask]:
    """The latest check runs the user may see (missed ones are the accountability record)."""
    stmt = select(CheckTask).order_by(CheckTask.scheduled_for.desc(), CheckTask.id.desc()).limit(limit)
    if checklist_id is not None:
        stmt = stmt.where(CheckTask.checklist_id == checklist_id)
    scope = _visible_enterprises(user)
    if scope is not None:
        stmt = stmt.where(CheckTask.organisation_id.in_(scope))
    if status is not None:
        stmt = stmt.where(CheckTask.status == status)
    return list(db.session.scalars(stmt))


def _in_scope(scope, enterprise_id: int) -> bool:
    """Whether an enterprise lies in a scope of _visible_enterprises (None: every one)."""
    if scope is None:
        return True
    if isinstance(scope, list):
        return enterprise_id in scope
    return db.session.scalar(scope.where(Organisation.id == enterprise_id)) is not None


def _visible_row(user: User, model, row_id: int, enterprise_column: str, missing):
    """A checklist or check run by id, or NotFound (message from `missing()`) when it is not the user's to see."""
    row = db.session.get(model, row_id)
    if row is None or not _in_scope(_visible_enterprises(user), getattr(row, enterprise_column)):
        raise NotFound(missing())
    return row


def get_check(user: User, check_id: int) -> CheckTask:
    """One check run, or NotFound when it is not the user's to see."""
    return _visible_row(user, CheckTask, check_id, "organisation_id",
                        lambda: _("Check %(id)s was not found.", id=check_id))


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
    # The finding names the hazard ("guard missing"); the item is the standard it breaches ("guard intact").
    title = note.splitlines()[0].strip() if note else item.text
    report: dict[str, Any] = {"title": title[:200], "description": description[:2000],
                              "location": checklist.location[:200], "hazard_type": item.hazard_type,
                              "source": "self_check"}
    if photos:
        report["photos"] = photos
    return report


def submit_check(user: User, check_id: int, results: Any, note: str | None = None,
                 uploads: list[attachments.Upload] | None = None) -> CheckTask:
    """Record a check: every item passed or failed; each failed item is reported as a hazard.

    `uploads`: photos sent from the page, in fields `photos_<item id>`; they are stored once the user may act
    and become the photos of that item's hazard. When the answers need fixing, the stored photos are kept
    (committed, the user's own until used) and ValidationFailed.values maps each item to its photo ids, so the
    page can offer them again; any other refusal stores nothing.
    """
    check = get_check(user, check_id)
    if check.status != CheckStatus.open:
        raise Conflict(_("This check has already been closed (done or missed); nothing was changed."))
    if not can_do(user, check):
        raise Forbidden(_("This check is for another post or person; you cannot record it."))
    if not isinstance(results, dict):
        raise ValidationFailed(_("Answer every item of the checklist."))
    errors: dict[str, str] = {}
    new_photos: dict[str, list[int]] = {}
    refused = None
    try:
        for upload in uploads or []:
            try:
                new_photos.setdefault(upload.field, []).append(attachments.store(user, upload.stream,
                                                                                 upload.filename).id)
            except ServiceError as exc:  # too large, empty, not a photo...
                errors[upload.field] = _("%(file)s: %(problem)s", file=upload.filename, problem=exc.message)
        answers: list[tuple[ChecklistItem, bool, str, list[int]]] = []
        for item in check.checklist.items:
            answer = results.get(str(item.id), results.get(item.id))
            answer = answer if isinstance(answer, dict) else {"ok": answer}
            ok = answer.get("ok")
            photos = [p for p in answer.get("photos") or [] if isinstance(p, int)] \
                + new_photos.get(f"photos_{item.id}", [])
            if ok not in (True, False):
                errors[f"item_{item.id}"] = _("Say whether this item passed or failed.")
                continue
            item_note = str(answer.get("note") or "").strip()[:2000]
            if not ok and not item_note:
                errors[f"item_{item.id}"] = _("Describe what you found, so the hazard report is clear.")
            if ok and photos:
                errors[f"photos_{item.id}"] = _("Photos go with a failed item; choose “Fail” or remove them.")
            answers.append((item, ok, item_note, photos))
        used: dict[int, int] = {}
        for item, ok, _note, photos in answers:
            for photo in photos:
                if used.setdefault(photo, item.id) != item.id:
                    errors[f"photos_{item.id}"] = _("This photo is already attached to another item; each failed "
                                                    "item needs its own photos.")
        # Validate every hazard report before anything else is stored: a check is all-or-nothing for the user.
        report_form = forms.get_form(hazards.REPORT_FORM)
        checker = attachments.attachment_checker(user, None)
        for item, ok, item_note, photos in answers:
            if not ok and item_note and f"photos_{item.id}" not in errors:
                try:
                    forms.validate(report_form, _hazard_report(check, item, item_note, photos), checker)
                except ValidationFailed as exc:
                    errors[f"photos_{item.id}" if "photos" in exc.fields else f"item_{item.id}"] = \
                        exc.fields.get("photos") or next(iter(exc.fields.values()), exc.message)
        if errors:
            db.session.commit()  # the photos that were accepted stay for the next try
            refused = ValidationFailed(_("Some items need your attention."), fields=errors)
            refused.values = {f"photos_{item.id}": photos for item, _ok, _n, photos in answers}
            raise refused
        # One transaction: the check, its results, the hazards its failed items become and their photos.
        now = clock.now()
        check.status, check.completed_at, check.completed_by_id = CheckStatus.completed, now, user.id
        check.note = (note or "").strip()[:2000] or None
        for item, ok, item_note, photos in answers:
            row = CheckResult(check_task_id=check.id, item_id=item.id, ok=ok, note=item_note or None)
            if not ok:
                row.hazard_id = hazards.record_hazard(user, _hazard_report(check, item, item_note, photos),
                                                      checklist_item_id=item.id).id
            db.session.add(row)
        audit.record("check_completed", actor_id=user.id, data={
            "check": check.id, "checklist": check.checklist_id, "scheduled_for": check.scheduled_for.isoformat(),
            "failed": [item.id for item, ok, _n, _p in answers if not ok]})
        db.session.commit()
    except ValidationFailed as exc:
        if exc is not refused:  # a report refused while recording: nothing of the submission stays
            db.session.rollback()
        raise
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
