"""Lanes name roles; a role plus the hazard's organisation names the people who may act."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Hazard, Jurisdiction, Organisation, Region, Role

LANE_ROLES: dict[str, Role] = {
    "企业安全员": Role.officer,
    "企业主要负责人": Role.principal,
    "监管人员": Role.inspector,
    "管理员": Role.admin,
}
# English lane names are accepted too (a designer may prefer them).
LANE_ROLES.update({role.value: role for role in Role})


def role_for_lane(lane: str | None) -> Role | None:
    return LANE_ROLES.get((lane or "").strip())


def organisation_for(role: Role, hazard: Hazard) -> int | None:
    """The organisation whose holders of `role` act on this hazard's task."""
    if role in (Role.officer, Role.principal):
        return hazard.enterprise_id
    if role == Role.inspector:
        return hazard.supervising_unit_id
    return None


def resolve_supervising_unit(region_id: int | None) -> int | None:
    """The lowest-tier government unit whose jurisdiction covers the region (walking up the tree)."""
    while region_id is not None:
        unit = db.session.scalar(select(Jurisdiction.unit_id).where(Jurisdiction.region_id == region_id)
                                 .join(Organisation, Organisation.id == Jurisdiction.unit_id)
                                 .order_by(Organisation.id.desc()).limit(1))
        if unit is not None:
            return unit
        region_id = db.session.scalar(select(Region.parent_id).where(Region.id == region_id))
    return None
