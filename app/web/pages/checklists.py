"""Checklists per post, the checks they schedule, and recording a check (failed items become hazards)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.chinatime import china_time
from app.models import Checklist, CheckStatus
from app.services import attachments, checklists
from app.services.errors import ValidationFailed
from app.services.policy import is_enterprise_staff
from app.web.inputs import int_arg

bp = Blueprint("checklists", __name__)

FIELDS = ("title", "post", "level", "schedule", "location", "role", "assignee_id", "items", "start_now")


@bp.get("/checklists")
@login_required
def index():
    return render_template("checklists/index.html", summaries=checklists.list_checklists(current_user),
                           missed=checklists.recent_checks(current_user, status=CheckStatus.missed, limit=50),
                           can_create=is_enterprise_staff(current_user))


def _form_values(source: Any) -> dict[str, str]:
    """Every field of the checklist form, as text (a missing one empty: never a dict method's name)."""
    return {name: str(source.get(name) or "") for name in FIELDS}


def _checklist_values(checklist: Checklist) -> dict[str, str]:
    return _form_values({
        "title": checklist.title, "post": checklist.post, "level": checklist.level, "location": checklist.location,
        "schedule": checklist.schedule if checklist.level == "custom" else "", "role": checklist.role.value,
        "assignee_id": checklist.assignee_id, "items": "\n".join(item.text for item in checklist.items)})


def _render_form(values: dict[str, str], errors: dict[str, str] | None = None, status: int = 200,
                 checklist: Checklist | None = None):
    return render_template("checklists/new.html", values=values, errors=errors or {}, levels=checklists.LEVELS,
                           presets=checklists.LEVEL_SCHEDULES, checklist=checklist,
                           people=checklists.assignable_people(current_user)), status


def _submitted() -> dict[str, str]:
    values = _form_values(request.form)
    values["assignee_id"] = str(int_arg("assignee_id", request.form) or "")
    return values


@bp.get("/checklists/new")
@login_required
def new():
    return _render_form(_form_values({"level": "team", "role": "officer", "start_now": "1"}))


@bp.post("/checklists/new")
@login_required
def create():
    values = _submitted()
    try:
        checklist = checklists.create_checklist(current_user, values)
    except ValidationFailed as exc:
        return _render_form(values, exc.fields or {"_form": exc.message}, 422)
    if values.get("start_now"):
        flash(_("Checklist “%(title)s” saved; the first check opens now.", title=checklist.title), "success")
    else:
        flash(_("Checklist “%(title)s” saved; the first check is due %(when)s.", title=checklist.title,
                when=china_time(checklist.next_due_at)), "success")
    return redirect(url_for("checklists.detail", checklist_id=checklist.id))


@bp.get("/checklists/<int:checklist_id>")
@login_required
def detail(checklist_id: int):
    checklist = checklists.get_checklist(current_user, checklist_id)
    return render_template("checklists/detail.html", checklist=checklist,
                           can_edit=checklists.can_edit(current_user, checklist),
                           runs=checklists.recent_checks(current_user, checklist_id=checklist.id, limit=30))


@bp.get("/checklists/<int:checklist_id>/edit")
@login_required
def edit(checklist_id: int):
    checklist = checklists.get_checklist(current_user, checklist_id)
    if not checklists.can_edit(current_user, checklist):
        return redirect(url_for("checklists.detail", checklist_id=checklist_id))
    return _render_form(_checklist_values(checklist), checklist=checklist)


@bp.post("/checklists/<int:checklist_id>/edit")
@login_required
def update(checklist_id: int):
    checklist = checklists.get_checklist(current_user, checklist_id)
    values = _submitted()
    try:
        checklists.update_checklist(current_user, checklist_id, values)
    except ValidationFailed as exc:
        return _render_form(values, exc.fields or {"_form": exc.message}, 422, checklist)
    flash(_("Checklist “%(title)s” saved.", title=checklist.title), "success")
    return redirect(url_for("checklists.detail", checklist_id=checklist_id))


@bp.post("/checklists/<int:checklist_id>/active")
@login_required
def set_active(checklist_id: int):
    active = request.form.get("active") == "1"
    checklist = checklists.set_checklist_active(current_user, checklist_id, active)
    if active:
        flash(_("Checklist put back into use; the next check is due %(when)s.",
                when=china_time(checklist.next_due_at)), "success")
    else:
        flash(_("Checklist retired: no more checks are scheduled; its record stays."), "success")
    return redirect(url_for("checklists.detail", checklist_id=checklist_id))


@bp.get("/checks")
@login_required
def my_checks():
    return render_template("checklists/my_checks.html", checks=checklists.my_checks(current_user),
                           recent=checklists.recent_checks(current_user, limit=30))


def _render_check(check, values=None, errors=None, status=200, photos=None):
    return render_template("checklists/check.html", check=check, values=values or {}, errors=errors or {},
                           photos=photos or {}, can_do=checklists.can_do(current_user, check)), status


@bp.get("/checks/<int:check_id>")
@login_required
def check(check_id: int):
    return _render_check(checklists.get_check(current_user, check_id))


@bp.post("/checks/<int:check_id>")
@login_required
def submit(check_id: int):
    item_check = checklists.get_check(current_user, check_id)
    results = {}
    uploads = []
    for item in item_check.checklist.items:
        answer = request.form.get(f"item_{item.id}")
        kept = [int(v) for v in request.form.getlist(f"photos_{item.id}") if v.isdigit() and len(v) < 10]
        results[str(item.id)] = {"ok": {"pass": True, "fail": False}.get(answer or ""),
                                 "note": request.form.get(f"note_{item.id}", ""), "photos": kept}
        uploads += [attachments.Upload(f"photos_{item.id}", upload.stream, upload.filename)
                    for upload in request.files.getlist(f"photo_files_{item.id}") if upload and upload.filename]
    try:
        checklists.submit_check(current_user, check_id, results, request.form.get("note"), uploads)
    except ValidationFailed as exc:
        return _render_check(item_check, request.form, exc.fields or {"_form": exc.message}, 422, exc.values)
    failed = sum(1 for r in item_check.results if not r.ok)
    if failed:
        flash(_("Check recorded; %(n)s failed items were reported as hazards.", n=failed), "warning")
    else:
        flash(_("Check recorded; every item passed."), "success")
    return redirect(url_for("checklists.check", check_id=check_id))
