"""API routes: each parses input, calls one service and returns JSON."""
from __future__ import annotations

from functools import wraps
from typing import Any

from flask import Blueprint, g, jsonify, request, send_file
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from app.extensions import limiter
from app.services import attachments, auth, forms, hazards, tasks
from app.services.errors import BadRequest, ServiceError, Unauthorized
from app.web import serializers as ser
from app.web.api.openapi import openapi_document
from app.web.headers import user_file

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError):
    body: dict[str, Any] = {"error": exc.message}
    if exc.fields:
        body["fields"] = exc.fields
    return jsonify(body), exc.status


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    messages = {
        404: _("There is no such API resource."),
        405: _("This method is not allowed here."),
        413: _("The request is too large."),
        429: _("Too many requests; wait a moment and try again."),
    }
    return jsonify({"error": messages.get(exc.code, exc.description)}), exc.code


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _sep, token = header.partition(" ")
        user = auth.user_for_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if user is None:
            raise Unauthorized(_("Send a valid token: Authorization: Bearer <token> (get one from /api/v1/auth/token)."))
        g.api_user = user
        return view(*args, **kwargs)
    return wrapper


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(_("The request body must be a JSON object (Content-Type: application/json)."))
    return body


def int_arg(name: str, default: int | None = None, lo: int = 1, hi: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(_("Query parameter %(name)s must be a whole number.", name=name),
                         fields={name: _("Enter a whole number.")}) from None
    if value < lo or (hi is not None and value > hi):
        raise BadRequest(_("Query parameter %(name)s must be between %(lo)s and %(hi)s.", name=name, lo=lo,
                           hi=hi if hi is not None else "∞"), fields={name: _("Out of range.")})
    return value


def bool_arg(name: str) -> bool | None:
    raw = (request.args.get(name) or "").lower()
    if raw == "":
        return None
    if raw in {"1", "true", "yes"}:
        return True
    if raw in {"0", "false", "no"}:
        return False
    raise BadRequest(_("Query parameter %(name)s must be true or false.", name=name), fields={name: _("Use true or false.")})


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.post("/auth/token")
@limiter.limit("10 per minute")
def token():
    body = json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise BadRequest(_("Send a user name and a password."),
                         fields={k: _("This field is required.") for k in ("username", "password")
                                 if not isinstance(body.get(k), str) or not body.get(k)})
    user = auth.authenticate(username, password, request.remote_addr)
    value, row = auth.issue_token(user)
    return jsonify({"token": value, "expires_at": ser.iso(row.expires_at), "user": {
        "id": user.id, "username": user.username, "role": user.role.value, "organisation_id": user.organisation_id}})


@bp.post("/hazards")
@token_required
def report_hazard():
    hazard = hazards.report_hazard(g.api_user, json_body())
    return jsonify(ser.hazard_summary(hazard)), 201


@bp.get("/hazards")
@token_required
def list_hazards():
    filters = hazards.HazardFilters(
        status=request.args.get("status") or None, grade=request.args.get("grade") or None,
        enterprise_id=int_arg("enterprise"), overdue=bool_arg("overdue"), text=request.args.get("q") or None,
        sort=request.args.get("sort") or "created")
    page = hazards.list_hazards(g.api_user, filters, int_arg("page", 1), int_arg("per_page", 20, hi=100))
    return jsonify({"items": [ser.hazard_summary(h) for h in page.items], "total": page.total,
                    "total_capped": page.capped, "page": page.page, "per_page": page.per_page,
                    "pages": page.pages, "has_next": page.more})


@bp.get("/hazards/<int:hazard_id>")
@token_required
def get_hazard(hazard_id: int):
    hazard = hazards.get_hazard(g.api_user, hazard_id)
    return jsonify(ser.hazard_detail(hazard, hazards.open_tasks(hazard.id), hazards.timeline(hazard.id),
                                     attachments.hazard_attachments(hazard.id)))


@bp.get("/tasks")
@token_required
def list_tasks():
    filters = tasks.TaskFilters(grade=request.args.get("grade") or None, status=request.args.get("status") or None,
                                enterprise_id=int_arg("enterprise"), overdue=bool_arg("overdue"),
                                text=request.args.get("q") or None)
    page = tasks.list_tasks(g.api_user, filters, int_arg("page", 1), int_arg("per_page", 50, hi=200))
    return jsonify({"items": [dict(ser.task_summary(t), hazard=ser.hazard_summary(h)) for t, h in page.items],
                    "total": page.total, "total_capped": page.capped, "page": page.page,
                    "per_page": page.per_page, "pages": page.pages, "has_next": page.more})


@bp.get("/tasks/<int:task_id>")
@token_required
def get_task(task_id: int):
    task = tasks.visible_task(g.api_user, task_id)
    return jsonify(dict(ser.task_summary(task), hazard=ser.hazard_summary(task.hazard),
                        form=tasks.task_form(task).as_dict()))


@bp.post("/tasks/<int:task_id>/claim")
@token_required
def claim_task(task_id: int):
    return jsonify(ser.task_summary(tasks.claim(g.api_user, task_id)))


@bp.post("/tasks/<int:task_id>/release")
@token_required
def release_task(task_id: int):
    return jsonify(ser.task_summary(tasks.release(g.api_user, task_id)))


@bp.post("/tasks/<int:task_id>/delegate")
@token_required
def delegate_task(task_id: int):
    body = json_body()
    return jsonify(ser.task_summary(tasks.delegate(g.api_user, task_id, body.get("user_id"))))


@bp.post("/tasks/<int:task_id>/complete")
@token_required
def complete_task(task_id: int):
    body = json_body()
    if "data" not in body:
        raise BadRequest(_("Send the form's values as {\"data\": {...}}."), fields={"data": _("This field is required.")})
    task = tasks.complete(g.api_user, task_id, body["data"])
    return jsonify(dict(ser.task_summary(task), hazard=ser.hazard_summary(task.hazard)))


@bp.get("/forms/<key>")
@token_required
def get_form(key: str):
    return jsonify(forms.get_form(key).as_dict())


@bp.post("/attachments")
@token_required
def upload_attachment():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest(_("Send the file as multipart/form-data in a field named 'file'."),
                         fields={"file": _("This field is required.")})
    row = attachments.upload(g.api_user, upload.stream, upload.filename)
    return jsonify(ser.attachment_view(row)), 201


@bp.get("/attachments/<int:attachment_id>")
@token_required
def download_attachment(attachment_id: int):
    row = attachments.visible_attachment(g.api_user, attachment_id)
    return user_file(send_file(attachments.path_of(row), mimetype=row.content_type), row.original_name)
