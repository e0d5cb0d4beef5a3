"""Positions an administrator defines (车间主任 workshop head for enterprises, 科长 for government units).

A lane named after an active position is done by the people holding it in the hazard's enterprise or supervising
unit (policy.lane_owner); people are given positions on the people pages and the admin API (services/users.py).
Positions are renamed and retired, never deleted: the tasks filed under one keep pointing to it. Each change is
one transaction with one audit event on the system chain. Administrators only.
"""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.clock import clock
from app.extensions import db
from app.models import OrgKind, Position, User
from app.services import audit
from app.services.capabilities import may_administer
from app.services.errors import Forbidden, NotFound, ValidationFailed
from app.services.policy import BUREAU_HEAD_LANES, LANE_ROLES

NAME_MAX = 60


def require_admin(user: User | None) -> None:
    if user is None or not may_administer(user):
        raise Forbidden(_("Only administrators can manage positions."))


def list_positions(actor: User) -> list[Position]:
    """Every position, active ones first, by kind and name."""
    require_admin(actor)
    return list(db.session.scalars(select(Position).order_by(Position.active.desc(), Position.kind, Position.name,
                                                             Position.id)))


def get_position(actor: User, position_id: int) -> Position:
    require_admin(actor)
    position = db.session.get(Position, position_id)
    if position is None:
        raise NotFound(_("Position %(id)s was not found.", id=position_id))
    return position


def _clean_name(values: dict[str, Any], own_id: int | None, errors: dict[str, str]) -> str | None:
    raw = values.get("name")
    name = " ".join(raw.split()) if isinstance(raw, str) else None
    if not name:
        errors["name"] = _("Enter the position's name, e.g. 车间主任.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("Use at most %(n)s characters.", n=NAME_MAX)
    elif name in LANE_ROLES or name in BUREAU_HEAD_LANES:
        errors["name"] = _("“%(name)s” already names a role's lane; choose another name.", name=name)
    elif db.session.scalar(select(Position.id).where(func.lower(Position.name) == name.lower(),
                                                     Position.id != (own_id or 0))) is not None:
        errors["name"] = _("A position named “%(name)s” exists already; choose another name.", name=name)
    else:
        return name
    return None


def _kind(values: dict[str, Any], errors: dict[str, str]) -> OrgKind | None:
    raw = values.get("kind")
    if raw not in {k.value for k in OrgKind}:
        errors["kind"] = _("Choose whether the position is held in enterprises or in government units.")
        return None
    return OrgKind(raw)


def create_position(actor: User, values: dict[str, Any]) -> Position:
    require_admin(actor)
    errors: dict[str, str] = {}
    kind = _kind(values, errors)
    name = _clean_name(values, None, errors)
    if errors:
        raise ValidationFailed(_("The position was not saved: correct the marked fields."), fields=errors)
    position = Position(name=name, kind=kind, active=True, created_at=clock.now())
    db.session.add(position)
    db.session.flush()
    audit.record("position_created", actor_id=actor.id, data={"position_id": position.id, "name": name,
                                                               "kind": kind.value})
    db.session.commit()
    return position


def update_position(actor: User, position_id: int, values: dict[str, Any]) -> Position:
    """Rename a position, or retire it / bring it back (`active`); its kind stays (people hold it by kind)."""
    position = get_position(actor, position_id)
    errors: dict[str, str] = {}
    unknown = [k for k in values if k not in ("name", "active")]
    for key in unknown:
        errors[key] = _("This field is not expected here; leave it out.")
    changes: dict[str, list[Any]] = {}
    if "name" in values:
        name = _clean_name(values, position.id, errors)
        if name is not None and name != position.name:
            changes["name"] = [position.name, name]
    if "active" in values:
        if not isinstance(values["active"], bool):
            errors["active"] = _("Answer true or false.")
        elif values["active"] != position.active:
            changes["active"] = [position.active, values["active"]]
    if errors:
        raise ValidationFailed(_("The position was not saved: correct the marked fields."), fields=errors)
    if changes:
        old_name = position.name
        for key, (_old, new) in changes.items():
            setattr(position, key, new)
        data = {"position_id": position.id, "name": position.name, "old_name": old_name, "changes": changes}
        if list(changes) != ["active"]:
            audit.record("position_changed", actor_id=actor.id, data=data)
        elif position.active:
            audit.record("position_reactivated", actor_id=actor.id, data=data)
        else:
            audit.record("position_retired", actor_id=actor.id, data=data)
        db.session.commit()
    return position




def offered_to(user: User | None) -> list[Position]:
    """The positions the people form offers: every active one, and those the person holds already."""
    held = list(user.positions) if user is not None else []
    active = list(db.session.scalars(select(Position).where(Position.active.is_(True))
                                     .order_by(Position.kind, Position.name, Position.id)))
    return active + [p for p in held if not p.active]
