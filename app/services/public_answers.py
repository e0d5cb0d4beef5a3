"""The bureau's answer to a public report (受理、合并、转办、不予受理) and its reward (有奖举报).

Inspectors of the report's supervising unit (and of the units above it) answer: accept (a hazard is opened for
the enterprise with source "public_report", through the hazards' own reporting and its unit of work, and runs
its normal lifecycle), merge with a hazard they supervise, refer to another government unit, or reject with a
reason the reporter reads. A report is answered once (its row is locked; a second answer is a Conflict). For an
accepted or merged report with contact details an inspector proposes a reward; a head of the bureau (users
flagged bureau_head) approves or refuses it. Every answer and decision is in the audit trail (the system chain:
never on the hazard's timeline, which the enterprise reads).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.clock import clock
from app.extensions import db
from app.models import (
    Organisation,
    OrgKind,
    PublicReport,
    PublicReportStatus,
    PublicReward,
    RewardStatus,
    Role,
    User,
)
from app.services import audit, hazards, notifications
from app.services.access import visible_hazard
from app.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.services.policy import acting_orgs, people, unit_chain
from app.services.public_reports import has_reporter, text_field, visible_report, whole_number

OPEN = (PublicReportStatus.received, PublicReportStatus.referred)
DECISIONS = ("accept", "merge", "refer", "reject")
REWARD_MAX_YUAN = Decimal(1000000)


def _locked(user: User, report_id: int) -> PublicReport:
    """The report, visible to this inspector, with its row locked for the answer (PostgreSQL; SQLite writes one
    transaction at a time)."""
    visible_report(user, report_id)
    return db.session.scalars(select(PublicReport).where(PublicReport.id == report_id).with_for_update()
                              .execution_options(populate_existing=True)).one()


def _required_id(values: dict[str, Any], name: str, errors: dict[str, str]) -> int | None:
    found = whole_number(values, name, errors)
    if found is None and name not in errors:
        errors[name] = _("Choose one from the list.")
    return found


def answer(user: User, report_id: int, decision: str, values: dict[str, Any]) -> PublicReport:
    """Answer a public report: accept, merge, refer or reject (see the module docstring)."""
    if decision not in DECISIONS:
        raise ValidationFailed(_("Some fields need your attention."), fields={"decision": _("Choose one from the list.")})
    try:
        report = _locked(user, report_id)
        if report.status not in OPEN:
            raise Conflict(_("This report has already been answered; nothing was changed."))
        errors: dict[str, str] = {}
        message = text_field(values, "outcome", 2000, errors, required=decision == "reject", keep_lines=True)
        data: dict[str, Any] = {"public_report": report.id, "tracking_code": report.tracking_code, "decision": decision}
        if decision == "accept":
            hazard = _open_hazard(user, report, values, errors)
            report.hazard_id, report.status = hazard.id, PublicReportStatus.accepted
            data["hazard"] = hazard.id
        elif decision == "merge":
            hazard_id = _required_id(values, "hazard_id", errors)
            if hazard_id is not None:
                try:
                    report.hazard_id = visible_hazard(user, hazard_id).id
                except NotFound as exc:
                    errors["hazard_id"] = exc.message
            if errors:
                raise ValidationFailed(_("Some fields need your attention."), fields=errors)
            report.status = PublicReportStatus.merged
            data["hazard"] = report.hazard_id
        elif decision == "refer":
            unit_id = _required_id(values, "unit_id", errors)
            unit = db.session.get(Organisation, unit_id) if unit_id is not None else None
            if unit_id is not None and (unit is None or unit.kind != OrgKind.government
                                        or unit.id == report.supervising_unit_id):
                errors["unit_id"] = _("Choose another government unit.")
            if errors:
                raise ValidationFailed(_("Some fields need your attention."), fields=errors)
            report.supervising_unit_id, report.status = unit.id, PublicReportStatus.referred
            data["to_unit"] = unit.id
        else:
            if errors:
                raise ValidationFailed(_("Some fields need your attention."), fields=errors)
            report.status = PublicReportStatus.rejected
        report.outcome = message
        report.updated_at = clock.now()
        audit.record("public_report_answered", actor_id=user.id, data=data)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return report


def _open_hazard(user: User, report: PublicReport, values: dict[str, Any], errors: dict[str, str]):
    """The hazard for an accepted report: the hazards' own reporting (its form, its process rules, its unit of
    work), inside this transaction. What the inspector writes is what the enterprise reads; nothing of the
    reporter goes in."""
    enterprise_id = report.enterprise_id or _required_id(values, "enterprise_id", errors)
    fields = {name: values.get(name) for name in ("title", "location", "hazard_type")}
    fields["description"] = values.get("description") or report.description
    if errors:
        raise ValidationFailed(_("Some fields need your attention."), fields=errors)
    try:
        return hazards.record_hazard(user, {**fields, "source": "public_report", "enterprise_id": enterprise_id})
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, fields={**errors, **exc.fields}) from None


# ------------------------------------------------------------------------------------------------ rewards
def _amount(values: dict[str, Any], errors: dict[str, str]) -> int | None:
    """An amount in yuan (up to 2 decimals) as fen."""
    raw = values.get("amount")
    try:
        amount = Decimal(str(raw).strip()) if raw not in (None, "") and not isinstance(raw, bool) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0 or amount > REWARD_MAX_YUAN \
            or amount != amount.quantize(Decimal("0.01")):
        errors["amount"] = _("Enter an amount in yuan greater than 0 and at most %(max)s, with at most 2 decimals.",
                             max=f"{REWARD_MAX_YUAN:,.0f}")
        return None
    return int(amount * 100)


def propose_reward(user: User, report_id: int, values: dict[str, Any]) -> PublicReward:
    """An inspector of the unit proposes a reward for an accepted or merged report whose reporter left contact
    details; the head of the bureau decides."""
    try:
        report = _locked(user, report_id)
        if report.status not in (PublicReportStatus.accepted, PublicReportStatus.merged) or not has_reporter(report):
            raise Conflict(_("A reward can be proposed only for an accepted report whose reporter left contact "
                             "details."))
        if db.session.scalar(select(PublicReward.id).where(PublicReward.public_report_id == report.id)):
            raise Conflict(_("A reward has already been proposed for this report; nothing was changed."))
        errors: dict[str, str] = {}
        amount = _amount(values, errors)
        reason = text_field(values, "reason", 2000, errors, required=True, keep_lines=True)
        if errors:
            raise ValidationFailed(_("Some fields need your attention."), fields=errors)
        reward = PublicReward(public_report_id=report.id, unit_id=report.supervising_unit_id, amount=amount,
                              reason=reason, status=RewardStatus.proposed, proposed_by_id=user.id,
                              proposed_at=clock.now())
        db.session.add(reward)
        heads = people(unit_chain(report.supervising_unit_id), Role.inspector, bureau_head=True)
        notifications.notify(heads, "public_reward_proposed",
                             {"code": report.tracking_code, "amount": f"{amount / 100:,.2f}",
                              "proposer": user.display_name}, link=f"/public-reports/{report.id}")
        audit.record("public_reward_proposed", actor_id=user.id,
                     data={"public_report": report.id, "tracking_code": report.tracking_code, "amount": amount})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return reward


def may_decide_rewards(user: User) -> bool:
    return user.role == Role.inspector and user.bureau_head


def decide_reward(user: User, report_id: int, approve: bool, note: str | None) -> PublicReward:
    """The head of the bureau approves or refuses a proposed reward."""
    if not may_decide_rewards(user):
        raise Forbidden(_("Only the head of the bureau decides rewards."))
    try:
        report = _locked(user, report_id)
        reward = db.session.scalars(select(PublicReward).where(PublicReward.public_report_id == report.id)
                                    .with_for_update()).one_or_none()
        if reward is None:
            raise NotFound(_("No reward has been proposed for this report."))
        if reward.status != RewardStatus.proposed:
            raise Conflict(_("This reward has already been decided; nothing was changed."))
        errors: dict[str, str] = {}
        note = text_field({"decision_note": note}, "decision_note", 2000, errors, required=not approve, keep_lines=True)
        if errors:
            raise ValidationFailed(_("Some fields need your attention."), fields=errors)
        reward.status = RewardStatus.approved if approve else RewardStatus.refused
        reward.decided_by_id, reward.decided_at, reward.decision_note = user.id, clock.now(), note
        audit.record("public_reward_decided", actor_id=user.id,
                     data={"public_report": report.id, "tracking_code": report.tracking_code,
                           "approved": approve, "amount": reward.amount})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return reward


def reward_of(report_id: int) -> PublicReward | None:
    return db.session.scalar(select(PublicReward).where(PublicReward.public_report_id == report_id))


def ledger(user: User) -> list[PublicReward]:
    """The rewards of the user's unit and the units below it, newest first (inspectors): the bureau's ledger.
    It names no reporter."""
    if user.role != Role.inspector:
        raise Forbidden(_("The reward ledger is for the bureau's inspectors."))
    return list(db.session.scalars(select(PublicReward).where(PublicReward.unit_id.in_(acting_orgs(user)))
                                   .order_by(PublicReward.id.desc()).limit(5000)))


def government_units() -> list[Organisation]:
    """The units a report can be referred to."""
    return list(db.session.scalars(select(Organisation).where(Organisation.kind == OrgKind.government)
                                   .order_by(Organisation.name)))


LEDGER_COLUMNS = (("tracking_code", _l("Tracking code")), ("proposed_at", _l("Proposed on")),
                  ("amount", _l("Amount (yuan)")), ("status", _l("Status")), ("reason", _l("Reason")),
                  ("proposed_by", _l("Proposed by")), ("decided_by", _l("Decided by")),
                  ("decided_at", _l("Decided on")), ("decision_note", _l("Note")))


def ledger_workbook(user: User, status_labels: dict[str, str]) -> bytes:
    """The ledger as an .xlsx workbook (openpyxl), headed in the reader's language. Every
    value is written as text or a number, never as a formula (a reason starting with "=" stays text)."""
    from io import BytesIO

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from app.chinatime import china_time
    from app.services.exports import as_values

    book = Workbook()
    sheet = book.active
    sheet.title = "ledger"
    sheet.append([str(label) for _key, label in LEDGER_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for reward in ledger(user):
        values = {"tracking_code": reward.report.tracking_code, "proposed_at": china_time(reward.proposed_at),
                  "amount": reward.amount / 100, "status": status_labels.get(reward.status.value, reward.status.value),
                  "reason": reward.reason, "proposed_by": reward.proposed_by.display_name,
                  "decided_by": reward.decided_by.display_name if reward.decided_by else "",
                  "decided_at": china_time(reward.decided_at) if reward.decided_at else "",
                  "decision_note": reward.decision_note or ""}
        sheet.append(as_values(sheet, [values[key] for key, _label in LEDGER_COLUMNS]))
    for column, width in zip("ABCDEFGHI", (14, 18, 14, 12, 50, 14, 14, 18, 30), strict=True):
        sheet.column_dimensions[column].width = width
    out = BytesIO()
    book.save(out)
    return out.getvalue()
