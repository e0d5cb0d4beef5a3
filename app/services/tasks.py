"""The worklist and the hot path: claim, release and complete human tasks."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app import metrics
from app.clock import clock
from app.extensions import db
from app.models import Hazard, HumanTask, Position, TaskStatus, User
from app.services import attachments, form_usage, forms, subjects
from app.services.access import can_see_hazard, check_task_owner, task_scope
from app.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.services.paging import Page, count_upto_query, paginate
from app.services.policy import task_owners
from app.services.search import text_match
from app.services.unit_of_work import InstanceStep, instance_step


@dataclass
class TaskFilters:
    grade: str | None = None
    status: str | None = None
    enterprise_id: int | None = None
    overdue: bool | None = None
    text: str | None = None
    mine_only: bool = False
    unclaimed_only: bool = False


def task_query(user: User, filters: TaskFilters):
    """The open tasks the user holds or may claim, of every subject (services/subjects.py): a hazard's (with its
    hazard), a periodic report's or a public report's triage (hazard None). A filter on the hazard's columns keeps
    only hazards' tasks."""
    stmt = (select(HumanTask, Hazard).outerjoin(Hazard, Hazard.id == HumanTask.hazard_id)
            .where(HumanTask.status == TaskStatus.open, task_scope(user)))
    if filters.mine_only:
        stmt = stmt.where(HumanTask.assignee_id == user.id)
    if filters.unclaimed_only:
        stmt = stmt.where(HumanTask.assignee_id.is_(None))
    if filters.grade:
        stmt = stmt.where(Hazard.grade == filters.grade)
    if filters.status:
        stmt = stmt.where(Hazard.status == filters.status)
    if filters.enterprise_id:
        stmt = stmt.where(Hazard.enterprise_id == filters.enterprise_id)
    if filters.overdue is not None:
        late = _overdue_clause(clock.now())
        stmt = stmt.where(late if filters.overdue else ~late)
    if filters.text:
        stmt = stmt.where(text_match(filters.text, Hazard.title, Hazard.number))
    return stmt


def list_tasks(user: User, filters: TaskFilters | None = None, page: int = 1, per_page: int = 50,
               total: int | None = None) -> Page:
    """Open tasks the user holds or may claim, soonest deadline first.

    `total`: the number of matching tasks when the caller knows it already (the worklist's tiles count
    the unfiltered queues), so that it is not counted twice.
    """
    stmt = task_query(user, filters or TaskFilters())
    rows = db.session.execute(stmt.order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.id)
                              .options(selectinload(Hazard.enterprise))
                              .limit(per_page + 1).offset((page - 1) * per_page)).all()
    items = [(t, h) for t, h in rows]
    subjects.load_subjects([t for t, h in items if h is None])
    if total is not None:
        return Page(items[:per_page], total, page, per_page, has_next=len(items) > per_page)
    return paginate(stmt, page, per_page, items)


# A task this close to its deadline is flagged on the worklist, so it is done before it is late.
DUE_SOON = timedelta(days=3)


def _overdue_clause(now: datetime):
    # Written so that NOT(...) is true for tasks without a deadline (NULL would drop them); a task that is not a
    # hazard's has no hazard row (outer join): only its own deadline counts.
    return or_(and_(Hazard.id.is_not(None), Hazard.overdue.is_(True)),
               and_(HumanTask.due_at.is_not(None), HumanTask.due_at < now))


def _due_soon_clause(now: datetime):
    return and_(or_(Hazard.id.is_(None), Hazard.overdue.is_(False)), HumanTask.due_at >= now,
                HumanTask.due_at < now + DUE_SOON)


def urgency(task: HumanTask, hazard: Hazard | None, now: datetime | None = None) -> str | None:
    """'overdue', 'due_soon' or None: how pressing an open task is (same rule as task_counts)."""
    now = now or clock.now()
    if (hazard is not None and hazard.overdue) or (task.due_at is not None and task.due_at < now):
        return "overdue"
    if task.due_at is not None and task.due_at < now + DUE_SOON:
        return "due_soon"
    return None


@dataclass
class TaskCounts:
    total: int = 0
    mine: int = 0
    unclaimed: int = 0
    overdue: int = 0
    due_soon: int = 0


def task_counts(user: User) -> TaskCounts:
    """How many open tasks the user holds, may claim, and how many are overdue or due soon."""
    now = clock.now()
    stmt = task_query(user, TaskFilters()).with_only_columns(
        func.count(), func.count().filter(HumanTask.assignee_id == user.id),
        func.count().filter(HumanTask.assignee_id.is_(None)),
        func.count().filter(_overdue_clause(now)), func.count().filter(_due_soon_clause(now)))
    total, mine, unclaimed, overdue, due_soon = db.session.execute(stmt).one()
    return TaskCounts(total=total, mine=mine, unclaimed=unclaimed, overdue=overdue, due_soon=due_soon)


# The header's badge shows "99+" beyond this: it is on every page, so it reads at most this many rows.
NAV_COUNT_CAP = 99


def nav_task_count_queries(user: User):
    """The header's badge on every page: (SELECT open tasks counted up to NAV_COUNT_CAP + 1, EXISTS an overdue one).

    The header reads both in its one statement (services/header.py); the worklist counts exactly (task_counts).
    """
    stmt = task_query(user, TaskFilters())
    return count_upto_query(stmt, NAV_COUNT_CAP + 1), stmt.where(_overdue_clause(clock.now())).exists()


def visible_task(user: User, task_id: int, any_subject: bool = False) -> HumanTask:
    """The task if its subject is visible to the user (else NotFound); ownership is checked separately.
    `any_subject`: a periodic report's or a public report's task too (claim and release); else only a hazard's
    (the task page and completing: the other subjects' steps are done on their own pages)."""
    task = db.session.get(HumanTask, task_id, options=[joinedload(HumanTask.hazard).joinedload(Hazard.enterprise)])
    if task is None or not _can_see_subject(user, task, any_subject):
        raise NotFound(_("Task %(id)s was not found.", id=task_id))
    return task


def _can_see_subject(user: User, task: HumanTask, any_subject: bool) -> bool:
    if task.hazard is not None:
        return can_see_hazard(user, task.hazard)
    if not any_subject:
        return False
    from app.services import periodic_reports, public_reports  # they use this module's may_act

    try:
        if task.report_id is not None:
            periodic_reports.visible_report(user, task.report_id)
        elif task.public_report_id is not None:
            public_reports.visible_report(user, task.public_report_id)
        else:
            return False
    except NotFound:
        return False
    return True


def subject_label(task: HumanTask) -> str:
    """What a task is about, in a few words for a message: the hazard's number, the report's period or the public
    report's tracking code."""
    if task.hazard is not None:
        return task.hazard.number
    subjects.load_subjects([task])
    subject = getattr(task, "subject", None)
    if task.report_id is not None and subject is not None:
        return _("hazard report %(period)s", period=subject.period)
    if task.public_report_id is not None and subject is not None:
        return _("public report %(code)s", code=subject.tracking_code)
    return f"#{task.id}"


def _ensure_open(task: HumanTask) -> None:
    if task.status != TaskStatus.open:
        raise Conflict(_("This task has already been completed; nothing was changed."))


def _why_not(user: User, task_id: int, any_subject: bool) -> None:
    """Raise the error that says why the user cannot act on a task (NotFound, Forbidden or Conflict)."""
    task = visible_task(user, task_id, any_subject=True)
    if task.hazard is None and not any_subject:
        raise Conflict(_("This step belongs to a report: do it on the report's page (%(link)s); nothing was changed.",
                         link=subjects.task_subject_link(task)))
    check_task_owner(user, task)
    raise Conflict(_("Someone else claimed or completed this task first."))


def _task_step(user: User, task_id: int, any_subject: bool = False, **options):
    """The unit of work for an action on one task: its instance locked only if the task is in the user's scope and
    is a hazard's — or, `any_subject` (claim, release, delegate), any subject's (a periodic or public report's steps
    are completed on their own pages: services/periodic_reports.py, services/public_answers.py)."""
    scope = task_scope(user) if any_subject else and_(task_scope(user), HumanTask.hazard_id.is_not(None))
    return instance_step(task_id=task_id, task_scope=scope, missing=lambda: _why_not(user, task_id, any_subject),
                         **options)


def _open_task(user: User, step: InstanceStep) -> HumanTask:
    """The step's task, still open and still the user's to act on (as read under the lock)."""
    task = step.task
    if task is None:
        raise Conflict(_("Someone else claimed or completed this task first."))
    check_task_owner(user, task)
    _ensure_open(task)
    return task


def claim(user: User, task_id: int) -> HumanTask:
    """Take a group task so that only this user works on it (a task of any subject)."""
    with _task_step(user, task_id, any_subject=True) as step:
        task = _open_task(user, step)
        task.assignee_id = user.id
        step.audit("task_claimed", actor_id=user.id, task_spec=task.spec_name)
    return task


def release(user: User, task_id: int) -> HumanTask:
    """Give a claimed task back to the group (a task of any subject)."""
    with _task_step(user, task_id, any_subject=True) as step:
        task = _open_task(user, step)
        if task.assignee_id != user.id:
            raise Conflict(_("You have not claimed this task, so there is nothing to release."))
        task.assignee_id = None
        step.audit("task_released", actor_id=user.id, task_spec=task.spec_name)
    return task


def delegate(user: User, task_id: int, to_user_id: Any) -> HumanTask:
    """Hand a task to a colleague who holds the same role for the same organisation (a task of any subject)."""
    with _task_step(user, task_id, any_subject=True) as step:
        task = _open_task(user, step)
        target = db.session.get(User, to_user_id) if isinstance(to_user_id, int) else None
        if target is None or not target.active:
            raise ValidationFailed(_("Choose a colleague to hand the task to."),
                                   fields={"user_id": _("There is no such active user.")})
        try:
            check_task_owner(target, task)
        except Forbidden:
            raise ValidationFailed(_("Choose a colleague to hand the task to."),
                                   fields={"user_id": _("This person cannot work on this task.")}) from None
        task.assignee_id = target.id
        step.audit("task_delegated", actor_id=user.id, task_spec=task.spec_name,
                   data={"to_user_id": target.id, "to": target.display_name})
    return task


def complete(user: User, task_id: int, data: Any) -> HumanTask:
    """Validate the submission, run the task in the engine and persist everything in one transaction."""
    with _task_step(user, task_id, keep_objects=True) as step:
        task = _open_task(user, step)
        hazard = step.hazard
        form = forms.task_form(task)
        cleaned = forms.validate(form, data, attachments.attachment_checker(user, hazard))
        step.run(lambda runtime, state: runtime.complete(state, task.task_uuid, cleaned), actor_id=user.id,
                 completed_task_uuid=task.task_uuid)
        attachments.link_to_hazard(hazard, cleaned, form.fields)
        step.audit("task_completed", actor_id=user.id, task_spec=task.spec_name,
                   data={"task": task.title, "form": task.form_key, "form_version_id": form.version_id,
                         "data": cleaned})
    metrics.TASKS_COMPLETED.inc()
    return task


def complete_submission(user: User, task_id: int, typed: Callable[[str], list[str]],
                        uploads: Iterable[attachments.Upload]) -> HumanTask:
    """The task page's form with its files: who may act is checked before any file is stored, and the files
    are committed with the completion (see attachments.submit_with_uploads)."""
    task = visible_task(user, task_id)
    check_task_owner(user, task)
    _ensure_open(task)
    return attachments.submit_with_uploads(user, forms.task_form(task), typed, uploads,
                                           attachments.attachment_checker(user, task.hazard),
                                           lambda data: complete(user, task_id, data))


def shown_form(task: HumanTask) -> forms.FormDefinition:
    """The task's form as people read it: `{deadline_days}` and `{timer:...}` in its texts rendered from the
    timers of the task's process version (form_usage.for_task), so a changed timer changes the text."""
    return form_usage.for_task(forms.task_form(task), task)


def lane_name(task: HumanTask) -> str | None:
    """Who a task is for when its lane names more than a role: the bureau head, or a position's name (None: the
    role says it)."""
    if task.position_id is not None:
        position = db.session.get(Position, task.position_id)
        return position.name if position is not None else None
    if task.bureau_head:
        return _("bureau head")
    return None


def may_act(user: User, task: HumanTask) -> bool:
    """Whether the user may work on this open task now (the access rules' check_task_owner, as a yes or no)."""
    try:
        check_task_owner(user, task)
    except Forbidden:
        return False
    return True


def why_waiting(task: HumanTask) -> str | None:
    """Why nobody can take an open task, in words for the hazard's page (None when someone can): everyone its
    lane names is excluded by four-eyes, or nobody holds the lane's position or role for this hazard."""
    if task.status != TaskStatus.open or task.assignee_id is not None:
        return None
    if not (task.bureau_head or task.position_id is not None or task.excluded_user_id is not None):
        return None  # a role's lane: the role's holders of the organisation (as before)
    if task_owners(task):
        return None
    if task.excluded_user_id is not None:
        excluded = db.session.get(User, task.excluded_user_id)
        return _("Waiting: this step must be done by a different person from %(name)s, who did the earlier step "
                 "it checks (four-eyes), and nobody else may do it. An administrator must give this lane to another "
                 "person.", name=excluded.display_name if excluded else "?")
    return _("Waiting: nobody holds “%(lane)s” for this hazard. An administrator must give it to someone.",
             lane=lane_name(task) or task.role.value)
