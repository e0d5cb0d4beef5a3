"""The organisation tree through /api/v1/admin: a district administrator builds their district (a township, a
unit supervising it, an enterprise in it), every bad value is refused naming its field, nothing outside the
district can be seen or touched, and moving an enterprise moves its supervision while its history stays."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.clock import clock
from app.extensions import db
from app.models import AuditEvent, Hazard, HumanTask, Organisation, Region, Role, TaskStatus, User
from app.services import audit
from app.services.auth import hash_password
from app.services.demo import DEMO_PASSWORD, seed_hazards
from app.services.org_codes import credit_code_check_char, credit_code_problem

GOOD_CODE = "91110108MA01ABCD1E"  # a valid check character (GB 32100-2015)


def code(n: int) -> str:
    first = f"9111010{n % 10}MA01ABC{n % 10}{n % 10}"
    return first + credit_code_check_char(first)


def patch(api, path, **kw):
    return api.client.patch(f"/api/v1{path}", headers=api._headers(kw.pop("headers", None)), **kw)


def region_id(code_: str) -> int:
    return db.session.scalar(select(Region.id).where(Region.code == code_))


def org_id(name: str) -> int:
    return db.session.scalar(select(Organisation.id).where(Organisation.name == name))


def add_user(username: str, role: Role, organisation_id: int | None) -> None:
    db.session.add(User(username=username, display_name=username, role=role, organisation_id=organisation_id,
                        password_hash=hash_password(DEMO_PASSWORD), created_at=clock.now()))
    db.session.commit()


def created(resp, status=201) -> dict:
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def refused(resp, field: str, status: int = 422) -> str:
    body = resp.get_json()
    assert resp.status_code == status and field in body["fields"], body
    return body["fields"][field]


def test_credit_code_check_character_follows_gb_32100():
    assert credit_code_problem("91350100M000100Y43") is None  # a published example
    assert credit_code_problem(GOOD_CODE) is None
    assert credit_code_problem("91350100M000100Y44") == "check"
    assert credit_code_problem("91350100M000100Y4") == "length"
    assert credit_code_problem("91350100M000100YI3") == "charset"


def test_district_administrator_creates_a_township_its_unit_and_an_enterprise_in_it(app, api):
    admin = api.as_("admin")
    with app.app_context():
        district, bureau = region_id("D01"), org_id("示范区应急管理局")
    township = created(admin.post("/admin/regions", json={"code": "D01-T03", "name": "南湖街道", "kind": "street",
                                                          "parent_id": district}))
    grid = created(admin.post("/admin/regions", json={"code": "D01-T03-G01", "name": "南湖第一网格", "kind": "grid",
                                                      "parent_id": township["id"]}))
    unit = created(admin.post("/admin/units", json={"name": "南湖街道安全生产监管站", "parent_id": bureau,
                                                    "region_ids": [township["id"]]}))
    assert unit["region_ids"] == [township["id"]] and unit["status"] == "active"
    enterprise = created(admin.post("/admin/enterprises", json={
        "name": "南湖精密铸造有限公司", "credit_code": " 91110108ma01abcd1e ", "industry": "33",
        "region_id": grid["id"], "scale": "small", "address": "南湖路1号", "legal_representative": "陈法人",
        "principal_name": "陈总", "contact_phone": "010-88886666"}))
    assert enterprise["credit_code"] == GOOD_CODE and enterprise["industry"] == "C33"
    assert enterprise["industry_name"] == "金属制品业" and enterprise["supervising_unit_id"] == unit["id"]
    assert created(admin.get(f"/admin/enterprises/{enterprise['id']}"), 200)["name"] == "南湖精密铸造有限公司"
    listed = created(admin.get("/admin/enterprises", query_string={"region": township["id"]}), 200)
    assert [e["id"] for e in listed["items"]] == [enterprise["id"]]
    with app.app_context():
        actions = db.session.execute(select(AuditEvent.action, AuditEvent.actor_id).where(
            AuditEvent.chain == "system", AuditEvent.action.in_(["region_created", "unit_created",
                                                                  "enterprise_created"]))).all()
        admin_id = db.session.scalar(select(User.id).where(User.username == "admin"))
        assert sorted(a for a, _ in actions) == ["enterprise_created", "region_created", "region_created",
                                                   "unit_created"]
        assert {actor for _, actor in actions} == {admin_id}
        assert audit.verify()[1] == []


def test_bad_credit_codes_and_industries_are_refused_naming_the_field(app, api):
    admin = api.as_("admin")
    with app.app_context():
        grid = region_id("D01-T01-G01")
    base = {"name": "新企业有限公司", "credit_code": GOOD_CODE, "industry": "C26", "region_id": grid}
    en = {"Accept-Language": "en"}
    message = refused(admin.post("/admin/enterprises", json=dict(base, credit_code="91110108MA01ABCD1F"), headers=en),
                      "credit_code")
    assert "check digit" in message
    zh = admin.post("/admin/enterprises", json=dict(base, credit_code="91110108MA01ABCD1F"),
                    headers={"Accept-Language": "zh"})
    assert "校验" in refused(zh, "credit_code")
    refused(admin.post("/admin/enterprises", json=dict(base, credit_code="91110000MA0000001L")), "credit_code")
    assert "another enterprise" in refused(admin.post("/admin/enterprises", json=dict(
        base, credit_code="91110000MA0000001L"), headers=en), "credit_code").lower()
    assert "99" in refused(admin.post("/admin/enterprises", json=dict(base, industry="99")), "industry")
    refused(admin.post("/admin/enterprises", json=dict(base, industry="B26")), "industry")
    refused(admin.post("/admin/enterprises", json=dict(base, contact_phone="call me")), "contact_phone")
    refused(admin.post("/admin/enterprises", json={"name": "x"}), "credit_code")
    refused(admin.get("/admin/enterprises", query_string={"industry": "Z9"}), "industry")
    with app.app_context():
        assert db.session.scalar(select(Organisation.id).where(Organisation.name == "新企业有限公司")) is None


def test_district_administrator_cannot_see_or_act_outside_the_district(app, api):
    with app.app_context():
        add_user("root", Role.admin, None)
        bureau = org_id("示范区应急管理局")
    root, admin = api.as_("root"), api.as_("admin")
    other = created(root.post("/admin/regions", json={"code": "D02", "name": "邻区", "kind": "district"}))
    other_grid = created(root.post("/admin/regions", json={"code": "D02-G1", "name": "邻区网格", "kind": "township",
                                                           "parent_id": other["id"]}))
    other_bureau = created(root.post("/admin/units", json={"name": "邻区应急管理局", "region_ids": [other["id"]]}))
    other_ent = created(root.post("/admin/enterprises", json={
        "name": "邻区企业", "credit_code": code(3), "industry": "F51", "region_id": other_grid["id"]}))

    assert admin.get(f"/admin/regions/{other['id']}").status_code == 404
    assert admin.get(f"/admin/units/{other_bureau['id']}").status_code == 404
    assert admin.get(f"/admin/enterprises/{other_ent['id']}").status_code == 404
    assert patch(admin, f"/admin/enterprises/{other_ent['id']}", json={"name": "x"}).status_code == 404
    assert admin.post(f"/admin/enterprises/{other_ent['id']}/close").status_code == 404
    listed = created(admin.get("/admin/enterprises", query_string={"per_page": 100}), 200)
    assert other_ent["id"] not in [e["id"] for e in listed["items"]] and listed["total"] == 3
    assert other["id"] not in [r["id"] for r in created(admin.get("/admin/regions"), 200)["items"]]

    refused(admin.post("/admin/regions", json={"code": "D02-T9", "name": "越界", "kind": "township",
                                               "parent_id": other["id"]}), "parent_id")
    refused(admin.post("/admin/regions", json={"code": "D03", "name": "新区", "kind": "district"}), "kind")
    refused(admin.post("/admin/units", json={"name": "越界站", "parent_id": other_bureau["id"]}), "parent_id")
    refused(admin.post("/admin/units", json={"name": "越界站", "parent_id": bureau,
                                             "region_ids": [other_grid["id"]]}), "region_ids")
    refused(admin.post("/admin/enterprises", json={"name": "越界企业", "credit_code": code(4), "industry": "C26",
                                                   "region_id": other_grid["id"]}), "region_id")
    with app.app_context():
        mine = db.session.scalar(select(Organisation.id).where(Organisation.name == "宏达机械制造有限公司"))
    refused(patch(admin, f"/admin/enterprises/{mine}", json={"region_id": other_grid["id"]}), "region_id")
    # Everybody else: the administration is not theirs (403).
    assert api.as_("officer_a").get("/admin/enterprises").status_code == 403
    assert api.as_("inspector").post("/admin/regions", json={"code": "X", "name": "x", "kind": "grid",
                                                             "parent_id": 1}).status_code == 403


@pytest.fixture
def seeded(app):
    """The demo hazards (h4 is a major hazard of 宏达 waiting for the inspectors' supervision decision), plus an
    inspector of the east township's station."""
    with app.app_context():
        seed_hazards()
        add_user("inspector_east", Role.inspector, org_id("东湖街道安全生产监管站"))
    return app


def test_moving_an_enterprise_moves_its_open_hazards_supervision_and_keeps_history(seeded, api):
    app, admin = seeded, api.as_("admin")
    east, west = api.as_("inspector_east"), api.as_("inspector_west")
    with app.app_context():
        ent = db.session.scalar(select(Organisation).where(Organisation.name == "宏达机械制造有限公司"))
        ent_id, east_unit = ent.id, ent.supervising_unit_id
        west_unit, west_grid = org_id("西山镇安全生产监管站"), region_id("D01-T02-G01")
        open_ids = list(db.session.scalars(select(Hazard.id).where(Hazard.enterprise_id == ent_id,
                                                                   Hazard.status.not_in(["closed", "written_off"]))))
        closed_id = db.session.scalar(select(Hazard.id).where(Hazard.enterprise_id == ent_id,
                                                              Hazard.status == "closed"))
        major = db.session.scalar(select(Hazard.id).where(Hazard.enterprise_id == ent_id,
                                                          Hazard.status == "supervision_review"))
        events_before = db.session.scalar(select(Hazard.audit_seq).where(Hazard.id == major))
    assert east.get(f"/hazards/{major}").status_code == 200 and west.get(f"/hazards/{major}").status_code == 404
    assert major in [t["hazard_id"] for t in created(east.get("/tasks"), 200)["items"]]

    moved = created(patch(admin, f"/admin/enterprises/{ent_id}", json={"region_id": west_grid}), 200)
    assert moved["supervising_unit_id"] == west_unit and moved["region_id"] == west_grid

    assert west.get(f"/hazards/{major}").status_code == 200 and east.get(f"/hazards/{major}").status_code == 404
    assert major in [t["hazard_id"] for t in created(west.get("/tasks"), 200)["items"]]
    assert major not in [t["hazard_id"] for t in created(east.get("/tasks"), 200)["items"]]
    with app.app_context():
        hazards = {h.id: h for h in db.session.scalars(select(Hazard).where(Hazard.enterprise_id == ent_id))}
        assert all(hazards[i].supervising_unit_id == west_unit for i in open_ids)
        assert hazards[closed_id].supervising_unit_id == east_unit  # history stays
        tasks = db.session.scalars(select(HumanTask).where(HumanTask.hazard_id == major,
                                                           HumanTask.role == Role.inspector)).all()
        assert {t.organisation_id for t in tasks if t.status == TaskStatus.open} == {west_unit}
        timeline = db.session.scalars(select(AuditEvent).where(AuditEvent.hazard_id == major)
                                      .order_by(AuditEvent.seq)).all()
        assert len(timeline) == events_before + 1 and timeline[-1].action == "supervision_moved"
        assert timeline[0].action == "hazard_reported"
        assert audit.verify()[1] == []


def test_closing_an_enterprise_keeps_it_and_reopening_brings_it_back(app, api):
    admin = api.as_("admin")
    with app.app_context():
        ent = org_id("明辉商贸物流有限公司")
    closed = created(admin.post(f"/admin/enterprises/{ent}/close"), 200)
    assert closed["status"] == "closed"
    only_closed = created(admin.get("/admin/enterprises", query_string={"status": "closed"}), 200)
    assert [e["id"] for e in only_closed["items"]] == [ent]
    assert created(admin.get(f"/admin/enterprises/{ent}"), 200)["status"] == "closed"
    assert created(admin.post(f"/admin/enterprises/{ent}/reopen"), 200)["status"] == "active"
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.chain == "system")))
        assert "enterprise_closed" in actions and "enterprise_reopened" in actions


def test_a_closed_enterprise_gets_no_new_hazards_and_is_not_offered_for_reporting(app, api, client):
    from tests.helpers import REPORT
    from tests.test_pages import Pages
    pages = Pages(client)
    admin = api.as_("admin")
    with app.app_context():
        ent = org_id("明辉商贸物流有限公司")
    created(admin.post(f"/admin/enterprises/{ent}/close"), 200)
    # Its own staff: a clear refusal, on the API and before anything is typed on the page.
    en = {"Accept-Language": "en"}
    resp = api.as_("officer_c").post("/hazards", json=REPORT, headers=en)
    assert resp.status_code == 403 and "closed" in str(resp.get_json()), resp.get_json()
    pages.login("officer_c")
    page = client.get("/hazards/new", headers={"Accept-Language": "en"})
    assert page.status_code == 403 and "closed" in page.get_data(as_text=True)
    # An inspector: named field error, and neither the type-ahead nor the form's list offers it.
    resp = api.as_("inspector").post("/hazards", json=dict(REPORT, enterprise_id=ent), headers=en)
    assert resp.status_code == 422 and "closed" in resp.get_json()["fields"]["enterprise_id"]
    pages.logout()
    pages.login("inspector")
    found = client.get("/enterprises/search", query_string={"q": "明辉", "active": "1"}).get_json()
    assert found["items"] == []
    assert [e["id"] for e in client.get("/enterprises/search", query_string={"q": "明辉"}).get_json()["items"]] \
        == [ent]  # the register's filter still finds it: its hazards stay on record
    form = client.get("/hazards/new").get_data(as_text=True)
    assert "明辉商贸物流有限公司" not in form and "宏达机械制造有限公司" in form
    # Reopened: reporting works again.
    created(admin.post(f"/admin/enterprises/{ent}/reopen"), 200)
    assert api.as_("officer_c").post("/hazards", json=REPORT).status_code == 201


def test_enterprise_list_filters_by_industry_section_division_and_text(app, api):
    admin = api.as_("admin")

    def names(**query) -> list[str]:
        return [e["name"] for e in created(admin.get("/admin/enterprises", query_string=query), 200)["items"]]

    assert names(industry="C") == ["宏达机械制造有限公司", "绿源化工有限公司"]
    assert names(industry="26") == ["绿源化工有限公司"]
    assert names(q="物流") == ["明辉商贸物流有限公司"]
    assert names(q="0000002") == ["绿源化工有限公司"]
    assert names(q="绿源", industry="G") == []
    assert created(admin.get("/admin/enterprises", query_string={"per_page": 1}), 200)["has_next"] is True


def test_changing_a_units_jurisdiction_moves_the_enterprises_it_covers(app, api):
    admin = api.as_("admin")
    with app.app_context():
        east_station, bureau = org_id("东湖街道安全生产监管站"), org_id("示范区应急管理局")
        east_township, ent = region_id("D01-T01"), org_id("宏达机械制造有限公司")
    # The station gives up its township: the district bureau (above) supervises its enterprises again.
    assert created(patch(admin, f"/admin/units/{east_station}", json={"region_ids": []}), 200)["region_ids"] == []
    assert created(admin.get(f"/admin/enterprises/{ent}"), 200)["supervising_unit_id"] == bureau
    # A unit still supervising regions cannot close; one that gave them up can.
    refused(admin.post(f"/admin/units/{bureau}/close"), "region_ids")
    assert created(admin.post(f"/admin/units/{east_station}/close"), 200)["status"] == "closed"
    assert created(patch(admin, f"/admin/units/{east_station}", json={"region_ids": [east_township]}),
                   200)["region_ids"] == [east_township]
    assert created(admin.get(f"/admin/enterprises/{ent}"), 200)["supervising_unit_id"] == east_station
