"""A region can be closed (a township merged into another) and reopened, through the region's admin page and the
API: no picker offers a closed region or the regions below it any more (the organisation forms, the public's
report form), filters and history keep it, and closing a region with enterprises in operation is refused naming
how many."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.web.pages import timeline
from tests.deadline_steps import Person
from tests.test_admin_orgs_api import code, created, org_id, refused, region_id
from tests.test_public_reports import send


def _merged_township(api) -> tuple[int, int]:
    """A township with a grid below it and no enterprise (merged into 东湖街道): (township id, grid id)."""
    admin = api.as_("admin")
    with api.client.application.app_context():
        district = region_id("D01")
    township = created(admin.post("/admin/regions", json={"code": "D01-T09", "name": "旧城街道", "kind": "street",
                                                          "parent_id": district}))
    grid = created(admin.post("/admin/regions", json={"code": "D01-T09-G01", "name": "旧城第一网格", "kind": "grid",
                                                      "parent_id": township["id"]}))
    return township["id"], grid["id"]


def test_closing_a_region_through_the_api_takes_it_out_of_the_pickers(app, api, client):
    admin = api.as_("admin")
    township, grid = _merged_township(api)
    with app.app_context():
        bureau = org_id("示范区应急管理局")
    closed = created(admin.post(f"/admin/regions/{township}/close"), 200)
    assert closed["status"] == "closed"
    assert created(admin.get(f"/admin/regions/{grid}"), 200)["status"] == "active"

    # Nothing new goes into it or below it ...
    refused(admin.post("/admin/regions", json={"code": "D01-T09-G02", "name": "旧城第二网格", "kind": "grid",
                                               "parent_id": township}), "parent_id")
    refused(admin.post("/admin/units", json={"name": "旧城街道监管站", "parent_id": bureau,
                                             "region_ids": [township]}), "region_ids")
    message = refused(admin.post("/admin/enterprises?lang=en", json={
        "name": "旧城五金店", "credit_code": code(7), "industry": "F51", "region_id": grid}), "region_id")
    assert "closed" in message
    assert "region_id" in send(client, app, 422, enterprise_id=None, address="旧城路 1 号",
                               region_id=township)["fields"]
    # ... the public's form does not offer it, the region filters and the tree still show it.
    form = client.get("/public/report").get_data(as_text=True)
    assert "旧城街道" not in form and "东湖街道" in form
    person = Person(client, "admin")
    enterprise_form = person.get("/admin/enterprises/new").get_data(as_text=True)
    assert "旧城第一网格" not in enterprise_form and "东湖第一网格" in enterprise_form
    assert "旧城街道" not in person.get("/admin/units/new").get_data(as_text=True)
    assert "旧城街道" in person.get("/admin/enterprises").get_data(as_text=True)  # the filter keeps it
    tree = person.get("/admin/regions").get_data(as_text=True)
    assert "旧城街道" in tree and "data-closed" in tree
    assert created(admin.get("/admin/regions", query_string={"q": "旧城"}), 200)["total"] == 2

    reopened = created(admin.post(f"/admin/regions/{township}/reopen"), 200)
    assert reopened["status"] == "active"
    created(admin.post("/admin/enterprises", json={"name": "旧城五金店", "credit_code": code(7), "industry": "F51",
                                                   "region_id": grid}))
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(["region_closed",
                                                                                   "region_reopened"]))
                                    .order_by(AuditEvent.seq)).all()
        assert [e.action for e in events] == ["region_closed", "region_reopened"]
        with app.test_request_context("/?lang=en"):
            assert timeline.summary("region_closed", {"name": "旧城街道"}, "") == "closed the region “旧城街道”"


def test_a_region_with_enterprises_in_operation_cannot_close(app, api):
    admin = api.as_("admin")
    with app.app_context():
        east, district = region_id("D01-T01"), region_id("D01")
    message = refused(admin.post(f"/admin/regions/{east}/close?lang=en"), "status")
    assert message.startswith("2 enterprises in operation"), message
    assert refused(admin.post(f"/admin/regions/{district}/close?lang=en"), "status").startswith("3 enterprises")
    assert created(admin.get(f"/admin/regions/{east}"), 200)["status"] == "active"
    assert api.as_("inspector").post(f"/admin/regions/{east}/close").status_code == 403
    # Closed enterprises do not count.
    with app.app_context():
        ent = org_id("明辉商贸物流有限公司")
    created(admin.post(f"/admin/enterprises/{ent}/close"), 200)
    assert refused(admin.post(f"/admin/regions/{east}/close?lang=en"), "status").startswith("1 enterprise in")


def test_the_region_page_closes_and_reopens_it_and_says_why_not(app, api, client):
    township, _grid = _merged_township(api)
    person = Person(client, "admin")
    page = person.get(f"/admin/regions/{township}/edit").get_data(as_text=True)
    assert 'id="region-status-form"' in page
    done = person.post(f"/admin/regions/{township}/status", {"action": "close"})
    assert done.status_code == 302
    page = person.get(f"/admin/regions/{township}/edit?lang=en").get_data(as_text=True)
    assert "Reopen this region" in page
    parents = person.get("/admin/regions/new").get_data(as_text=True)
    assert "旧城街道" not in parents
    assert person.post(f"/admin/regions/{township}/status", {"action": "reopen"}).status_code == 302
    with app.app_context():
        east = region_id("D01-T01")
    refusal = person.post(f"/admin/regions/{east}/status", {"action": "close"})
    assert refusal.status_code == 302
    page = person.get(f"/admin/regions/{east}/edit?lang=en").get_data(as_text=True)
    assert "2 enterprises in operation" in page and "Close this region" in page
    assert person.post(f"/admin/regions/{east}/status", {"action": "close", "csrf_token": ""}).status_code == 400
