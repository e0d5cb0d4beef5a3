"""Who holds which role in which organisation: the one place that answers it.

Enterprise staff (safety officers, principals) act for their enterprise; inspectors act for their government
unit and every unit below it (a district bureau supervises its townships); administrators run the system and
work on no hazard. Lanes of a diagram name roles; a role plus a hazard names the organisation whose holders
act on it. Everything that asks "who are the active people holding role R in organisation(s) O" asks
`people` here.

What a user may *see* (query scopes for lists and pages) is built on these rules in access.py.

Who may *administer* whom (delegated administration) is answered here too: a system administrator (no
organisation) manages everything; a district administrator manages their unit, the units below it, the
regions under their jurisdiction and the enterprises those units supervise, with their people; an
enterprise's principal manages the accounts of their own staff. Nobody manages above or beside their
organisation.
"""
from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from flask import g, has_app_context
from sqlalchemy import and_, false, or_, select, true

from app.extensions import db
from app.models import (
    Hazard,
    HumanTask,
    Jurisdiction,
    Organisation,
    OrgKind,
    OrgStatus,
    Position,
    Region,
    Role,
    User,
    UserPosition,
)

ENTERPRISE_ROLES = frozenset({Role.officer, Role.principal})
GOVERNMENT_ROLES = frozenset({Role.inspector})

LANE_ROLES: dict[str, Role] = {
    "企业安全员": Role.officer,
    "企业主要负责人": Role.principal,
    "监管人员": Role.inspector,
    "管理员": Role.admin,
}
# English lane names are accepted too (a designer may prefer them).
LANE_ROLES.update({role.value: role for role in Role})


# The bureau head's lane (局领导): the active bureau heads of the hazard's supervising unit and of the units above
# it — the inspector lane's rule, narrowed to the heads.
BUREAU_HEAD_LANES = ("局领导", "bureau head")
# The role a position's task is filed under (its holders may hold any role of the position's kind).
POSITION_ROLE = {OrgKind.enterprise: Role.officer, OrgKind.government: Role.inspector}


def role_for_lane(lane: str | None) -> Role | None:
    return LANE_ROLES.get((lane or "").strip())


def working_lanes() -> dict[str, Role]:
    """Lane names that assign work: every lane role except administrators, who do not work on hazards."""
    return {lane: role for lane, role in LANE_ROLES.items() if role != Role.admin}


@dataclass(frozen=True)
class LaneOwner:
    """Who does the tasks of a lane: holders of `role`, narrowed to the bureau heads or to a position's holders
    (of any role of the position's kind; `role` then only files the task)."""
    role: Role
    bureau_head: bool = False
    position_id: int | None = None


def active_positions() -> list[Position]:
    """The positions a lane may name, by kind and name."""
    return list(db.session.scalars(select(Position).where(Position.active.is_(True))
                                   .order_by(Position.kind, Position.name, Position.id)))


def lane_owner(lane: str | None) -> LaneOwner | None:
    """Who does a lane's tasks: a role's lane, the bureau head's (局领导) or an active position's; None for a lane
    that names nobody (deploying refuses it, see processes.check_diagram)."""
    name = (lane or "").strip()
    role = role_for_lane(name)
    if role is not None:
        return LaneOwner(role)
    if name in BUREAU_HEAD_LANES:
        return LaneOwner(Role.inspector, bureau_head=True)
    if not name:
        return None
    position = db.session.scalars(select(Position).where(Position.name == name, Position.active.is_(True))
                                  .order_by(Position.id).limit(1)).first()
    if position is None:
        return None
    return LaneOwner(POSITION_ROLE[position.kind], position_id=position.id)


def working_lane_names() -> list[str]:
    """The lane names that assign work, as the designer offers them: the roles', the bureau head's, positions'."""
    names = [lane for lane in working_lanes() if not lane.isascii()] + [BUREAU_HEAD_LANES[0]]
    return names + [p.name for p in active_positions() if p.name not in names]


def is_enterprise_staff(user: User) -> bool:
    """A safety officer or principal who belongs to an enterprise."""
    return user.role in ENTERPRISE_ROLES and user.organisation_id is not None


# ------------------------------------------------------------------------------ government units
def _ancestry(node_id: int | None, model) -> list[int]:
    """A row of a tree (regions, organisations) and the rows above it, nearest first."""
    chain: list[int] = []
    while node_id is not None and node_id not in chain:
        chain.append(node_id)
        node_id = db.session.scalar(select(model.parent_id).where(model.id == node_id))
    return chain


def region_chain(region_id: int | None) -> list[int]:
    """A region and the regions above it, nearest first (a grid, its township, its district, ...)."""
    return _ancestry(region_id, Region)


# Answers about the region tree and jurisdictions, kept within a `remembered()` block only.
_MEMO: ContextVar[dict | None] = ContextVar("policy_memo", default=None)


@contextmanager
def remembered() -> Iterator[None]:
    """Within the block, who supervises a region and which regions an administrator administers are worked out
    once each: for a caller that validates many records against a tree it does not change meanwhile (the Excel
    import, tens of thousands of rows). Call `forget_units()` after changing regions or jurisdictions."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def _memo(key, compute):
    memo = _MEMO.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def resolve_supervising_unit(region_id: int | None) -> int | None:
    """The lowest-tier government unit whose jurisdiction covers the region (walking up the tree)."""
    return _memo(("unit", region_id), lambda: _resolve_supervising_unit(region_id))


def _resolve_supervising_unit(region_id: int | None) -> int | None:
    for region in region_chain(region_id):
        unit = db.session.scalar(select(Jurisdiction.unit_id).where(Jurisdiction.region_id == region)
                                 .join(Organisation, Organisation.id == Jurisdiction.unit_id)
                                 .order_by(Organisation.id.desc()).limit(1))
        if unit is not None:
            return unit
    return None


def _government_tree() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    rows = db.session.execute(select(Organisation.id, Organisation.parent_id)
                              .where(Organisation.kind == OrgKind.government))
    for org_id, parent_id in rows:
        children.setdefault(parent_id or 0, []).append(org_id)
    return children


def unit_subtree(unit_id: int) -> frozenset[int]:
    """A government unit and every unit below it (a district bureau supervises its townships)."""
    cache = g.setdefault("_unit_subtree", {}) if has_app_context() else {}
    if unit_id in cache:
        return cache[unit_id]
    children = _government_tree()
    found, stack = set(), [unit_id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    cache[unit_id] = frozenset(found)
    return cache[unit_id]


def forget_units() -> None:
    """Drop this request's memo of unit subtrees (a unit was added or moved), and what `remembered()` kept."""
    if has_app_context():
        g.pop("_unit_subtree", None)
    memo = _MEMO.get()
    if memo is not None:
        memo.clear()


def unit_chain(unit_id: int | None) -> list[int]:
    """A government unit and the units above it, nearest first (a township station, then its bureau)."""
    return _ancestry(unit_id, Organisation)


def acting_orgs(user: User) -> frozenset[int]:
    """Organisations this user acts for: their enterprise, or their government unit's subtree."""
    if user.organisation_id is None:
        return frozenset()
    if user.role in GOVERNMENT_ROLES:
        return unit_subtree(user.organisation_id)
    return frozenset({user.organisation_id})


def hazard_scope_orgs(user: User):
    """(hazard column, organisations) of what this user may see: the supervising unit for inspectors, the
    enterprise for enterprise staff; None for the administrator, who sees everything."""
    if user.role == Role.admin:
        return None
    column = Hazard.supervising_unit_id if user.role == Role.inspector else Hazard.enterprise_id
    return column, acting_orgs(user)


# ---------------------------------------------------------------------------------------- people
def people(organisations: int | Collection[int], role: Role | Collection[Role] | None = None, *,
           bureau_head: bool | None = None) -> list[User]:
    """The active users of the organisation(s) holding the role(s), oldest account first.

    `role` None: any role. `bureau_head` True/False: only heads of a bureau (局领导) / only the others.
    """
    orgs = [organisations] if isinstance(organisations, int) else list(organisations)
    stmt = select(User).where(User.active.is_(True), User.organisation_id.in_(orgs))
    if isinstance(role, Role):
        stmt = stmt.where(User.role == role)
    elif role is not None:
        stmt = stmt.where(User.role.in_(list(role)))
    if bureau_head is not None:
        stmt = stmt.where(User.bureau_head.is_(bureau_head))
    return list(db.session.scalars(stmt.order_by(User.id)))


def task_candidates(task: HumanTask):
    """SELECT the ids of the active users who may take a group task — the same people `acting_orgs` lets see it:
    holders of its role (or position) in its organisation, and for government roles in the units above it too
    (read in SQL with the unit chain, so that the caller can insert from it); only bureau heads for the bureau
    head's lane, never the person four-eyes excludes."""
    stmt = _holders(task.role, task.organisation_id, by_role=task.position_id is None)
    if task.position_id is not None:
        stmt = stmt.where(User.id.in_(select(UserPosition.user_id).where(UserPosition.position_id == task.position_id)))
    if task.bureau_head:
        stmt = stmt.where(User.bureau_head.is_(True))
    if task.excluded_user_id is not None:
        stmt = stmt.where(User.id != task.excluded_user_id)
    return stmt


def task_owners(task: HumanTask) -> list[User]:
    """The active people who may take an open task (see task_candidates), oldest account first."""
    return list(db.session.scalars(select(User).where(User.id.in_(task_candidates(task))).order_by(User.id)))


def _holders(role: Role, organisation_id: int, *, by_role: bool = True):
    """SELECT the ids of the active users of `role` (by_role False: any role of its kind) acting for the
    organisation: its own people, and for government roles those of the units above it too."""
    if role in GOVERNMENT_ROLES:
        chain = (select(Organisation.id, Organisation.parent_id).where(Organisation.id == organisation_id)
                 .cte("unit_chain", recursive=True))
        # UNION, not UNION ALL: a loop in the tree ends the recursion instead of repeating it.
        chain = chain.union(select(Organisation.id, Organisation.parent_id)
                            .join(chain, Organisation.id == chain.c.parent_id))
        where = User.organisation_id.in_(select(chain.c.id))
    else:
        where = User.organisation_id == organisation_id
    roles = [role] if by_role else list(GOVERNMENT_ROLES if role in GOVERNMENT_ROLES else ENTERPRISE_ROLES)
    return select(User.id).where(User.active.is_(True), User.role.in_(roles), where)


def task_owner_clause(user: User):
    """A WHERE clause over HumanTask selecting the tasks whose owners include this user, claimed or not: their
    role's tasks for the organisations they act for (a bureau head's lane only if they head a bureau), their
    positions' tasks, and never one whose four-eyes rule excludes them."""
    orgs = acting_orgs(user)
    if not orgs:
        return false()
    by_role = and_(HumanTask.position_id.is_(None), HumanTask.role == user.role)
    if not user.bureau_head:
        by_role = and_(by_role, HumanTask.bureau_head.is_(False))
    by_position = HumanTask.position_id.in_(select(UserPosition.position_id)
                                            .where(UserPosition.user_id == user.id))
    return and_(or_(by_role, by_position), HumanTask.organisation_id.in_(orgs),
                or_(HumanTask.excluded_user_id.is_(None), HumanTask.excluded_user_id != user.id))


def may_own(user: User, task: HumanTask) -> bool:
    """Whether the task's lane names this user (task_owner_clause for one task, the four-eyes rule aside)."""
    if task.organisation_id not in acting_orgs(user):
        return False
    if task.position_id is not None:
        return db.session.scalar(select(UserPosition.user_id).where(
            UserPosition.user_id == user.id, UserPosition.position_id == task.position_id)) is not None
    return task.role == user.role and (user.bureau_head or not task.bureau_head)


# ---------------------------------------------------------------------------------- administration
def administered_units(user: User) -> frozenset[int] | None:
    """Government units this user administers: None for every unit (a system administrator, who belongs to no
    organisation); a district administrator's unit and the units below it; nothing for everybody else."""
    if user.role != Role.admin:
        return frozenset()
    if user.organisation_id is None:
        return None
    return unit_subtree(user.organisation_id)


def region_subtree(region_ids: Collection[int]) -> frozenset[int]:
    """The regions and every region below them (a district, its townships, their grids)."""
    children: dict[int, list[int]] = {}
    for region_id, parent_id in db.session.execute(select(Region.id, Region.parent_id)):
        children.setdefault(parent_id or 0, []).append(region_id)
    found, stack = set(), list(region_ids)
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return frozenset(found)


def closed_regions() -> frozenset[int]:
    """The regions no picker offers: the closed ones (merged into another) and every region below them. Filters
    and history keep them."""
    closed = list(db.session.scalars(select(Region.id).where(Region.status == OrgStatus.closed)))
    return region_subtree(closed) if closed else frozenset()


def administered_regions(user: User) -> frozenset[int] | None:
    """Regions this user administers: None for all; for a district administrator the regions their units'
    jurisdictions cover, with every region below them; nothing for everybody else."""
    units = administered_units(user)
    if units is None or not units:
        return units

    def compute() -> frozenset[int]:
        covered = db.session.scalars(select(Jurisdiction.region_id).where(Jurisdiction.unit_id.in_(units)))
        return region_subtree(list(covered))
    return _memo(("regions", units), compute)


def administered_org_clause(user: User):
    """A WHERE clause over Organisation selecting the organisations whose records and people this user
    manages: every one (system administrator), the unit subtree and the enterprises it supervises (district
    administrator), their own enterprise (principal), none (everybody else)."""
    if user.role == Role.principal:
        return Organisation.id == user.organisation_id if user.organisation_id is not None else false()
    units = administered_units(user)
    if units is None:
        return true()
    if not units:
        return false()
    return or_(Organisation.id.in_(units), Organisation.supervising_unit_id.in_(units))


def peer_manager(actor: User, user: User) -> bool:
    """Whether `user` holds the same power over accounts as `actor` in the same organisation (another district
    administrator of the unit, another principal of the enterprise): such an account is managed from above — by an
    administrator of a unit above or a system administrator — never by a peer, so that no one takes over a peer's
    account by resetting its password."""
    return (user.id != actor.id and actor.organisation_id is not None and user.role == actor.role
            and actor.role in (Role.admin, Role.principal) and user.organisation_id == actor.organisation_id)


def manageable_roles(user: User) -> frozenset[Role]:
    """Roles this user may give to the accounts they manage: a principal only enterprise roles."""
    if user.role == Role.admin:
        return frozenset(Role)
    if user.role == Role.principal and user.organisation_id is not None:
        return ENTERPRISE_ROLES
    return frozenset()
