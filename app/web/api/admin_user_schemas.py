"""Schemas of the people API (/api/v1/admin/users, /api/v1/me): requests are checked here for shape and
size; what a value means (a mobile number, an organisation one may manage, the password policy) is checked by
services/users.validate_user, which answers 422/403 naming the field."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.models import OrgKind, Role
from app.services import passwords
from app.web.api.schemas import (
    INT_MAX,
    Choice,
    CountedPage,
    Flag,
    Id,
    Int,
    QuerySchema,
    RequestSchema,
    Text,
    UtcDateTime,
    nullable,
    out,
)

ROLES = tuple(role.value for role in Role)
LOCALES = ("zh", "en")


class UserQuery(QuerySchema):
    organisation = Id(metadata={"description": "Organisation id"})
    role = Choice(ROLES)
    active = Flag(metadata={"description": "Only active (true) or only deactivated (false) accounts"})
    q = Text(max_length=100, metadata={"description": "Text in the user name or the display name"})
    page = Int(1, INT_MAX, load_default=1)
    per_page = Int(1, 100, load_default=20)


class UserChanges(RequestSchema):
    """The fields an administrator may change (PATCH: send only those to change)."""

    display_name = Text(min_length=1, max_length=100)
    email = Text(max_length=200, allow_none=True, metadata={"description": "null or \"\" clears it"})
    mobile = Text(max_length=30, allow_none=True, metadata={
        "description": "Mainland mobile number, 11 digits (13800138000; +86 and spaces are accepted)"})
    role = Choice(ROLES)
    organisation_id = Id(strict=True, allow_none=True, metadata={
        "description": "Enterprise for officers and principals, government unit for inspectors and "
                       "administrators; null only for a system administrator"})
    bureau_head = Flag(metadata={"description": "Inspectors only: heads a bureau (the last tier of escalation)"})
    locale = Choice(LOCALES, allow_none=True)
    positions = fields.List(Id(strict=True), validate=validate.Length(max=20), metadata={
        "description": "Ids of the positions the person holds (GET /api/v1/admin/positions), all of the kind of "
                       "their organisation; the list replaces the ones held"})


class OwnChanges(RequestSchema):
    """What a person corrects on their own profile (PATCH /me: send only those to change)."""

    email = UserChanges._declared_fields["email"]
    mobile = UserChanges._declared_fields["mobile"]
    locale = Choice(LOCALES, allow_none=True, metadata={"description": "Language of pages and e-mails"})


class UserCreate(UserChanges):
    username = Text(required=True, min_length=3, max_length=60)
    display_name = Text(required=True, min_length=1, max_length=100)
    role = Choice(ROLES, required=True)
    password = Text(max_length=passwords.MAX_LENGTH, metadata={
        "description": f"Optional: without it a one-time password is made and returned once. At least "
                       f"{passwords.MIN_LENGTH} characters, not containing the user name, not a common password. "
                       "Either way the person must replace it at first sign-in."})


class PasswordChange(RequestSchema):
    current_password = Text(required=True, min_length=1, max_length=1024)
    new_password = Text(required=True, min_length=1, max_length=1024, metadata={
        "description": f"At least {passwords.MIN_LENGTH} characters, not containing the user name, not a common "
                       "password"})


class Organisation(Schema):
    id = out(fields.Integer())
    name = out(fields.String())
    kind = out(fields.String(), enum=["government", "enterprise"])


class Position(Schema):
    id = out(fields.Integer())
    name = out(fields.String())
    kind = out(fields.Enum(OrgKind, by_value=True))
    active = out(fields.Boolean())


class PositionCreate(RequestSchema):
    name = Text(required=True, min_length=1, max_length=60, metadata={
        "description": "Unique; a lane of a diagram named so is done by the position's holders"})
    kind = Choice(("enterprise", "government"), required=True, metadata={
        "description": "Held by people of enterprises or of government units"})


class PositionChanges(RequestSchema):
    name = Text(min_length=1, max_length=60)
    active = Flag(metadata={"description": "false retires the position (deploying refuses a lane naming it)"})


class PositionList(Schema):
    items = out(fields.List(fields.Nested(Position)))


class User(Schema):
    id = out(fields.Integer())
    username = out(fields.String())
    display_name = out(fields.String())
    email = nullable(fields.String)
    mobile = nullable(fields.String)
    role = out(fields.Enum(Role, by_value=True))
    organisation_id = nullable(fields.Integer)
    organisation = out(fields.Nested(Organisation, allow_none=True), nullable=True)
    bureau_head = out(fields.Boolean())
    positions = out(fields.List(fields.Nested(Position)))
    locale = nullable(fields.String)
    active = out(fields.Boolean())
    must_change_password = out(fields.Boolean())
    created_at = out(UtcDateTime())
    deactivated_at = nullable(UtcDateTime)
    password_changed_at = nullable(UtcDateTime)


class UserWithPassword(Schema):
    user = out(fields.Nested(User))
    one_time_password = nullable(fields.String, description=(
        "Shown this once: hand it to the person, who must replace it at first sign-in (null when a password was "
        "given)"))


class UserPage(CountedPage):
    items = out(fields.List(fields.Nested(User)))
