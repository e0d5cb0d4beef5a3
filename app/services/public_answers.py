"""The bureau's answer to a public report (受理、合并、转办、不予受理) and its reward (有奖举报): the tasks of the report's
triage process (bpmn/public_report_triage.bpmn, editable in the designer).

The triage's first task, "answer the report", is in the inspector lane of the report's supervising unit (its
inspectors and those of the units above it), with the first-answer deadline and its reminders (the diagram's
timer). Answering completes that task in one unit of work (services/unit_of_work.py) with what it does to the
database: accept (a hazard is opened for the enterprise with source "public_report", through the hazards' own
reporting, and runs its normal lifecycle), merge with a hazard the inspector supervises, refer to another government
unit (the report's unit changes and the answer task is issued again there), or reject with a reason the reporter
reads. For an accepted or merged report with contact details the process then asks an inspector to propose a reward
or no reward, and a head of the bureau (the 局领导 lane) to approve or refuse it. The diagram decides the way; this
module does what each step means. Every step is audited in the report's chain (never on the hazard's timeline,
which the enterprise reads).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.clock import clock
from app.extensions import db
from app.models import (
    HumanTask,
    Organisation,
    OrgKind,
    PublicReport,
    PublicReportStatus,
    PublicReward,
    RewardStatus,
    Role,
    TaskStatus,
    User,
)
from app.services import forms, hazards
from app.services.access import check_task_owner, task_scope, visible_hazard
from app.services.capabilities import may_see_reward_ledger
from app.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.services.policy import acting_orgs
from app.services.public_reports import has_reporter, start_triage, text_field, visible_report, whole_number
from app.services.triage_forms import ANSWER, DECIDE, DECISIONS, PROPOSE, form_meaning
from app.services.unit_of_work import InstanceStep, instance_step

OPEN = (PublicReportStatus.received, PublicReportStatus.referred)
REWARD_MAX_YUAN = Decimal(1000000)
def step_meaning(task: HumanTask) -> str | None:
    """What an open triage step means (form_meaning of the form version the task was given)."""
    return form_meaning(forms.task_form(task))


def open_steps(report: PublicReport) -> list[HumanTask]:
    """Every open task of the report's triage, oldest first: the known steps (answer, reward) and any step an
    administrator added in the designer (done with its own form: complete_step)."""
    return list(db.session.scalars(select(HumanTask).where(HumanTask.public_report_id == report.id,
                                                           HumanTask.status == TaskStatus.open)
                                   .options(joinedload(HumanTask.assignee)).order_by(HumanTask.id)))


def open_step(report: PublicReport, meaning: str) -> HumanTask | None:
    """The report's newest open triage task with this meaning (ANSWER, PROPOSE, DECIDE), if any."""
    return next((t for t in reversed(open_steps(report)) if step_meaning(t) == meaning), None)


@contextmanager
def _triage_step(user: User, report_id: int, meaning: str | None, waiting: str,
                 task_id: int | None = None) -> Iterator[InstanceStep]:
    """The unit of work completing the report's open task with this meaning (or, `task_id`, this open task of the
    report): the instance locked, the task still open and this user's to do (`waiting`: the Conflict's words when
    no such step is open)."""
    report = visible_report(user, report_id)
    if report.instance_id is None and report.status in OPEN:  # received before the triage process: start it now
        try:
            start_triage(report)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    task = open_step(report, meaning) if meaning is not None else next(
        (t for t in open_steps(report) if t.id == task_id), None)
    if task is None:
        raise Conflict(waiting)
    task_id = task.id

    def why_not() -> None:
        check_task_owner(user, db.session.get(HumanTask, task_id))
        raise Conflict(waiting)

    with instance_step(task_id=task_id, task_scope=task_scope(user), missing=why_not, keep_objects=True) as step:
        if step.task is None or step.task.status != TaskStatus.open or step.public_report is None \
                or step.public_report.id != report_id:
            raise Conflict(waiting)
        check_task_owner(user, step.task)
        yield step


# What each triage step records in the report's audit chain (besides task_completed), by what the step did.
TRIAGE_ACTIONS = {"answered": "public_report_answered", "proposed": "public_reward_proposed",
                  "declined": "public_reward_declined", "decided": "public_reward_decided"}


def _complete(step: InstanceStep, user: User, submitted: dict[str, Any], audit_data: dict[str, Any] | None) -> None:
    """Validate the task's form, run the engine with what the step submits, and audit it (`audit_data`: the
    step's own event besides task_completed, with its `action` — a key of TRIAGE_ACTIONS; None: none)."""
    task = step.task
    form = forms.task_form(task)
    if audit_data is None:  # a step of its own form: the form says what is submitted
        cleaned = forms.validate(form, submitted)
    else:
        cleaned = forms.validate(form, {k: v for k, v in submitted.items() if k in form.schema.get("properties", {})})
    data = {**submitted, **cleaned} if audit_data is not None else cleaned
    step.run(lambda runtime, state: runtime.complete(state, task.task_uuid, data), actor_id=user.id,
             completed_task_uuid=task.task_uuid)
    step.audit("task_completed", actor_id=user.id, task_spec=task.spec_name,
               data={"task": task.title, "form": task.form_key, "form_version_id": form.version_id,
                     "data": cleaned})
    if audit_data is None:
        return
    report = step.public_report
    step.audit(TRIAGE_ACTIONS[audit_data.pop("action")], actor_id=user.id, task_spec=task.spec_name,
               data={"public_report": report.id, "tracking_code": report.tracking_code, **audit_data})


def complete_step(user: User, report_id: int, task_id: int, data: Any) -> PublicReport:
    """Do an open step of the report's triage that is not one of the known ones (answer, reward proposal, reward
    decision, known by what their form is: step_meaning) — e.g. a review an administrator added in the designer —
    with its own form, validated like any task's form, in one unit of work. The known steps are done by answer,
    propose_reward and decide_reward, which do what they mean."""
    with _triage_step(user, report_id, None, _("This step is no longer open; nothing was changed."),
                      task_id=task_id) as step:
        if step_meaning(step.task) is not None:
            raise Conflict(_("This step is done with its own action on the report's page (answer or reward); "
                             "nothing was changed."))
        _complete(step, user, data if isinstance(data, dict) else {}, None)
        step.public_report.updated_at = clock.now()
    return step.public_report


def _required_id(values: dict[str, Any], name: str, errors: dict[str, str]) -> int | None:
    found = whole_number(values, name, errors)
    if found is None and name not in errors:
        errors[name] = _("Choose one from the list.")
    return found


def answer(user: User, report_id: int, decision: str, values: dict[str, Any]) -> PublicReport:
    """Answer a public report — accept, merge, refer or reject (see the module docstring) — by completing its
    triage's answer task."""
    if decision not in DECISIONS:
        raise ValidationFailed(_("Some fields need your attention."), fields={"decision": _("Choose one from the list.")})
    with _triage_step(user, report_id, ANSWER,
                      _("This report has already been answered; nothing was changed.")) as step:
        report = step.public_report
        errors: dict[str, str] = {}
        message = text_field(values, "outcome", 2000, errors, required=decision == "reject", keep_lines=True)
        data: dict[str, Any] = {"action": "answered", "decision": decision}
        submitted: dict[str, Any] = {"decision": decision, "has_contact": has_reporter(report)}
        if decision == "accept":
            hazard = _open_hazard(user, report, values, errors)
            report.hazard_id, report.status = hazard.id, PublicReportStatus.accepted
            data["hazard"] = submitted["hazard_id"] = hazard.id
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
            data["hazard"] = submitted["hazard_id"] = report.hazard_id
        elif decision == "refer":
            unit_id = _required_id(values, "unit_id", errors)
            unit = db.session.get(Organisation, unit_id) if unit_id is not None else None
            if unit_id is not None and (unit is None or unit.kind != OrgKind.government
                                        or unit.id == report.supervising_unit_id):
                errors["unit_id"] = _("Choose another government unit.")
            if errors:
                raise ValidationFailed(_("Some fields need your attention."), fields=errors)
            # Before the step runs: the answer task issued again goes to the other unit's inspectors.
            report.supervising_unit_id, report.status, report.overdue_told_at = unit.id, PublicReportStatus.referred, None
            data["to_unit"] = submitted["unit_id"] = unit.id
        else:
            if errors:
                raise ValidationFailed(_("Some fields need your attention."), fields=errors)
            report.status = PublicReportStatus.rejected
        if message:
            submitted["outcome"] = message
        report.outcome = message
        report.updated_at = clock.now()
        _complete(step, user, submitted, data)
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


def propose_reward(user: User, report_id: int, values: dict[str, Any]) -> PublicReward | None:
    """The triage's proposal task: an inspector of the unit proposes a reward (amount, reason) for an accepted or
    merged report whose reporter left contact details, for the head of the bureau to decide — or no reward
    (`reward`: "none"; returns None)."""
    proposing = (values.get("reward") or "propose") == "propose"
    with _triage_step(user, report_id, PROPOSE,
                      _("A reward can be proposed only for an accepted report whose reporter left contact details, "
                        "once; nothing was changed.")) as step:
        report = step.public_report
        if db.session.scalar(select(PublicReward.id).where(PublicReward.public_report_id == report.id)):
            raise Conflict(_("A reward has already been proposed for this report; nothing was changed."))
        errors: dict[str, str] = {}
        reward = None
        if proposing:
            amount = _amount(values, errors)
            reason = text_field(values, "reason", 2000, errors, required=True, keep_lines=True)
            if errors:
                raise ValidationFailed(_("Some fields need your attention."), fields=errors)
            reward = PublicReward(public_report_id=report.id, unit_id=report.supervising_unit_id, amount=amount,
                                  reason=reason, status=RewardStatus.proposed, proposed_by_id=user.id,
                                  proposed_at=clock.now())
            db.session.add(reward)
            submitted = {"reward": "propose", "reason": reason, "reward_amount": amount}
            data = {"action": "proposed", "amount": amount}
        else:
            submitted, data = {"reward": "none"}, {"action": "declined"}
        _complete(step, user, submitted, data)
    return reward


def may_decide_rewards(user: User) -> bool:
    return user.role == Role.inspector and user.bureau_head


def decide_reward(user: User, report_id: int, approve: bool, note: str | None) -> PublicReward:
    """The triage's decision task (the 局领导 lane): the head of the bureau approves or refuses a proposed reward."""
    if not may_decide_rewards(user):
        raise Forbidden(_("Only the head of the bureau decides rewards."))
    with _triage_step(user, report_id, DECIDE,
                      _("No reward is waiting for a decision on this report; nothing was changed.")) as step:
        report = step.public_report
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
        submitted = {"reward_decision": "approve" if approve else "refuse", **({"decision_note": note} if note else {})}
        _complete(step, user, submitted, {"action": "decided", "approved": approve,
                                          "amount": reward.amount})
    return reward


def reward_of(report_id: int) -> PublicReward | None:
    return db.session.scalar(select(PublicReward).where(PublicReward.public_report_id == report_id))


def ledger(user: User) -> list[PublicReward]:
    """The rewards of the user's unit and the units below it, newest first (inspectors): the bureau's ledger.
    It names no reporter."""
    if not may_see_reward_ledger(user):
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
