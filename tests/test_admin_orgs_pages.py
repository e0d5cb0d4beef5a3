"""The administration pages of the organisation tree: a district administrator builds their district through
the forms, a refused form names each field beside it (in the user's language), what lies outside the
district is not found, closing keeps the enterprise, and only administrators see the menu."""
from __future__ import annotations

import lxml.html
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Hazard, Organisation, OrgStatus, Region
from app.services.demo import seed_hazards
from tests.test_pages import Pages

GOOD_CODE = "91110108MA01ABCD1E"


@pytest.fixture
def admin(client):
    pages = Pages(client)
    assert pages.login("admin").status_code == 302
    return pages


def doc(resp):
    return lxml.html.fromstring(resp.get_data(as_text=True))


def field_error(resp, name: str) -> str:
    found = doc(resp).get_element_by_id(f"{name}-error", None)
    assert found is not None, f"no error shown for {name}"
    return found.text_content().strip()


def first(model, **where):
    return db.session.scalar(select(model).filter_by(**where))


def test_administrators_reach_the_pages_from_the_menu_and_others_are_refused(admin, client):
    nav = doc(admin.get("/hazards"))
    assert [a.get("href") for a in nav.xpath('//*[@id="hl-nav-admin"]//a[contains(@class, "dropdown-item")]')] == [
        "/admin/processes", "/admin/forms", "/admin/regions", "/admin/units", "/admin/enterprises", "/admin/users",
        "/admin/positions", "/admin/import", "/statistics"]
    tree = doc(admin.get("/admin/regions"))
    assert "示范区" in tree.get_element_by_id("region-tree").text_content()
    assert "东湖街道安全生产监管站" in tree.get_element_by_id("region-tree").text_content()
    officer = Pages(client.application.test_client())
    officer.login("officer_a")
    assert not doc(officer.get("/hazards")).xpath('//*[@id="hl-nav-admin"]')
    assert officer.get("/admin/enterprises").status_code == 403
    assert officer.get("/admin/regions").status_code == 403


def test_district_administrator_builds_a_township_with_its_unit_and_an_enterprise_through_the_forms(app, admin):
    with app.app_context():
        district = first(Region, code="D01").id
        bureau = first(Organisation, name="示范区应急管理局").id
    admin.get("/admin/regions/new")
    resp = admin.post("/admin/regions/new", {"code": "D01-T03", "name": "南湖街道", "kind": "street",
                                             "parent_id": district})
    assert resp.status_code == 302
    with app.app_context():
        street = first(Region, code="D01-T03").id
    admin.get("/admin/units/new")
    resp = admin.post("/admin/units/new", {"name": "南湖街道监管站", "parent_id": bureau, "region_ids": [street]})
    assert resp.status_code == 302
    admin.get("/admin/enterprises/new")
    resp = admin.post("/admin/enterprises/new", {
        "name": "南湖精密铸造有限公司", "credit_code": GOOD_CODE, "industry": "C33", "region_id": street,
        "scale": "small", "address": "", "legal_representative": "", "principal_name": "", "contact_phone": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        ent = first(Organisation, name="南湖精密铸造有限公司")
        assert ent.supervising_unit_id == first(Organisation, name="南湖街道监管站").id and ent.address is None
    listed = doc(admin.get("/admin/enterprises", query_string={"q": "精密铸造"}))
    rows = listed.xpath('//table[@id="enterprises-table"]/tbody/tr')
    assert [r.get("data-enterprise-id") for r in rows] == [str(ent.id)]
    assert "金属制品业" in rows[0].text_content()
    units = doc(admin.get("/admin/units", query_string={"region": street}))
    assert [r.text_content().split()[0] for r in units.xpath('//table[@id="units-table"]/tbody/tr')] == ["南湖街道监管站"]


def test_a_refused_enterprise_form_names_each_field_and_keeps_what_was_typed(app, admin):
    with app.app_context():
        grid = first(Region, code="D01-T01-G01").id
    admin.get("/admin/enterprises/new?lang=zh")
    form = {"name": "新企业", "credit_code": "91110108MA01ABCD1F", "industry": "99", "region_id": grid,
            "contact_phone": "call me"}
    resp = admin.post("/admin/enterprises/new", form, headers={"Accept-Language": "zh"})
    assert resp.status_code == 422
    assert "校验" in field_error(resp, "credit_code")
    assert "99" in field_error(resp, "industry") and field_error(resp, "contact_phone")
    assert doc(resp).get_element_by_id("name").get("value") == "新企业"
    resp = admin.post("/admin/enterprises/new", dict(form, credit_code="91110000MA0000001L", industry="C26",
                                                     contact_phone=""))
    assert resp.status_code == 422 and field_error(resp, "credit_code")
    resp = admin.get("/admin/enterprises", query_string={"industry": "Z1"})
    assert resp.status_code == 422 and field_error(resp, "industry")


def test_outside_the_district_is_not_found_and_cannot_be_chosen(app, admin):
    with app.app_context():
        other = Region(code="D09", name="别区", kind="district")
        db.session.add(other)
        db.session.flush()
        unit = Organisation(kind="government", name="别区局")
        ent = Organisation(kind="enterprise", name="别区企业", region_id=other.id)
        db.session.add_all([unit, ent])
        db.session.commit()
        other_id, ent_id, unit_id = other.id, ent.id, unit.id
        mine = first(Organisation, name="宏达机械制造有限公司").id
    assert admin.get(f"/admin/enterprises/{ent_id}/edit").status_code == 404
    assert admin.get(f"/admin/units/{unit_id}/edit").status_code == 404
    assert admin.get(f"/admin/regions/{other_id}/edit").status_code == 404
    admin.get(f"/admin/enterprises/{mine}/edit")
    resp = admin.post(f"/admin/enterprises/{mine}/edit", {"name": "宏达机械制造有限公司",
                                                          "credit_code": "91110000MA0000001L", "industry": "C34",
                                                          "region_id": other_id})
    assert resp.status_code == 422 and field_error(resp, "region_id")


def test_moving_and_closing_an_enterprise_through_its_page(app, admin):
    with app.app_context():
        seed_hazards()
        ent = first(Organisation, name="宏达机械制造有限公司")
        ent_id, west_grid = ent.id, first(Region, code="D01-T02-G01").id
        west = first(Organisation, name="西山镇安全生产监管站").id
    admin.get(f"/admin/enterprises/{ent_id}/edit")
    resp = admin.post(f"/admin/enterprises/{ent_id}/edit", {
        "name": "宏达机械制造有限公司", "credit_code": "91110000MA0000001L", "industry": "C34",
        "region_id": west_grid, "scale": "medium"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        open_units = set(db.session.scalars(select(Hazard.supervising_unit_id).where(
            Hazard.enterprise_id == ent_id, Hazard.status.not_in(["closed", "written_off"]))))
        assert open_units == {west}
    admin.get(f"/admin/enterprises/{ent_id}/edit")
    assert admin.post(f"/admin/enterprises/{ent_id}/status", {"action": "close"}).status_code == 302
    page = doc(admin.get(f"/admin/enterprises/{ent_id}/edit"))
    assert page.xpath('//form[@id="enterprise-status-form"]//input[@name="action"]')[0].get("value") == "reopen"
    with app.app_context():
        assert db.session.get(Organisation, ent_id).status == OrgStatus.closed


def test_a_district_administrator_renames_their_district_and_bureau(app, admin):
    with app.app_context():
        district, bureau = first(Region, code="D01").id, first(Organisation, name="示范区应急管理局").id
    admin.get(f"/admin/regions/{district}/edit")
    resp = admin.post(f"/admin/regions/{district}/edit", {"code": "D01", "name": "示范新区", "kind": "district",
                                                          "parent_id": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    admin.get(f"/admin/units/{bureau}/edit")
    with app.app_context():
        covered = [str(first(Region, code="D01").id)]
    resp = admin.post(f"/admin/units/{bureau}/edit", {"name": "示范新区应急管理局", "parent_id": "",
                                                       "region_ids": covered})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.get(Region, district).name == "示范新区"
        assert db.session.get(Organisation, bureau).name == "示范新区应急管理局"
