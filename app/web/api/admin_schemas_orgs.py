"""Schemas of /api/v1/admin/regions, /units and /enterprises: requests, queries and answers.

They check shapes (types, lengths, choices) and document them; what a value must be to be accepted (a valid
credit code, a known industry, a region inside the caller's district) is checked by services/org_checks.py,
which names the field in its answer (422) as these schemas do.
"""
from __future__ import annotations

from marshmallow import Schema, fields

from app.models import EnterpriseScale, OrgStatus, RegionKind
from app.services.org_codes import industry_label
from app.web.api.schemas import (
    INT_MAX,
    Choice,
    CountedPage,
    Id,
    Int,
    QuerySchema,
    RequestSchema,
    Text,
    nullable,
    out,
)

REGION_KINDS = tuple(kind.value for kind in RegionKind)
STATUSES = tuple(status.value for status in OrgStatus)
SCALES = tuple(scale.value for scale in EnterpriseScale)


def _optional(field: fields.Field, **metadata) -> fields.Field:
    """A request field that may be sent as null (or "") to clear it."""
    field.allow_none = True
    field.metadata.update(metadata)
    return field


# Requests ---------------------------------------------------------------------------------------------------

class RegionCreate(RequestSchema):
    code = Text(required=True, max_length=40, metadata={"description": "Unique, e.g. D01-T03"})
    name = Text(required=True, max_length=100)
    kind = Choice(REGION_KINDS, required=True,
                  metadata={"description": "district → township/street/park → grid"})
    parent_id = _optional(Id(strict=True), description="The region above (none for a district)")


class RegionUpdate(RequestSchema):
    code = Text(max_length=40)
    name = Text(max_length=100)
    kind = Choice(REGION_KINDS)
    parent_id = _optional(Id(strict=True), description="Moving a region re-resolves who supervises the "
                                                       "enterprises below it")


class UnitCreate(RequestSchema):
    name = Text(required=True, max_length=200)
    parent_id = _optional(Id(strict=True), description="The unit this one reports to (required for a district "
                                                       "administrator)")
    region_ids = fields.List(Id(strict=True), metadata={
        "description": "Jurisdiction: the regions this unit supervises (and every region below them)"})


class UnitUpdate(RequestSchema):
    name = Text(max_length=200)
    parent_id = _optional(Id(strict=True))
    region_ids = fields.List(Id(strict=True), metadata={
        "description": "The whole new jurisdiction; enterprises whose supervising unit changes move, with their "
                       "open hazards"})


class _EnterpriseDetails(RequestSchema):
    scale = _optional(Choice(SCALES))
    address = _optional(Text(max_length=300))
    legal_representative = _optional(Text(max_length=100))
    principal_name = _optional(Text(max_length=100), description="The principal's name (主要负责人)")
    contact_phone = _optional(Text(max_length=30))


CREDIT_CODE = "统一社会信用代码: 18 characters with the GB 32100-2015 check character; unique"
INDUSTRY = "GB/T 4754-2017: a section letter or a division (e.g. C26), or a group/class within a known division"


class EnterpriseCreate(_EnterpriseDetails):
    name = Text(required=True, max_length=200)
    credit_code = Text(required=True, max_length=60, metadata={"description": CREDIT_CODE})
    industry = Text(required=True, max_length=60, metadata={"description": INDUSTRY})
    region_id = Id(required=True, strict=True, metadata={"description": "The grid, township, street or park"})


class EnterpriseUpdate(_EnterpriseDetails):
    name = Text(max_length=200)
    credit_code = Text(max_length=60, metadata={"description": CREDIT_CODE})
    industry = Text(max_length=60, metadata={"description": INDUSTRY})
    region_id = Id(strict=True, metadata={"description": "Moving an enterprise moves its supervision: its open "
                                                         "hazards and their open inspector tasks"})


class RegionQuery(QuerySchema):
    kind = Choice(REGION_KINDS)
    parent = Id(metadata={"description": "Only the regions directly below this one"})
    q = Text(max_length=200, metadata={"description": "Text in the name or code"})
    page = Int(1, INT_MAX, load_default=1)
    per_page = Int(1, 200, load_default=50)


class UnitQuery(QuerySchema):
    region = Id(metadata={"description": "Units whose jurisdiction names this region"})
    status = Choice(STATUSES)
    q = Text(max_length=200, metadata={"description": "Text in the name"})
    page = Int(1, INT_MAX, load_default=1)
    per_page = Int(1, 200, load_default=50)


class EnterpriseQuery(QuerySchema):
    region = Id(metadata={"description": "Enterprises in this region or any region below it"})
    industry = Text(max_length=10, metadata={"description": "A GB/T 4754-2017 section (C) or division (C26)"})
    status = Choice(STATUSES)
    scale = Choice(SCALES)
    q = Text(max_length=200, metadata={"description": "Text in the name or credit code"})
    page = Int(1, INT_MAX, load_default=1)
    per_page = Int(1, 100, load_default=20)


# Responses --------------------------------------------------------------------------------------------------

class Region(Schema):
    id = out(fields.Integer())
    code = out(fields.String())
    name = out(fields.String())
    kind = out(fields.Enum(RegionKind, by_value=True))
    parent_id = nullable(fields.Integer)
    status = out(fields.Enum(OrgStatus, by_value=True), description="closed: merged into another region; no picker "
                                                                     "offers it (nor the regions below it), filters "
                                                                     "and history keep it")


class Unit(Schema):
    id = out(fields.Integer())
    name = out(fields.String())
    parent_id = nullable(fields.Integer)
    status = out(fields.Enum(OrgStatus, by_value=True))
    region_ids = out(fields.List(fields.Integer()), description="Jurisdiction")


class Enterprise(Schema):
    id = out(fields.Integer())
    name = out(fields.String())
    credit_code = nullable(fields.String)
    industry = nullable(fields.String)
    industry_name = out(fields.Function(lambda o: industry_label(o.industry).partition(" ")[2] or None),
                        type="string", nullable=True, description="In Chinese (GB/T 4754-2017)")
    region_id = nullable(fields.Integer)
    supervising_unit_id = nullable(fields.Integer)
    scale = out(fields.Function(lambda o: o.scale.value if o.scale else None), type="string", nullable=True,
                enum=[*SCALES, None])
    address = nullable(fields.String)
    legal_representative = nullable(fields.String)
    principal_name = nullable(fields.String)
    contact_phone = nullable(fields.String)
    status = out(fields.Enum(OrgStatus, by_value=True))


class RegionPage(CountedPage):
    items = out(fields.List(fields.Nested(Region)))


class UnitPage(CountedPage):
    items = out(fields.List(fields.Nested(Unit)))


class EnterprisePage(CountedPage):
    items = out(fields.List(fields.Nested(Enterprise)))
