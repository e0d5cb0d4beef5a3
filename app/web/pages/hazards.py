"""The hazard register, reporting a hazard, one hazard's record, its diagram and its files."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.models import Role
from app.services import access, attachments, forms, hazards
from app.services.errors import Forbidden, NotFound, ValidationFailed
from app.web.pages.formview import field_views, read_submission
from app.web.pages.view import STATUSES, status_label, task_title

bp = Blueprint("hazards", __name__)


def _int(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() else None


@bp.get("/hazards")
@login_required
def register():
    sort = request.args.get("sort") if request.args.get("sort") in hazards.SORTS else "created"
    filters = hazards.HazardFilters(
        status=request.args.get("status") if request.args.get("status") in STATUSES else None,
        grade=request.args.get("grade") if request.args.get("grade") in ("general", "major") else None,
        enterprise_id=_int("enterprise"), overdue=True if request.args.get("overdue") else None,
        text=(request.args.get("q") or "").strip() or None, sort=sort)
    page = hazards.list_hazards(current_user, filters, max(_int("page") or 1, 1), per_page=20)
    filtered = any([filters.status, filters.grade, filters.enterprise_id, filters.overdue, filters.text])
    return render_template("hazards/register.html", page=page, filters=filters, filtered=filtered,
                           enterprises=access.visible_enterprises(current_user),
                           can_report=hazards.can_report(current_user))


def _report_defaults() -> dict[str, Any]:
    # Inspectors find hazards on inspections; enterprise staff in their own checks.
    source = "government_inspection" if current_user.role == Role.inspector else "self_check"
    return {"source": source}


def _render_report(values: dict[str, Any], errors: dict[str, str], status: int = 200):
    form = forms.get_form(hazards.REPORT_FORM)
    needs_enterprise = current_user.role == Role.inspector
    return render_template(
        "hazards/report.html", form=form, fields=field_views(form, current_user, values, errors), errors=errors,
        enterprises=access.visible_enterprises(current_user) if needs_enterprise else [],
        needs_enterprise=needs_enterprise, enterprise_id=values.get("enterprise_id")), status


@bp.route("/hazards/new", methods=["GET", "POST"])
@login_required
def report():
    if not hazards.can_report(current_user):
        raise Forbidden(_("Only enterprise staff and inspectors can report hazards."))
    if request.method == "GET":
        return _render_report(_report_defaults(), {})
    form = forms.get_form(hazards.REPORT_FORM)
    data, upload_errors = read_submission(form, current_user)
    if current_user.role == Role.inspector:
        raw = request.form.get("enterprise_id", "")
        data["enterprise_id"] = int(raw) if raw.isdigit() else None
    try:
        if upload_errors:
            try:
                forms.validate(form, {k: v for k, v in data.items() if k != "enterprise_id"},
                               attachments.attachment_checker(current_user, None))
            except ValidationFailed as exc:
                upload_errors = {**exc.fields, **upload_errors}
            raise ValidationFailed(_("Some fields need your attention."), fields=upload_errors)
        hazard = hazards.report_hazard(current_user, data)
    except ValidationFailed as exc:
        return _render_report(data, exc.fields or {"_form": exc.message}, 422)
    flash(_("Hazard %(number)s has been recorded. Next step: %(step)s.", number=hazard.number,
            step=", ".join(task_title(t) for t in hazards.open_tasks(hazard.id)) or status_label(hazard.status)),
          "success")
    return redirect(url_for("hazards.detail", hazard_id=hazard.id))


def _summary(action: str, data: dict[str, Any], step: str | None) -> str:
    """What the actor did, as a phrase in the user's language (the actor's name goes before it)."""
    step = step or ""
    phrases = {
        "hazard_reported": lambda: _("reported the hazard"),
        "task_completed": lambda: _("completed “%(step)s”", step=step),
        "task_claimed": lambda: _("claimed “%(step)s”", step=step),
        "task_released": lambda: _("released “%(step)s”", step=step),
        "task_delegated": lambda: _("handed “%(step)s” to %(name)s", step=step, name=data.get("to", "")),
        "timer_fired": lambda: _("a deadline was reached"),
        "timer_failed": lambda: _("a deadline timer failed"),
        "extension_requested": lambda: _("asked to extend the deadline to %(date)s", date=data.get("requested", "")),
        "extension_approved": lambda: _("extended the deadline to %(date)s", date=data.get("to", "")),
        "extension_refused": lambda: _("refused to extend the deadline"),
        "instance_migrated": lambda: _("moved the hazard to process version %(n)s", n=data.get("to_version", "")),
    }
    phrase = phrases.get(action)
    return phrase() if phrase else action.replace("_", " ")


def _event_view(event, titles: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """One timeline entry: who did what, when, and the submitted values with their labels."""
    data = json.loads(event.data)
    form_key, values, step = None, {}, None
    if event.action == "hazard_reported":
        form_key, values = hazards.REPORT_FORM, data
    elif event.action == "task_completed":
        form_key, values = data.get("form"), data.get("data") or {}
        step = task_title(title=data.get("task"), form_key=form_key)
    elif event.task_spec in titles:
        title, key = titles[event.task_spec]
        step = task_title(title=title, form_key=key)
    rows: list[tuple[dict[str, Any], Any]] = []
    if form_key:
        try:
            specs = forms.get_form(form_key).fields
        except NotFound:  # a form removed since: show the raw values
            specs = [{"name": k, "label": {}} for k in values]
        rows = [(spec, values[spec["name"]]) for spec in specs if spec["name"] in values]
    elif event.action == "extension_requested" and data.get("reason"):
        rows = [({"name": "reason", "label": {"en": "Reason", "zh": "理由"}}, data["reason"])]
    return {"event": event, "summary": _summary(event.action, data, step), "rows": rows, "form_key": form_key}


@bp.get("/hazards/<int:hazard_id>")
@login_required
def detail(hazard_id: int):
    hazard = hazards.get_hazard(current_user, hazard_id)
    open_tasks = hazards.open_tasks(hazard.id)
    titles = {t.spec_name: (t.title, t.form_key) for t in hazards.tasks_of(hazard.id)}
    events = [_event_view(e, titles) for e in hazards.timeline(hazard.id)]
    evidence = hazards.evidence(hazard.id)
    files = {f.id: f for f in evidence.before + evidence.after + evidence.documents}
    return render_template(
        "hazards/detail.html", hazard=hazard, open_tasks=open_tasks, events=list(reversed(events)),
        evidence=evidence, files=files, done_steps=hazards.completed_steps(hazard.id),
        current_steps=[t.spec_name for t in open_tasks])


@bp.get("/hazards/<int:hazard_id>/diagram.bpmn")
@login_required
def diagram(hazard_id: int):
    xml = hazards.process_diagram(current_user, hazard_id)
    return Response(xml, mimetype="application/xml", headers={"Cache-Control": "private, max-age=300"})


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    row = attachments.visible_attachment(current_user, attachment_id)
    response = send_file(attachments.path_of(row), mimetype=row.content_type, download_name=row.original_name,
                         as_attachment=bool(request.args.get("download")) or row.kind != "image",
                         max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
