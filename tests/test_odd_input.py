"""Odd or hostile input is answered with a clear 4xx, never a 500 (issue 18): numbers beyond PostgreSQL's
integer, NUL characters and broken characters, far-away dates, deep JSON, crontab rules that never fire."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Checklist
from app.services.demo import tiny_png
from app.storage import storage
from tests.deadline_steps import general_hazard_rectifying
from tests.helpers import REPORT, complete, current_task, hazard, in_days, report, stored_keys, upload
from tests.test_page_submissions import stored
from tests.test_pages import Pages, text

BIG = "2147483648"  # one more than PostgreSQL's integer holds


@pytest.fixture
def pages(client):
    return Pages(client)


@pytest.mark.parametrize("path", [f"/hazards/{BIG}", f"/tasks/{BIG}", f"/attachments/{BIG}", f"/checks/{BIG}",
                                  f"/hazards/{BIG}/diagram.bpmn", "/hazards/99999999999999999999999"])
def test_ids_beyond_the_database_integer_are_not_found(pages, path):
    pages.login("inspector")
    assert pages.get(path).status_code == 404


@pytest.mark.parametrize("path, field", [
    (f"/hazards?enterprise={BIG}", "enterprise"), (f"/tasks?enterprise={BIG}", "enterprise"),
    ("/hazards?page=9223372036854775807", "page"), ("/tasks?page=9223372036854775807", "page"),
    ("/tasks?page=" + "9" * 5000, "page")])
def test_numbers_beyond_the_database_integer_in_a_query_are_refused_naming_the_field(pages, path, field):
    pages.login("inspector")
    resp = pages.get(path + "&lang=en")
    assert resp.status_code == 422 and f"{field} must be a whole number from 1 to 2147483647" in text(resp)


@pytest.mark.parametrize("path", ["/hazards?q=%00", "/tasks?q=%00", "/enterprises/search?q=%00",
                                  "/hazards?q=a%00b&status=assessing", "/tasks?%00=1"])
def test_a_nul_character_in_a_query_string_is_refused_naming_the_field(pages, path):
    pages.login("inspector")
    resp = pages.get(path + "&lang=en" if "?" in path else path)
    assert resp.status_code == 422
    assert "“q”" in text(resp) or "\\u0000" in text(resp)


def test_a_nul_character_in_the_login_name_is_refused_naming_the_field(pages):
    pages.get("/login?lang=en")
    resp = pages.post("/login", {"username": "adm\x00in", "password": "hazardloop"})
    assert resp.status_code == 422 and "“username”" in text(resp)


def test_a_nul_character_in_a_form_field_or_a_file_name_is_refused_and_no_file_is_kept(pages, app):
    pages.login("officer_a")
    pages.get("/hazards/new?lang=en")
    before = stored(app)
    resp = pages.post("/hazards/new", {"title": "配电箱\x00", "photos_before": (io.BytesIO(tiny_png()), "a.png")},
                      content_type="multipart/form-data")
    assert resp.status_code == 422 and "“title”" in text(resp)
    resp = pages.post("/hazards/new", {"title": "配电箱", "photos_before": (io.BytesIO(tiny_png()), "a\x00.png")},
                      content_type="multipart/form-data")
    assert resp.status_code == 422 and "“photos_before”" in text(resp)
    assert stored(app) == before


def test_a_checklist_assignee_beyond_the_database_integer_is_refused_naming_the_field(pages, app):
    pages.login("officer_a")
    pages.get("/checklists/new?lang=en")
    resp = pages.post("/checklists/new", {"title": "配电房", "post": "电工", "level": "team", "role": "officer",
                                          "assignee_id": BIG, "items": "门锁"})
    assert resp.status_code == 422 and "assignee_id must be a whole number" in text(resp)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checklist)) == 0


def test_a_crontab_rule_that_never_fires_is_refused_naming_the_field(pages, app):
    pages.login("officer_a")
    pages.get("/checklists/new?lang=en")
    resp = pages.post("/checklists/new", {"title": "配电房", "post": "电工", "level": "custom", "role": "officer",
                                          "schedule": "0 0 31 2 *", "items": "门锁"})
    assert resp.status_code == 422 and "never fires" in text(resp)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checklist)) == 0


def test_migrating_an_instance_id_beyond_the_database_integer_is_refused_naming_the_field(pages):
    pages.login("admin")
    pages.get("/admin/processes/hazard_lifecycle/migrate?to=1&lang=en")
    resp = pages.post("/admin/processes/hazard_lifecycle/migrate?to=1", {"instance": BIG})
    assert resp.status_code == 422 and "instance must be a whole number" in text(resp)
    assert pages.get(f"/admin/processes/hazard_lifecycle/migrate?to={BIG}").status_code == 422


# ------------------------------------------------------------------------------------------ far-away dates
ASSESSED = {"grade": "general", "responsible_person": "张安全", "measures": "加锁并张贴警示标识"}


def test_a_deadline_far_away_is_refused_naming_the_field_through_the_api(api, app):
    officer = api.as_("officer_a")
    h = report(officer)
    task = current_task(officer, h["id"], "assess")
    body = complete(officer, task, dict(ASSESSED, rectification_deadline="9999-12-31"), status=422)
    assert "rectification_deadline" in body["fields"]
    complete(officer, task, dict(ASSESSED, rectification_deadline=in_days(365 * 5 + 10)), status=422)
    complete(officer, task, dict(ASSESSED, rectification_deadline=in_days(365 * 4)))  # a few years is fine
    assert hazard(officer, h["id"])["status"] == "rectifying"


def test_a_completion_date_in_the_future_is_refused_naming_the_field(api):
    officer = api.as_("officer_a")
    h = report(officer)
    complete(officer, current_task(officer, h["id"], "assess"), dict(ASSESSED, rectification_deadline=in_days(5)))
    body = complete(officer, current_task(officer, h["id"], "rectify"), {
        "measures_taken": "已加锁", "after_photos": [upload(officer)], "completed_on": in_days(3)}, status=422)
    assert "completed_on" in body["fields"]


def test_a_deadline_far_away_is_refused_on_the_task_page(pages, app):
    pages.login("officer_a")
    hazard_id = pages.report()
    task = pages.open_task(hazard_id)
    pages.get(f"/tasks/{task}?lang=en")
    resp = pages.post(f"/tasks/{task}", dict(ASSESSED, rectification_deadline="9999-12-31"))
    assert resp.status_code == 422 and "at most 5 years from today" in text(resp)


def test_an_extension_to_a_far_away_date_is_refused_naming_the_field(pages, api):
    hazard_id = general_hazard_rectifying(api, in_days(5))
    pages.login("officer_a")
    pages.get(f"/hazards/{hazard_id}/extension?lang=en")
    resp = pages.post(f"/hazards/{hazard_id}/extension", {"requested_deadline": "9999-12-31", "reason": "等待备件"})
    assert resp.status_code == 422 and "at most 5 years from today" in text(resp)
    resp = pages.post(f"/hazards/{hazard_id}/extension", {"requested_deadline": in_days(30), "reason": "等待备件"})
    assert resp.status_code == 302


# ------------------------------------------------------------------------------------------ other 500s
DEEP = "[" * 100_000 + "]" * 100_000


def test_json_nested_100000_deep_is_a_clear_400_through_the_api(api):
    officer = api.as_("officer_a")
    resp = officer.post("/hazards?lang=en", data=DEEP, content_type="application/json")
    assert resp.status_code == 400 and "nested more than 32 levels" in resp.get_json()["error"], resp.get_json()
    h = report(officer)
    task = current_task(officer, h["id"], "assess")
    nested: dict = {"measures": "x"}
    for _ in range(40):  # parseable, but deeper than any form needs: refused before a validator recurses
        nested = {"a": nested}
    resp = officer.post(f"/tasks/{task}/complete", json={"data": dict(ASSESSED, extra=nested)})
    assert resp.status_code == 400, resp.get_json()


def test_json_nested_100000_deep_is_refused_by_the_form_editor(pages):
    pages.login("admin")
    pages.get("/admin/forms/assess")
    resp = pages.client.post("/admin/forms/assess", data='{"definition": ' + DEEP + "}",
                             headers={"X-CSRFToken": pages.token, "Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.get_json()["error"]


def test_a_missing_file_behind_an_attachment_row_is_not_found(api, pages, app):
    officer = api.as_("officer_a")
    attachment_id = upload(officer)
    with app.app_context():
        for key in stored_keys(app):
            storage().delete(key)
    resp = officer.get(f"/attachments/{attachment_id}?lang=en")
    assert resp.status_code == 404 and "missing from the file store" in resp.get_json()["error"]
    pages.login("officer_a")
    assert pages.get(f"/attachments/{attachment_id}").status_code == 404


def test_an_api_error_while_the_transaction_has_failed_still_answers_json(api, app):
    """A database error inside a request leaves the session needing a rollback; the API's error handlers roll
    back before anything else, so the answer is the JSON error shape, not the server's HTML page."""
    import sqlalchemy as sa

    from app.services.errors import NotFound

    def failing(**_kwargs):
        try:
            db.session.execute(sa.text("SELECT no_such_column FROM hazard"))
        except sa.exc.DBAPIError:
            raise NotFound("gone") from None

    def crashing(**_kwargs):
        db.session.execute(sa.text("SELECT no_such_column FROM hazard"))

    officer = api.as_("officer_a")
    officer.token("officer_a")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    for view, status in ((failing, 404), (crashing, 500)):
        app.view_functions["api.list_hazards"] = view
        resp = officer.get("/hazards")
        assert resp.status_code == status and resp.is_json and resp.get_json()["error"], resp.get_data()


# ------------------------------------------------------------------------------ a report's answer
@pytest.fixture
def lost_after_commit(app):
    """From the first commit of the request on, every statement fails as if the connection had been lost."""
    import sqlalchemy as sa

    state = {"armed": False, "lost": False}

    def committed(_session):
        state["lost"] = state["armed"]

    def execute(*_args, **_kwargs):
        if state["lost"]:
            raise sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly"))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", execute)
    sa.event.listen(sa.orm.Session, "after_commit", committed)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    yield state
    sa.event.remove(engine, "before_cursor_execute", execute)
    sa.event.remove(sa.orm.Session, "after_commit", committed)


def test_a_report_answers_from_what_it_holds_when_the_connection_is_lost_after_its_commit(api, app,
                                                                                       lost_after_commit):
    officer = api.as_("officer_a")
    officer.token("officer_a")
    lost_after_commit["armed"] = True
    resp = officer.post("/hazards", json=REPORT)
    lost_after_commit.update(armed=False, lost=False)
    assert resp.status_code == 201, resp.get_data(as_text=True)[:500]
    body = resp.get_json()
    assert body["enterprise"] == "宏达机械制造有限公司" and body["number"].startswith("YH")
    assert body["current_step"] and body["status"] == "assessing"
    assert hazard(officer, body["id"])["number"] == body["number"]


def test_a_lone_surrogate_in_api_text_is_refused_naming_the_field(api, app):
    officer = api.as_("officer_a")
    body = '{"title": "配电箱\\ud800", "description": "x", "location": "x", "hazard_type": "unsafe_condition", ' \
           '"source": "self_check"}'
    resp = officer.post("/hazards", data=body, content_type="application/json")
    assert resp.status_code == 422 and "title" in resp.get_json()["fields"]
    h = report(officer)
    task = current_task(officer, h["id"], "assess")
    resp = officer.post(f"/tasks/{task}/complete", data='{"data": {"measures": "\\udfff"}}',
                        content_type="application/json")
    assert resp.status_code == 422 and "data.measures" in resp.get_json()["fields"]
