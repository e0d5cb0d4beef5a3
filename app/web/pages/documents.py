"""Printable documents of a hazard (print page and PDF) and the administrators' template editor."""
from __future__ import annotations

from pathlib import Path

import segno
from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from app.services import documents
from app.services.capabilities import may_administer
from app.services.errors import Conflict, Forbidden, ValidationFailed
from app.web.headers import user_file

bp = Blueprint("documents", __name__)


def _qr(url: str) -> Markup:
    """The hazard's address as a QR code, inline SVG (segno: pure Python, nothing fetched when printing)."""
    return Markup(segno.make(url, error="m").svg_inline(scale=2, title=url, svgclass="hl-qr-code"))


def _sheet_args(doc: documents.Document) -> dict:
    return {"doc": doc, "qr": _qr(doc.url), "issued": documents.issued_at()}


@bp.get("/hazards/<int:hazard_id>/documents/<kind>")
@login_required
def document_page(hazard_id: int, kind: str):
    return render_template("documents/print.html", **_sheet_args(documents.document(current_user, hazard_id, kind)))


@bp.get("/hazards/<int:hazard_id>/documents/<kind>/pdf")
@login_required
def document_pdf(hazard_id: int, kind: str):
    doc = documents.document(current_user, hazard_id, kind)
    css = (Path(current_app.static_folder) / "css" / "documents.css").read_text(encoding="utf-8")
    data = documents.pdf(render_template("documents/pdf.html", **_sheet_args(doc)), css)
    response = Response(data, mimetype="application/pdf", headers={"Cache-Control": "private, no-store"})
    return user_file(response, f"{doc.kind.title}-{doc.hazard.number}.pdf")


# ------------------------------------------------------------------------------------------ templates
def _admin_only() -> None:
    if not may_administer(current_user):
        raise Forbidden(_("Only administrators can edit document templates."))


@bp.get("/admin/documents")
@login_required
def template_list():
    _admin_only()
    rows = [(kind, documents.latest_version(kind.key)) for kind in documents.KINDS.values()]
    return render_template("documents/templates.html", rows=rows)


def _render_editor(kind: str, body: str, *, errors: dict | None = None, preview: Markup | None = None,
                   hazard_number: str = "", note: str = "", status: int = 200):
    return render_template(
        "documents/template_edit.html", kind=documents.KINDS[kind], body=body, errors=errors or {},
        preview=preview, hazard_number=hazard_number, note=note, versions=documents.template_versions(kind),
        names=documents.sample_context()), status


@bp.route("/admin/documents/<kind>", methods=["GET", "POST"])
@login_required
def template_edit(kind: str):
    _admin_only()
    documents.template_versions(kind)  # NotFound for an unknown kind
    if request.method == "GET":
        return _render_editor(kind, documents.current_source(kind))
    action = request.form.get("action")
    if action == "restore":
        documents.restore_default(current_user, kind)
        flash(_("The default template is in force again."), "success")
        return redirect(url_for("documents.template_edit", kind=kind))
    body = request.form.get("body", "")
    hazard_number = (request.form.get("hazard_number") or "").strip()[:30]
    note = (request.form.get("note") or "").strip()[:500]
    try:
        if action == "preview":
            shown = documents.preview(current_user, kind, body, hazard_number or None)
            return _render_editor(kind, body, preview=shown, hazard_number=hazard_number, note=note)
        row = documents.save_template(current_user, kind, body, note or None)
    except ValidationFailed as exc:
        return _render_editor(kind, body, errors=exc.fields or {"_form": exc.message}, hazard_number=hazard_number,
                              note=note, status=exc.status)
    except Conflict as exc:
        return _render_editor(kind, body, errors={"_form": exc.message}, hazard_number=hazard_number, note=note,
                              status=exc.status)
    flash(_("Template saved as version %(n)d.", n=row.number), "success")
    return redirect(url_for("documents.template_edit", kind=kind))
