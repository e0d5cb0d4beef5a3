"""The public API (/api/v1/public): report a hazard and follow it without an account or token.

Abuse control as on the public page: per-address limits on the shared limiter store (the same scopes as the
page's), the ALTCHA challenge, photo checks. A wrong PIN and an unknown code get the same 404.
"""
from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_babel import gettext as _
from marshmallow import ValidationError

from app.extensions import limiter
from app.services import public_reports
from app.services.errors import ValidationFailed
from app.web.api import public_schemas as ps
from app.web.api import schemas as s
from app.web.api.blueprint import bp
from app.web.api.routes import _flatten, errors
from app.web.pages.public import lookup_limit, report_limit

CODE = "string(minlength=1, maxlength=40)"


@bp.route("/public/challenge", methods=["GET"])
@limiter.limit(lambda: current_app.config["PUBLIC_SEARCH_LIMIT"])
@bp.response(200, ps.Challenge)
@errors(429)
@bp.doc(security=[], summary="A proof-of-work challenge (ALTCHA) to solve before sending a public report")
def public_challenge():
    return public_reports.new_challenge()


@bp.route("/public/attachments", methods=["POST"])
@limiter.limit(lambda: current_app.config["PUBLIC_UPLOAD_LIMIT"])
@bp.arguments(s.Upload, location="files")
@bp.response(201, ps.PublicUpload)
@errors(400, 413, 422, 429)
@bp.doc(security=[], summary="Upload a photo for a public report (multipart/form-data, field `file`)")
def public_upload(files: dict[str, Any]):
    upload = files["file"]
    return {"id": public_reports.upload_photo(upload.stream, upload.filename)}


@bp.route("/public/reports", methods=["POST"])
@limiter.shared_limit(report_limit, scope="public-report")
@bp.response(201, ps.PublicReceipt)
@errors(400, 413, 422, 429)
@bp.doc(security=[], summary="Report a hazard as a member of the public (no account); answers a tracking code "
                             "and a PIN", requestBody={"required": True, "content": {
                                 "application/json": {"schema": ps.PublicReportRequest},
                                 "multipart/form-data": {"schema": ps.MULTIPART_REPORT}}})
def public_report():
    if request.is_json:
        body = request.get_json()
        try:
            values = ps.PublicReportRequest().load(body)
        except ValidationError as exc:
            fields = _flatten(exc.messages)
            raise ValidationFailed(fields.pop("_schema", None) or _("Some fields need your attention."),
                                   fields=fields) from None
        photos, ids = [], values.pop("attachment_ids", None) or []
    else:
        values = {name: request.form.get(name) for name in ("description", "enterprise_id", "address", "region_id",
                                                            "seen_on", "name", "contact", "altcha")}
        photos = [public_reports.Photo(f.stream, f.filename or "photo") for f in request.files.getlist("photos")
                  if f and f.filename]
        ids = []
    receipt = public_reports.submit(values, photos, ids)
    return {"tracking_code": receipt.tracking_code, "pin": receipt.pin, "already_known": receipt.duplicate}


@bp.route(f"/public/reports/<{CODE}:tracking_code>", methods=["GET"])
@limiter.shared_limit(lookup_limit, scope="public-lookup")
@bp.arguments(ps.PublicStatusQuery, location="query")
@bp.response(200, ps.PublicStatus)
@errors(404, 429)
@bp.doc(security=[], summary="How a public report stands (tracking code and PIN; a wrong PIN is answered like an "
                             "unknown code)")
def public_report_status(args: dict[str, Any], tracking_code: str):
    return public_reports.public_status(tracking_code, args.get("pin") or "")
