"""The designer's pages and JSON endpoints: administrators only, CSRF on every write, clear JSON errors."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, ProcessDraft, ProcessVersion
from tests import designer_diagrams as dd
from tests.helpers import report

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KEY = "hazard_lifecycle"


class Admin:
    """Someone using the admin pages in a browser-like way: session cookie, CSRF token from the page."""

    def __init__(self, client, username: str = "admin"):
        self.client = client
        html = client.get("/login").get_data(as_text=True)
        token = CSRF.search(html).group(1)
        resp = client.post("/login", data={"username": username, "password": "hazardloop", "csrf_token": token})
        assert resp.status_code == 302
        self.token = CSRF.search(client.get("/tasks").get_data(as_text=True)).group(1)

    def post_json(self, path: str, body: dict, csrf: bool = True):
        headers = {"X-CSRFToken": self.token} if csrf else {}
        return self.client.post(path, json=body, headers=headers)


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (ProcessVersion, ProcessDraft, AuditEvent))


PAGES = ["/admin/processes", f"/admin/processes/{KEY}/designer", f"/admin/processes/{KEY}/versions/1",
         f"/admin/processes/{KEY}/versions/1/diagram.bpmn", f"/admin/processes/{KEY}/diff",
         f"/admin/processes/{KEY}/migrate?to=1", "/admin/forms", "/admin/forms/assess", "/admin/forms/new_form"]


def test_the_administrator_opens_every_designer_page(client):
    admin = Admin(client)
    for path in PAGES:
        resp = admin.client.get(path)
        assert resp.status_code == 200, (path, resp.get_data(as_text=True)[:500])
    library = client.get("/admin/processes").get_data(as_text=True)
    assert 'data-version="1"' in library and "hl-active-badge" in library


@pytest.mark.parametrize("username", ["officer_a", "principal_a", "inspector"])
def test_everyone_else_is_refused_every_designer_page_and_endpoint(client, username):
    other = Admin(client, username)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    for path in (f"/admin/processes/{KEY}/validate", f"/admin/processes/{KEY}/deploy",
                 f"/admin/processes/{KEY}/drafts", "/admin/forms/assess"):
        resp = other.post_json(path, {"xml": dd.shipped(), "definition": {}})
        assert resp.status_code == 403 and resp.is_json and resp.get_json()["error"], path


def test_without_a_login_pages_send_you_to_log_in_and_json_gets_401(client):
    assert client.get("/admin/processes").status_code == 302
    assert "/login" in client.get("/admin/processes").location
    resp = client.post(f"/admin/processes/{KEY}/validate", json={"xml": "x"})
    assert resp.status_code in (400, 401) and resp.is_json


def test_json_writes_without_the_csrf_header_are_refused_and_change_nothing(app, client):
    admin = Admin(client)
    client.get("/admin/processes")
    before = counts(app)
    xml = dd.add_user_task_after(dd.shipped(), "assess", "double_check", "复核")
    for path in (f"/admin/processes/{KEY}/deploy", f"/admin/processes/{KEY}/drafts"):
        resp = admin.post_json(path, {"xml": xml}, csrf=False)
        assert resp.status_code == 400 and resp.is_json and resp.get_json()["error"]
    resp = admin.post_json("/admin/forms/assess", {"definition": {}}, csrf=False)
    assert resp.status_code == 400
    assert counts(app) == before


def test_deploy_through_the_endpoint_and_the_refusal_names_the_element(app, client):
    admin = Admin(client)
    client.get("/admin/processes")
    before = counts(app)
    bad = dd.add_user_task_after(dd.shipped(), "assess", "double_check", "复核", form="missing_form")
    resp = admin.post_json(f"/admin/processes/{KEY}/deploy", {"xml": bad})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["problems"][0]["element_id"] == "double_check"
    assert "missing_form" in body["problems"][0]["message"]
    assert counts(app) == before
    check = admin.post_json(f"/admin/processes/{KEY}/validate", {"xml": bad}).get_json()
    assert check["deployable"] is False and check["problems"][0]["element_id"] == "double_check"

    good = dd.add_user_task_after(dd.shipped(), "assess", "double_check", "复核")
    resp = admin.post_json(f"/admin/processes/{KEY}/deploy", {"xml": good, "note": "复核"})
    assert resp.status_code == 201 and resp.get_json()["number"] == 2
    assert "/migrate?to=2" in resp.get_json()["migrate_url"]


def test_drafts_are_saved_listed_reopened_and_deleted(app, client):
    admin = Admin(client)
    client.get("/admin/processes")
    unfinished = dd.add_user_task_after(dd.shipped(), "assess", "double_check", "复核", form=None)
    resp = admin.post_json(f"/admin/processes/{KEY}/drafts", {"xml": unfinished, "name": "加复核"})
    assert resp.status_code == 201
    draft = resp.get_json()
    again = admin.post_json(f"/admin/processes/{KEY}/drafts", {"xml": dd.shipped(), "draft_id": draft["id"]})
    assert again.get_json()["id"] == draft["id"]
    assert "加复核" not in client.get("/admin/processes").get_data(as_text=True)  # renamed to the default
    assert client.get(f"/admin/processes/{KEY}/designer?draft={draft['id']}").status_code == 200
    xml = client.get(f"/admin/processes/{KEY}/drafts/{draft['id']}/diagram.bpmn")
    assert xml.status_code == 200 and xml.headers["X-Content-Type-Options"] == "nosniff"
    resp = client.post(f"/admin/processes/{KEY}/drafts/{draft['id']}/delete", data={"csrf_token": admin.token})
    assert resp.status_code == 302
    assert client.get(f"/admin/processes/{KEY}/designer?draft={draft['id']}").status_code == 404


def test_an_unsafe_draft_is_refused_with_a_json_problem(client):
    admin = Admin(client)
    client.get("/admin/processes")
    xml = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    resp = admin.post_json(f"/admin/processes/{KEY}/drafts", {"xml": xml})
    assert resp.status_code == 422 and resp.get_json()["problems"][0]["element_id"] is None


def test_the_migration_page_moves_the_chosen_hazards(app, client, api):
    h = report(api.as_("officer_a"))
    admin = Admin(client)
    resp = admin.post_json(f"/admin/processes/{KEY}/deploy",
                           {"xml": dd.set_name(dd.shipped(), "assess", "评估定级")})
    assert resp.status_code == 201
    html = client.get(f"/admin/processes/{KEY}/migrate?to=2").get_data(as_text=True)
    instance = re.search(r'<tr data-instance="(\d+)" data-movable="yes"', html).group(1)
    resp = client.post(f"/admin/processes/{KEY}/migrate?to=2", data={"csrf_token": admin.token,
                                                                     "instance": [instance]})
    assert resp.status_code == 200 and 'id="hl-moved-count">1<' in resp.get_data(as_text=True)
    detail = api.as_("officer_a").get(f"/hazards/{h['id']}").get_json()
    assert detail["current_tasks"][0]["title"] == "评估定级"


def test_a_form_is_saved_from_the_editor_endpoint(client):
    admin = Admin(client)
    client.get("/admin/forms/review")
    definition = api_form(client)
    definition["fields"][0]["label"]["zh"] = "复查结论（新）"
    resp = admin.post_json("/admin/forms/review", {"definition": definition, "note": "rename"})
    assert resp.status_code == 201 and resp.get_json()["number"] == 2
    definition["fields"].append({"name": "ghost", "widget": "text", "label": {"zh": "幽灵"}})
    resp = admin.post_json("/admin/forms/review", {"definition": definition})
    assert resp.status_code == 422 and "fields.ghost" in resp.get_json()["fields"]


def api_form(client) -> dict:
    html = client.get("/admin/forms/review").get_data(as_text=True)
    raw = re.search(r'<script type="application/json" id="hl-form-definition">(.*?)</script>', html, re.DOTALL).group(1)
    return json.loads(raw)
