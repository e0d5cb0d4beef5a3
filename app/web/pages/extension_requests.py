"""Asking for more time to rectify a hazard, and deciding such requests."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.services import extension_requests, hazards
from app.services.errors import ValidationFailed

bp = Blueprint("extensions", __name__)


@bp.get("/extensions")
@login_required
def index():
    return render_template("extensions/index.html", awaiting=extension_requests.awaiting_decision(current_user))


def _render_request(hazard, values=None, errors=None, status=200):
    kinds = extension_requests.open_deadlines(hazard)
    return render_template("extensions/request.html", hazard=hazard, kinds=kinds,
                           current=extension_requests.current_deadline(hazard, kinds),
                           approver=extension_requests.approver_role(hazard), pending=extension_requests.pending_request(hazard.id),
                           history=extension_requests.requests_for(hazard.id), values=values or {}, errors=errors or {},
                           can_request=extension_requests.can_request(current_user, hazard)), status


@bp.get("/hazards/<int:hazard_id>/extension")
@login_required
def request_form(hazard_id: int):
    return _render_request(hazards.get_hazard(current_user, hazard_id))


@bp.post("/hazards/<int:hazard_id>/extension")
@login_required
def submit_request(hazard_id: int):
    hazard = hazards.get_hazard(current_user, hazard_id)
    values = {"requested_deadline": request.form.get("requested_deadline", ""),
              "reason": request.form.get("reason", "")}
    try:
        extension_requests.request_extension(current_user, hazard_id, values)
    except ValidationFailed as exc:
        return _render_request(hazard, values, exc.fields or {"_form": exc.message}, 422)
    flash(_("Your request was sent; you will be told the decision."), "success")
    return redirect(url_for("extensions.request_form", hazard_id=hazard_id))


def _render_decision(item, errors=None, status=200):
    return render_template("extensions/decide.html", item=item, errors=errors or {},
                           can_decide=extension_requests.can_decide(current_user, item)), status


@bp.get("/extensions/<int:request_id>")
@login_required
def show(request_id: int):
    return _render_decision(extension_requests.get_request(current_user, request_id))


@bp.post("/extensions/<int:request_id>")
@login_required
def decide(request_id: int):
    item = extension_requests.get_request(current_user, request_id)
    approve = request.form.get("decision") == "approve"
    try:
        extension_requests.decide(current_user, request_id, approve, request.form.get("note"))
    except ValidationFailed as exc:
        return _render_decision(item, exc.fields or {"_form": exc.message}, 422)
    if approve:
        flash(_("Approved: the deadline of %(number)s is now %(date)s.", number=item.hazard.number,
                date=item.requested_deadline.isoformat()), "success")
    else:
        flash(_("Refused: the deadline of %(number)s stays as it was.", number=item.hazard.number), "info")
    return redirect(url_for("extensions.show", request_id=request_id))
