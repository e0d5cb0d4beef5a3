"""Repeat hazards (反复性隐患, issue 14): the same fault found again at the same enterprise — the same checklist
item, or the same location and hazard type — within REPEAT_HAZARD_WINDOW_DAYS (default 365) of an earlier
occurrence.

Recognised when a hazard is reported (inside the report's transaction): the new hazard is linked to every earlier
occurrence in the window (HazardRepeat, with the reason), and `hazard.repeat_number` says which occurrence it is
(2 for the second; None when it is not a repeat). The statistics count repeats (`repeat`, services/statistics.py)
and list the enterprises with the most of them (repeat_offenders).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select

from app.extensions import db
from app.models import Hazard, HazardRepeat, HazardStatsDaily, Organisation, User
from app.services import statistics

CHECKLIST_ITEM = "checklist_item"
LOCATION_TYPE = "location_type"


def window_days() -> int:
    return max(int(current_app.config.get("REPEAT_HAZARD_WINDOW_DAYS", 365)), 0)


def recognise(hazard: Hazard) -> list[int]:
    """Link a just-flushed hazard to its earlier occurrences in the window; returns their ids, oldest first.
    A window of 0 days turns recognition off."""
    days = window_days()
    if not days:
        return []
    since = hazard.created_at - timedelta(days=days)
    same_place = and_(Hazard.location == hazard.location, Hazard.hazard_type == hazard.hazard_type)
    same = or_(same_place, Hazard.checklist_item_id == hazard.checklist_item_id) \
        if hazard.checklist_item_id is not None else same_place
    rows = db.session.execute(
        select(Hazard.id, Hazard.checklist_item_id, Hazard.location, Hazard.hazard_type)
        .where(Hazard.enterprise_id == hazard.enterprise_id, Hazard.id != hazard.id, Hazard.created_at >= since,
               Hazard.created_at <= hazard.created_at, same)
        .order_by(Hazard.created_at, Hazard.id)).all()
    if not rows:
        return []
    for earlier_id, item_id, _location, _type in rows:
        reason = CHECKLIST_ITEM if hazard.checklist_item_id is not None and item_id == hazard.checklist_item_id \
            else LOCATION_TYPE
        db.session.add(HazardRepeat(hazard_id=hazard.id, earlier_id=earlier_id, reason=reason))
    hazard.repeat_number = len(rows) + 1
    return [r[0] for r in rows]


@dataclass
class Occurrence:
    id: int
    number: str
    title: str
    created_at: object
    reason: str


def earlier_occurrences(hazard: Hazard) -> list[Occurrence]:
    """The earlier occurrences a repeat hazard is linked to, oldest first (the detail page)."""
    rows = db.session.execute(
        select(Hazard.id, Hazard.number, Hazard.title, Hazard.created_at, HazardRepeat.reason)
        .join(HazardRepeat, HazardRepeat.earlier_id == Hazard.id).where(HazardRepeat.hazard_id == hazard.id)
        .order_by(Hazard.created_at, Hazard.id)).all()
    return [Occurrence(*row) for row in rows]


@dataclass
class Offender:
    enterprise_id: int
    name: str
    repeats: int
    found: int


def repeat_offenders(user: User, filters, limit: int = 50) -> list[Offender]:
    """The enterprises with the most repeat hazards found in the period, within the caller's scope (the rollup)."""
    t = HazardStatsDaily
    where = statistics._where(user, filters)
    repeats = func.sum(t.repeat)
    rows = db.session.execute(
        select(t.enterprise_id, repeats.label("repeats"), func.sum(t.found).label("found"))
        .where(*where).group_by(t.enterprise_id).having(repeats > 0)
        .order_by(repeats.desc(), t.enterprise_id).limit(limit)).all()
    names = dict(db.session.execute(select(Organisation.id, Organisation.name)
                                    .where(Organisation.id.in_([r.enterprise_id for r in rows]))).all()) if rows else {}
    return [Offender(r.enterprise_id, names.get(r.enterprise_id, str(r.enterprise_id)), int(r.repeats), int(r.found))
            for r in rows]
