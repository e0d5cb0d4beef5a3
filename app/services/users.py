"""People: create, edit, deactivate and reactivate accounts, reset and change passwords.

Who may manage whom is policy.py's (administered_org_clause, manageable_roles): a system administrator
everybody; a district administrator the people of their units and of the enterprises those units supervise;
an enterprise's principal their own staff (safety officers and principals). Each change is one transaction
with one audit event naming who did what; accounts are deactivated, never deleted (the audit trail keeps
their name). Passwords follow passwords.py; they are hashed by auth.hash_password.

`validate_user` checks the plain values of one user record (from the API, a page, or a row of an import) and
returns every problem by field name, in the user's language: the one place those rules live.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, false, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.clock import clock
from app.extensions import db
from app.models import Organisation, OrgKind, Position, Role, User, UserPosition
from app.services import audit, auth, passwords
from app.services.capabilities import may_manage_people
from app.services.errors import Forbidden, Locked, NotFound, ValidationFailed
from app.services.login_throttle import Throttle
from app.services.paging import Page, paginate
from app.services.policy import (
    ENTERPRISE_ROLES,
    administered_org_clause,
    administered_units,
    manageable_roles,
    peer_manager,
)
from app.services.search import escape_like

FIELDS = ("username", "display_name", "email", "mobile", "role", "organisation_id", "bureau_head", "locale",
          "password", "positions")
EDITABLE = ("display_name", "email", "mobile", "role", "organisation_id", "bureau_head", "locale", "positions")
POSITIONS_MAX = 20
USERNAME = re.compile(r"^[\w.@-]{3,60}$")
MOBILE = re.compile(r"^1[3-9]\d{9}$")  # mainland China mobile numbers (GB/T 13400's 11-digit plan)
_MOBILE_PREFIX = re.compile(r"^(\+86|0086|86)")
_ID_MAX = 2_147_483_647  # PostgreSQL's integer: a larger id cannot exist (and must not reach SQL)
_TRUE, _FALSE = {"1", "true", "yes", "on", "y"}, {"0", "false", "no", "off", "n", ""}
# Which kind of organisation each role belongs to (an administrator: a government unit, or none at all).
ROLE_ORG_KIND = {Role.officer: OrgKind.enterprise, Role.principal: OrgKind.enterprise,
                 Role.inspector: OrgKind.government, Role.admin: OrgKind.government}


@dataclass
class UserCheck:
    """The outcome of `validate_user`: the cleaned values, a message per field, and which of those fields were
    refused because they lie outside what the acting person manages (403 rather than 422)."""
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)

    def refuse(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)
        self.refused.add(name)

    def raise_errors(self) -> None:
        """Raise what was found: Forbidden when every problem is a refusal, else ValidationFailed with all."""
        if not self.errors:
            return
        if set(self.errors) <= self.refused:
            raise Forbidden(next(iter(self.errors.values())), fields=dict(self.errors))
        raise ValidationFailed(_("Some fields need your attention."), fields=dict(self.errors))


def _unfit(text: str) -> bool:
    """NUL characters and lone surrogates: neither database can store them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return "\x00" in text


def _text(check: UserCheck, values: dict[str, Any], name: str, most: int, *, required: bool = False) -> str | None:
    raw = values.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            check.errors[name] = _("This field is required.")
        return None
    if not isinstance(raw, str):
        check.errors[name] = _("Enter text.")
        return None
    text = " ".join(raw.split()) if name != "password" else raw
    if _unfit(text):
        check.errors[name] = _("Remove the NUL character (\\u0000) or the broken character from this text.")
        return None
    if len(text) > most:
        check.errors[name] = _("Enter at most %(n)d characters.", n=most)
        return None
    return text


def _flag(check: UserCheck, values: dict[str, Any], name: str) -> bool | None:
    raw = values.get(name)
    if raw is None or isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    check.errors[name] = _("Use yes or no (true or false).")
    return None


def normalise_mobile(raw: str) -> str:
    """A mobile number as stored: digits only, without the country code (+86 138 0013 8000 → 13800138000)."""
    digits = re.sub(r"[\s\-()]", "", raw)
    return _MOBILE_PREFIX.sub("", digits) if len(digits) > 11 else digits


@dataclass
class Lookups:
    """What `validate_user` would look up per record, looked up once for a batch of them (the Excel import):
    the user names taken (lower case) among the batch's, and the kind of each of the batch's organisations
    that the actor may manage people of (an organisation missing here is outside theirs or does not exist)."""
    usernames: Collection[str]
    organisations: Mapping[int, OrgKind]


def validate_user(values: dict[str, Any], *, actor: User | None = None, user: User | None = None,
                  lookups: Lookups | None = None) -> UserCheck:
    """Check the plain values of one user record and say what is wrong with each field, in the user's language.

    `values` holds strings (a form, a spreadsheet row) or JSON values; absent keys are left alone when `user`
    (the record being edited) is given, and the missing required ones are named when creating. With `actor`,
    an organisation or role outside what they manage is refused (UserCheck.refused). The password, when given,
    is checked against the policy (passwords.py).
    """
    check = UserCheck()
    creating = user is None
    unknown = [k for k in values if k not in FIELDS]
    for name in unknown:
        check.errors[name] = _("This field is not expected here; leave it out.")
    if creating:
        username = _text(check, values, "username", 60, required=True)
        if username is not None:
            if not USERNAME.match(username):
                check.errors["username"] = _("Use 3 to 60 letters, digits, dots, hyphens, underscores or @, "
                                             "without spaces.")
            elif (username.lower() in lookups.usernames if lookups is not None else
                  db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower()))):
                check.errors["username"] = _("The user name “%(name)s” is taken; choose another.", name=username)
            else:
                check.values["username"] = username
    elif "username" in values and values["username"] != user.username:
        check.errors["username"] = _("A user name cannot be changed; create a new account instead.")
    if creating or "display_name" in values:
        name = _text(check, values, "display_name", 100, required=True)
        if name is not None:
            check.values["display_name"] = name
    if "email" in values:
        email = _text(check, values, "email", 200)
        if email is not None:
            try:
                email = validate_email(email, check_deliverability=False).normalized
            except EmailNotValidError as exc:
                check.errors["email"] = _("Enter an e-mail address like name@example.com (%(why)s).", why=str(exc))
            else:
                check.values["email"] = email
        elif "email" not in check.errors:
            check.values["email"] = None
    if "mobile" in values:
        mobile = _text(check, values, "mobile", 30)
        if mobile is not None:
            mobile = normalise_mobile(mobile)
            if MOBILE.match(mobile):
                check.values["mobile"] = mobile
            else:
                check.errors["mobile"] = _("Enter an 11-digit mainland mobile number starting with 13–19, "
                                           "e.g. 13800138000.")
        elif "mobile" not in check.errors:
            check.values["mobile"] = None
    if "locale" in values:
        locale = _text(check, values, "locale", 5)
        if locale is not None and locale not in current_app.config["LANGUAGES"]:
            check.errors["locale"] = _("Choose one of: %(choices)s.", choices=", ".join(current_app.config["LANGUAGES"]))
        elif "locale" not in check.errors:
            check.values["locale"] = locale
    if "bureau_head" in values:
        head = _flag(check, values, "bureau_head")
        if "bureau_head" not in check.errors:
            check.values["bureau_head"] = bool(head)
    _check_role_and_organisation(check, values, actor, user, lookups)
    if "positions" in values:
        _check_positions(check, values["positions"], user)
    if values.get("password") not in (None, ""):
        password = _text(check, values, "password", passwords.MAX_LENGTH)
        if password is not None:
            username = check.values.get("username") or (user.username if user else values.get("username"))
            display = check.values.get("display_name") or (user.display_name if user else None)
            problem = passwords.problem(password, username if isinstance(username, str) else None, (display,))
            if problem:
                check.errors["password"] = problem
            else:
                check.values["password"] = password
    return check


def _check_role_and_organisation(check: UserCheck, values: dict[str, Any], actor: User | None,
                                 user: User | None, lookups: Lookups | None = None) -> None:
    role: Role | None = user.role if user else None
    if user is None or "role" in values:
        raw = values.get("role")
        raw = raw.strip() if isinstance(raw, str) else raw
        if raw in (None, ""):
            check.errors["role"] = _("This field is required.")
            role = None
        elif raw not in {r.value for r in Role}:
            check.errors["role"] = _("Choose one of: %(choices)s.", choices=", ".join(r.value for r in Role))
            role = None
        else:
            role = check.values["role"] = Role(raw)
    org_id: int | None = user.organisation_id if user else None
    if user is None or "organisation_id" in values:
        raw = values.get("organisation_id")
        raw = raw.strip() if isinstance(raw, str) else raw
        if raw in (None, ""):
            org_id = check.values["organisation_id"] = None
        elif isinstance(raw, bool) or not (isinstance(raw, int) or (isinstance(raw, str) and raw.isascii()
                                                                     and raw.isdigit() and len(raw) <= 10)) \
                or not 1 <= int(raw) <= _ID_MAX:
            check.errors["organisation_id"] = _("Enter the id of an organisation (a whole number).")
            return
        else:
            org_id = check.values["organisation_id"] = int(raw)
    head = check.values.get("bureau_head", user.bureau_head if user else False)
    if head and role not in (None, Role.inspector):
        check.errors.setdefault("bureau_head", _("Only an inspector can head a bureau; clear this box or choose "
                                                 "the inspector role."))
    if role is None or "organisation_id" in check.errors:
        return
    if actor is not None and role not in manageable_roles(actor):
        check.refuse("role", _("You may not give the role “%(role)s”; you may give: %(choices)s.", role=role.value,
                               choices=", ".join(sorted(r.value for r in manageable_roles(actor))) or "-"))
        return
    if actor is not None and user is not None and user.id == actor.id:
        own = _("You cannot change your own role or organisation; ask another administrator.")
        if check.values.get("role", user.role) != user.role:
            check.refuse("role", own)
        if check.values.get("organisation_id", user.organisation_id) != user.organisation_id:
            check.refuse("organisation_id", own)
        if "role" in check.refused or "organisation_id" in check.refused:
            return
    if org_id is None:
        if role != Role.admin:
            check.errors["organisation_id"] = _("Choose the organisation this person works for.")
        elif actor is not None and administered_units(actor) is not None:
            check.refuse("organisation_id", _("Only a system administrator can create administrators without an "
                                              "organisation; choose your unit or one below it."))
        return
    clause = administered_org_clause(actor) if actor is not None else Organisation.id.is_not(None)
    if lookups is not None:
        kind = lookups.organisations.get(org_id)
        org = None if kind is None else SimpleNamespace(kind=kind)
    else:
        org = db.session.execute(select(Organisation.kind).where(Organisation.id == org_id, clause)).first()
    if org is None:
        check.refuse("organisation_id", _("Choose an organisation you administer: organisation %(id)s does not "
                                          "exist or is outside yours.", id=org_id))
    elif org.kind != ROLE_ORG_KIND[role]:
        check.errors["organisation_id"] = (
            _("A safety officer or principal belongs to an enterprise; choose an enterprise.")
            if role in ENTERPRISE_ROLES else _("An inspector or administrator belongs to a government unit; "
                                               "choose a government unit."))


def _check_positions(check: UserCheck, raw: Any, user: User | None) -> None:
    """`positions`: ids of active positions of the kind of the person's organisation (one they hold already may
    stay even if it was retired meanwhile)."""
    if isinstance(raw, str):
        raw = [part for part in raw.replace("，", ",").split(",") if part.strip()]
    if not isinstance(raw, list) or len(raw) > POSITIONS_MAX or not all(
            (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= _ID_MAX)
            or (isinstance(v, str) and v.strip().isascii() and v.strip().isdigit() and len(v.strip()) <= 10)
            for v in raw):
        check.errors["positions"] = _("Give a list of at most %(n)s position ids.", n=POSITIONS_MAX)
        return
    ids = sorted({int(v) for v in raw})
    role = check.values.get("role", user.role if user else None)
    if ids and role not in (Role.officer, Role.principal, Role.inspector):
        check.errors["positions"] = _("Only people who work on hazards (safety officers, principals, inspectors) "
                                      "hold positions; clear the positions or choose such a role.")
        return
    held = {p.id for p in user.positions} if user is not None else set()
    kind = ROLE_ORG_KIND.get(role) if role is not None else None
    found = {p.id: p for p in db.session.scalars(select(Position).where(Position.id.in_(ids)))} if ids else {}
    for position_id in ids:
        position = found.get(position_id)
        if position is None or (not position.active and position_id not in held):
            check.errors["positions"] = _("Position %(id)s does not exist or is retired; choose an active one.",
                                          id=position_id)
            return
        if position.kind != kind:
            check.errors["positions"] = _("“%(name)s” is a position of %(kind)s; choose one for this person's "
                                          "organisation.", name=position.name,
                                          kind=_("enterprises") if position.kind == OrgKind.enterprise
                                          else _("government units"))
            return
    check.values["positions"] = ids


def _set_positions(user: User, ids: list[int]) -> None:
    db.session.execute(delete(UserPosition).where(UserPosition.user_id == user.id))
    if ids:
        db.session.execute(insert(UserPosition), [{"user_id": user.id, "position_id": i} for i in ids])
    db.session.expire(user, ["positions"])


# ------------------------------------------------------------------------------------------------- reading
def require_manager(actor: User) -> None:
    """Forbidden unless this person manages any accounts."""
    if not may_manage_people(actor):
        raise Forbidden(_("Only administrators and enterprise principals manage accounts."))


def _manageable(actor: User):
    """SELECT of the accounts this person manages.

    The organisations come as a semi-join (`organisation_id IN (SELECT …)`), not as a join filtered by
    organisation: at city scale PostgreSQL then reads a district's accounts through the organisation indexes
    instead of every account (a district administrator's people list, issue 12's benchmark)."""
    stmt = select(User)
    roles = manageable_roles(actor)
    if not roles:
        return stmt.where(false())
    if not (actor.role == Role.admin and administered_units(actor) is None):  # a system administrator: everyone
        stmt = stmt.where(User.organisation_id.in_(select(Organisation.id).where(administered_org_clause(actor))))
    return stmt if roles == frozenset(Role) else stmt.where(User.role.in_(list(roles)))


@dataclass
class UserFilters:
    organisation_id: int | None = None
    role: str | None = None
    active: bool | None = None
    text: str | None = None


def list_users(actor: User, filters: UserFilters, page: int = 1, per_page: int = 20) -> Page:
    """The accounts this person manages, filtered (organisation, role, active, text in user or display name),
    by user name, one page."""
    require_manager(actor)
    stmt = _manageable(actor)
    if filters.organisation_id is not None:
        stmt = stmt.where(User.organisation_id == filters.organisation_id)
    if filters.role:
        stmt = stmt.where(User.role == filters.role) if filters.role in {r.value for r in Role} else stmt.where(false())
    if filters.active is not None:
        stmt = stmt.where(User.active.is_(filters.active))
    text = " ".join((filters.text or "").split())
    if text:
        pattern = f"%{escape_like(text)}%"
        clause = or_(User.username.ilike(pattern, escape="\\"), User.display_name.ilike(pattern, escape="\\"))
        if len(text) >= 2 and db.session.get_bind().dialect.name == "postgresql":
            # migration 0018's GIN index narrows to the accounts holding every bigram; the ILIKE keeps the matches.
            keys = func.hl_user_grams(User.username, User.display_name)
            clause = keys.op("@>")(func.hl_grams(text)) & clause
        stmt = stmt.where(clause)
    rows = db.session.scalars(stmt.options(selectinload(User.organisation)).order_by(User.username, User.id)
                              .limit(per_page + 1).offset((page - 1) * per_page))
    return paginate(stmt, page, per_page, rows)


def get_user(actor: User, user_id: int) -> User:
    """An account this person manages (NotFound for any other)."""
    require_manager(actor)
    user = db.session.scalar(_manageable(actor).where(User.id == user_id))
    if user is None:
        raise NotFound(_("There is no user %(id)s among the people you manage.", id=user_id))
    return user


def manageable_organisations(actor: User, text: str = "", limit: int = 20, *,
                             organisation_id: int | None = None) -> list[Organisation]:
    """Organisations whose people this person manages, whose name contains `text` (the organisation picker)."""
    if not may_manage_people(actor):
        return []
    stmt = select(Organisation).where(administered_org_clause(actor))
    if actor.role != Role.admin:
        stmt = stmt.where(Organisation.kind == OrgKind.enterprise)
    if organisation_id is not None:
        stmt = stmt.where(Organisation.id == organisation_id)
    text = " ".join((text or "").split())
    if text:
        stmt = stmt.where(Organisation.name.ilike(f"%{escape_like(text)}%", escape="\\"))
    return list(db.session.scalars(stmt.order_by(Organisation.name, Organisation.id).limit(limit)))


# ------------------------------------------------------------------------------------------------- changing
def _about(user: User, **data: Any) -> dict[str, Any]:
    """An audit event's data about an account: who it is (the trail keeps the name), and what changed."""
    return {"user_id": user.id, "username": user.username, **data}


def _set_password(user: User, password: str, *, one_time: bool) -> None:
    user.password_hash = auth.hash_password(password)
    user.must_change_password = one_time
    user.password_changed_at = clock.now()


def create_user(actor: User | None, values: dict[str, Any]) -> tuple[User, str | None]:
    """A new account; returns it with the one-time password made for it when no password was given.

    A password chosen by someone else is known to them, so the person must replace it at first sign-in
    either way. `actor` None: the command line (`flask admin create`), which sets the person's own password.
    """
    if actor is not None:
        require_manager(actor)
    check = validate_user(values, actor=actor)
    check.raise_errors()
    clean = check.values
    user = User(username=clean["username"], display_name=clean["display_name"], role=clean["role"],
                organisation_id=clean.get("organisation_id"), email=clean.get("email"), mobile=clean.get("mobile"),
                bureau_head=clean.get("bureau_head", False), locale=clean.get("locale"), active=True,
                created_at=clock.now(), password_hash="")
    one_time = None if clean.get("password") else passwords.one_time_password()
    _set_password(user, clean.get("password") or one_time, one_time=actor is not None)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # someone took the name since it was checked
        db.session.rollback()
        message = _("The user name “%(name)s” is taken; choose another.", name=clean["username"])
        raise ValidationFailed(message, fields={"username": message}) from None
    if clean.get("positions"):
        _set_positions(user, clean["positions"])
    audit.record("user_created", actor_id=actor.id if actor else None, data=_about(
        user, role=user.role.value, organisation_id=user.organisation_id, display_name=user.display_name,
        email=user.email, mobile=user.mobile, bureau_head=user.bureau_head, one_time_password=actor is not None,
        positions=clean.get("positions", [])))
    db.session.commit()
    return user, one_time


def _not_a_peer(actor: User, user: User) -> None:
    """Forbidden when `user` is the actor's peer (policy.peer_manager): managed from above, not by a peer."""
    if peer_manager(actor, user):
        raise Forbidden(_("%(name)s manages accounts in your own organisation as you do: an administrator of the "
                          "unit above yours (or a system administrator) changes, resets or deactivates their account.",
                          name=user.display_name),
                        fields={"user_id": _("Ask an administrator of the unit above yours.")})


def update_user(actor: User, user_id: int, values: dict[str, Any]) -> User:
    """Change an account's name, e-mail, mobile, role, organisation, bureau-head flag or language."""
    user = get_user(actor, user_id)
    if change_user(actor, user, values):
        db.session.commit()
    return user


def change_user(actor: User, user: User, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Validate and apply changes to an account the actor manages, inside the caller's transaction (audited when
    anything changed); returns {field: [old, new]}."""
    _not_a_peer(actor, user)
    check = validate_user({k: v for k, v in values.items() if k != "password"}, actor=actor, user=user)
    if "password" in values:
        check.errors["password"] = _("Passwords are not edited here: reset the password instead.")
    check.raise_errors()
    changes = {}
    positions = check.values.pop("positions", None)
    held = [p.id for p in user.positions]
    kind = ROLE_ORG_KIND.get(check.values.get("role", user.role))
    if positions is None and any(p.kind != kind for p in user.positions):
        positions = [p.id for p in user.positions if p.kind == kind]  # a new role of another kind drops them
    if positions is not None and positions != held:
        changes["positions"] = [held, positions]
        _set_positions(user, positions)
    changes.update(_apply(user, check.values))
    if changes:
        audit.record("user_updated", actor_id=actor.id, data=_about(user, changes=changes))
    return changes


def _apply(user: User, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the checked values that differ; {field: [old, new]} of those, enums as their values."""
    changes = {}
    for name, value in values.items():
        old = getattr(user, name)
        if old != value:
            changes[name] = [getattr(old, "value", old), getattr(value, "value", value)]
            setattr(user, name, value)
    return changes


# What a person corrects on their own profile; name, role and organisation are the administrator's.
OWN_FIELDS = ("email", "mobile", "locale")


def change_own_details(user: User, values: dict[str, Any]) -> dict[str, list[Any]]:
    """A person corrects their own e-mail, mobile number and language (audited when anything changed);
    returns {field: [old, new]}."""
    others = [k for k in values if k not in OWN_FIELDS]
    check = validate_user({k: v for k, v in values.items() if k in OWN_FIELDS}, user=user)
    for name in others:
        check.errors[name] = (_("Ask your administrator to change this.") if name in FIELDS
                              else _("This field is not expected here; leave it out."))
    check.raise_errors()
    changes = _apply(user, check.values)
    if changes:
        audit.record("profile_updated", actor_id=user.id, data=_about(user, changes=changes))
    db.session.commit()
    return changes


def deactivate_user(actor: User, user_id: int) -> User:
    """Deactivate an account: it can no longer sign in, and its sessions and API tokens end at once."""
    user = get_user(actor, user_id)
    _not_a_peer(actor, user)
    if user.id == actor.id:
        raise Forbidden(_("You cannot deactivate your own account; ask another administrator."),
                        fields={"user_id": _("This is your own account.")})
    if user.active:
        user.active = False
        user.deactivated_at = clock.now()
        auth.end_sessions(user.id)
        audit.record("user_deactivated", actor_id=actor.id, data=_about(user))
        db.session.commit()
    return user


def reactivate_user(actor: User, user_id: int) -> User:
    """Let a deactivated account sign in again (with its old password, or one an administrator resets)."""
    user = get_user(actor, user_id)
    _not_a_peer(actor, user)
    if not user.active:
        user.active = True
        user.deactivated_at = None
        audit.record("user_reactivated", actor_id=actor.id, data=_about(user))
        db.session.commit()
    return user


def reset_password(actor: User, user_id: int) -> tuple[User, str]:
    """A new one-time password for the account, shown once to the administrator; the person must replace it
    at their next sign-in. Every session and API token of theirs ends: whoever held them must sign in again."""
    user = get_user(actor, user_id)
    _not_a_peer(actor, user)
    if user.id == actor.id:
        raise Forbidden(_("Change your own password on your profile page (it asks for the current one)."),
                        fields={"user_id": _("This is your own account.")})
    one_time = passwords.one_time_password()
    _set_password(user, one_time, one_time=True)
    auth.end_sessions(user.id)
    audit.record("password_reset", actor_id=actor.id, data=_about(user))
    db.session.commit()
    return user, one_time


def change_own_password(user: User, current: str, new: str, source: str | None, *,
                        keep_session: str | None = None, keep_token: str | None = None) -> User:
    """A person replaces their password (the one-time one, or their own): the current one must be right and
    the new one must pass the policy. Their other sessions and API tokens end; the one in use is kept."""
    throttle = Throttle(user.username, source)
    wait = throttle.wait_seconds()
    if wait:
        raise Locked(_("Too many wrong passwords: wait %(s)d seconds, then try again.", s=wait))
    errors: dict[str, str] = {}
    if not isinstance(current, str) or not auth.password_matches(user, current):
        throttle.failed()
        message = _("The current password is wrong; enter the password you signed in with.")
        raise ValidationFailed(message, fields={"current_password": message})
    throttle.succeeded()
    problem = passwords.problem(new, user.username, (user.display_name,)) if isinstance(new, str) \
        else _("Enter text.")
    if problem is None and new == current:
        problem = _("Choose a password different from the current one.")
    if problem:
        errors["new_password"] = problem
        raise ValidationFailed(problem, fields=errors)
    was_one_time = user.must_change_password
    _set_password(user, new, one_time=False)
    auth.end_sessions(user.id, keep_session=keep_session, keep_token=keep_token)
    audit.record("password_changed", actor_id=user.id, data=_about(user, after_one_time_password=was_one_time))
    db.session.commit()
    return user


def administrator_exists() -> bool:
    """Whether any active administrator account exists."""
    return db.session.scalar(select(User.id).where(User.role == Role.admin, User.active.is_(True)).limit(1)) is not None
