"""What a user may do, by name: the one home for "who may do what" that the pages and the route guards share.

A page decides what to show (a menu entry, a button, a sentence) by asking a capability here — `can.see_statistics`
in a template (app/web/pages/view.py puts the signed-in user's `Capabilities` there, worked out once per
request) — and the route or service behind it refuses by asking the same function (`may_see_statistics`). So a
menu entry and its page agree by construction, and no template compares role names (tests/test_capabilities.py).

Who holds which role in which organisation stays in policy.py; these rules are built on it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

from app.models import Role, User
from app.services.policy import is_enterprise_staff, manageable_roles, working_lanes

# Where a user's lists and figures reach (the pages' wording: "your jurisdiction", "the whole system", ...).
SCOPE_ORGANISATION = "organisation"  # enterprise staff: their enterprise
SCOPE_JURISDICTION = "jurisdiction"  # inspectors: their unit, the units below it and the enterprises they supervise
SCOPE_SYSTEM = "system"  # administrators: everything


def may_report_hazards(user: User) -> bool:
    """Enterprise staff, and inspectors (for an enterprise they supervise). Whether a closed enterprise's staff may
    report now is the report page's question (hazards.ensure_may_report), not the menu's."""
    return is_enterprise_staff(user) or user.role == Role.inspector


def may_work_tasks(user: User) -> bool:
    """Holders of a role some lane of the hazard process names (everyone but administrators)."""
    return user.role in set(working_lanes().values())


def may_see_statistics(user: User) -> bool:
    """The statistics pages: inspectors, principals and administrators (not safety officers)."""
    return user.role in (Role.inspector, Role.principal, Role.admin)


def may_use_checklists(user: User) -> bool:
    """Checklists as a menu entry: the people who keep or supervise them (the page itself answers anyone)."""
    return may_work_tasks(user)


def may_keep_checks(user: User) -> bool:
    """Checks are done by the enterprise's staff (the check's role, of their enterprise)."""
    return is_enterprise_staff(user)


def may_decide_extensions(user: User) -> bool:
    """Deadline extensions are decided by principals (their enterprise's) and inspectors (their jurisdiction's)."""
    return user.role in (Role.principal, Role.inspector)


def may_ask_extensions(user: User) -> bool:
    """More time for a deadline is asked by the enterprise's safety officer."""
    return user.role == Role.officer


def may_answer_public_reports(user: User) -> bool:
    """Reports from the public are answered by the inspectors of the unit they reach."""
    return user.role == Role.inspector


def may_see_reward_ledger(user: User) -> bool:
    """The bureau's reward ledger for public reports: its inspectors."""
    return may_answer_public_reports(user)


def may_oversee_reports(user: User) -> bool:
    """Enterprises' periodic reports are overseen (the overview, reminders) by the supervising side: inspectors and
    administrators."""
    return user.role in (Role.inspector, Role.admin)


def may_administer(user: User) -> bool:
    """Administrators run the system: processes and forms, regions, units, enterprises, positions, imports."""
    return user.role == Role.admin


def may_manage_people(user: User) -> bool:
    """Whether this person administers any accounts (an administrator, or an enterprise's principal)."""
    return bool(manageable_roles(user))


def scope(user: User) -> str:
    """How far the user's lists and figures reach: SCOPE_SYSTEM, SCOPE_JURISDICTION or SCOPE_ORGANISATION."""
    if user.role == Role.admin:
        return SCOPE_SYSTEM
    if user.role == Role.inspector:
        return SCOPE_JURISDICTION
    return SCOPE_ORGANISATION


@dataclass(frozen=True)
class Capabilities:
    """A user's capabilities, as templates read them (`can.see_statistics`); nobody's (all False) when signed out.
    Each capability `x` is answered by the rule `may_x` above (RULES), the one the route guards call."""
    report_hazards: bool = False
    work_tasks: bool = False
    see_statistics: bool = False
    use_checklists: bool = False
    keep_checks: bool = False
    decide_extensions: bool = False
    ask_extensions: bool = False
    answer_public_reports: bool = False
    see_reward_ledger: bool = False
    oversee_reports: bool = False
    administer: bool = False
    manage_people: bool = False
    scope: str = SCOPE_ORGANISATION

    @property
    def sees_jurisdiction(self) -> bool:
        return self.scope == SCOPE_JURISDICTION

    @property
    def sees_everything(self) -> bool:
        return self.scope == SCOPE_SYSTEM


# Every named capability and the rule that answers it.
RULES: dict[str, Callable[[User], bool]] = {f.name: globals()[f"may_{f.name}"]
                                            for f in fields(Capabilities) if f.name != "scope"}


def of(user: User | None) -> Capabilities:
    """The user's capabilities (none for nobody or a signed-out visitor)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Capabilities()
    return Capabilities(**{name: rule(user) for name, rule in RULES.items()}, scope=scope(user))
