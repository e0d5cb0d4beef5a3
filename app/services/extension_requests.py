"""Extension requests (延期申请): an officer asks for more time; the principal or the inspector decides.

The deciding person is the enterprise principal for a hazard that is not listed, and the supervising
inspector for a hazard listed for supervision (挂牌督办).  On approval the deadline data of the
instance changes through the engine (`ProcessRuntime.update_data`), so the deadline timer events
move; the deadline's pending reminders and escalations are cancelled and planned again from the new
date (apply_snapshot), and the hazard stops being overdue.  Request and decision are in the audit trail.
"""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.chinatime import DEADLINE_YEARS_AHEAD, parse_date, years_after
from app.chinatime import today as china_today
from app.clock import clock
from app.extensions import db
from app.models import (
    ExtensionRequest,
    ExtensionStatus,
    Hazard,
    HumanTask,
    Role,
    TaskStatus,
    Timer,
    TimerKind,
    User,
)
from app.services import notifications
from app.services.access import can_see_hazard, visible_hazard
from app.services.capabilities import may_ask_extensions, may_decide_extensions
from app.services.deadlines import recipients
from app.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.services.policy import acting_orgs, people
from app.services.unit_of_work import instance_step

# Deadline kinds an extension can move, and the task data each one is kept in.
EXTENDABLE = {"rectification": "rectification_deadline", "supervision": "supervision_deadline"}


def open_deadlines(hazard: Hazard) -> list[str]:
    """The extendable deadlines that watch a step still open (e.g. ["rectification", "supervision"])."""
    if hazard.instance_id is None:
        return []
    open_tasks = select(HumanTask.task_uuid).where(HumanTask.instance_id == hazard.instance_id,
                                                   HumanTask.status == TaskStatus.open)
    kinds = db.session.scalars(select(Timer.deadline).distinct().where(
        Timer.instance_id == hazard.instance_id, Timer.kind == TimerKind.engine,
        Timer.deadline.in_(list(EXTENDABLE)), Timer.watch_task_uuid.in_(open_tasks)))
    found = set(kinds)
    if "supervision" in found and not hazard.supervision_deadline:
        found.discard("supervision")
    return [k for k in EXTENDABLE if k in found]


def current_deadline(hazard: Hazard, kinds: list[str]) -> date | None:
    days = [d for d in (hazard.rectification_deadline if "rectification" in kinds else None,
                        hazard.supervision_deadline if "supervision" in kinds else None) if d]
    return min(days) if days else None


def approver_role(hazard: Hazard) -> Role:
    """Who decides: the inspector for a listed (挂牌督办) hazard, otherwise the enterprise principal."""
    return Role.inspector if hazard.listed else Role.principal


def can_request(user: User, hazard: Hazard) -> bool:
    return (may_ask_extensions(user) and user.organisation_id == hazard.enterprise_id
            and bool(open_deadlines(hazard)) and pending_request(hazard.id) is None)


def can_decide(user: User, request: ExtensionRequest) -> bool:
    hazard = request.hazard
    if request.status != ExtensionStatus.pending or user.role != request.approver_role:
        return False
    if user.role == Role.principal:
        return user.organisation_id == hazard.enterprise_id
    return hazard.supervising_unit_id in acting_orgs(user)


def pending_request(hazard_id: int) -> ExtensionRequest | None:
    return db.session.scalar(select(ExtensionRequest).where(
        ExtensionRequest.hazard_id == hazard_id, ExtensionRequest.status == ExtensionStatus.pending))


def requests_for(hazard_id: int) -> list[ExtensionRequest]:
    """Every extension request of a hazard, newest first."""
    return list(db.session.scalars(select(ExtensionRequest).where(ExtensionRequest.hazard_id == hazard_id)
                                   .order_by(ExtensionRequest.id.desc())))


def _approvers(hazard: Hazard, role: Role) -> list[User]:
    if role == Role.principal:
        return people(hazard.enterprise_id, Role.principal)
    return recipients("inspector", hazard, None)


def _params(request: ExtensionRequest, **extra: str) -> dict[str, str]:
    hazard = request.hazard
    return {"number": hazard.number, "title": hazard.title, "current": request.current_deadline.isoformat(),
            "requested": request.requested_deadline.isoformat(), "reason": request.reason,
            "requester": request.requested_by.display_name if request.requested_by else "", **extra}


def request_extension(user: User, hazard_id: int, data: dict) -> ExtensionRequest:
    """Ask for a later deadline, with a reason; the approver is told."""
    hazard = visible_hazard(user, hazard_id)
    if not may_ask_extensions(user) or user.organisation_id != hazard.enterprise_id:
        raise Forbidden(_("Only a safety officer of the hazard's enterprise can ask for more time."))
    kinds = open_deadlines(hazard)
    if not kinds:
        raise Conflict(_("This hazard has no open step with a deadline that can be extended."))
    if pending_request(hazard.id) is not None:
        raise Conflict(_("An extension request for this hazard is already waiting for a decision."))
    data = data if isinstance(data, dict) else {}
    errors: dict[str, str] = {}
    reason = str(data.get("reason") or "").strip()
    if not reason:
        errors["reason"] = _("Explain why more time is needed.")
    elif len(reason) > 2000:
        errors["reason"] = _("At most %(n)s characters.", n=2000)
    current = current_deadline(hazard, kinds)
    requested = parse_date(data.get("requested_deadline"))
    if requested is None:
        errors["requested_deadline"] = _("Give the new deadline as a date (YYYY-MM-DD).")
    if requested is not None:
        today = china_today()
        if requested <= max(current or today, today):
            errors["requested_deadline"] = _("The new deadline must be later than the current one (%(current)s) "
                                             "and than today.", current=(current or today).isoformat())
        elif requested > years_after(today, DEADLINE_YEARS_AHEAD):
            errors["requested_deadline"] = _(
                "Choose a date at most %(n)d years from today (no later than %(latest)s).", n=DEADLINE_YEARS_AHEAD,
                latest=years_after(today, DEADLINE_YEARS_AHEAD).isoformat())
    if errors:
        raise ValidationFailed(_("Some fields need your attention."), fields=errors)
    request = ExtensionRequest(hazard_id=hazard.id, deadlines=",".join(kinds), current_deadline=current or requested,
                               requested_deadline=requested, reason=reason, approver_role=approver_role(hazard),
                               status=ExtensionStatus.pending, requested_by_id=user.id, created_at=clock.now())
    with instance_step(hazard.instance_id) as step:
        if pending_request(hazard.id) is not None:  # asked by a colleague a moment ago
            raise Conflict(_("An extension request for this hazard is already waiting for a decision."))
        request.hazard, request.requested_by = step.hazard, user
        db.session.add(request)
        db.session.flush()
        step.audit("extension_requested", actor_id=user.id, data={
            "request": request.id, "deadlines": kinds, "current": request.current_deadline.isoformat(),
            "requested": requested.isoformat(), "reason": reason, "approver_role": request.approver_role.value})
        notifications.notify(_approvers(step.hazard, request.approver_role), "extension_requested",
                             _params(request), hazard_id=hazard.id, link=f"/extensions/{request.id}")
    return request


def get_request(user: User, request_id: int) -> ExtensionRequest:
    """One extension request, or NotFound when its hazard is not the user's to see."""
    request = db.session.get(ExtensionRequest, request_id)
    if request is None or not can_see_hazard(user, request.hazard):
        raise NotFound(_("Extension request %(id)s was not found.", id=request_id))
    return request


def _awaiting_query(user: User):
    stmt = (select(ExtensionRequest).join(Hazard, Hazard.id == ExtensionRequest.hazard_id)
            .where(ExtensionRequest.status == ExtensionStatus.pending, ExtensionRequest.approver_role == user.role))
    if user.role == Role.principal:
        return stmt.where(Hazard.enterprise_id == user.organisation_id)
    return stmt.where(Hazard.supervising_unit_id.in_(acting_orgs(user)))


def awaiting_decision(user: User) -> list[ExtensionRequest]:
    """Pending requests this user may decide, oldest first."""
    if not may_decide_extensions(user):
        return []
    return list(db.session.scalars(_awaiting_query(user).order_by(ExtensionRequest.id)))


def awaiting_decision_count_query(user: User):
    """SELECT how many requests awaiting_decision would list (for the header); None when the user decides none."""
    if not may_decide_extensions(user):
        return None
    return _awaiting_query(user).with_only_columns(func.count(), maintain_column_froms=True)


def decide(user: User, request_id: int, approve: bool, note: str | None = None) -> ExtensionRequest:
    """Approve (the deadline and its timers move) or refuse an extension request."""
    request = get_request(user, request_id)
    if request.status != ExtensionStatus.pending:
        raise Conflict(_("This request has already been decided; nothing was changed."))
    if not can_decide(user, request):
        raise Forbidden(_("This request is for the %(role)s to decide.",
                          role=_("enterprise principal") if request.approver_role == Role.principal
                          else _("supervising inspector")))
    note = (note or "").strip()[:2000] or None
    if not approve and not note:
        raise ValidationFailed(_("Some fields need your attention."),
                               fields={"note": _("Say why the request is refused.")})
    with instance_step(request.hazard.instance_id) as step:
        db.session.refresh(request)
        if request.status != ExtensionStatus.pending:
            raise Conflict(_("This request has already been decided; nothing was changed."))
        request.status = ExtensionStatus.approved if approve else ExtensionStatus.refused
        request.decided_by_id, request.decided_at, request.decision_note = user.id, clock.now(), note
        if approve:
            kinds = [k for k in request.deadlines.split(",") if k in EXTENDABLE]
            updates = {EXTENDABLE[k]: request.requested_deadline.isoformat() for k in kinds}
            step.run(lambda runtime, state: runtime.update_data(state, updates), actor_id=user.id)
        step.audit("extension_approved" if approve else "extension_refused", actor_id=user.id,
                   data={"request": request.id, "deadlines": request.deadlines,
                         "from": request.current_deadline.isoformat(),
                         "to": request.requested_deadline.isoformat(), "note": note})
        notifications.notify([request.requested_by], "extension_approved" if approve else "extension_refused",
                             _params(request, decider=user.display_name, note=note or ""),
                             hazard_id=step.hazard.id, link=f"/hazards/{step.hazard.id}")
    return request
