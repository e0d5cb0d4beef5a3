"""People pages: the list, creating an account with a one-time password, the forced password change, the
profile, what a principal may do, and `flask admin create` on an empty database."""
from __future__ import annotations

import re

import lxml.html
import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import AuditEvent, Organisation, User
from config import TestConfig
from tests.test_pages import Pages

STRONG = "copper-kettle-rain-47"


@pytest.fixture
def admin(client):
    pages = Pages(client)
    assert pages.login("admin").status_code == 302
    return pages


def doc(resp):
    return lxml.html.fromstring(resp.get_data(as_text=True))


def org_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Organisation.id).where(Organisation.name == name))


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def create(pages: Pages, app, **values) -> str:
    """Create an account through the form; the one-time password shown once."""
    pages.get("/admin/users/new")
    form = {"username": "officer_new", "display_name": "周新", "role": "officer",
            "organisation_id": org_id(app, "宏达机械制造有限公司"), **values}
    resp = pages.post("/admin/users/new", form)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    assert resp.headers["Cache-Control"] == "no-store"
    return doc(resp).get_element_by_id("one-time-password").text_content().strip()


def test_the_people_list_filters_and_links_to_each_account(admin, app):
    html = doc(admin.get("/admin/users?role=principal&lang=en"))
    names = html.xpath("//a[contains(@class, 'hl-person')]/@data-username")
    assert sorted(names) == ["principal_a", "principal_b", "principal_c"]
    assert doc(admin.get("/admin/users?q=zzz")).xpath("//*[@id='people-none']")
    nav = doc(admin.get("/tasks")).xpath("//a[@id='hl-nav-people']")
    assert nav and nav[0].get("href") == "/admin/users"


def test_an_officer_created_on_the_page_must_change_the_one_time_password_first(admin, app):
    one_time = create(admin, app)
    newcomer = Pages(app.test_client())
    resp = newcomer.login("officer_new", one_time)
    assert resp.status_code == 302
    for path in ("/tasks", "/hazards", "/hazards/new", "/profile"):
        resp = newcomer.get(path)
        assert resp.status_code == 302 and resp.location == "/profile/password", path
    page = newcomer.get("/profile/password")
    assert page.status_code == 200 and doc(page).xpath("//*[@id='password-one-time']")

    weak = newcomer.post("/profile/password", {"current_password": one_time, "new_password": "officer_new-abc-1",
                                               "new_password_again": "officer_new-abc-1"})
    assert weak.status_code == 422
    assert doc(weak).xpath("//*[@id='f-new_password-error']")
    differ = newcomer.post("/profile/password", {"current_password": one_time, "new_password": STRONG,
                                                 "new_password_again": STRONG + "x"})
    assert differ.status_code == 422 and doc(differ).xpath("//*[@id='f-new_password_again-error']")
    done = newcomer.post("/profile/password", {"current_password": one_time, "new_password": STRONG,
                                               "new_password_again": STRONG})
    assert done.status_code == 302 and done.location == "/profile"
    assert newcomer.get("/tasks").status_code == 200  # the session in use stays signed in
    newcomer.report()
    profile = doc(newcomer.get("/profile?lang=en")).get_element_by_id("profile").text_content()
    assert "周新" in profile and "宏达机械制造有限公司" in profile


def test_the_form_shows_each_field_error_and_keeps_what_was_entered(admin, app):
    admin.get("/admin/users/new")
    resp = admin.post("/admin/users/new?lang=en", {"username": "x y", "display_name": "", "role": "officer",
                                                   "organisation_id": org_id(app, "示范区应急管理局"),
                                                   "mobile": "123", "email": "nope"})
    assert resp.status_code == 422
    html = doc(resp)
    for name in ("username", "display_name", "mobile", "email", "organisation_id"):
        assert html.xpath(f"//*[@id='f-{name}-error']"), name
    assert html.get_element_by_id("f-mobile").get("value") == "123"


def test_an_administrator_edits_resets_and_deactivates_an_account(admin, app):
    officer = Pages(app.test_client())
    assert officer.login("officer_b").status_code == 302
    target = user_id(app, "officer_b")
    admin.get(f"/admin/users/{target}")
    saved = admin.post(f"/admin/users/{target}", {"display_name": "王安全", "email": "wang@example.com",
                                                  "mobile": "13900001111", "role": "officer",
                                                  "organisation_id": org_id(app, "绿源化工有限公司"), "locale": "zh"})
    assert saved.status_code == 302
    admin.get(f"/admin/users/{target}")
    reset = admin.post(f"/admin/users/{target}/reset-password")
    assert reset.status_code == 200 and doc(reset).get_element_by_id("one-time-password").text_content().strip()
    assert officer.get("/tasks").status_code == 302  # their session ended with the reset
    admin.get(f"/admin/users/{target}")
    assert admin.post(f"/admin/users/{target}/deactivate").status_code == 302
    with app.app_context():
        user = db.session.get(User, target)
        assert user.active is False and user.mobile == "13900001111"
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.chain == "system")))
        assert actions[-3:] == ["user_updated", "password_reset", "user_deactivated"]


def test_a_principal_sees_their_staff_and_cannot_open_another_enterprises_account(app):
    principal = Pages(app.test_client())
    assert principal.login("principal_a").status_code == 302
    html = doc(principal.get("/admin/users"))
    assert sorted(html.xpath("//a[contains(@class, 'hl-person')]/@data-username")) == ["officer_a", "principal_a"]
    assert principal.get(f"/admin/users/{user_id(app, 'officer_b')}").status_code == 404
    form = doc(principal.get("/admin/users/new"))
    assert form.xpath("//select[@id='f-role']/option/@value") == ["", "officer", "principal"]
    principal.get("/admin/users/new")
    refused = principal.post("/admin/users/new", {"username": "insp_x", "display_name": "x", "role": "inspector",
                                                  "organisation_id": org_id(app, "宏达机械制造有限公司")})
    assert refused.status_code == 403
    officer = Pages(app.test_client())
    assert officer.login("officer_a").status_code == 302
    assert officer.get("/admin/users").status_code == 403
    assert not doc(officer.get("/tasks")).xpath("//a[@id='hl-nav-people']")
    assert doc(officer.get("/tasks")).xpath("//a[@id='hl-profile']")


def test_the_organisation_picker_suggests_only_what_the_user_manages(app):
    principal = Pages(app.test_client())
    principal.login("principal_a")
    found = principal.get("/admin/users/organisations?q=有限公司").get_json()["items"]
    assert [o["name"] for o in found] == ["宏达机械制造有限公司"]


def test_admin_create_makes_the_first_administrator_on_an_empty_database(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'fresh.db'}", INSTANCE_DIR=tmp_path)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    weak = runner.invoke(args=["admin", "create", "--username", "root", "--password", "root12345678"])
    assert weak.exit_code == 1 and "password" in weak.output
    made = runner.invoke(args=["admin", "create", "--username", "root"], input=f"{STRONG}\n{STRONG}\n")
    assert made.exit_code == 0, made.output
    again = runner.invoke(args=["admin", "create", "--username", "root2"], env={"HAZARDLOOP_ADMIN_PASSWORD": STRONG})
    assert again.exit_code == 1 and "exists" in again.output
    forced = runner.invoke(args=["admin", "create", "--username", "root2", "--even-if-one-exists"],
                           env={"HAZARDLOOP_ADMIN_PASSWORD": STRONG})
    assert forced.exit_code == 0, forced.output
    with app.app_context():
        root = db.session.scalar(select(User).where(User.username == "root"))
        assert root.role.value == "admin" and root.organisation_id is None and not root.must_change_password
        assert db.session.scalar(select(Organisation.id).limit(1)) is None  # no demo data
    pages = Pages(app.test_client())
    assert pages.login("root", STRONG).status_code == 302
    assert pages.get("/admin/users").status_code == 200
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_password_policy_names_what_to_fix():
    from app.services.passwords import one_time_password, problem

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://", INSTANCE_DIR="/tmp/hl-policy")
    with app.test_request_context("/?lang=en"):
        assert "12" in problem("Ab3-kettle", "someone")
        assert "user name" in problem("someone-river-lamp-9", "someone")
        assert "common" in problem("password12345", "someone")
        assert "guess" in problem("aaaaaaaaaaaaaaa", "someone") or "common" in problem("aaaaaaaaaaaaaaa", "someone")
        assert problem(STRONG, "someone") is None
        otp = one_time_password()
        assert re.fullmatch(r"(\w{4}-){3}\w{4}", otp) and problem(otp, "someone") is None


def test_a_person_corrects_their_own_contact_details_on_the_profile(client, app):
    pages = Pages(client)
    pages.login("officer_a")
    assert "/profile/details" in pages.get("/profile").get_data(as_text=True)
    pages.get("/profile/details")
    resp = pages.post("/profile/details", {"email": "not-an-address", "mobile": "13900139000", "locale": "zh"})
    assert resp.status_code == 422
    page = doc(resp)
    assert page.get_element_by_id("f-email-error").text_content().strip()
    assert page.get_element_by_id("f-mobile").get("value") == "13900139000"  # what was typed is kept
    resp = pages.post("/profile/details", {"email": "zhang@example.cn", "mobile": "13900139000", "locale": ""})
    assert resp.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "officer_a"))
        assert (user.email, user.mobile, user.locale) == ("zhang@example.cn", "13900139000", None)
