"""The schemas of /api/v1: each validates a request or serializes a response, and documents it.

The OpenAPI document at /api/v1/openapi.json is generated from these classes (flask-smorest + apispec), so
what the server checks and returns is what the document says. Every schema is built once, at import.

Field types used here (and nowhere else) carry translated messages that name what to fix:
- `Text`: a string without NUL characters (PostgreSQL cannot store them);
- `Int` / `Id`: whole numbers, ids bounded to PostgreSQL's integer range;
- `Choice`: one of a declared set of values.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from flask_smorest.fields import Upload as UploadField
from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, pre_load, validate

from app.models import HazardStatus, Role, TaskStatus
from app.services import statuses
from app.services.hazards import SORTS
from app.web.inputs import INT_MAX, unfit_text

NO_NUL = r"^[^\x00\ud800-\udfff]*$"  # nor lone surrogates: neither database can store them
UNFIT_TEXT = _l("Remove the NUL character (\\u0000) or the broken character from this text.")
# The hazard status vocabulary (the read model's `status`).
HAZARD_STATUSES = tuple(status.value for status in HazardStatus)
GRADES = ("general", "major")

_FIELD_MESSAGES = {
    "required": _l("This field is required."),
    "null": _l("This field cannot be empty (null)."),
    "validator_failed": _l("This value is not accepted."),
}


class Text(fields.String):
    """A string; NUL characters are refused (PostgreSQL cannot store them)."""

    default_error_messages: ClassVar[dict] = {**_FIELD_MESSAGES, "invalid": _l("Enter text (a JSON string).")}

    def __init__(self, *, max_length: int | None = None, min_length: int | None = None, **kwargs):
        checks = [validate.Regexp(NO_NUL, error=UNFIT_TEXT)]
        if max_length is not None or min_length is not None:
            message = (_l("Enter at most {max} characters.") if min_length is None
                       else _l("Enter at least {min} characters.") if max_length is None
                       else _l("Enter between {min} and {max} characters."))
            checks.insert(0, validate.Length(min=min_length, max=max_length, error=message))
        super().__init__(validate=checks, **kwargs)


class Int(fields.Integer):
    """A whole number within [lo, hi]; `strict` (JSON bodies) refuses "5" and 5.0."""

    default_error_messages: ClassVar[dict] = {**_FIELD_MESSAGES, "invalid": _l("Enter a whole number."),
                              "too_large": _l("Enter a smaller number.")}

    def __init__(self, lo: int = 1, hi: int = INT_MAX, **kwargs):
        super().__init__(validate=validate.Range(lo, hi, error=_l("Enter a whole number from {min} to {max}.")),
                         **kwargs)

    def _validated(self, value: Any):
        if isinstance(value, bool):  # JSON true/false are not numbers
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def Id(**kwargs) -> Int:
    """The id of a row: 1 to 2147483647."""
    return Int(1, INT_MAX, **kwargs)


class Flag(fields.Boolean):
    default_error_messages: ClassVar[dict] = {**_FIELD_MESSAGES, "invalid": _l("Use true or false.")}


class Choice(fields.String):
    """One of `choices` (documented as an enum)."""

    default_error_messages: ClassVar[dict] = {**_FIELD_MESSAGES, "invalid": _l("Enter text (a JSON string).")}

    def __init__(self, choices, **kwargs):
        super().__init__(validate=validate.OneOf(list(choices), error=_l("Choose one of: {choices}.")), **kwargs)


class StatusChoice(fields.String):
    """A hazard status of the vocabulary (services/statuses.py): the built-ins (documented as the enum) and those
    administrators added."""

    default_error_messages: ClassVar[dict] = {**_FIELD_MESSAGES, "invalid": _l("Enter text (a JSON string).")}

    def __init__(self, **kwargs):
        super().__init__(validate=self._known, metadata={"enum": list(HAZARD_STATUSES),
                                                         **kwargs.pop("metadata", {})}, **kwargs)

    @staticmethod
    def _known(value: str) -> None:
        known = statuses.keys()
        if value not in known:
            raise ValidationError(_l("Choose one of: {choices}.").format(choices=", ".join(known)))


class FreeObject(fields.Dict):
    """A JSON object whose content another check validates (a form); only NUL characters are refused."""

    default_error_messages: ClassVar[dict] = {**_FIELD_MESSAGES,
                              "invalid": _l("Send an object of field names and values ({\"name\": value}).")}

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        refuse_nul(value)
        return value


def refuse_nul(value: Any, path: str = "") -> None:
    """Raise a ValidationError naming the first key or string within `value` that holds a NUL character."""
    if isinstance(value, str):
        if unfit_text(value):
            raise ValidationError({path: [UNFIT_TEXT]} if path else [UNFIT_TEXT])
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_nul(key, path)
            refuse_nul(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            refuse_nul(item, f"{path}.{index}" if path else str(index))


class UtcDateTime(fields.DateTime):
    """A moment as RFC 3339 with its offset: stored times are UTC, read back without a zone."""

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        if value is None:
            return None
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


class RequestSchema(Schema):
    """A request's JSON body: unknown fields are refused by name."""

    error_messages: ClassVar[dict] = {"unknown": _l("This field is not expected here; leave it out."),
                      "type": _l("Send a JSON object.")}


class QuerySchema(Schema):
    """Query parameters. An empty value (`?grade=`) is the same as leaving the parameter out."""

    class Meta:
        unknown = EXCLUDE

    error_messages: ClassVar[dict] = RequestSchema.error_messages

    @pre_load
    def _empty_is_absent(self, data, **_kwargs):
        return {key: value for key, value in data.items() if value != ""}


def out(field: fields.Field, **metadata) -> fields.Field:
    """`field` as a response field: always present (documented as required)."""
    field.required = True
    field.metadata.update(metadata)
    return field


def nullable(field_type: type[fields.Field] = fields.String, *, attribute: str | None = None,
             **metadata) -> fields.Field:
    """A response field that may be null."""
    return out(field_type(allow_none=True, attribute=attribute), **metadata)


# Requests ---------------------------------------------------------------------------------------------------

class Credentials(RequestSchema):
    username = Text(required=True, min_length=1, max_length=150)
    password = Text(required=True, min_length=1, max_length=1024)


class HazardReport(RequestSchema):
    """A report: the fields of the report form (GET /forms/report says which are required, their lengths and
    choices; an administrator may change them), plus `enterprise_id` for inspectors."""

    class Meta:
        unknown = INCLUDE  # fields an administrator adds to the report form; the form refuses unknown ones

    title = Text(metadata={"description": "One line (report form)"})
    description = Text()
    location = Text()
    hazard_type = Text(metadata={"description": "A choice of the report form, e.g. unsafe_condition"})
    source = Text(metadata={"description": "A choice of the report form, e.g. self_check"})
    photos = fields.List(Id(strict=True), metadata={"description": "Ids of the caller's uploaded photos"})
    enterprise_id = Id(strict=True, metadata={"description": "Inspectors only: an enterprise they supervise"})

    @pre_load
    def _no_nul_anywhere(self, data, **_kwargs):
        refuse_nul(data)
        return data


class Completion(RequestSchema):
    data = FreeObject(required=True, metadata={
        "description": "The values of the task's form (GET /tasks/{task_id} gives the form); validated by it"})


class Delegation(RequestSchema):
    user_id = Id(required=True, strict=True, metadata={"description": "A colleague with the same role"})


def _named_file(upload) -> None:
    name = upload.filename or ""
    if not name.strip():
        raise ValidationError(_l("The file needs a name."))
    if unfit_text(name):
        raise ValidationError(_l("Remove the NUL character (\\u0000) or the broken character from the file name."))


class Upload(Schema):
    file = UploadField(required=True, validate=_named_file, error_messages={
        "required": _l("Send the file as multipart/form-data in a field named 'file'."),
        "invalid": _l("Send the file as multipart/form-data in a field named 'file'.")})


class HazardQuery(QuerySchema):
    status = StatusChoice(metadata={"description": "Read-model status (GET /statuses lists them)"})
    grade = Choice((*GRADES, "none"), metadata={"description": "Grade (none: not yet assessed)"})
    enterprise = Id(metadata={"description": "Enterprise id"})
    overdue = Flag(metadata={"description": "Only overdue (true) or only not overdue (false) hazards"})
    q = Text(max_length=200, metadata={"description": "Text in number, title or location"})
    # The statistics' filters, so that every figure of GET /statistics lists its hazards here.
    from_ = Text(max_length=10, data_key="from", metadata={"description": "Found on or after (YYYY-MM-DD)"})
    to = Text(max_length=10, metadata={"description": "Found on or before (YYYY-MM-DD)"})
    region = Id(metadata={"description": "In this region or a region below it"})
    industry = Text(max_length=1, metadata={"description": "Enterprise's GB/T 4754 section (a letter)"})
    type = Choice(("unsafe_behaviour", "unsafe_condition", "management_defect"))
    source = Choice(("self_check", "government_inspection", "public_report", "referral"))
    outcome = Choice(("found", "fixed", "fixed_on_time", "overdue", "major_found", "major_written_off", "listed",
                      "five_in_place", "repeat"), metadata={"description": "Only the hazards one statistics figure "
                                                                       "counts"})
    sort = Choice(SORTS, load_default="created", metadata={"description": "Order (default: newest first)"})
    page = Int(1, INT_MAX, load_default=1)
    per_page = Int(1, 100, load_default=20)


class HazardExportQuery(HazardQuery):
    """The register's filters without its paging: the export holds every matching hazard."""

    class Meta(HazardQuery.Meta):
        exclude = ("page", "per_page")


class TaskQuery(QuerySchema):
    grade = Choice(GRADES, metadata={"description": "The hazard's grade (only hazards' tasks)"})
    status = StatusChoice(metadata={"description": "The hazard's status (only hazards' tasks)"})
    enterprise = Id(metadata={"description": "The hazard's enterprise id (only hazards' tasks)"})
    overdue = Flag(metadata={"description": "Only overdue (true) or only not overdue (false) tasks"})
    q = Text(max_length=200, metadata={"description": "Text in the hazard's number or title (only hazards' tasks)"})
    page = Int(1, INT_MAX, load_default=1)
    per_page = Int(1, 200, load_default=50)


# Responses --------------------------------------------------------------------------------------------------

class Error(Schema):
    code = fields.String(metadata={"description": "A machine-readable reason, when there is one: "
                                                  "`password_change_required` (change it with POST /me/password)"})
    error = out(fields.String(), description="What went wrong and what to do about it")
    request_id = fields.String(metadata={"description": "This request's id (also the X-Request-ID header): quote it "
                                                        "when reporting a problem"})
    fields = out(fields.Dict(keys=fields.String(), values=fields.String()),
                 description="A message per field that needs attention (may be empty)")


class TokenUser(Schema):
    id = out(fields.Integer())
    username = out(fields.String())
    role = out(fields.Enum(Role, by_value=True))
    organisation_id = nullable(fields.Integer)
    must_change_password = out(fields.Boolean(), description="Change the one-time password first "
                                                             "(POST /me/password); other calls are refused until then")


class Token(Schema):
    token = out(fields.String(), description="Send as Authorization: Bearer <token>")
    expires_at = out(UtcDateTime())
    user = out(fields.Nested(TokenUser))


def _enterprise_name(hazard) -> str | None:
    return hazard.enterprise.name if hazard.enterprise else None


class HazardSummary(Schema):
    id = out(fields.Integer())
    number = out(fields.String())
    title = out(fields.String())
    status = out(fields.String(), description="A status key of the vocabulary (GET /statuses)")
    grade = nullable(fields.String, enum=[*GRADES, None])
    enterprise_id = out(fields.Integer())
    enterprise = out(fields.Function(_enterprise_name), type="string", nullable=True)
    location = out(fields.String())
    current_step = nullable(fields.String)
    rectification_deadline = nullable(fields.Date)
    overdue = out(fields.Boolean())
    listed = out(fields.Boolean())
    created_at = out(UtcDateTime())
    updated_at = out(UtcDateTime())
    closed_at = nullable(UtcDateTime)


class Step(Schema):
    """A human task of a hazard's or a report's process."""

    id = out(fields.Integer())
    name = out(fields.String(attribute="spec_name"), description="The step's id in the diagram")
    title = out(fields.String())
    form = nullable(fields.String, attribute="form_key", description="The key of the task's form")
    role = out(fields.Enum(Role, by_value=True))
    organisation_id = nullable(fields.Integer)
    assignee_id = nullable(fields.Integer)
    status = out(fields.Enum(TaskStatus, by_value=True))
    due_at = nullable(UtcDateTime)
    created_at = out(UtcDateTime())
    completed_at = nullable(UtcDateTime)


class Task(Step):
    hazard_id = out(fields.Integer())


class WhoMayAct(Schema):
    """Who may do an open step, as the hazard's page says it (services/tasks.lane_name, why_waiting)."""

    lane = nullable(fields.String, description="The lane's name when it names more than a role: the bureau head, or "
                                               "a position (null: the role says it)")
    who = out(fields.String(), description="Who may act, in words: the lane's name, else the role's")
    excluded_user_id = nullable(fields.Integer, description="Four-eyes: the person who did the earlier step this one "
                                                            "checks, who may not do this one")
    waiting = nullable(fields.String, description="Why nobody can take the step now (four-eyes leaves nobody, or "
                                                  "nobody holds the lane); null when someone can")
    can_act = out(fields.Boolean(), description="Whether the caller may do the step now")


class CurrentTask(Task, WhoMayAct):
    """An open step of a hazard, with who may act."""


class TaskWithHazard(Task):
    hazard = out(fields.Nested(HazardSummary))


class Subject(Schema):
    """What a task is about (services/subjects.py): a hazard, an enterprise's periodic report, or a public report."""

    kind = out(fields.String(), enum=["hazard", "periodic_report", "public_report"])
    id = out(fields.Integer())
    title = out(fields.String(), description="A hazard's title, a periodic report's period and enterprise, a public "
                                             "report's tracking code")
    url = out(fields.String(), description="The subject in this API: /api/v1/hazards/{id}, "
                                           "/api/v1/reports/periodic/{id} or /api/v1/public-reports/{id}")


class TaskItem(Task):
    """An open task of any subject. `hazard` is the hazard's summary for a hazard's task and null for a periodic or
    public report's (`subject` names it; its steps are done through that subject's endpoints)."""

    hazard = out(fields.Nested(HazardSummary, allow_none=True), nullable=True,
                 description="A hazard's task: its hazard; null for a task of another subject")
    subject = out(fields.Nested(Subject))


class Form(Schema):
    key = out(fields.String())
    title = out(fields.Dict(keys=fields.String(), values=fields.String()), description="Per language")
    description = out(fields.Dict(keys=fields.String(), values=fields.String()), description="Per language")
    schema = out(fields.Dict(), description="JSON Schema (draft 2020-12) of the form's data")
    fields = out(fields.List(fields.Dict()), description="Display hints per field: widget, labels, choices")


class TaskDetail(TaskItem):
    form = out(fields.Nested(Form), description="The form to fill in (the version this task was given)")


class Event(Schema):
    seq = out(fields.Integer())
    action = out(fields.String())
    task = nullable(fields.String, attribute="task_spec")
    actor_id = nullable(fields.Integer)
    actor = out(fields.Function(lambda e: e.actor.display_name if e.actor else None), type="string",
                nullable=True)
    at = out(UtcDateTime(attribute="created_at"))
    data = out(fields.Function(lambda e: json.loads(e.data)), type="object")


class Attachment(Schema):
    id = out(fields.Integer())
    name = out(fields.String(attribute="original_name"))
    content_type = out(fields.String())
    kind = out(fields.String(), enum=["image", "document"])
    size = out(fields.Integer())
    sha256 = out(fields.String())
    hazard_id = nullable(fields.Integer)
    created_at = out(UtcDateTime())


class HazardDetail(HazardSummary):
    description = out(fields.String())
    hazard_type = out(fields.String())
    source = out(fields.String())
    responsible_person = nullable(fields.String)
    notice_number = nullable(fields.String)
    supervision_deadline = nullable(fields.Date)
    current_tasks = out(fields.List(fields.Nested(CurrentTask)))
    timeline = out(fields.List(fields.Nested(Event)))
    attachments = out(fields.List(fields.Nested(Attachment)))


class CountedPage(Schema):
    """One page of a list. Lists count at most LIST_COUNT_CAP rows (10,000 by default)."""

    total = out(fields.Integer(), description="Matching rows; a lower bound when total_capped is true")
    total_capped = out(fields.Boolean(attribute="capped"),
                       description="True when more rows match than were counted (show e.g. 10,000+)")
    page = out(fields.Integer())
    per_page = out(fields.Integer())
    pages = out(fields.Integer(), description="Pages known to exist (a lower bound when total_capped is true)")
    has_next = out(fields.Boolean(attribute="more"), description="Whether a next page exists")


class HazardPage(CountedPage):
    items = out(fields.List(fields.Nested(HazardSummary)))


class TaskPage(CountedPage):
    items = out(fields.List(fields.Nested(TaskItem)))


# Statistics (issue 14; the definitions are services/statistics.py's) ----------------------------------------

class StatisticsQuery(QuerySchema):
    group_by = Choice(("region", "industry", "grade", "hazard_type", "source", "enterprise"), load_default="region",
                      metadata={"description": "Rows: region (the districts, or the regions below `region`; a grid's "
                                               "enterprises), GB/T 4754 industry section, grade, hazard type, "
                                               "source, or enterprise"})
    from_ = Text(max_length=10, data_key="from", metadata={
        "description": "First day found (YYYY-MM-DD, China time); default 1 January of this year"})
    to = Text(max_length=10, metadata={"description": "Last day found (YYYY-MM-DD); default today; a period is at "
                                                      "most 366 days"})
    region = Id(metadata={"description": "Only this region and the regions below it"})
    enterprise = Id(metadata={"description": "Only this enterprise"})
    industry = Text(max_length=1, metadata={"description": "Only this GB/T 4754 section (a letter, e.g. C)"})
    grade = Choice((*GRADES, "none"), metadata={"description": "Only this grade (none: not yet assessed)"})
    type = Choice(("unsafe_behaviour", "unsafe_condition", "management_defect"))
    source = Choice(("self_check", "government_inspection", "public_report", "referral"))


class StatisticsRow(Schema):
    key = fields.Raw(metadata={"description": "The group's key (region or enterprise id, industry section, grade, "
                                              "type, source); null for the total"})
    label = fields.String()
    found = fields.Integer(metadata={"description": "Hazards reported in the period"})
    fixed = fields.Integer(metadata={"description": "Of those, closed or written off"})
    rate = fields.Float(allow_none=True, metadata={"description": "Rectification rate: fixed ÷ found (null: none "
                                                                  "found)"})
    fixed_on_time = fields.Integer(metadata={"description": "Fixed on or before the rectification deadline"})
    on_time_rate = fields.Float(allow_none=True, metadata={"description": "fixed_on_time ÷ fixed"})
    overdue = fields.Integer(metadata={"description": "Overdue now"})
    major_found = fields.Integer()
    major_written_off = fields.Integer()
    listed = fields.Integer(metadata={"description": "Listed for supervision (挂牌督办)"})
    five_in_place = fields.Integer(metadata={"description": "Major hazards whose plan has all five of 五落实"})
    repeat = fields.Integer(metadata={"description": "Repeat hazards (反复性隐患): the same fault found again at the "
                                                     "same enterprise within the window"})
    funds_committed = fields.String(metadata={"description": "Plan funds, yuan, as a decimal string (\"1800.50\")"})
    funds_spent = fields.String(metadata={"description": "Funds spent as recorded at rectification, yuan, as a "
                                                         "decimal string"})


class Statistics(Schema):
    group_by = fields.String()
    rows = fields.List(fields.Nested(StatisticsRow))
    total = fields.Nested(StatisticsRow)


class StatutoryQuery(QuerySchema):
    period = fields.String(required=True, validate=validate.Regexp(r"^\d{4}(-\d{2}|Q[1-4])?$", error=_l(
        "Use a month (2026-11), a quarter (2026Q4) or a year (2026).")), metadata={
        "description": "A month (2026-11), a quarter (2026Q4) or a year (2026); hazards found in it"})
    group_by = Choice(("region", "industry"), load_default="region", metadata={
        "description": "Rows: region (the districts, or the regions right below `region`) or GB/T 4754 industry "
                       "section"})
    region = Id(metadata={"description": "Only this region and the regions below it"})
    format = Choice(("xlsx", "json"), load_default="xlsx", metadata={
        "description": "xlsx (the table as a workbook, default) or json (the same rows)"})


class StatutoryRow(Schema):
    key = fields.Raw(allow_none=True, metadata={"description": "Region id or industry section; null for the total"})
    label = fields.String()
    units_checked = fields.Integer(metadata={"description": "Enterprises with a hazard found in the period"})
    general_found = fields.Integer()
    general_rectified = fields.Integer(metadata={"description": "General hazards closed"})
    general_rate = fields.Float(allow_none=True)
    major_found = fields.Integer()
    major_written_off = fields.Integer(metadata={"description": "Major hazards rectified and written off"})
    major_rate = fields.Float(allow_none=True)
    major_planned = fields.Integer(metadata={"description": "Major hazards in a governance plan"})
    plan_targets = fields.Integer(metadata={"description": "Of those, targets and tasks in place"})
    plan_funds_materials = fields.Integer(metadata={"description": "Funds and materials in place"})
    plan_organisation = fields.Integer(metadata={"description": "Organisation and people in place"})
    plan_time_limit = fields.Integer(metadata={"description": "Time limit in place"})
    plan_safety_emergency = fields.Integer(metadata={"description": "Safety measures and emergency plan in place"})
    listed = fields.Integer(metadata={"description": "Listed for supervision (挂牌督办)"})
    listed_province = fields.Integer(metadata={"description": "Listed at the provincial tier"})
    listed_city = fields.Integer(metadata={"description": "Listed at the city tier"})
    listed_district = fields.Integer(metadata={"description": "Listed at the county tier (a city's district)"})
    listed_township = fields.Integer(metadata={"description": "Listed at the township tier"})
    funds_committed = fields.String(metadata={"description": "Governance funds committed, 10,000 yuan (万元), as a "
                                                             "decimal string"})


class StatutoryTable(Schema):
    period = fields.String()
    from_ = fields.String(data_key="from")
    to = fields.String()
    group_by = fields.String()
    rows = fields.List(fields.Nested(StatutoryRow))
    total = fields.Nested(StatutoryRow)
