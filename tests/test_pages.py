"""The server-rendered pages through the Flask test client: login, CSRF, worklist, register scoping, form errors.

Layout at phone width is checked in a real browser (tests/browser/).
"""
from __future__ import annotations

import io
import re

import pytest

from app.clock import clock
from app.services.demo import tiny_pdf, tiny_png
from tests.helpers import in_days

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REPORT = {"title": "配电箱未上锁", "description": "巡检发现配电箱门敞开", "location": "一车间",
          "hazard_type": "unsafe_condition", "source": "self_check"}


class Pages:
    """A person using the site: logs in, reads pages and sends their forms with the CSRF token."""

    def __init__(self, client):
        self.client = client
        self.token: str | None = None

    def get(self, path, **kw):
        resp = self.client.get(path, **kw)
        found = CSRF.search(resp.get_data(as_text=True)) if resp.mimetype == "text/html" else None
        if found:
            self.token = found.group(1)
        return resp

    def post(self, path, data=None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        return self.client.post(path, data=data, **kw)

    def login(self, username: str, password: str = "hazardloop", **kw):
        self.get("/login")
        return self.post("/login", {"username": username, "password": password}, **kw)

    def logout(self):
        self.get("/tasks")
        return self.post("/logout")

    def report(self, **overrides) -> int:
        self.get("/hazards/new")
        resp = self.post("/hazards/new", dict(REPORT, **overrides), content_type="multipart/form-data")
        assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
        return int(resp.location.rsplit("/", 1)[1])

    def open_task(self, hazard_id: int) -> int:
        html = self.get(f"/hazards/{hazard_id}").get_data(as_text=True)
        return int(re.search(r'class="btn btn-primary hl-open-task" href="/tasks/(\d+)"', html).group(1))


@pytest.fixture
def pages(client):
    return Pages(client)


def text(resp) -> str:
    return resp.get_data(as_text=True)


def count(html: str, key: str) -> int:
    return int(re.search(rf'data-count="{key}" data-value="(\d+)"', html).group(1))


def test_pages_need_a_login_and_the_login_returns_to_the_page_asked_for(pages):
    resp = pages.get("/hazards?status=assessing")
    assert resp.status_code == 302 and "/login?next=" in resp.location
    pages.get(resp.location)
    resp = pages.post("/login?next=/hazards%3Fstatus%3Dassessing", {"username": "officer_a", "password": "hazardloop"})
    assert resp.status_code == 302 and resp.location == "/hazards?status=assessing"


def test_login_never_redirects_to_another_site(pages):
    pages.get("/login")
    resp = pages.post("/login?next=//evil.example/x", {"username": "officer_a", "password": "hazardloop"})
    assert resp.location == "/tasks"


def test_a_wrong_password_is_explained(pages):
    resp = pages.login("officer_a", "wrong")
    assert resp.status_code == 401 and "用户名或密码错误。" in text(resp)
    resp = pages.login("officer_a", "wrong", headers={"Accept-Language": "en"})
    assert "Wrong user name or password." in text(resp)
    assert pages.login("officer_a").status_code == 302


def test_an_empty_login_form_shows_a_message_next_to_each_field(pages):
    pages.get("/login?lang=en")
    resp = pages.post("/login", {"username": "", "password": ""})
    assert resp.status_code == 422
    assert "Enter your user name." in text(resp) and "Enter your password." in text(resp)


def test_a_form_sent_without_its_csrf_token_gets_the_400_page_and_changes_nothing(pages):
    pages.login("officer_a")
    resp = pages.client.post("/hazards/new", data=dict(REPORT), content_type="multipart/form-data")
    assert resp.status_code == 400 and "表单已过期" in text(resp)
    assert "暂无隐患记录" in text(pages.get("/hazards"))
    resp = pages.client.post("/login", data={"username": "officer_a", "password": "hazardloop"},
                             headers={"Accept-Language": "en"})
    assert resp.status_code == 400 and "This form has expired" in text(resp)


def test_logging_out_ends_the_session(pages):
    pages.login("officer_a")
    assert pages.get("/tasks").status_code == 200
    assert pages.client.get("/logout").status_code == 405
    resp = pages.logout()
    assert resp.status_code == 302 and resp.location == "/login"
    assert pages.get("/tasks").status_code == 302


def test_the_worklist_counts_own_group_and_overdue_tasks_and_claiming_moves_them(pages, client, app):
    pages.login("officer_a")
    first = pages.report(title="配电箱未上锁")
    pages.report(title="消防通道堆放杂物")
    html = text(pages.get("/tasks"))
    assert (count(html, "total"), count(html, "mine"), count(html, "unclaimed")) == (2, 0, 2)

    task = pages.open_task(first)
    resp = pages.post(f"/tasks/{task}/claim", {"next": "/tasks"})
    assert resp.location == "/tasks"
    html = text(pages.get("/tasks"))
    assert "您已认领" in html
    assert (count(html, "total"), count(html, "mine"), count(html, "unclaimed")) == (2, 1, 1)
    assert "配电箱未上锁" in text(pages.get("/tasks?queue=mine"))
    assert "消防通道堆放杂物" not in text(pages.get("/tasks?queue=mine"))
    assert "配电箱未上锁" not in text(pages.get("/tasks?queue=unclaimed"))
    assert [t for t in ("配电箱未上锁", "消防通道堆放杂物") if t in text(pages.get("/tasks?q=消防"))] == ["消防通道堆放杂物"]

    resp = pages.post(f"/tasks/{task}", {"grade": "general", "responsible_person": "张安全", "measures": "加锁",
                                         "rectification_deadline": in_days(2)}, content_type="multipart/form-data")
    assert resp.status_code == 302 and resp.location == f"/hazards/{first}"
    html = text(pages.get("/tasks"))
    assert count(html, "due_soon") == 1 and "hl-task-due_soon" in html
    clock.advance(days=4)
    html = text(pages.get("/tasks"))
    assert count(html, "overdue") == 1 and "hl-task-overdue" in html
    assert "配电箱未上锁" in text(pages.get("/tasks?overdue=1"))
    assert "消防通道堆放杂物" not in text(pages.get("/tasks?overdue=1"))

    colleague = Pages(app.test_client())
    colleague.login("principal_a")
    html = text(colleague.get("/tasks"))
    assert count(html, "total") == 0 and 'id="worklist-empty"' in html


def test_claiming_a_task_someone_else_holds_is_refused_with_a_message(pages, app):
    pages.login("officer_a")
    hazard = pages.report()
    task = pages.open_task(hazard)
    other = Pages(app.test_client())
    other.login("principal_a")
    other.get("/tasks")
    resp = other.post(f"/tasks/{task}/claim", {"next": "/tasks"}, follow_redirects=True)
    assert "该任务属于其他角色或单位" in text(resp)


def test_the_register_shows_each_user_only_what_they_may_see(pages, app):
    pages.login("officer_a")
    hazard_a = pages.report(title="宏达的隐患")
    b = Pages(app.test_client())
    b.login("officer_b")
    hazard_b = b.report(title="绿源的隐患")

    assert "宏达的隐患" in text(pages.get("/hazards")) and "绿源的隐患" not in text(pages.get("/hazards"))
    resp = b.get(f"/hazards/{hazard_a}")
    assert resp.status_code == 404 and "宏达的隐患" not in text(resp) and "未找到隐患" in text(resp)
    assert b.get(f"/hazards/{hazard_a}", headers={"Accept-Language": "en"}).status_code == 404

    west = Pages(app.test_client())
    west.login("inspector_west")
    html = text(west.get("/hazards"))
    assert "绿源的隐患" in html and "宏达的隐患" not in html
    district = Pages(app.test_client())
    district.login("inspector")
    html = text(district.get("/hazards"))
    assert "绿源的隐患" in html and "宏达的隐患" in html
    html = text(district.get(f"/hazards?enterprise={_enterprise_of(app, 'officer_b')}"))
    assert "绿源的隐患" in html and "宏达的隐患" not in html
    assert district.get(f"/hazards/{hazard_b}").status_code == 200
    assert "宏达的隐患" in text(district.get("/hazards?q=宏达&status=assessing&sort=deadline"))
    html = text(district.get("/hazards?q=不存在的词"))
    assert 'id="register-empty"' in html and "没有符合筛选条件的隐患" in html


def _enterprise_of(app, username: str) -> int:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User

    with app.app_context():
        return db.session.scalar(select(User.organisation_id).where(User.username == username))


def test_files_and_the_diagram_are_only_served_to_those_who_may_see_the_hazard(pages, app):
    pages.login("officer_a")
    hazard = pages.report(photos=(io.BytesIO(tiny_png()), "p.png"))
    html = text(pages.get(f"/hazards/{hazard}"))
    photo = re.search(r'hl-gallery-before.*?href="(/attachments/\d+)"', html, re.DOTALL)
    resp = pages.get(photo.group(1))
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    diagram = pages.get(f"/hazards/{hazard}/diagram.bpmn")
    assert diagram.status_code == 200 and "bpmn:definitions" in text(diagram)

    b = Pages(app.test_client())
    b.login("officer_b")
    assert b.get(photo.group(1)).status_code == 404
    assert b.get(f"/hazards/{hazard}/diagram.bpmn").status_code == 404


def test_a_task_form_sent_with_errors_keeps_the_input_and_explains_each_field_in_chinese_and_english(pages):
    pages.login("officer_a")
    hazard = pages.report()
    task = pages.open_task(hazard)
    resp = pages.post(f"/tasks/{task}", {"grade": "general", "responsible_person": "张安全"},
                      content_type="multipart/form-data")
    html = text(resp)
    assert resp.status_code == 422
    assert re.search(r'data-field="measures".*?此项为必填项。', html, re.DOTALL)
    assert re.search(r'data-field="rectification_deadline".*?此项为必填项。', html, re.DOTALL)
    assert 'value="张安全"' in html and re.search(r'value="general"\s+checked', html)

    resp = pages.post(f"/tasks/{task}?lang=en", {"grade": "general", "responsible_person": "Zhang",
                                                 "rectification_deadline": "2000-01-01"},
                      content_type="multipart/form-data")
    html = text(resp)
    assert resp.status_code == 422
    assert re.search(r'data-field="measures".*?This field is required\.', html, re.DOTALL)
    assert re.search(r'data-field="rectification_deadline".*?The date cannot be in the past\.', html, re.DOTALL)
    assert 'value="Zhang"' in html and 'value="2000-01-01"' in html
    assert "Assess and grade" in html  # the step's name in English, from its form definition


def test_a_rejected_upload_is_reported_next_to_its_field_and_nothing_else_is_lost(pages):
    pages.login("officer_a")
    hazard = pages.report()
    task = pages.open_task(hazard)
    pages.post(f"/tasks/{task}", {"grade": "general", "responsible_person": "张", "measures": "m",
                                  "rectification_deadline": in_days(5)}, content_type="multipart/form-data")
    task = pages.open_task(hazard)
    resp = pages.post(f"/tasks/{task}?lang=en", {
        "measures_taken": "Locked the box", "completed_on": in_days(0),
        "after_photos": [(io.BytesIO(tiny_png()), "ok.png"), (io.BytesIO(b"MZ not a photo"), "virus.exe")]},
        content_type="multipart/form-data")
    html = text(resp)
    assert resp.status_code == 422
    assert re.search(r'data-field="after_photos".*?virus\.exe: Only photos', html, re.DOTALL)
    assert "Locked the box" in html
    kept = re.findall(r'<input type="hidden" name="after_photos" value="(\d+)">', html)
    assert len(kept) == 1  # the good photo is kept for the next try
    resp = pages.post(f"/tasks/{task}", {"measures_taken": "Locked the box", "completed_on": in_days(0),
                                         "after_photos": kept[0]}, content_type="multipart/form-data")
    assert resp.status_code == 302
    html = text(pages.get(f"/hazards/{hazard}"))
    assert "Reviewing" in html and re.search(r"hl-gallery-after.*?/attachments/" + kept[0], html, re.DOTALL)


def test_a_completed_task_cannot_be_sent_twice(pages):
    pages.login("officer_a")
    hazard = pages.report()
    task = pages.open_task(hazard)
    data = {"grade": "general", "responsible_person": "张", "measures": "m", "rectification_deadline": in_days(5)}
    assert pages.post(f"/tasks/{task}", data, content_type="multipart/form-data").status_code == 302
    resp = pages.post(f"/tasks/{task}", data, content_type="multipart/form-data")
    assert resp.status_code == 409 and "已办理完毕" in text(resp)
    assert 'id="task-closed"' in text(pages.get(f"/tasks/{task}"))


def test_an_inspector_reports_only_for_an_enterprise_in_their_jurisdiction(pages, app):
    pages.login("inspector_west")
    html = text(pages.get("/hazards/new"))
    assert "绿源化工有限公司" in html and "宏达机械制造有限公司" not in html
    resp = pages.post("/hazards/new", dict(REPORT), content_type="multipart/form-data")
    assert resp.status_code == 422 and "请选择发现隐患的企业。" in text(resp)
    resp = pages.post("/hazards/new", dict(REPORT, enterprise_id=_enterprise_of(app, "officer_a")),
                      content_type="multipart/form-data")
    assert resp.status_code == 422 and "该企业不在您的辖区内。" in text(resp)
    hazard = pages.report(enterprise_id=_enterprise_of(app, "officer_b"), source="government_inspection")
    assert "绿源化工有限公司" in text(pages.get(f"/hazards/{hazard}"))


def test_the_administrator_cannot_report_and_sees_a_403_page(pages):
    pages.login("admin")
    resp = pages.get("/hazards/new")
    assert resp.status_code == 403 and "只有企业人员和监管人员可以报告隐患。" in text(resp)


def test_error_pages_speak_the_users_language_and_api_paths_keep_json(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404 and "未找到" in text(resp)
    resp = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert "Not found" in text(resp)
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404 and resp.is_json and resp.get_json()["error"]
    assert client.post("/tasks").status_code == 405


def test_a_request_larger_than_allowed_gets_the_413_page(pages, app):
    pages.login("officer_a")
    pages.get("/hazards/new")
    app.config["MAX_CONTENT_LENGTH"] = 2000
    resp = pages.post("/hazards/new", dict(REPORT, photos=(io.BytesIO(tiny_pdf() * 20), "big.pdf")),
                      content_type="multipart/form-data")
    assert resp.status_code == 413 and "内容过大" in text(resp)


def test_the_language_switch_changes_the_pages_and_stays_on_the_same_page(pages):
    pages.login("officer_a")
    resp = pages.get("/language/en?next=/hazards")
    assert resp.status_code == 302 and resp.location == "/hazards"
    assert "Hazard register" in text(pages.get("/hazards"))
    pages.get("/language/zh?next=https://evil.example/")
    assert "隐患台账" in text(pages.get("/hazards"))


def test_a_users_language_choice_is_kept_for_their_next_sign_in(pages, app):
    from app.extensions import db
    from app.models import User

    pages.login("officer_a")
    pages.get("/language/en")
    with app.app_context():
        assert db.session.query(User).filter_by(username="officer_a").one().locale == "en"
        db.session.remove()
    pages.logout()
    elsewhere = Pages(app.test_client())  # another device: a fresh session, a Chinese browser
    resp = elsewhere.login("officer_a", headers={"Accept-Language": "zh-CN"})
    assert "Welcome" in text(elsewhere.get("/tasks"))  # the welcome message, and the page, in English
    assert "Hazard register" in text(elsewhere.get("/hazards"))
    assert resp.status_code == 302
    other = Pages(app.test_client())  # someone who never chose keeps the default
    other.login("officer_b")
    assert "隐患台账" in text(other.get("/hazards"))


def test_an_unexpected_error_shows_the_500_page_in_the_users_language_and_json_under_the_api(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/broken", "broken", broken)
    app.add_url_rule("/api/v1/broken", "api_broken", broken)
    client = app.test_client()
    resp = client.get("/broken")
    assert resp.status_code == 500 and "出错了" in text(resp) and "a bug" not in text(resp)
    assert "Something went wrong" in text(client.get("/broken", headers={"Accept-Language": "en"}))
    resp = client.get("/api/v1/broken")
    assert resp.status_code == 500 and resp.is_json and resp.get_json()["error"]


def test_person_fields_offer_the_enterprises_people_to_pick(pages):
    pages.login("officer_a")
    page = text(pages.get(f"/tasks/{pages.open_task(pages.report())}"))
    assert 'list="hl-people"' in page
    assert '<option value="李厂长（宏达）">' in page and '<option value="王安全（绿源）">' not in page
