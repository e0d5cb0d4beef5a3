"""The schemas of the enterprises' quarterly and annual reports under /api/v1/reports/periodic
(services/periodic_reports.py), in the field types of app/web/api/schemas.py."""
from __future__ import annotations

from marshmallow import Schema, fields

from app.models import ReportStatus
from app.web.api.schemas import (
    INT_MAX,
    Choice,
    CountedPage,
    Flag,
    Int,
    QuerySchema,
    Step,
    Text,
    UtcDateTime,
    WhoMayAct,
    nullable,
    out,
)

REPORT_STATUSES = tuple(status.value for status in ReportStatus)
PERIOD = {"description": "A quarter (2026Q4) or a year (2026)"}


class PeriodicReportQuery(QuerySchema):
    period = Text(max_length=20, metadata={**PERIOD, "description": "Only this quarter (2026Q4) or year (2026); "
                                                                    "default: every period"})
    status = Choice(REPORT_STATUSES, metadata={"description": "Only reports at this step: preparing (the safety "
                                                              "officer), signing (the principal), submitted"})
    late = Flag(metadata={"description": "Only late (true) or only not late (false) reports"})
    page = Int(1, INT_MAX, load_default=1)
    per_page = Int(1, 100, load_default=25)


class RemindQuery(QuerySchema):
    period = Text(required=True, max_length=20, metadata=PERIOD)


class PeriodicReportSummary(Schema):
    id = out(fields.Integer())
    period = out(fields.String(), description="2026Q4 (quarterly) or 2026 (annual)")
    period_start = out(fields.Date())
    period_end = out(fields.Date())
    due_date = out(fields.Date(), description="The 15th day of the next quarter; 31 January for a year")
    enterprise_id = out(fields.Integer())
    enterprise = out(fields.Function(lambda r: r.enterprise.name), type="string")
    supervising_unit_id = nullable(fields.Integer, description="The unit it is filed with")
    status = out(fields.Enum(ReportStatus, by_value=True))
    late = out(fields.Boolean(), description="Its due date passed before it was submitted (stays once submitted)")
    submitted_at = nullable(UtcDateTime)
    last_reminded_at = nullable(UtcDateTime)
    created_at = out(UtcDateTime())
    updated_at = out(UtcDateTime())


class PeriodicReportPage(CountedPage):
    items = out(fields.List(fields.Nested(PeriodicReportSummary)))


class ReportFigures(Schema):
    """The enterprise's figures for the period (definitions: services/statistics.py)."""

    found = out(fields.Integer())
    fixed = out(fields.Integer())
    rate = nullable(fields.Float, description="fixed ÷ found (null: none found)")
    overdue = out(fields.Integer())
    major_found = out(fields.Integer())
    major_written_off = out(fields.Integer())
    listed = out(fields.Integer())
    five_in_place = out(fields.Integer())
    funds_committed = out(fields.String(), description="Yuan, as a decimal string")
    funds_spent = out(fields.String(), description="Yuan, as a decimal string")


class ReportStep(Step, WhoMayAct):
    """An open step of a report, with who may act."""


class PeriodicReportDetail(PeriodicReportSummary):
    figures = out(fields.Nested(ReportFigures))
    figures_recorded = out(fields.Boolean(),
                           description="True: the figures as prepared (and signed); false: computed now")
    remarks = nullable(fields.String, description="The safety officer's remarks")
    return_reason = nullable(fields.String, description="The principal's reason for the last send-back")
    signed_by_id = nullable(fields.Integer)
    current_tasks = out(fields.List(fields.Nested(ReportStep)), description="The step open now (none once "
                                                                            "submitted)")


class Reminded(Schema):
    reminded = out(fields.Integer(), description="How many reports were reminded")
