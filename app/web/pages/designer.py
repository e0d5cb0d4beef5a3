"""Administrators: the process library, the BPMN designer, versions, diffs, migration, and the form editor.

Pages are HTML; the designer's own calls (validate, save a draft, deploy, save a form) are JSON
posted by app/static/js/designer*.js with the X-CSRFToken header. Every route checks the
administrator role (and every service function checks it again).
"""
from __future__ import annotations

import json
from functools import wraps
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from app.clock import clock
from app.engine.specs import MAX_BPMN_BYTES
from app.extensions import login_manager
from app.models import HazardStatus
from app.services import conditions, designer, forms, heatmap, migration, processes, statuses
from app.services.errors import BadRequest, NotFound, ServiceError, ValidationFailed
from app.services.org_codes import industry_label
from app.services.processes import DiagramInvalid
from app.web.headers import user_file
from app.web.inputs import bounded_int, int_arg, int_args
from app.web.pages.view import status_choices, status_label

bp = Blueprint("designer", __name__, url_prefix="/admin")


def _wants_json() -> bool:
    return (request.is_json or request.accept_mimetypes.best == "application/json"
            or request.endpoint == "designer.condition_builder")


def admin_required(view):
    """Log in first (pages redirect, JSON gets 401), then administrators only (403)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            if _wants_json():
                return jsonify({"error": _("Log in to continue.")}), 401
            return login_manager.unauthorized()
        designer.require_admin(current_user)
        return view(*args, **kwargs)
    return wrapper


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError):
    if not _wants_json():
        from app.web.pages.errors import render_error

        return render_error(exc.status, exc.message, exc)
    body: dict[str, Any] = {"error": exc.message}
    if exc.fields:
        body["fields"] = exc.fields
    body.update(getattr(exc, "extra", None) or {})  # e.g. form_usage.FormInUse: the problems, re-issue possible
    if isinstance(exc, DiagramInvalid):
        body["problems"] = exc.problems
    return jsonify(body), exc.status


@bp.errorhandler(CSRFError)
def csrf_error(exc: CSRFError):
    if not _wants_json():
        from app.web.pages.errors import csrf_error as page_csrf_error

        return page_csrf_error(exc)
    return jsonify({"error": _("The page's security token is missing or expired; reload the page and try "
                               "again (your diagram is kept in the editor).")}), 400


def _json() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(_("The request body must be a JSON object (Content-Type: application/json)."))
    return body


def _xml(body: dict[str, Any]) -> str:
    xml = body.get("xml")
    if not isinstance(xml, str) or not xml.strip():
        raise BadRequest(_("Send the diagram as XML text."), fields={"xml": _("The diagram is empty.")})
    if len(xml.encode("utf-8")) > MAX_BPMN_BYTES:
        raise DiagramInvalid(_("The diagram cannot be saved."), [{
            "element_id": None, "message": _("The diagram is larger than %(n)d KB.", n=MAX_BPMN_BYTES // 1024)}])
    return xml


def _optional_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value in (None, ""):
        return None
    number = None if isinstance(value, bool) or not isinstance(value, int | str) else bounded_int(name, str(value))
    if number is not None:
        return number
    raise BadRequest(_("%(name)s must be a whole number.", name=name), fields={name: _("Enter a whole number.")})


# ------------------------------------------------------------------------------------------- library
@bp.get("/processes")
@admin_required
def library():
    return render_template("designer/library.html", processes=designer.library(current_user),
                           rules=designer.process_rules(current_user), choices=designer.rule_choices(current_user),
                           default_process=processes.DEFAULT_PROCESS,
                           industry_label=lambda code: industry_label(code, str(get_locale() or "zh")))


def _refused(exc: ValidationFailed):
    """Back to the library with what to fix (the library's forms are small: what was chosen is shown again)."""
    flash(" ".join([exc.message, *(exc.fields or {}).values()]), "danger")
    return redirect(url_for("designer.library"))


@bp.post("/processes")
@admin_required
def create_process():
    key = request.form.get("process_key", "").strip()
    try:
        designer.create_process(current_user, key, request.form.get("name", ""), request.form.get("template", ""))
    except ValidationFailed as exc:
        return _refused(exc)
    flash(_("The process %(key)s was created from its template; edit it in the designer and deploy.", key=key),
          "success")
    return redirect(url_for("designer.edit", key=key))


@bp.post("/process-rules")
@admin_required
def add_rule():
    region = request.form.get("region_id", "")
    try:
        designer.add_rule(current_user, request.form.get("process_key", ""), request.form.get("source") or None,
                          request.form.get("industry") or None, int(region) if region.isdigit() else None)
    except ValidationFailed as exc:
        return _refused(exc)
    flash(_("The rule was added: new hazards that match it start this process."), "success")
    return redirect(url_for("designer.library"))


@bp.post("/process-rules/<int:rule_id>/delete")
@admin_required
def delete_rule(rule_id: int):
    designer.delete_rule(current_user, rule_id)
    flash(_("The rule was removed."), "success")
    return redirect(url_for("designer.library"))


@bp.get("/processes/<key>/versions/<int:number>")
@admin_required
def version(key: str, number: int):
    shown = designer.get_version(current_user, key, number)
    versions = designer.versions_of(current_user, key)
    return render_template("designer/version.html", key=key, version=shown, versions=versions)


@bp.get("/processes/<key>/versions/<int:number>/heatmap.json")
@admin_required
def version_heatmap(key: str, number: int):
    """Where the loop stalls: per element, hazards there now, median and p90 time spent, overdue share."""
    found = heatmap.heat(current_user, key, number)
    return jsonify({"elements": {name: dict(h.as_dict(), link=url_for(".waiting", key=key, number=number,
                                                                        element_id=name))
                                 for name, h in found.items()},
                    "window_days": heatmap.WINDOW_DAYS})


@bp.get("/processes/<key>/versions/<int:number>/elements/<element_id>")
@admin_required
def waiting(key: str, number: int, element_id: str):
    """The hazards (and reports) waiting at one element of the version now."""
    page = heatmap.waiting_at(current_user, key, number, element_id, max(int_arg("page") or 1, 1))
    return render_template("designer/waiting.html", key=key, number=number, element_id=element_id, page=page,
                           now=clock.now())


@bp.get("/processes/<key>/versions/<int:number>/diagram.bpmn")
@admin_required
def version_xml(key: str, number: int):
    shown = designer.get_version(current_user, key, number)
    return _download(shown.bpmn_xml, f"{key}-v{shown.number}.bpmn")


@bp.get("/processes/<key>/drafts/<int:draft_id>/diagram.bpmn")
@admin_required
def draft_xml(key: str, draft_id: int):
    draft = designer.get_draft(current_user, key, draft_id)
    return _download(draft.bpmn_xml, f"{key}-draft-{draft.id}.bpmn")


def _download(xml: str, filename: str) -> Response:
    return user_file(Response(xml, mimetype="application/xml"), filename)


@bp.post("/processes/<key>/drafts/<int:draft_id>/delete")
@admin_required
def delete_draft(key: str, draft_id: int):
    designer.delete_draft(current_user, key, draft_id)
    flash(_("The draft was deleted."), "success")
    return redirect(url_for("designer.library"))


@bp.get("/processes/<key>/diff")
@admin_required
def diff(key: str):
    versions = designer.versions_of(current_user, key)
    if not versions:
        raise NotFound(_("No process named %(key)s is deployed.", key=key))
    after = int_arg("to") or versions[0].number
    before = int_arg("from") or max(after - 1, 1)
    result = designer.diff_versions(current_user, key, before, after, status_label)
    return render_template("designer/diff.html", key=key, result=result, versions=versions,
                           diff=result.diff.as_dict())


# ------------------------------------------------------------------------------------------ designer
@bp.get("/processes/<key>/designer")
@admin_required
def edit(key: str):
    draft_id, number = int_arg("draft"), int_arg("version")
    draft = designer.get_draft(current_user, key, draft_id) if draft_id else None
    if draft is not None:
        base, xml_url = None, url_for(".draft_xml", key=key, draft_id=draft.id)
    else:
        base = (designer.get_version(current_user, key, number) if number
                else designer.active_or_shipped(current_user, key))
        xml_url = url_for(".version_xml", key=key, number=base.number)
    options = designer.designer_options(current_user)
    vocabulary = _status_options()
    options.update(statuses=[s for s in vocabulary if not s["final"]],
                   end_statuses=[s for s in vocabulary if s["final"]], status_url=url_for(".status_add"),
                   condition_url=url_for(".condition_builder", key=key),
                   form_url=url_for(".form_save", key="__key__"))
    return render_template(
        "designer/designer.html", key=key, draft=draft, base=base, xml_url=xml_url,
        drafts=designer.list_drafts(current_user, key), versions=designer.versions_of(current_user, key),
        options=options, max_bytes=MAX_BPMN_BYTES)


def _status_options() -> list[dict]:
    """The designer's status dropdowns: the vocabulary (services/statuses.py) but the app's own two, labelled in
    the page's language; steps choose from the others, end events from the `final` ones."""
    return [{"value": key, "label": label, "final": statuses.is_final(key)}
            for key, label in status_choices().items() if key != HazardStatus.reported]


@bp.post("/statuses")
@admin_required
def status_add():
    """Add a status from the designer's dropdown (JSON); answers the new choice."""
    body = _json()
    row = statuses.add_status(current_user, {k: body.get(k) for k in ("key", "label_zh", "label_en", "final")
                                             if k in body})
    return jsonify({"value": row.key, "label": status_label(row.key), "final": row.final}), 201


@bp.post("/processes/<key>/validate")
@admin_required
def validate(key: str):
    return jsonify(designer.validate(current_user, key, _xml(_json())).as_dict())


@bp.post("/processes/<key>/drafts")
@admin_required
def save_draft(key: str):
    body = _json()
    name = body.get("name") if isinstance(body.get("name"), str) else None
    draft = designer.save_draft(current_user, key, _xml(body), name, _optional_int(body, "draft_id"),
                                _optional_int(body, "base_version_id"))
    return jsonify({"id": draft.id, "name": draft.name, "updated_at": draft.updated_at.isoformat(),
                    "url": url_for(".edit", key=key, draft=draft.id)}), 201


@bp.post("/processes/<key>/deploy")
@admin_required
def deploy(key: str):
    body = _json()
    note = body.get("note") if isinstance(body.get("note"), str) else None
    deployed = designer.deploy(current_user, key, _xml(body), note, _optional_int(body, "draft_id"))
    return jsonify({"number": deployed.number, "sha256": deployed.sha256, "active": deployed.active,
                    "url": url_for(".version", key=key, number=deployed.number),
                    "migrate_url": url_for(".migrate_preview", key=key, to=deployed.number)}), 201


@bp.post("/processes/<key>/changes")
@admin_required
def changes(key: str):
    """What the diagram in the editor changes compared with a deployed version (default: the active one)."""
    body = _json()
    against = _optional_int(body, "against") or designer.active_or_shipped(current_user, key).number
    diff, summary = designer.diff_against(current_user, key, against, _xml(body), status_label)
    return jsonify({"against": against, **diff.as_dict(), "summary": [line.as_dict() for line in summary]})


@bp.get("/processes/<key>/condition-builder")
@admin_required
def condition_builder(key: str):
    """The condition builder's fields for the forms filled in before a gateway (`form`, repeated); with `field`,
    `operator` and `value` (repeated for "is one of") the expression; with `expression` that expression read back."""
    designer.versions_of(current_user, key)  # checks the key and the role
    args = request.args
    expression = args.get("expression")
    return jsonify(conditions.builder(args.getlist("form")[:conditions.MAX_FORMS + 1], args.get("field") or None,
                                      args.get("operator"), args.getlist("value")[:conditions.MAX_VALUES + 1],
                                      expression[:5000] if expression is not None else None))


# ----------------------------------------------------------------------------------------- migration
@bp.get("/processes/<key>/migrate")
@admin_required
def migrate_preview(key: str):
    number = int_arg("to") or designer.active_or_shipped(current_user, key).number
    preview = migration.preview(current_user, key, number, status_label=status_label)
    return render_template("designer/migrate.html", key=key, preview=preview)


@bp.post("/processes/<key>/migrate")
@admin_required
def migrate(key: str):
    number = int_arg("to")
    if number is None:
        raise BadRequest(_("Choose the version to move the hazards to."))
    ids = int_args("instance", request.form)
    outcome = migration.migrate(current_user, key, number, ids)
    if outcome.moved:
        flash(_("%(n)d hazard(s) now run on version %(v)d.", n=len(outcome.moved), v=number), "success")
    if outcome.refused:
        flash(_("%(n)d hazard(s) could not move and stay on their version; the reasons are listed below.",
                n=len(outcome.refused)), "warning")
    preview = migration.preview(current_user, key, number, status_label=status_label)
    return render_template("designer/migrate.html", key=key, preview=preview, outcome=outcome)


# --------------------------------------------------------------------------------------------- forms
@bp.get("/forms")
@admin_required
def form_list():
    return render_template("designer/forms.html", forms=designer.list_forms(current_user))


@bp.get("/new-form")
@admin_required
def form_new():
    """A new form from its title: the form's name (its data key) is made from it; a Chinese title is kept."""
    title = (request.args.get("title") or "").strip()[:200]
    if not title:
        flash(_("Give the new form a title."), "warning")
        return redirect(url_for(".form_list"))
    return redirect(url_for(".form_edit", key=designer.new_form_key(current_user, title), title=title))


@bp.get("/forms/<key>")
@admin_required
def form_edit(key: str):
    if not forms.valid_key(key):  # e.g. a Chinese name typed into the address: it becomes the title
        return redirect(url_for(".form_new", title=key))
    history = designer.form_history(current_user, key)
    number = int_arg("version")
    shown = next((v for v in history if v.number == number), None) if number else None
    shown = shown or next((v for v in history if v.active), None)
    definition = json.loads(shown.definition) if shown is not None else None
    title = (request.args.get("title") or "").strip()[:200] if shown is None else ""
    return render_template("designer/form_edit.html", key=key, history=history, shown=shown,
                           definition=definition, widgets=forms.widget_names(), new_title=title,
                           usage=designer.form_usage_of(current_user, key))


@bp.post("/forms/<key>")
@admin_required
def form_save(key: str):
    body = _json()
    note = body.get("note") if isinstance(body.get("note"), str) else None
    saved = designer.save_form(current_user, key, body.get("definition"), note, reissue=body.get("reissue") is True)
    usage = designer.form_usage_of(current_user, key)
    return jsonify({"number": saved.number, "url": url_for(".form_edit", key=key),
                    "warnings": usage.warnings}), 201


@bp.post("/forms/<key>/reissue")
@admin_required
def form_reissue(key: str):
    """Give every waiting task of the form its current version (a page form: back to the form's page)."""
    if not forms.valid_key(key):
        raise NotFound(_("There is no form named %(key)s.", key=key))
    moved = designer.reissue_form(current_user, key)
    flash(_("%(n)d waiting task(s) now use the current version of the form.", n=moved), "success")
    return redirect(url_for(".form_edit", key=key))


@bp.post("/tasks/<int:task_id>/reissue")
@admin_required
def task_reissue(task_id: int):
    """Give one waiting task the current version of its form."""
    task = designer.reissue_task(current_user, task_id)
    flash(_("The task now uses the current version of its form."), "success")
    return redirect(url_for(".form_edit", key=task.form_key))
