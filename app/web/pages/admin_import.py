"""Bulk onboarding pages: the template workbook, the upload, and the import job's page with its progress bar.

Administrators only (services say 403 to anybody else); a job is seen by whoever started it (404 for others,
a system administrator sees all). The upload becomes an import job run in the background (services/import_jobs.py):
the job's page polls its progress and shows the answer — each bad row with its sheet, row, column and reason.
"""
from __future__ import annotations

from io import BytesIO

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from app.services import import_jobs, org_import
from app.services.errors import ValidationFailed
from app.services.orgs import require_admin

bp = Blueprint("imports", __name__, url_prefix="/admin/import")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _language() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def _page(errors: dict[str, str] | None = None, status: int = 200):
    return render_template("admin/import.html", jobs=[import_jobs.view(j) for j in
                                                      import_jobs.recent_jobs(current_user)],
                           sheets=org_import.SHEETS, english=_language().startswith("en"),
                           errors=errors or {}), status


@bp.get("")
@login_required
def index():
    return _page()


@bp.get("/template.xlsx")
@login_required
def template():
    """The workbook to fill in, in the user's language."""
    require_admin(current_user)
    name = "hazardloop-import-template.xlsx" if _language().startswith("en") else "hazardloop-导入模板.xlsx"
    return send_file(BytesIO(org_import.template(_language())), mimetype=XLSX, as_attachment=True,
                     download_name=name)


@bp.post("")
@login_required
def upload():
    require_admin(current_user)
    upload = request.files.get("file")
    try:
        job = import_jobs.create_job(current_user, upload.stream if upload else BytesIO(),
                                     upload.filename if upload else None, language=_language(),
                                     dry_run=bool(request.form.get("dry_run")))
    except ValidationFailed as exc:
        return _page(exc.fields, 422)
    if current_app.config.get("IMPORT_IN_THREAD", True):
        import_jobs.launch(current_app._get_current_object(), job.id)
    return redirect(url_for("imports.job", job_id=job.id), code=303)


@bp.get("/<int:job_id>")
@login_required
def job(job_id: int):
    view = import_jobs.view(import_jobs.visible_job(current_user, job_id))
    sheet_names = {s.key: (s.en if _language().startswith("en") else s.zh) for s in org_import.SHEETS}
    return render_template("admin/import_job.html", job=view, sheet_names=sheet_names)


@bp.get("/<int:job_id>/status")
@login_required
def status(job_id: int):
    """The job's progress, for the page's progress bar (read only)."""
    view = import_jobs.view(import_jobs.visible_job(current_user, job_id))
    response = jsonify(view.as_json())
    response.headers["Cache-Control"] = "no-store"
    return response
