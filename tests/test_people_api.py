"""People through the API: delegated administration, one-time passwords, the password policy, deactivation."""
from __future__ import annotations

import json

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Organisation
from tests.helpers import report

STRONG = "copper-kettle-rain-47"


def org_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Organisation.id).where(Organisation.name == name))


def bearer(client, username: str, password: str) -> dict[str, str]:
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}


def audit_actions(app) -> list[tuple[str, int | None, dict]]:
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.data)
                                  .where(AuditEvent.chain == "system").order_by(AuditEvent.seq)).all()
        return [(action, actor, json.loads(data)) for action, actor, data in rows]


def test_a_district_admin_creates_an_officer_who_must_change_the_one_time_password_then_reports(app, api, client):
    admin = api.as_("admin")
    hongda = org_id(app, "宏达机械制造有限公司")
    resp = admin.post("/admin/users", json={"username": "officer_new", "display_name": "周新", "role": "officer",
                                            "organisation_id": hongda, "mobile": "+86 138 0013 8000",
                                            "email": "zhou@example.com"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    one_time, user = body["one_time_password"], body["user"]
    assert one_time and user["must_change_password"] is True and user["mobile"] == "13800138000"

    headers = bearer(client, "officer_new", one_time)
    refused = client.post("/api/v1/hazards", headers=headers, json={"title": "x"})
    assert refused.status_code == 403 and refused.get_json()["code"] == "password_change_required"
    assert client.get("/api/v1/tasks", headers=headers).status_code == 403
    assert client.get("/api/v1/me", headers=headers).get_json()["must_change_password"] is True

    weak = client.post("/api/v1/me/password", headers=headers,
                       json={"current_password": one_time, "new_password": "short"})
    assert weak.status_code == 422 and "new_password" in weak.get_json()["fields"]
    wrong = client.post("/api/v1/me/password", headers=headers,
                        json={"current_password": "not-it", "new_password": STRONG})
    assert wrong.status_code == 422 and "current_password" in wrong.get_json()["fields"]
    changed = client.post("/api/v1/me/password", headers=headers,
                          json={"current_password": one_time, "new_password": STRONG})
    assert changed.status_code == 200 and changed.get_json()["must_change_password"] is False

    # The token in use stays valid; the hazard is reported in the officer's own enterprise.
    resp = client.post("/api/v1/hazards", headers=headers, json={
        "title": "叉车灯不亮", "description": "夜班叉车前灯不亮", "location": "二号仓库",
        "hazard_type": "unsafe_condition", "source": "self_check"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["enterprise_id"] == hongda

    actions = [a for a, _actor, _d in audit_actions(app)]
    assert "user_created" in actions and "password_changed" in actions


def test_weak_passwords_are_refused_naming_the_field(app, api):
    admin = api.as_("admin")
    base = {"display_name": "新人", "role": "inspector", "organisation_id": org_id(app, "示范区应急管理局")}
    cases = {"short": "Ab3-kettle", "user name": "weakling_one-2-zebra-x", "common": "password12345"}
    for label, password in cases.items():
        resp = admin.post("/admin/users", json={**base, "username": "weakling_one", "password": password})
        assert resp.status_code == 422, label
        assert "password" in resp.get_json()["fields"], (label, resp.get_json())
    message = admin.post("/admin/users", json={**base, "username": "weakling_one", "password": "password12345"},
                         headers={"Accept-Language": "en"}).get_json()["fields"]["password"]
    assert "common" in message
    ok = admin.post("/admin/users", json={**base, "username": "weakling_one", "password": STRONG})
    assert ok.status_code == 201 and ok.get_json()["one_time_password"] is None


def test_fields_are_validated_by_name(app, api):
    admin = api.as_("admin")
    resp = admin.post("/admin/users", json={"username": "a b", "display_name": "x", "role": "officer",
                                            "organisation_id": org_id(app, "示范区应急管理局"),
                                            "mobile": "12345", "email": "not-an-address"})
    fields = resp.get_json()["fields"]
    assert resp.status_code == 422
    assert {"username", "mobile", "email", "organisation_id"} <= set(fields)
    taken = admin.post("/admin/users", json={"username": "OFFICER_A", "display_name": "x", "role": "officer",
                                             "organisation_id": org_id(app, "宏达机械制造有限公司")})
    assert taken.status_code == 422 and "username" in taken.get_json()["fields"]


def test_an_administrator_outside_their_organisation_is_refused(app, api):
    admin = api.as_("admin")
    other_bureau = _outside_unit(app)
    resp = admin.post("/admin/users", json={"username": "outsider", "display_name": "外人", "role": "inspector",
                                            "organisation_id": other_bureau})
    assert resp.status_code == 403 and "organisation_id" in resp.get_json()["fields"]
    system = admin.post("/admin/users", json={"username": "root2", "display_name": "x", "role": "admin",
                                              "organisation_id": None})
    assert system.status_code == 403 and "organisation_id" in system.get_json()["fields"]


def _outside_unit(app) -> int:
    from app.models import OrgKind

    with app.app_context():
        unit = Organisation(kind=OrgKind.government, name="邻区应急管理局")
        db.session.add(unit)
        db.session.commit()
        return unit.id


def test_a_principal_manages_own_staff_only(app, api):
    principal = api.as_("principal_a")
    hongda, lvyuan = org_id(app, "宏达机械制造有限公司"), org_id(app, "绿源化工有限公司")
    listed = principal.get("/admin/users").get_json()
    assert {u["username"] for u in listed["items"]} == {"officer_a", "principal_a"}

    made = principal.post("/admin/users", json={"username": "officer_a2", "display_name": "吴安全", "role": "officer",
                                                "organisation_id": hongda})
    assert made.status_code == 201
    inspector = principal.post("/admin/users", json={"username": "insp_x", "display_name": "x", "role": "inspector",
                                                     "organisation_id": hongda})
    assert inspector.status_code == 403 and "role" in inspector.get_json()["fields"]
    elsewhere = principal.post("/admin/users", json={"username": "officer_b2", "display_name": "x",
                                                     "role": "officer", "organisation_id": lvyuan})
    assert elsewhere.status_code == 403 and "organisation_id" in elsewhere.get_json()["fields"]

    officer_b = _user_id(app, "officer_b")
    assert principal.get(f"/admin/users/{officer_b}").status_code == 404
    assert principal.post(f"/admin/users/{officer_b}/deactivate").status_code == 404
    assert principal.post(f"/admin/users/{officer_b}/reset-password").status_code == 404
    own = principal.post(f"/admin/users/{_user_id(app, 'officer_a')}/reset-password")
    assert own.status_code == 200 and own.get_json()["one_time_password"]
    demote = api.client.patch(f"/api/v1/admin/users/{_user_id(app, 'principal_a')}", json={"role": "officer"},
                              headers={"Authorization": f"Bearer {api.token('principal_a')}"})
    assert demote.status_code == 403 and "role" in demote.get_json()["fields"]
    # An officer manages nobody.
    assert api.as_("officer_b").get("/admin/users").status_code == 403


def _user_id(app, username: str) -> int:
    from app.models import User

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def test_deactivating_ends_the_session_and_token_at_once_and_is_audited(app, api, client):
    from tests.test_pages import Pages

    officer_id = _user_id(app, "officer_a")
    officer_token = {"Authorization": f"Bearer {api.token('officer_a')}"}
    browser = Pages(app.test_client())
    assert browser.login("officer_a").status_code == 302
    assert browser.get("/tasks").status_code == 200
    report(api.as_("officer_a"))

    resp = api.as_("admin").post(f"/admin/users/{officer_id}/deactivate")
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    assert client.get("/api/v1/tasks", headers=officer_token).status_code == 401
    after = browser.get("/tasks")
    assert after.status_code == 302 and "/login" in after.location
    assert client.post("/api/v1/auth/token", json={"username": "officer_a", "password": "hazardloop"}).status_code == 401

    patched = api.client.patch(f"/api/v1/admin/users/{officer_id}", json={"mobile": "13912345678",
                                                                        "display_name": "张安全"},
                               headers={"Authorization": f"Bearer {api.token('admin')}"})
    assert patched.status_code == 200 and patched.get_json()["mobile"] == "13912345678"
    assert api.as_("admin").post(f"/admin/users/{officer_id}/reactivate").get_json()["active"] is True
    reset = api.as_("admin").post(f"/admin/users/{officer_id}/reset-password").get_json()
    assert reset["user"]["must_change_password"] is True

    admin_id = _user_id(app, "admin")
    events = [(a, actor, d) for a, actor, d in audit_actions(app) if d.get("user_id") == officer_id]
    assert [a for a, _actor, _d in events] == ["user_deactivated", "user_updated", "user_reactivated",
                                               "password_reset"]
    assert all(actor == admin_id for _a, actor, _d in events)
    assert events[1][2]["changes"]["mobile"] == [None, "13912345678"]
    assert "password" not in json.dumps([d for _a, _actor, d in events]).replace("password_reset", "")
    # The old password no longer works after the reset; the audit trail still verifies.
    assert client.post("/api/v1/auth/token", json={"username": "officer_a", "password": "hazardloop"}).status_code == 401
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0


def test_the_list_filters_and_pages(app, api):
    admin = api.as_("admin")
    page = admin.get("/admin/users?role=officer&per_page=2").get_json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["has_next"] is True
    assert {u["role"] for u in page["items"]} == {"officer"}
    found = admin.get("/admin/users?q=绿源").get_json()["items"]
    assert {u["username"] for u in found} == {"officer_b", "principal_b"}
    by_org = admin.get(f"/admin/users?organisation={org_id(app, '明辉商贸物流有限公司')}").get_json()["items"]
    assert {u["username"] for u in by_org} == {"officer_c", "principal_c"}
    assert admin.get("/admin/users?active=false").get_json()["items"] == []
    assert admin.get("/admin/users/2147483647").status_code == 404
    assert admin.get("/me").get_json()["username"] == "admin"


def test_changing_the_password_ends_the_other_sessions_and_tokens(app, api, client):
    other = {"Authorization": f"Bearer {api.token('officer_a')}"}
    mine = bearer(client, "officer_a", "hazardloop")
    resp = client.post("/api/v1/me/password", headers=mine,
                       json={"current_password": "hazardloop", "new_password": STRONG})
    assert resp.status_code == 200
    assert client.get("/api/v1/tasks", headers=mine).status_code == 200
    assert client.get("/api/v1/tasks", headers=other).status_code == 401


def test_validate_user_reads_plain_values_as_a_spreadsheet_row_would_give_them(app):
    from app.services.users import validate_user

    with app.test_request_context("/?lang=en"):
        row = {"username": "zhao_liu", "display_name": " 赵 六 ", "role": "officer",
               "organisation_id": str(org_id(app, "绿源化工有限公司")), "mobile": "0086 139-1234-5678",
               "bureau_head": "no", "email": ""}
        check = validate_user(row)
        assert check.errors == {} and check.values["mobile"] == "13912345678"
        assert check.values["display_name"] == "赵 六" and check.values["email"] is None
        bad = validate_user({**row, "organisation_id": "99999999999", "bureau_head": "maybe", "colour": "red"})
        assert set(bad.errors) == {"organisation_id", "bureau_head", "colour"}
        huge = validate_user({**row, "organisation_id": 2_147_483_648})
        assert "organisation_id" in huge.errors


def test_a_person_corrects_their_own_contact_details_but_not_name_or_role(app, api):
    me = api.as_("officer_a")
    resp = me.client.patch("/api/v1/me", headers=me._headers(),
                           json={"email": "zhang@example.cn", "mobile": "+86 139 0013 9000", "locale": "en"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["email"], body["mobile"], body["locale"]) == ("zhang@example.cn", "13900139000", "en")
    bad = me.client.patch("/api/v1/me", headers=me._headers(), json={"mobile": "12345"})
    assert bad.status_code == 422 and "mobile" in bad.get_json()["fields"], bad.get_json()
    refused = me.client.patch("/api/v1/me", headers=me._headers(), json={"display_name": "改名"})
    assert refused.status_code == 422, refused.get_json()  # not a field a person edits on themselves
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "profile_updated")).all()
        assert len(events) == 1 and json.loads(events[0].data)["changes"]["locale"] == [None, "en"]
    assert me.get("/me").get_json()["display_name"] == "张安全（宏达）"


def test_an_administrator_does_not_manage_a_peer_administrator_of_the_same_unit(app, api, client):
    """A district administrator may add a second administrator to the unit, but changing, resetting or
    deactivating that peer's account is for the unit above (here a system administrator): nobody takes over a
    peer's account by resetting its password. The person page says so instead of offering the actions."""
    from app.clock import clock
    from app.models import Role, User
    from app.services.auth import hash_password
    from tests.test_pages import Pages

    admin = api.as_("admin")
    with app.app_context():
        bureau = db.session.scalar(select(User.organisation_id).where(User.username == "admin"))
        db.session.add(User(username="root", display_name="系统管理员乙", role=Role.admin, organisation_id=None,
                            password_hash=hash_password("hazardloop"), created_at=clock.now()))
        db.session.commit()
    made = admin.post("/admin/users", json={"username": "admin2", "display_name": "钱管理", "role": "admin",
                                            "organisation_id": bureau})
    assert made.status_code == 201, made.get_json()
    peer = made.get_json()["user"]["id"]

    for refused in (admin.post(f"/admin/users/{peer}/reset-password"), admin.post(f"/admin/users/{peer}/deactivate"),
                    admin.patch(f"/admin/users/{peer}", json={"display_name": "换名"})):
        assert refused.status_code == 403, refused.get_json()
        assert "上级单位" in refused.get_json()["error"] and "user_id" in refused.get_json()["fields"]
    assert admin.get(f"/admin/users/{peer}").status_code == 200  # still listed and readable
    with app.app_context():
        still = db.session.get(User, peer)
        assert still.active and still.display_name == "钱管理" and still.must_change_password

    pages = Pages(client)
    pages.login("admin")
    page = client.get(f"/admin/users/{peer}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'id="person-peer"' in page and 'id="person-reset"' not in page and 'id="person-save"' not in page

    # The unit above — a system administrator — does it.
    reset = api.as_("root").post(f"/admin/users/{peer}/reset-password")
    assert reset.status_code == 200 and reset.get_json()["one_time_password"]
    assert [a for a, _actor, _d in audit_actions(app)][-1] == "password_reset"
