"""The hazard register, reporting a hazard, one hazard's record, its diagram and its files."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.chinatime import today as china_today
from app.models import Role
from app.services import (
    attachments,
    documents,
    evidence,
    exports,
    extension_requests,
    forms,
    hazards,
    repeats,
    statistics,
)
from app.services.errors import Conflict, ValidationFailed
from app.web import exporting
from app.web.headers import send_stored, user_file
from app.web.inputs import int_arg
from app.web.pages import enterprises, timeline
from app.web.pages.formview import field_views, typed_values, uploads
from app.web.pages.view import status_choices, status_label

bp = Blueprint("hazards", __name__)


def _register_filters():
    """The register's filters from the query string (the page and its export): (filters, the enterprise picker,
    problems with the statistics' filters)."""
    sort = request.args.get("sort") if request.args.get("sort") in hazards.SORTS else "created"
    picker, enterprise_id = enterprises.picker(current_user, int_arg("enterprise"), request.args.get("enterprise_name"))
    # A statistics figure's link (the dashboard): its filters, each checked; a value that does not parse is named.
    stats, problems = statistics.register_filters(request.args, china_today())
    filters = hazards.HazardFilters(
        status=request.args.get("status") if request.args.get("status") in status_choices() else None,
        grade=request.args.get("grade") if request.args.get("grade") in ("general", "major", "none") else None,
        enterprise_id=enterprise_id, overdue=True if request.args.get("overdue") else None,
        text=(request.args.get("q") or "").strip() or None, sort=sort, stats=stats)
    return filters, picker, problems


@bp.get("/hazards")
@login_required
def register():
    filters, picker, problems = _register_filters()
    page = hazards.list_hazards(current_user, filters, max(int_arg("page") or 1, 1), per_page=20)
    filtered = any([filters.status, filters.grade, filters.enterprise_id, filters.overdue, filters.text,
                    picker.typed, filters.stats])
    kept = {name: request.args[name] for name in statistics.REGISTER_PARAMS if request.args.get(name)}
    export_args = {k: v for k, v in request.args.items() if k not in ("page", "lang") and v}
    return render_template("hazards/register.html", page=page, filters=filters, filtered=filtered,
                           picker=picker, stats_params=kept,
                           stats_problems=problems, export_args=export_args)


@bp.get("/hazards/export.xlsx")
@login_required
def export_register():
    """The register with the page's filters as an .xlsx, streamed."""
    filters, _picker, problems = _register_filters()
    if problems:
        raise ValidationFailed(next(iter(problems.values())), fields=problems)
    path = exports.export_register(current_user, filters, exporting.register_labels())
    return exporting.send_export(path, f"{_('Hazard register')}-{china_today().isoformat()}.xlsx")


@bp.get("/ledger")
@login_required
def ledger():
    """The listed-supervision ledger (挂牌督办台账): the listed hazards in the caller's scope."""
    page = exports.ledger_page(current_user, max(int_arg("page") or 1, 1), per_page=20)
    return render_template("hazards/ledger.html", page=page, tier_label=exporting.tier_label)


@bp.get("/ledger/export.xlsx")
@login_required
def export_ledger():
    path = exports.export_ledger(current_user, exporting.ledger_labels())
    return exporting.send_export(path, f"{_('Listed-supervision ledger')}-{china_today().isoformat()}.xlsx")


def _report_defaults() -> dict[str, Any]:
    # Inspectors find hazards on inspections; enterprise staff in their own checks.
    source = "government_inspection" if current_user.role == Role.inspector else "self_check"
    return {"source": source}


def _render_report(values: dict[str, Any], errors: dict[str, str], status: int = 200,
                   picker: enterprises.EnterprisePicker | None = None, refused: str | None = None):
    form = forms.get_form(hazards.REPORT_FORM)
    needs_enterprise = current_user.role == Role.inspector
    if needs_enterprise and picker is None:
        picker = enterprises.picker(current_user, values.get("enterprise_id"), None, active_only=True)[0]
    return render_template(
        "hazards/report.html", form=form, fields=field_views(form, current_user, values, errors), errors=errors,
        picker=picker, needs_enterprise=needs_enterprise, enterprise_id=values.get("enterprise_id"),
        refused=refused), status


@bp.route("/hazards/new", methods=["GET", "POST"])
@login_required
def report():
    if request.method == "GET":
        hazards.ensure_may_report(current_user)
        return _render_report(_report_defaults(), {})
    form = forms.get_form(hazards.REPORT_FORM)
    picker = enterprise_id = None
    if current_user.role == Role.inspector:
        picker, enterprise_id = enterprises.picker(
            current_user, int_arg("enterprise_id", request.form), request.form.get("enterprise_name"), active_only=True)
    try:
        hazard = hazards.report_submission(current_user, request.form.getlist, uploads(form), enterprise_id)
    except ValidationFailed as exc:
        errors = exc.fields or {"_form": exc.message}
        if picker is not None and picker.error and "enterprise_id" in errors:
            errors["enterprise_id"] = picker.error  # the typed name said which, but matched none or several
        return _render_report(dict(exc.values or typed_values(form), enterprise_id=enterprise_id), errors, 422,
                              picker)
    except Conflict as exc:  # the process could not start: keep what was typed
        return _render_report(dict(typed_values(form), enterprise_id=enterprise_id), {}, exc.status, picker,
                              refused=exc.message)
    flash(_("Hazard %(number)s has been recorded. Next step: %(step)s.", number=hazard.number,
            step=hazard.current_step or status_label(hazard.status)), "success")  # in hand: no read after commit
    return redirect(url_for("hazards.detail", hazard_id=hazard.id))


@bp.get("/hazards/<int:hazard_id>")
@login_required
def detail(hazard_id: int):
    hazard = hazards.get_hazard(current_user, hazard_id)
    open_tasks = hazards.open_tasks(hazard.id)
    all_tasks = hazards.tasks_of(hazard.id)
    titles = {t.spec_name: (t.title, t.form_key) for t in all_tasks}
    audit_events = hazards.timeline(hazard.id)
    used = timeline.versions_used(audit_events, all_tasks)
    events = [timeline.event_view(e, titles, used.get(e.id)) for e in audit_events]
    files_by_kind = evidence.files_by_kind(hazard.id, audit_events)
    pending = extension_requests.pending_request(hazard.id)
    return render_template(
        "hazards/detail.html", hazard=hazard, open_tasks=open_tasks, events=list(reversed(events)),
        evidence=files_by_kind, files=files_by_kind.files, done_steps=hazards.completed_steps(hazard.id),
        current_steps=[t.spec_name for t in open_tasks],
        can_request_extension=extension_requests.can_request(current_user, hazard), pending_extension=pending,
        can_decide_extension=pending is not None and extension_requests.can_decide(current_user, pending),
        documents=documents.available(hazard),
        earlier=repeats.earlier_occurrences(hazard) if hazard.repeat_number else [])


@bp.get("/hazards/<int:hazard_id>/diagram.bpmn")
@login_required
def diagram(hazard_id: int):
    xml = hazards.process_diagram(current_user, hazard_id)
    return user_file(Response(xml, mimetype="application/xml", headers={"Cache-Control": "private, max-age=300"}),
                     f"hazard-{hazard_id}.bpmn")


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    row = attachments.visible_attachment(current_user, attachment_id)
    return send_stored(attachments.open_file(row), size=row.size, etag=row.sha256, mimetype=row.content_type,
                       filename=row.original_name, max_age=3600,
                       inline=not request.args.get("download") and row.kind == "image")
