"""API views: each is declared with the schemas that parse its input and serialize its answer, calls one
service and returns what the service returned. Errors are JSON `{"error": ..., "fields": {...}}`."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from http import HTTPStatus
from io import BytesIO
from typing import Any

from flask import g, jsonify, request, send_file
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from app.chinatime import today as china_today
from app.extensions import db, limiter
from app.models import Attachment as AttachmentModel
from app.models import Hazard as HazardModel
from app.models import HumanTask, User
from app.services import (
    attachments,
    auth,
    exports,
    forms,
    hazards,
    idempotency,
    statistics,
    statutory,
    subjects,
    tasks,
)
from app.services.errors import ServiceError, Unauthorized, ValidationFailed
from app.web import exporting
from app.web.api import schemas as s
from app.web.api.blueprint import bp
from app.web.headers import send_stored, user_file
from app.web.inputs import MAX_JSON_DEPTH, JSONTooDeep
from app.web.pages.view import role_label

# Path ids are bounded to PostgreSQL's integer: a larger one matches no route (404), it never reaches SQL.
ID = f"int(min=1, max={s.INT_MAX})"
# No token: signing in, and the public's reports (app/web/api/public.py).
PUBLIC_ENDPOINTS = frozenset({"api.token", "api.public_challenge", "api.public_upload", "api.public_report",
                              "api.public_report_status"})
# What a user holding a one-time password may call: read their profile and replace the password.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"api.me", "api.change_own_password"})
BINARY = {"type": "string", "format": "binary"}


def error_response(status: int, message: str, fields: dict[str, str] | None = None, code: str | None = None):
    body = {"error": message, "fields": fields or {}}
    if g.get("request_id"):
        body["request_id"] = g.request_id
    if code:
        body["code"] = code
    return jsonify(body), status


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError):
    db.session.rollback()  # a refused request writes nothing, and its answer must not need the database
    return error_response(exc.status, exc.message, {k: str(v) for k, v in exc.fields.items()})


def _flatten(messages: Any, name: str = "") -> dict[str, str]:
    """{"field": "first message"} from marshmallow's nested messages ("photos.0", "data.title")."""
    if isinstance(messages, dict):
        flat: dict[str, str] = {}
        for key, value in messages.items():
            flat.update(_flatten(value, f"{name}.{key}" if name else str(key)))
        return flat
    if isinstance(messages, list | tuple):
        flat = {}
        for value in messages:
            for key, text in _flatten(value, name).items():
                flat.setdefault(key, text)
        return flat
    return {name: str(messages)}


def _validation_error(messages: dict[str, Any]):
    fields: dict[str, str] = {}
    for location_messages in messages.values():  # {"json": {...}, "query": {...}, "files": {...}}
        fields.update(_flatten(location_messages))
    whole = fields.pop("_schema", None)
    return error_response(422, whole or _("Some fields need your attention."), fields)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Every HTTP error under /api/ as JSON (the pages' handlers send unmatched /api/ URLs here too)."""
    code = exc.code or 500
    db.session.rollback()  # the failed transaction must not leak into what runs next
    data = getattr(exc, "data", None) or {}
    if code == 422 and "messages" in data:  # a declared schema refused the request
        return _validation_error(data["messages"])
    messages = {
        400: _("The JSON is nested more than %(n)d levels deep; send a flatter document.", n=MAX_JSON_DEPTH)
        if isinstance(getattr(exc, "exc", None) or exc.__cause__, JSONTooDeep)
        else _("The request body must be a JSON object (Content-Type: application/json).") if data
        else _("The request could not be understood; check its syntax."),
        401: _("Send a valid token: Authorization: Bearer <token> (get one from /api/v1/auth/token)."),
        404: _("There is no such API resource."),
        405: _("This method is not allowed here."),
        413: _("The request is too large."),
        429: _("Too many requests; wait a moment and try again."),
        500: _("The server could not finish this request; nothing was changed. Try again in a moment."),
    }
    return error_response(code, messages.get(code) or str(exc.description or HTTPStatus(code).phrase))


@bp.before_request
def require_token():
    if request.method == "OPTIONS" or request.endpoint in PUBLIC_ENDPOINTS:
        return
    if not current_user.is_authenticated:
        raise Unauthorized(_("Send a valid token: Authorization: Bearer <token> (get one from /api/v1/auth/token)."))
    if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return error_response(403, _("Change your one-time password first: POST /api/v1/me/password with "
                                     "current_password and new_password."), code="password_change_required")


def caller() -> User:
    """The authenticated user (Flask-Login's current_user, loaded from the bearer token)."""
    return current_user._get_current_object()


def errors(*codes: int):
    """Document the error responses a view can return, each with the Error schema (500 always)."""
    def decorate(view):
        for code in (*codes, 500):
            view = bp.alt_response(code, response=HTTPStatus(code).name)(view)
        return view
    return decorate


IDEMPOTENCY_HEADER = {"in": "header", "name": idempotency.HEADER, "required": False, "schema": {
    "type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH, "pattern": "^[!-~]+$"},
    "description": "Send a new key (e.g. a UUID) with each creating request; a retry with the same key gets the "
                   "first request's answer instead of creating again"}


def idempotent(answer: Callable[[User, int], Any], *, creates: type | None = None, acts_on: str | None = None):
    """Accept an `Idempotency-Key` header on a creating POST: a retry with the key answers `answer(user, id)` for
    what the first request created (`creates`, a model) or acted on (the view argument named `acts_on`)."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = request.headers.get(idempotency.HEADER)
            if key is None:
                return view(*args, **kwargs)
            done = idempotency.begin(caller(), key, request.endpoint, creates=creates,
                                     result_id=kwargs.get(acts_on) if acts_on else None)
            return view(*args, **kwargs) if done is None else answer(caller(), done)
        return bp.doc(parameters=[IDEMPOTENCY_HEADER])(wrapper)
    return decorate


class Extended:
    """`obj` with extra attributes, for a response schema that adds fields to a model's own."""

    def __init__(self, obj: Any, **extra: Any):
        self._obj = obj
        self.__dict__.update(extra)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._obj, name)


def current_steps(user: User, open_tasks: list[HumanTask]) -> list[Extended]:
    """Open steps with who may act, as the hazard's page shows them (the lane, the four-eyes waiting reason)."""
    steps = []
    for task in open_tasks:
        lane = tasks.lane_name(task)
        steps.append(Extended(task, lane=lane, who=lane or role_label(task.role), waiting=tasks.why_waiting(task),
                              can_act=tasks.may_act(user, task)))
    return steps


@bp.route("/auth/token", methods=["POST"])
@limiter.limit("10 per minute")
@bp.arguments(s.Credentials)
@bp.response(200, s.Token)
@errors(400, 401, 413, 429)
@bp.doc(security=[], summary="Exchange user name and password for a bearer token")
def token(credentials: dict[str, str]):
    user = auth.authenticate(credentials["username"], credentials["password"], request.remote_addr)
    value, row = auth.issue_token(user)
    return {"token": value, "expires_at": row.expires_at, "user": user}


@bp.route("/hazards", methods=["POST"])
@bp.arguments(s.HazardReport)
@bp.response(201, s.HazardSummary)
@errors(400, 401, 403, 413)
@bp.doc(summary="Report a hazard and start its lifecycle")
@idempotent(hazards.get_hazard, creates=HazardModel)
def report_hazard(report: dict[str, Any]):
    return hazards.report_hazard(caller(), report)


@bp.route("/hazards", methods=["GET"])
@bp.arguments(s.HazardQuery, location="query")
@bp.response(200, s.HazardPage)
@errors(400, 401)
@bp.doc(summary="Hazards visible to the caller, one page")
def list_hazards(args: dict[str, Any]):
    return hazards.list_hazards(caller(), _hazard_filters(args), args["page"], args["per_page"])


def _hazard_filters(args: dict[str, Any]) -> hazards.HazardFilters:
    """The register's filters (the list and its export)."""
    stats, problems = statistics.register_filters({**args, "from": args.get("from_")}, china_today())
    if problems:
        raise ValidationFailed(next(iter(problems.values())), fields=problems)
    return hazards.HazardFilters(status=args.get("status"), grade=args.get("grade"),
                                 enterprise_id=args.get("enterprise"), overdue=args.get("overdue"),
                                 text=args.get("q"), sort=args["sort"], stats=stats)


@bp.route("/hazards/export", methods=["GET"])
@bp.arguments(s.HazardExportQuery, location="query")
@errors(400, 401)
@bp.doc(summary="The register with these filters (every page) as an .xlsx, streamed; the register page's "
                "columns in the caller's language", responses={"200": {"description": "The workbook", "content": {
                    exports.XLSX: {"schema": BINARY}}}})
def export_hazards(args: dict[str, Any]):
    path = exports.export_register(caller(), _hazard_filters(args), exporting.register_labels())
    return exporting.send_export(path, f"hazards-{china_today().isoformat()}.xlsx")


@bp.route("/ledger/export", methods=["GET"])
@errors(401)
@bp.doc(summary="The listed-supervision ledger (挂牌督办台账) the caller may see as an .xlsx, streamed",
        responses={"200": {"description": "The workbook", "content": {exports.XLSX: {"schema": BINARY}}}})
def export_ledger():
    path = exports.export_ledger(caller(), exporting.ledger_labels())
    return exporting.send_export(path, f"ledger-{china_today().isoformat()}.xlsx")


@bp.route(f"/hazards/<{ID}:hazard_id>", methods=["GET"])
@bp.response(200, s.HazardDetail)
@errors(401, 404)
@bp.doc(summary="A hazard with its current tasks, timeline and attachments")
def get_hazard(hazard_id: int):
    hazard = hazards.get_hazard(caller(), hazard_id)
    return Extended(hazard, current_tasks=current_steps(caller(), hazards.open_tasks(hazard.id)), timeline=hazards.timeline(hazard.id),
                    attachments=attachments.hazard_attachments(hazard.id))


@bp.route("/tasks", methods=["GET"])
@bp.arguments(s.TaskQuery, location="query")
@bp.response(200, s.TaskPage)
@errors(401)
@bp.doc(summary="The caller's open tasks, including unclaimed tasks of their groups, soonest deadline first")
def list_tasks(args: dict[str, Any]):
    filters = tasks.TaskFilters(grade=args.get("grade"), status=args.get("status"),
                                enterprise_id=args.get("enterprise"), overdue=args.get("overdue"),
                                text=args.get("q"))
    page = tasks.list_tasks(caller(), filters, args["page"], args["per_page"])
    return replace(page, items=[Extended(task, hazard=hazard, subject=subject_of(task, hazard))
                                for task, hazard in page.items])


# The API's name and path of each kind of subject (services/subjects.py names them hazard, report, public_report).
SUBJECT_PATHS = {"hazard": ("hazard", "/api/v1/hazards/{}"), "report": ("periodic_report", "/api/v1/reports/periodic/{}"),
                 "public_report": ("public_report", "/api/v1/public-reports/{}")}


def subject_of(task: HumanTask, hazard: Any) -> dict[str, Any]:
    """A task's `subject` item: kind, id, title and its URL in this API (a report's subject read beforehand by
    subjects.load_subjects, as list_tasks does)."""
    if hazard is not None:
        kind, subject_id, title = "hazard", hazard.id, hazard.title
    else:
        if not hasattr(task, "subject"):
            subjects.load_subjects([task])
        found = getattr(task, "subject", None)
        if task.report_id is not None:
            kind, subject_id = "report", task.report_id
            title = f"{found.period} · {found.enterprise.name}" if found is not None else ""
        else:
            kind, subject_id = "public_report", task.public_report_id
            title = found.tracking_code if found is not None else ""
    name, path = SUBJECT_PATHS[kind]
    return {"kind": name, "id": subject_id, "title": title, "url": path.format(subject_id)}


@bp.route(f"/tasks/<{ID}:task_id>", methods=["GET"])
@bp.response(200, s.TaskDetail)
@errors(401, 404)
@bp.doc(summary="A task with its subject (`hazard` null unless a hazard's) and the definition of its form")
def get_task(task_id: int):
    task = tasks.visible_task(caller(), task_id, any_subject=True)
    return Extended(task, form=tasks.shown_form(task).as_dict(), subject=subject_of(task, task.hazard))


@bp.route(f"/tasks/<{ID}:task_id>/claim", methods=["POST"])
@bp.response(200, s.Task)
@errors(401, 403, 404, 409)
@bp.doc(summary="Claim a group task (of any subject): colleagues no longer see it in their lists, and are refused "
                "it (403, naming who claimed it) until it is released")
def claim_task(task_id: int):
    return tasks.claim(caller(), task_id)


@bp.route(f"/tasks/<{ID}:task_id>/release", methods=["POST"])
@bp.response(200, s.Task)
@errors(401, 403, 404, 409)
@bp.doc(summary="Release a claimed task (of any subject) to the group")
def release_task(task_id: int):
    return tasks.release(caller(), task_id)


@bp.route(f"/tasks/<{ID}:task_id>/delegate", methods=["POST"])
@bp.arguments(s.Delegation)
@bp.response(200, s.Task)
@errors(400, 401, 403, 404, 409, 413)
@bp.doc(summary="Hand the task to a colleague with the same role and organisation")
def delegate_task(body: dict[str, int], task_id: int):
    return tasks.delegate(caller(), task_id, body["user_id"])


@bp.route(f"/tasks/<{ID}:task_id>/complete", methods=["POST"])
@bp.arguments(s.Completion)
@bp.response(200, s.TaskWithHazard)
@errors(400, 401, 403, 404, 409, 413)
@bp.doc(summary="Complete a hazard's task with its form data (a periodic or public report's step is done through "
                "its subject's endpoints: 409 here)")
@idempotent(tasks.visible_task, acts_on="task_id")
def complete_task(body: dict[str, Any], task_id: int):
    return tasks.complete(caller(), task_id, body["data"])


@bp.route("/forms/<string(maxlength=100):key>", methods=["GET"])
@bp.response(200, s.Form)
@errors(401, 404)
@bp.doc(summary="The active definition of a form (JSON Schema plus display hints)")
def get_form(key: str):
    return forms.get_form(key).as_dict()


@bp.route("/attachments", methods=["POST"])
@bp.arguments(s.Upload, location="files")
@bp.response(201, s.Attachment)
@errors(400, 401, 413)
@bp.doc(summary="Upload a photo or document (multipart/form-data, field `file`)")
@idempotent(attachments.visible_attachment, creates=AttachmentModel)
def upload_attachment(files: dict[str, Any]):
    upload = files["file"]
    return attachments.upload(caller(), upload.stream, upload.filename)


@bp.route(f"/attachments/<{ID}:attachment_id>", methods=["GET"])
@errors(400, 401, 404)
@bp.doc(summary="Download an attachment", responses={"200": {"description": "The file", "content": {
    content_type: {"schema": BINARY} for content_type in sorted(attachments.DOCUMENT_TYPES)}}})
def download_attachment(attachment_id: int):
    row = attachments.visible_attachment(caller(), attachment_id)
    return send_stored(attachments.open_file(row), size=row.size, etag=row.sha256, mimetype=row.content_type,
                       filename=row.original_name)


@bp.route("/statistics", methods=["GET"])
@bp.arguments(s.StatisticsQuery, location="query")
@bp.response(200, s.Statistics)
@errors(400, 401)
@bp.doc(summary="Hazards found, fixed, on time, overdue, major, listed — by region, industry, grade, type or "
                "source, for a period, within the caller's scope (definitions: README, Statistics)")
def get_statistics(args: dict[str, Any]):
    filters, problems = statistics.parse_filters({**args, "from": args.get("from_")}, china_today())
    if problems:
        raise ValidationFailed(next(iter(problems.values())), fields=problems)
    found = statistics.statistics(caller(), filters, args["group_by"])
    return {"group_by": found.group_by, "rows": [statistics.as_row(r) for r in found.rows],
            "total": statistics.as_row(found.total)}



@bp.route("/reports/statutory", methods=["GET"])
@bp.arguments(s.StatutoryQuery, location="query")
@errors(400, 401, 403)
@bp.doc(summary="The national table (隐患排查治理情况统计表) for a month, quarter or year, by region or industry, "
                "within the caller's scope: an .xlsx, or the same rows as JSON (format=json)",
        responses={"200": {"description": "The table", "content": {
            exports.XLSX: {"schema": BINARY}, "application/json": {"schema": s.StatutoryTable}}}})
def get_statutory(args: dict[str, Any]):
    user = caller()
    table = statutory.statutory_table(user, args["period"], args["group_by"], args.get("region"))
    if args["format"] == "json":
        return jsonify(statutory.as_json(table))
    body = statutory.workbook(table, statutory.scope_label(user))
    return user_file(send_file(BytesIO(body), mimetype=exports.XLSX), statutory.filename(table))
