"""The policy module: who holds which role in which organisation (the demo world of tests/conftest.py)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Organisation, Role, User
from app.services import policy


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _org(name: str) -> int:
    return db.session.scalar(select(Organisation.id).where(Organisation.name == name))


def test_people_by_organisation_role_and_bureau_head_flag(app):
    with app.app_context():
        bureau, ent_a = _org("示范区应急管理局"), _org("宏达机械制造有限公司")
        names = lambda users: [u.username for u in users]
        assert names(policy.people(ent_a)) == ["officer_a", "principal_a"]
        assert names(policy.people(ent_a, Role.principal)) == ["principal_a"]
        assert names(policy.people(bureau, Role.inspector, bureau_head=False)) == ["inspector"]
        assert names(policy.people(bureau, bureau_head=True)) == ["bureau_head"]
        ent_b = _org("绿源化工有限公司")
        assert names(policy.people([ent_a, ent_b], policy.ENTERPRISE_ROLES)) == [
            "officer_a", "principal_a", "officer_b", "principal_b"]
        _user("officer_a").active = False
        assert names(policy.people(ent_a)) == ["principal_a"]  # inactive accounts hold no role


def test_acting_organisations_and_the_units_above_and_below(app):
    with app.app_context():
        bureau, west = _org("示范区应急管理局"), _org("西山镇安全生产监管站")
        assert west in policy.acting_orgs(_user("inspector"))  # a district inspector acts for its townships
        assert policy.acting_orgs(_user("inspector_west")) == {west}
        assert policy.acting_orgs(_user("officer_a")) == {_org("宏达机械制造有限公司")}
        assert policy.unit_chain(west) == [west, bureau]
        assert policy.is_enterprise_staff(_user("principal_a")) and not policy.is_enterprise_staff(_user("inspector"))
        assert policy.role_for_lane(" 企业安全员 ") == Role.officer and "管理员" not in policy.working_lanes()
