"""Bad input gets a clear 4xx with a message per field, and nothing is half-written."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Hazard, HumanTask, ProcessInstance
from tests.helpers import REPORT, current_task, hazard, in_days, report, upload
from tests.test_pages import Pages


def counts(app) -> tuple[int, ...]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (Hazard, ProcessInstance, HumanTask, AuditEvent))


def test_report_with_missing_fields_is_refused_field_by_field_and_writes_nothing(api, app):
    before = counts(app)
    resp = api.as_("officer_a").post("/hazards", json={"title": "  ", "hazard_type": "nonsense"})
    assert resp.status_code == 422
    fields = resp.get_json()["fields"]
    assert set(fields) >= {"title", "description", "location", "source", "hazard_type"}
    assert counts(app) == before


def test_messages_follow_the_callers_language(api):
    officer = api.as_("officer_a")
    en = officer.post("/hazards", json={}, headers={"Accept-Language": "en"}).get_json()
    assert en["fields"]["title"] == "This field is required."
    zh = officer.post("/hazards", json={}, headers={"Accept-Language": "zh-CN"}).get_json()
    assert zh["fields"]["title"] != "This field is required." and zh["fields"]["title"]


def test_malformed_json_gets_400_with_an_explanation(api):
    resp = api.as_("officer_a").post("/hazards", data="{not json", content_type="application/json")
    assert resp.status_code == 400 and "JSON" in resp.get_json()["error"]
    task = current_task(api.as_("officer_a"), report(api.as_("officer_a"))["id"], "assess")
    resp = api.as_("officer_a").post(f"/tasks/{task}/complete", json={"grade": "general"},
                                     headers={"Accept-Language": "en"})
    assert resp.status_code == 422
    assert resp.get_json()["fields"] == {"data": "This field is required.",
                                         "grade": "This field is not expected here; leave it out."}
    resp = api.as_("officer_a").post(f"/tasks/{task}/complete", json={"data": ["not", "an", "object"]})
    assert resp.status_code == 422


def test_wrong_types_past_deadlines_and_unknown_choices_are_named(api, app):
    officer = api.as_("officer_a")
    h = report(officer)
    task = current_task(officer, h["id"], "assess")
    before = counts(app)
    resp = officer.post(f"/tasks/{task}/complete", json={"data": {
        "grade": "catastrophic", "responsible_person": 42, "rectification_deadline": in_days(-1)}},
        headers={"Accept-Language": "en"})
    assert resp.status_code == 422
    fields = resp.get_json()["fields"]
    assert "grade" in fields and "responsible_person" in fields
    resp = officer.post(f"/tasks/{task}/complete", json={"data": {
        "grade": "general", "responsible_person": "张", "measures": "m", "rectification_deadline": in_days(-1)}},
        headers={"Accept-Language": "en"})
    assert resp.get_json()["fields"] == {"rectification_deadline": "The date cannot be in the past."}
    resp = officer.post(f"/tasks/{task}/complete", json={"data": {
        "grade": "general", "responsible_person": "张", "measures": "m", "rectification_deadline": "2026-02-30"}},
        headers={"Accept-Language": "en"})
    assert resp.get_json()["fields"] == {"rectification_deadline": "Enter a valid date as YYYY-MM-DD."}
    assert counts(app) == before
    assert hazard(officer, h["id"])["status"] == "assessing"


def test_conditional_requirements_of_the_major_path_are_enforced(api):
    officer = api.as_("officer_a")
    h = report(officer)
    task = current_task(officer, h["id"], "assess")
    resp = officer.post(f"/tasks/{task}/complete", json={"data": {"grade": "major", "responsible_person": "李"}},
                        headers={"Accept-Language": "en"})
    assert resp.status_code == 422 and "major_criterion" in resp.get_json()["fields"]


def test_oversize_and_non_image_uploads_are_refused_with_clear_errors(api, app):
    officer = api.as_("officer_a")
    app.config["MAX_UPLOAD_BYTES"] = 1024
    resp = officer.post("/attachments", data={"file": (io.BytesIO(b"\x89PNG" + b"0" * 2000), "big.png")},
                        content_type="multipart/form-data", headers={"Accept-Language": "en"})
    assert resp.status_code == 413 and "MB" in resp.get_json()["error"]
    app.config["MAX_UPLOAD_BYTES"] = 10 * 1024 * 1024
    resp = officer.post("/attachments", data={"file": (io.BytesIO(b"#!/bin/sh\nrm -rf /\n"), "photo.png")},
                        content_type="multipart/form-data")
    assert resp.status_code == 422 and "file" in resp.get_json()["fields"]
    resp = officer.post("/attachments", data={}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "file" in resp.get_json()["fields"]
    # A document where a photo is required is named as such.
    from app.services.demo import tiny_pdf
    pdf = upload(officer, tiny_pdf(), "x.pdf")
    resp = officer.post("/hazards", json=dict(REPORT, photos=[pdf]), headers={"Accept-Language": "en"})
    assert resp.status_code == 422 and "not a photo" in resp.get_json()["fields"]["photos"]


def test_someone_elses_attachment_cannot_be_used_or_downloaded(api):
    photo_b = upload(api.as_("officer_b"))
    resp = api.as_("officer_a").post("/hazards", json=dict(REPORT, photos=[photo_b]))
    assert resp.status_code == 422 and "photos" in resp.get_json()["fields"]
    assert api.as_("officer_a").get(f"/attachments/{photo_b}").status_code == 404
    assert api.as_("officer_b").get(f"/attachments/{photo_b}").status_code == 200


def test_requests_without_a_valid_token_get_401(api, client):
    assert client.get("/api/v1/hazards").status_code == 401
    assert client.get("/api/v1/hazards", headers={"Authorization": "Bearer nope"}).status_code == 401
    resp = client.post("/api/v1/auth/token", json={"username": "officer_a", "password": "wrong"})
    assert resp.status_code == 401 and resp.get_json()["error"]
    resp = client.post("/api/v1/auth/token", json={"username": "officer_a"})
    assert resp.status_code == 422 and set(resp.get_json()["fields"]) == {"password"}


def test_repeated_wrong_passwords_slow_down_that_address(client, app):
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 1):
        assert client.post("/api/v1/auth/token", json={"username": "officer_a", "password": "x"}).status_code == 401
    resp = client.post("/api/v1/auth/token", json={"username": "officer_a", "password": "hazardloop"})
    assert resp.status_code == 429 and resp.get_json()["error"]


def test_unknown_ids_and_routes_are_json_404s(api):
    officer = api.as_("officer_a")
    assert officer.get("/hazards/999999").status_code == 404
    assert officer.get("/tasks/999999").status_code == 404
    assert officer.get("/nowhere").get_json()["error"]


def test_openapi_document_describes_every_route(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in ("/auth/token", "/hazards", "/hazards/{hazard_id}", "/tasks", "/tasks/{task_id}",
                 "/tasks/{task_id}/claim", "/tasks/{task_id}/complete", "/attachments"):
        assert f"/api/v1{path}" in doc["paths"]


def test_declared_values_are_enforced_and_empty_query_values_mean_absent(api):
    officer = api.as_("officer_a")
    report(officer)
    resp = officer.get("/hazards?grade=catastrophic", headers={"Accept-Language": "en"})
    assert resp.status_code == 422 and resp.get_json()["fields"] == {"grade": "Choose one of: general, major, none."}
    for path in ("/hazards?sort=sideways", "/hazards?status=nonsense", "/tasks?status=nonsense"):
        resp = officer.get(path)
        assert resp.status_code == 422 and set(resp.get_json()["fields"]) == {path.split("?")[1].split("=")[0]}
    assert officer.get("/hazards?grade=&sort=&status=&q=&page=&per_page=&overdue=&enterprise=").get_json()[
        "total"] == 1
    assert officer.get("/tasks?grade=&status=&page=").status_code == 200


def test_ids_beyond_postgresqls_integer_and_nul_characters_are_refused_by_name(api):
    officer = api.as_("officer_a")
    big = 2_147_483_648
    for path in (f"/hazards/{big}", f"/tasks/{big}", f"/attachments/{big}", "/hazards/0"):
        resp = officer.get(path)
        assert resp.status_code == 404 and resp.get_json()["error"]
    assert officer.post(f"/tasks/{big}/complete", json={"data": {}}).status_code == 404
    for query in (f"enterprise={big}", f"page={big}"):
        resp = officer.get(f"/hazards?{query}")
        assert resp.status_code == 422 and query.split("=")[0] in resp.get_json()["fields"]
    resp = officer.get("/hazards?q=a%00b")
    assert resp.status_code == 422 and "q" in resp.get_json()["fields"]
    resp = officer.post("/hazards", json=dict(REPORT, title="配电箱\x00"))
    assert resp.status_code == 422 and "title" in resp.get_json()["fields"]
    resp = officer.post("/hazards", json=dict(REPORT, photos=[big]))
    assert resp.status_code == 422 and "photos.0" in resp.get_json()["fields"]
    task = current_task(officer, report(officer)["id"], "assess")
    resp = officer.post(f"/tasks/{task}/complete", json={"data": {"responsible_person": "张\x00"}})
    assert resp.status_code == 422 and "data.responsible_person" in resp.get_json()["fields"]
    resp = officer.post(f"/tasks/{task}/delegate", json={"user_id": big})
    assert resp.status_code == 422 and "user_id" in resp.get_json()["fields"]
    resp = officer.post(f"/tasks/{task}/delegate", json={"user_id": True})
    assert resp.status_code == 422 and "user_id" in resp.get_json()["fields"]


def test_every_api_error_has_one_shape(api, client, app):
    officer = api.as_("officer_a")
    answers = [
        client.get("/api/v1/hazards"),                                    # 401
        officer.get("/nowhere"),                                          # 404, no such route
        officer.client.delete("/api/v1/hazards", headers=officer._headers()),  # 405
        officer.post("/hazards", data="{not json", content_type="application/json"),  # 400
        officer.post("/hazards", data="title=x", content_type="application/x-www-form-urlencoded"),  # 400
    ]
    app.config["MAX_CONTENT_LENGTH"] = 100
    answers.append(officer.post("/hazards", json=dict(REPORT, description="长" * 200)))  # 413
    assert [r.status_code for r in answers] == [401, 404, 405, 400, 400, 413]
    for resp in answers:
        body = resp.get_json()
        assert resp.mimetype == "application/json" and set(body) == {"error", "fields", "request_id"} and body["error"]
        assert body["request_id"] == resp.headers["X-Request-ID"]  # to quote when reporting it
    assert "JSON" in answers[3].get_json()["error"] and "JSON" in answers[4].get_json()["error"]


def test_the_api_authenticates_by_token_alone_and_sets_no_cookie(api, client):
    officer = api.as_("officer_a")
    resp = officer.get("/hazards?lang=en")
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers
    # A signed-in browser session does not act through the (CSRF-exempt) API.
    assert Pages(client).login("officer_a").status_code == 302
    assert client.get("/tasks").status_code == 200
    assert client.get("/api/v1/hazards").status_code == 401
    assert client.post("/api/v1/hazards", json=REPORT).status_code == 401


def test_the_document_is_generated_from_the_schemas(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    assert len(schemas["HazardSummary"]["properties"]) == 15
    assert schemas["Task"]["properties"]["form"]["type"] == "string"
    assert schemas["TaskDetail"]["properties"]["form"]["allOf"][0]["$ref"].endswith("/Form")
    grade = next(p for p in doc["paths"]["/api/v1/hazards"]["get"]["parameters"] if p["name"] == "grade")
    # "none": not yet assessed (the statistics' links, issue 14)
    assert grade["schema"]["enum"] == ["general", "major", "none"] and grade["allowEmptyValue"] is True
    download = doc["paths"]["/api/v1/attachments/{attachment_id}"]["get"]["responses"]["200"]["content"]
    assert download["image/jpeg"]["schema"] == {"type": "string", "format": "binary"}
    for path in doc["paths"].values():
        for operation in (path[method] for method in ("get", "post") if method in path):
            errors = [code for code in operation["responses"] if code >= "400"]
            assert errors and all(operation["responses"][code]["$ref"].startswith("#/components/responses/")
                                  for code in errors)
