"""Schemas of the public API (/api/v1/public: no token): a report from the public and how it stands."""
from __future__ import annotations

from marshmallow import Schema, fields

from app.services import public_reports
from app.web.api.schemas import Id, QuerySchema, RequestSchema, Text, out

_ALTCHA = ("The solved challenge: GET /public/challenge, find `number` in 0..maxnumber with "
           "sha256(salt + number) == challenge, send base64(JSON {algorithm, challenge, number, salt, signature})")


class Challenge(Schema):
    algorithm = out(fields.String(), enum=["SHA-256"])
    challenge = out(fields.String())
    maxnumber = out(fields.Integer())
    salt = out(fields.String())
    signature = out(fields.String())


class PublicReportRequest(RequestSchema):
    """A report as JSON; photos uploaded first with POST /public/attachments and named by their ids."""

    description = Text(required=True, max_length=public_reports.DESCRIPTION_MAX,
                       metadata={"description": "What was seen"})
    enterprise_id = Id(strict=True, allow_none=True, metadata={"description": "An active enterprise, if known"})
    address = Text(allow_none=True, max_length=300, metadata={"description": "Needed without an enterprise"})
    region_id = Id(strict=True, allow_none=True, metadata={"description": "Region (the enterprise's by default)"})
    seen_on = Text(required=True, max_length=10, metadata={"description": "YYYY-MM-DD, not in the future"})
    name = Text(allow_none=True, max_length=100, metadata={"description": "Optional; encrypted, confidential"})
    contact = Text(allow_none=True, max_length=200,
                   metadata={"description": "Optional mobile number or e-mail; encrypted, confidential"})
    altcha = Text(required=True, max_length=2000, metadata={"description": _ALTCHA})
    attachment_ids = fields.List(Text(max_length=200), metadata={
        "description": "Ids from POST /public/attachments (at most PUBLIC_PHOTOS_MAX)"})


# The multipart form of the same report, with the photos as files.
MULTIPART_REPORT = {"type": "object", "required": ["description", "seen_on", "altcha"], "properties": {
    **{name: {"type": "string"} for name in ("description", "enterprise_id", "address", "region_id", "seen_on",
                                             "name", "contact", "altcha")},
    "photos": {"type": "array", "items": {"type": "string", "format": "binary"}}}}


class PublicUpload(Schema):
    id = out(fields.String(), description="Name it in `attachment_ids` of POST /public/reports")


class PublicReceipt(Schema):
    tracking_code = out(fields.String(), description="10 characters (Crockford base 32)")
    pin = out(fields.String(), description="6 digits, shown only now")
    already_known = out(fields.Boolean(), description="The same hazard was reported before: linked to it")


class PublicStatusQuery(QuerySchema):
    pin = fields.String(metadata={"description": "The report's PIN"})


class PublicStatus(Schema):
    tracking_code = out(fields.String())
    status = out(fields.String(), enum=[s.value for s in public_reports.PublicReportStatus])
    outcome = out(fields.String(allow_none=True), description="The bureau's answer to the reporter")
    received_on = out(fields.Date())
    already_known = out(fields.Boolean())
    hazard_state = out(fields.String(allow_none=True), enum=["in_progress", "fixed", "written_off", None],
                       description="How the hazard opened for the report stands")
    reward = out(fields.String(allow_none=True), enum=["approved", "refused", None],
                 description="The head of the bureau's decision on a reward, once made")
    reward_amount = out(fields.Integer(allow_none=True), description="The approved reward in fen (0.01 yuan)")
