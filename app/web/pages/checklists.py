"""Checklists per post, the checks they schedule, and recording a check (failed items become hazards)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.chinatime import china_time
from app.models import CheckStatus
from app.services import checklists
from app.services.errors import ValidationFailed
from app.services.policy import is_enterprise_staff
from app.web.inputs import int_arg

bp = Blueprint("checklists", __name__)


@bp.get("/checklists")
@login_required
def index():
    return render_template("checklists/index.html", summaries=checklists.list_checklists(current_user),
                           missed=checklists.recent_checks(current_user, status=CheckStatus.missed, limit=50),
                           can_create=is_enterprise_staff(current_user))


def _render_new(values=None, errors=None, status=200):
    return render_template("checklists/new.html", values=values or {"level": "team", "role": "officer"},
                           errors=errors or {}, levels=checklists.LEVELS, presets=checklists.LEVEL_SCHEDULES,
                           people=checklists.assignable_people(current_user)), status


@bp.get("/checklists/new")
@login_required
def new():
    return _render_new()


@bp.post("/checklists/new")
@login_required
def create():
    values = {k: request.form.get(k, "") for k in ("title", "post", "level", "schedule", "location", "role",
                                                    "assignee_id", "items")}
    try:
        values["assignee_id"] = int_arg("assignee_id", request.form) or values["assignee_id"]
        checklist = checklists.create_checklist(current_user, values)
    except ValidationFailed as exc:
        return _render_new(values, exc.fields or {"_form": exc.message}, 422)
    flash(_("Checklist “%(title)s” saved; the first check is due %(when)s.", title=checklist.title,
            when=china_time(checklist.next_due_at)), "success")
    return redirect(url_for("checklists.index"))


@bp.get("/checks")
@login_required
def my_checks():
    return render_template("checklists/my_checks.html", checks=checklists.my_checks(current_user),
                           recent=checklists.recent_checks(current_user, limit=30))


def _render_check(check, values=None, errors=None, status=200):
    return render_template("checklists/check.html", check=check, values=values or {}, errors=errors or {},
                           can_do=checklists.can_do(current_user, check)), status


@bp.get("/checks/<int:check_id>")
@login_required
def check(check_id: int):
    return _render_check(checklists.get_check(current_user, check_id))


@bp.post("/checks/<int:check_id>")
@login_required
def submit(check_id: int):
    item_check = checklists.get_check(current_user, check_id)
    results = {}
    for item in item_check.checklist.items:
        answer = request.form.get(f"item_{item.id}")
        results[str(item.id)] = {"ok": {"pass": True, "fail": False}.get(answer or ""),
                                 "note": request.form.get(f"note_{item.id}", "")}
    try:
        checklists.submit_check(current_user, check_id, results, request.form.get("note"))
    except ValidationFailed as exc:
        return _render_check(item_check, request.form, exc.fields or {"_form": exc.message}, 422)
    failed = sum(1 for r in item_check.results if not r.ok)
    if failed:
        flash(_("Check recorded; %(n)s failed items were reported as hazards.", n=failed), "warning")
    else:
        flash(_("Check recorded; every item passed."), "success")
    return redirect(url_for("checklists.check", check_id=check_id))
