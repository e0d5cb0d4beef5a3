"""Issue 12's acceptance as one journey through the API: a district administrator builds a township with its unit
and inspector, an enterprise in it and its officer; the officer replaces the one-time password and reports; the new
township's inspector sees the hazard and the other township's does not; deactivating the officer ends their token at
once."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Organisation, Region
from app.services.org_codes import credit_code_check_char

STRONG = "granite-lantern-orchid-58"


def ids(app) -> tuple[int, int]:
    with app.app_context():
        district = db.session.scalar(select(Region.id).where(Region.code == "D01"))
        bureau = db.session.scalar(select(Organisation.id).where(Organisation.name == "示范区应急管理局"))
        return district, bureau


def created(resp) -> dict:
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def signed_in(client, username: str, password: str) -> dict[str, str]:
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}


def first_sign_in(client, username: str, one_time: str) -> dict[str, str]:
    headers = signed_in(client, username, one_time)
    refused = client.get("/api/v1/hazards", headers=headers)
    assert refused.status_code == 403 and refused.get_json()["code"] == "password_change_required"
    changed = client.post("/api/v1/me/password", headers=headers,
                          json={"current_password": one_time, "new_password": STRONG})
    assert changed.status_code == 200, changed.get_json()
    return headers


def test_a_district_onboards_a_township_an_enterprise_and_its_officer_who_reports(app, api, client):
    admin = api.as_("admin")
    district, bureau = ids(app)
    township = created(admin.post("/admin/regions", json={"code": "D01-T09", "name": "北岸街道", "kind": "street",
                                                          "parent_id": district}))
    unit = created(admin.post("/admin/units", json={"name": "北岸街道安全生产监管站", "parent_id": bureau,
                                                    "region_ids": [township["id"]]}))
    stem = "91110108MA09NXRT"
    code = stem + "H" + credit_code_check_char(stem + "H")
    enterprise = created(admin.post("/admin/enterprises", json={
        "name": "北岸包装材料有限公司", "credit_code": code, "industry": "C22", "region_id": township["id"],
        "scale": "small", "address": "北岸路8号", "legal_representative": "刘法人", "principal_name": "刘总",
        "contact_phone": "010-66668888"}))
    assert enterprise["supervising_unit_id"] == unit["id"]
    inspector = created(admin.post("/admin/users", json={
        "username": "inspector_north", "display_name": "北岸监管员", "role": "inspector",
        "organisation_id": unit["id"]}))
    officer = created(admin.post("/admin/users", json={
        "username": "officer_north", "display_name": "北岸安全员", "role": "officer",
        "organisation_id": enterprise["id"], "mobile": "13700137000"}))

    # Refusals name their field: a weak password, an invalid and a duplicate credit code.
    weak = client.post("/api/v1/me/password", headers=signed_in(client, "officer_north",
                                                                  officer["one_time_password"]),
                       json={"current_password": officer["one_time_password"], "new_password": "officer_north1"})
    assert weak.status_code == 422 and "new_password" in weak.get_json()["fields"]
    bad = admin.post("/admin/enterprises", json={"name": "另一家", "credit_code": code[:-1] + "0", "industry": "C22",
                                                 "region_id": township["id"]})
    assert bad.status_code == 422 and "credit_code" in bad.get_json()["fields"]
    again = admin.post("/admin/enterprises", json={"name": "另一家", "credit_code": code, "industry": "C22",
                                                   "region_id": township["id"]})
    assert again.status_code == 422 and "credit_code" in again.get_json()["fields"]

    officer_headers = first_sign_in(client, "officer_north", officer["one_time_password"])
    hazard = client.post("/api/v1/hazards", headers=officer_headers, json={
        "title": "纸品仓库消防通道堵塞", "description": "成品堆放占用消防通道", "location": "成品仓库",
        "hazard_type": "unsafe_condition", "source": "self_check"})
    assert hazard.status_code == 201, hazard.get_json()
    hazard_id = hazard.get_json()["id"]
    assert hazard.get_json()["enterprise_id"] == enterprise["id"]

    inspector_headers = first_sign_in(client, "inspector_north", inspector["one_time_password"])
    assert client.get(f"/api/v1/hazards/{hazard_id}", headers=inspector_headers).status_code == 200
    assert client.get(f"/api/v1/hazards/{hazard_id}",
                      headers={"Authorization": f"Bearer {api.token('inspector_west')}"}).status_code == 404

    # Deactivated: the officer's token stops working at once.
    assert admin.post(f"/admin/users/{officer['user']['id']}/deactivate").status_code == 200
    assert client.get("/api/v1/tasks", headers=officer_headers).status_code == 401
