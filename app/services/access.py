"""Who may see and do what: scoping rules shared by every page and API route, built on services/policy.py."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import and_, case, false, func, or_, select, true

from app.extensions import db
from app.models import Hazard, HumanTask, Organisation, OrgKind, OrgStatus, Role, User
from app.services.errors import Forbidden, NotFound
from app.services.policy import acting_orgs, hazard_scope_orgs, may_own, people, task_owner_clause
from app.services.search import escape_like


def hazard_scope(user: User, *, via_index: bool = True, on=None):
    """A WHERE clause selecting the hazards this user may see.

    `via_index=False`: the same condition, written so that the planner does not read the jurisdiction's
    index for it, for a query whose other index applies the jurisdiction already (the text search's keys).
    `on`: the same rule on another table that carries the hazard's scope columns by the same names (the
    statistics rollup).
    """
    scope = hazard_scope_orgs(user)
    if scope is None:
        return true()
    column, orgs = scope
    if not orgs:
        return false()
    if on is not None:
        column = getattr(on, column.key)
    return (column if via_index else func.coalesce(column, 0)).in_(orgs)


def task_scope(user: User):
    """A WHERE clause selecting the tasks this user could work on (own or claimable)."""
    return and_(task_owner_clause(user), or_(HumanTask.assignee_id.is_(None), HumanTask.assignee_id == user.id))


def can_see_hazard(user: User, hazard: Hazard) -> bool:
    if user.role == Role.admin:
        return True
    orgs = acting_orgs(user)
    if user.role == Role.inspector:
        return hazard.supervising_unit_id in orgs
    return hazard.enterprise_id in orgs


def visible_hazard(user: User, hazard_id: int) -> Hazard:
    """The hazard, or NotFound when it does not exist or is not this user's to see."""
    hazard = db.session.get(Hazard, hazard_id)
    if hazard is None or not can_see_hazard(user, hazard):
        raise NotFound(_("Hazard %(id)s was not found.", id=hazard_id))
    return hazard


def _visible_enterprise_query(user: User, active_only: bool = False):
    """The enterprises this user may see; `active_only`: not the closed ones (where a new hazard is reported)."""
    stmt = select(Organisation).where(Organisation.kind == OrgKind.enterprise)
    if active_only:
        stmt = stmt.where(Organisation.status == OrgStatus.active)
    if user.role == Role.inspector:
        return stmt.where(Organisation.supervising_unit_id.in_(acting_orgs(user)))
    if user.role != Role.admin:
        return stmt.where(Organisation.id.in_(acting_orgs(user)))
    return stmt


def visible_enterprises(user: User, limit: int | None = None, active_only: bool = False) -> list[Organisation]:
    """The enterprises whose hazards this user may see (an inspector's jurisdiction, or their own company).

    At city scale that is thousands (all 100,000 for the administrator): pages pass `limit` and switch to
    search_enterprises when `limit` come back. Those are then any `limit` of them, not the first by name,
    so that telling "a few" from "many" never sorts the whole jurisdiction.
    """
    stmt = _visible_enterprise_query(user, active_only)
    if limit is not None:
        # Two small reads rather than one the planner might answer by scanning every organisation.
        ids = list(db.session.scalars(stmt.with_only_columns(Organisation.id).limit(limit)))
        stmt = select(Organisation).where(Organisation.id.in_(ids))
    return list(db.session.scalars(stmt.order_by(Organisation.name, Organisation.id)))


def visible_enterprise(user: User, enterprise_id: int, active_only: bool = False) -> Organisation | None:
    """The enterprise if this user may see it, else None."""
    return db.session.scalar(_visible_enterprise_query(user, active_only).where(Organisation.id == enterprise_id))


def search_enterprises(user: User, text: str, limit: int = 20, exact: bool = False,
                       active_only: bool = False) -> list[Organisation]:
    """Visible enterprises whose name contains `text` (ignoring case), names starting with it first.

    With `exact`, only those whose whole name is `text` (ignoring case and surrounding spaces).
    """
    text = (text or "").strip()
    if not text:
        return []
    stmt = _visible_enterprise_query(user, active_only)
    if exact:
        stmt = stmt.where(func.lower(Organisation.name) == text.lower()).order_by(Organisation.id)
    else:
        escaped = escape_like(text)
        starts = Organisation.name.ilike(f"{escaped}%", escape="\\")
        stmt = stmt.where(Organisation.name.ilike(f"%{escaped}%", escape="\\")).order_by(
            case((starts, 0), else_=1), Organisation.name, Organisation.id)
    return list(db.session.scalars(stmt.limit(limit)))


def check_task_owner(user: User, task: HumanTask) -> None:
    """Raise Forbidden unless the user holds the task's role in its organisation and may take it."""
    if not may_own(user, task):
        raise Forbidden(_("This task is for another role or organisation; you cannot act on it."))
    if task.excluded_user_id == user.id:
        raise Forbidden(_("You did the earlier step this one checks, and this step must be done by a different "
                          "person (four-eyes): a colleague has to do it."))
    if task.assignee_id is not None and task.assignee_id != user.id:
        holder = task.assignee
        raise Forbidden(_("%(name)s has claimed this task and is working on it; ask them, or wait until they release "
                          "it.", name=holder.display_name if holder is not None else "?"))


def people_of(organisation_id: int) -> list[str]:
    """Names of the active people of an organisation, for the person picker of task forms."""
    return sorted(user.display_name for user in people(organisation_id))
