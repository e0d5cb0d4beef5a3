"""The schemas of the bureau's side of public reports under /api/v1/public-reports (services/public_reports.py,
services/public_answers.py), in the field types of app/web/api/schemas.py. Nothing here names the reporter except
the Reporter answer of the audited reveal."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields

from app.models import PublicReportStatus, RewardStatus
from app.services.public_answers import DECISIONS, REWARD_MAX_YUAN
from app.web.api.schemas import (
    INT_MAX,
    Attachment,
    Choice,
    CountedPage,
    Flag,
    Id,
    Int,
    QuerySchema,
    RequestSchema,
    Step,
    Text,
    UtcDateTime,
    WhoMayAct,
    nullable,
    out,
)

AMOUNT_MESSAGES = {"invalid": _l("Enter an amount in yuan, e.g. 200 or 99.50."),
                   "special": _l("Enter an amount in yuan, e.g. 200 or 99.50."),
                   "null": _l("This field cannot be empty (null).")}
PUBLIC_STATUSES = tuple(status.value for status in PublicReportStatus)


class PublicReportQuery(QuerySchema):
    status = Choice(PUBLIC_STATUSES, metadata={"description": "Only reports in this state"})
    overdue = Flag(metadata={"description": "Only reports with an open step past its due time, e.g. the first "
                                            "answer's deadline (true), or only those without (false)"})
    page = Int(1, INT_MAX, load_default=1)
    per_page = Int(1, 100, load_default=20)


class PublicReportSummary(Schema):
    id = out(fields.Integer())
    tracking_code = out(fields.String())
    status = out(fields.Enum(PublicReportStatus, by_value=True))
    description = out(fields.String(), description="What the reporter saw")
    seen_on = out(fields.Date())
    enterprise_id = nullable(fields.Integer, description="The enterprise named, if any")
    enterprise = nullable(fields.String, attribute="enterprise_name")
    address = nullable(fields.String)
    region_id = out(fields.Integer())
    supervising_unit_id = nullable(fields.Integer, description="The unit whose inspectors answer it")
    hazard_id = nullable(fields.Integer, description="The hazard opened (accepted) or merged with")
    duplicate_of_id = nullable(fields.Integer)
    answer_due = nullable(UtcDateTime, description="The first answer's deadline while the answer step is open")
    overdue = out(fields.Boolean(), description="An open step is past its due time")
    has_reporter = out(fields.Boolean(), description="The reporter left a name or contact (read them with "
                                                     "POST .../reporter, audited)")
    created_at = out(UtcDateTime())
    updated_at = out(UtcDateTime())


class PublicReportPage(CountedPage):
    items = out(fields.List(fields.Nested(PublicReportSummary)))


class Reward(Schema):
    amount = out(fields.Function(lambda r: f"{r.amount / 100:.2f}"), type="string", description="Yuan")
    status = out(fields.Enum(RewardStatus, by_value=True))
    reason = out(fields.String())
    proposed_at = out(UtcDateTime())
    decided_at = nullable(UtcDateTime)
    decision_note = nullable(fields.String)


class TriageStep(Step, WhoMayAct):
    """An open step of the report's triage, with who may act and how it is done."""

    assignee = nullable(fields.String, attribute="assignee_name", description="Who claimed it (null: nobody)")
    action = out(fields.String(), enum=["answer", "reward", "reward_decision", "step"],
                 description="How it is done: POST .../answer, .../reward, .../reward/decision, or "
                             ".../steps/{task_id} with the data of its own form (GET /tasks/{id} has the form)")


class PublicReportDetail(PublicReportSummary):
    outcome = nullable(fields.String, description="The answer the reporter reads")
    photos = out(fields.List(fields.Nested(Attachment)))
    reward = out(fields.Nested(Reward, allow_none=True), nullable=True)
    current_tasks = out(fields.List(fields.Nested(TriageStep)), description="The triage's open steps")


class Reporter(Schema):
    name = nullable(fields.String)
    contact = nullable(fields.String, description="Mobile number or e-mail")


class Answer(RequestSchema):
    decision = Choice(DECISIONS, required=True, metadata={
        "description": "accept (a hazard is opened for the enterprise), merge (with a hazard you supervise), refer "
                       "(to another government unit) or reject (with a reason in `outcome`)"})
    outcome = Text(max_length=2000, metadata={"description": "The message the reporter reads (required to reject)"})
    enterprise_id = Id(strict=True, metadata={"description": "accept, when the report names no enterprise"})
    title = Text(max_length=200, metadata={"description": "accept: the hazard's title"})
    location = Text(max_length=200, metadata={"description": "accept: the hazard's location"})
    hazard_type = Text(max_length=50, metadata={"description": "accept: unsafe_behaviour, unsafe_condition or "
                                                               "management_defect"})
    description = Text(max_length=2000, metadata={"description": "accept: what the enterprise reads (default: "
                                                                 "the report's text); nothing about the reporter"})
    hazard_id = Id(strict=True, metadata={"description": "merge: the hazard"})
    unit_id = Id(strict=True, metadata={"description": "refer: the government unit"})


class RewardProposal(RequestSchema):
    reward = Choice(("propose", "none"), load_default="propose",
                    metadata={"description": "propose (with amount and reason) or none (no reward)"})
    amount = fields.Decimal(places=None, allow_nan=False, as_string=True, error_messages=AMOUNT_MESSAGES,
                            metadata={"description": f"Yuan, more than 0 and at most {REWARD_MAX_YUAN}, at most 2 "
                                                     "decimals (propose); a number or a decimal string"})
    reason = Text(max_length=2000, metadata={"description": "Why (propose)"})


class RewardDecision(RequestSchema):
    approve = Flag(required=True, metadata={"description": "true: approve; false: refuse (a note is required)"})
    decision_note = Text(max_length=2000)


