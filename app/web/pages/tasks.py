"""My work: the worklist, one task's page with its form, claim, release and complete."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.models import TaskStatus
from app.services import access, evidence, forms, hazards, subjects, tasks
from app.services.errors import Conflict, Forbidden, ValidationFailed
from app.web.inputs import int_arg
from app.web.pages import enterprises, timeline
from app.web.pages.formview import field_views, typed_values, uploads
from app.web.pages.view import can_act, safe_next, status_label, task_title

bp = Blueprint("tasks", __name__)

QUEUES = ("all", "mine", "unclaimed")


def _filters(enterprise_id: int | None) -> tuple[tasks.TaskFilters, str]:
    queue = request.args.get("queue") if request.args.get("queue") in QUEUES else "all"
    return tasks.TaskFilters(
        grade=request.args.get("grade") or None, status=request.args.get("status") or None,
        enterprise_id=enterprise_id, overdue=True if request.args.get("overdue") else None,
        text=(request.args.get("q") or "").strip() or None,
        mine_only=queue == "mine", unclaimed_only=queue == "unclaimed"), queue


@bp.get("/tasks")
@login_required
def worklist():
    picker, enterprise_id = enterprises.picker(current_user, int_arg("enterprise"), request.args.get("enterprise_name"))
    filters, queue = _filters(enterprise_id)
    filtered = any([filters.grade, filters.status, filters.enterprise_id, filters.overdue, filters.text,
                    picker.typed])
    g.task_counts = counts = tasks.task_counts(current_user)  # the header's badge reuses them
    # Unfiltered, the queue's size is one of the tiles' counts: no second count.
    known = None if filtered else {"all": counts.total, "mine": counts.mine, "unclaimed": counts.unclaimed}[queue]
    page = tasks.list_tasks(current_user, filters, max(int_arg("page") or 1, 1), per_page=25, total=known)
    returned = evidence.returned_task_ids([task.id for task, _hazard in page.items])
    return render_template("tasks/worklist.html", page=page, filters=filters, queue=queue, filtered=filtered,
                           counts=counts, picker=picker, returned=returned)


def _render_task(task, values=None, errors=None, status=200, refused=None):
    """The task page; after a submission, with what the user sent: `errors` next to the fields, or `refused`
    (why the step was not done) at the top, with the form as the user filled it in."""
    hazard = task.hazard
    form = tasks.shown_form(task)
    events, all_tasks = hazards.timeline(hazard.id), hazards.tasks_of(hazard.id)
    context = evidence.for_task(task, form, events, all_tasks)
    titles = {t.spec_name: (t.title, t.form_key) for t in all_tasks}
    actionable = task.status == TaskStatus.open and can_act(task)
    if values is None and actionable:
        values = evidence.prefill(context, form)  # a step sent back starts from what was sent last time
    return render_template(
        "tasks/task.html", task=task, hazard=hazard, form=form, evidence=evidence.files_by_kind(hazard.id, events),
        context=context, actionable=actionable, prefilled=bool(values) and not errors and refused is None,
        sources=[timeline.submission_view(s, titles) for s in context.sources],
        returned=timeline.submission_view(context.returned, titles) if context.returned else None,
        fields=field_views(form, current_user, values, errors) if actionable or values is not None else [],
        errors=errors or {}, title=task_title(task), refused=refused,
        people=access.people_of(hazard.enterprise_id) if actionable else []), status


@bp.get("/tasks/<int:task_id>")
@login_required
def task_page(task_id: int):
    task = tasks.visible_task(current_user, task_id, any_subject=True)
    if task.hazard is None:  # a periodic or public report's step is done on the report's page
        return redirect(subjects.task_subject_link(task))
    return _render_task(task)


@bp.post("/tasks/<int:task_id>")
@login_required
def complete(task_id: int):
    task = tasks.visible_task(current_user, task_id)
    form = forms.task_form(task)
    try:
        tasks.complete_submission(current_user, task_id, request.form.getlist, uploads(form))
    except ValidationFailed as exc:
        return _render_task(task, exc.values or typed_values(form), exc.fields or {"_form": exc.message}, 422)
    except (Conflict, Forbidden) as exc:  # someone was first, or the process refused: keep what was typed
        return _render_task(task, typed_values(form), status=exc.status, refused=exc.message)
    flash(_("Done: %(step)s. The hazard is now: %(status)s.", step=task_title(task),
            status=status_label(task.hazard.status)), "success")
    return redirect(url_for("hazards.detail", hazard_id=task.hazard_id))


def _claim_or_release(task_id: int, claim_it: bool):
    back = safe_next(request.form.get("next"), url_for("tasks.worklist"))
    try:
        task = (tasks.claim if claim_it else tasks.release)(current_user, task_id)
    except (Conflict, Forbidden) as exc:
        flash(exc.message, "danger")
        return redirect(back)
    if claim_it:
        flash(_("You claimed %(step)s of %(number)s; colleagues no longer see it in their lists.",
                step=task_title(task), number=tasks.subject_label(task)), "success")
    else:
        flash(_("You released %(step)s of %(number)s; your group can take it again.",
                step=task_title(task), number=tasks.subject_label(task)), "success")
    return redirect(back)


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int):
    return _claim_or_release(task_id, True)


@bp.post("/tasks/<int:task_id>/release")
@login_required
def release(task_id: int):
    return _claim_or_release(task_id, False)
