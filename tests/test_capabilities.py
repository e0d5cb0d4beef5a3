"""Who may do what has one home (app/services/capabilities.py): the templates ask capabilities (`can.*`), never
role names, and every entry the header offers a person is a page that person may open — for every demo role.
"""
from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from jinja2 import Environment, nodes
from sqlalchemy import select

from app.clock import clock
from app.extensions import db
from app.models import Role, User
from app.services import capabilities
from app.services.auth import hash_password
from app.services.demo import DEMO_PASSWORD
from tests.deadline_steps import Person

TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "templates"
ENV = Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.do", "jinja2.ext.loopcontrols"])


ROLE_NAMES = {role.value for role in Role} | {role.name for role in Role}


def _reads_role(node: nodes.Node, whose: str | None = None) -> bool:
    """Whether an expression reads a role (`x.role`, `x.role.value`); `whose`: only the role of that name."""
    return any(isinstance(n, nodes.Getattr) and n.attr == "role"
               and (whose is None or (isinstance(n.node, nodes.Name) and n.node.name == whose))
               for n in [node, *node.find_all(nodes.Getattr)])


def _names_a_role(node: nodes.Node) -> bool:
    """Whether an expression is a role's name, or a list of them (`'admin'`, `('officer', 'principal')`)."""
    return any(isinstance(n, nodes.Const) and n.value in ROLE_NAMES for n in [node, *node.find_all(nodes.Const)])


def role_comparisons(source: str) -> list[int]:
    """The lines of a template that decide by role: a comparison or test on the signed-in user's role, or a role
    compared with a role's name. (A form's chosen role compared with the options offered is no such decision.)"""
    found = []
    tree = ENV.parse(source)
    for compare in tree.find_all(nodes.Compare):
        operands = [compare.expr, *(o.expr for o in compare.ops)]
        if any(_reads_role(o, "current_user") for o in operands) or (
                any(_reads_role(o) for o in operands) and any(_names_a_role(o) for o in operands)):
            found.append(compare.lineno)
    for test in tree.find_all(nodes.Test):
        if any(_reads_role(o, "current_user") for o in [test.node, *test.args]):
            found.append(test.lineno)
    return sorted(found)


def test_the_check_finds_a_role_comparison():
    assert role_comparisons("{% if current_user.role.value == 'admin' %}x{% endif %}") == [1]
    assert role_comparisons("\n{{ 'a' if user.role.value in ('officer', 'principal') }}") == [2]
    assert role_comparisons("{{ 'a' if current_user.role in roles }}") == [1]
    assert role_comparisons("{% for role in roles %}{{ 'x' if values.role == role.value }}{% endfor %}") == []
    assert role_comparisons("{% if current_user.role is sameas none %}{% endif %}") == [1]
    assert role_comparisons("{% if can.administer %}{{ current_user.role | role_label }}{% endif %}") == []


def test_no_template_compares_role_names():
    offenders = [f"{path.relative_to(TEMPLATES)}:{line}" for path in sorted(TEMPLATES.rglob("*.html"))
                 for line in role_comparisons(path.read_text(encoding="utf-8"))]
    assert offenders == [], "ask a capability (can.*, app/services/capabilities.py) instead of the role: " + \
        ", ".join(offenders)


def test_every_capability_has_one_rule():
    nobody = capabilities.of(None)
    assert not any(getattr(nobody, name) for name in capabilities.RULES)


# ------------------------------------------------------------------------------------------------ the header
HEADER = re.compile(r'<nav class="navbar.*?</nav>', re.DOTALL)
LINK = re.compile(r'<a\b[^>]*\bhref="([^"#][^"]*)"')
SYSTEM_ADMIN = "system_admin"
PEOPLE = ("officer_a", "principal_a", "inspector", "inspector_west", "bureau_head", "admin", SYSTEM_ADMIN)

# Pages a capability guards, and the header entry that leads there (when the capability holds).
GUARDED = {"/statistics": capabilities.may_see_statistics, "/hazards/new": capabilities.may_report_hazards,
           "/admin/users": capabilities.may_manage_people, "/admin/import": capabilities.may_administer,
           "/admin/positions": capabilities.may_administer, "/public-rewards": capabilities.may_see_reward_ledger}
# Guarded pages that are reached from another page, not from the header.
NOT_IN_HEADER = {"/public-rewards"}


def header_links(html: str) -> list[str]:
    [header] = HEADER.findall(html)
    return sorted({unescape(href) for href in LINK.findall(header) if not href.startswith("/language")})


def _add_system_admin(app) -> None:
    with app.app_context():
        db.session.add(User(username=SYSTEM_ADMIN, display_name="系统管理员（全系统）", role=Role.admin,
                            organisation_id=None, password_hash=hash_password(DEMO_PASSWORD), created_at=clock.now()))
        db.session.commit()


@pytest.mark.parametrize("username", PEOPLE)
def test_every_header_entry_opens_for_whoever_sees_it(app, client, username):
    if username == SYSTEM_ADMIN:
        _add_system_admin(app)
    person = Person(client, username)
    links = header_links(person.get("/tasks").get_data(as_text=True))
    assert "/tasks" in links and "/notifications" in links
    refused = {}
    for href in links:
        resp = person.get(href, follow_redirects=True)
        if resp.status_code != 200:
            refused[href] = resp.status_code
    assert refused == {}, f"{username}'s header offers pages that refuse them"

    # The reverse: a page the person may open is offered in their header, one they may not is not offered.
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        allowed = {path: rule(user) for path, rule in GUARDED.items()}
    for path, may in allowed.items():
        assert person.get(path).status_code == (200 if may else 403), (username, path)
        if path not in NOT_IN_HEADER:
            assert (path in links) == may, (username, path)
