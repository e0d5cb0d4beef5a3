"""Pages that stay cheap at city scale: the enterprise search instead of a list of every enterprise, and
counts that stop at LIST_COUNT_CAP ("10,000+") on the register, the worklist and the API."""
from __future__ import annotations

import re

import pytest

from app.services.paging import Page
from tests.helpers import report as api_report
from tests.test_pages import REPORT, Pages, _enterprise_of, text

ALL = ["宏达机械制造有限公司", "明辉商贸物流有限公司", "绿源化工有限公司"]


@pytest.fixture
def pages(client):
    return Pages(client)


def as_user(app, username: str) -> Pages:
    person = Pages(app.test_client())
    person.login(username)
    return person


def suggestions(person: Pages, q: str) -> list[str]:
    resp = person.get("/enterprises/search", query_string={"q": q})
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    return [e["name"] for e in resp.get_json()["items"]]


def test_the_enterprise_search_suggests_only_enterprises_the_user_may_see(app, client):
    resp = client.get("/enterprises/search?q=有限公司")
    assert resp.status_code == 302 and "/login" in resp.location  # nobody is logged in

    officer = as_user(app, "officer_a")
    assert suggestions(officer, "有限公司") == ["宏达机械制造有限公司"]
    assert suggestions(officer, "绿源") == []
    west = as_user(app, "inspector_west")  # the West township station supervises 绿源 only
    assert suggestions(west, "有限公司") == ["绿源化工有限公司"]
    assert suggestions(west, "宏达") == [] and suggestions(west, "明辉") == []
    district = as_user(app, "inspector")
    assert sorted(suggestions(district, "有限公司")) == ALL
    assert suggestions(district, "物流") == ["明辉商贸物流有限公司"]
    assert suggestions(district, "") == [] and suggestions(district, "%") == [] and suggestions(district, "_") == []
    assert sorted(suggestions(as_user(app, "admin"), "公司")) == ALL


def test_with_many_enterprises_the_register_filter_is_a_search_field_and_resolves_typed_names(app, pages):
    app.config["ENTERPRISE_SELECT_MAX"] = 2  # the district inspector sees 3
    pages.login("officer_a")
    pages.report(title="宏达的隐患")
    as_user(app, "officer_b").report(title="绿源的隐患")
    id_b = _enterprise_of(app, "officer_b")

    district = as_user(app, "inspector")
    html = text(district.get("/hazards"))
    assert 'name="enterprise_name"' in html and "js/enterprise-search.js" in html
    assert not re.search(r'<select[^>]*name="enterprise"', html) and f'<option value="{id_b}"' not in html
    # Without the script only the typed name is sent; one match is taken and its full name shown.
    html = text(district.get("/hazards", query_string={"enterprise_name": " 绿源 "}))
    assert "绿源的隐患" in html and "宏达的隐患" not in html and 'value="绿源化工有限公司"' in html
    # The script sends the chosen id; the name shows while the filter is on.
    html = text(district.get(f"/hazards?enterprise={id_b}&enterprise_name=绿源化工有限公司"))
    assert "绿源的隐患" in html and "宏达的隐患" not in html and 'value="绿源化工有限公司"' in html
    assert re.search(rf'name="enterprise" id="enterprise-id" value="{id_b}"', html)
    # Several or no matches: the field says what to do; the suggestions come with the page.
    html = text(district.get("/hazards", query_string={"enterprise_name": "有限公司"}))
    assert "有 3 家企业名称含“有限公司”" in html and "下方列表未按企业筛选" in html
    assert '<option value="绿源化工有限公司" data-id=' in html and "宏达的隐患" in html
    html = text(district.get("/hazards", query_string={"enterprise_name": "不存在的企业", "lang": "en"}))
    assert "No enterprise you may see has “不存在的企业” in its name." in html

    # An inspector of another township never learns the name of an enterprise outside their scope.
    app.config["ENTERPRISE_SELECT_MAX"] = 0
    west = as_user(app, "inspector_west")
    html = text(west.get(f"/hazards?enterprise={_enterprise_of(app, 'officer_a')}"))
    assert "宏达" not in html and 'name="enterprise_name"' in html
    html = text(west.get("/hazards", query_string={"enterprise_name": "宏达机械制造有限公司"}))
    assert "没有名称含“宏达机械制造有限公司”的企业" in html and "宏达的隐患" not in html


def test_the_worklist_filter_is_a_search_field_too(app, pages):
    app.config["ENTERPRISE_SELECT_MAX"] = 2
    pages.login("officer_a")
    pages.report(title="宏达的隐患")
    html = text(pages.get("/tasks"))
    assert 'name="enterprise_name"' not in html and 'id="enterprise"' not in html  # one enterprise: no filter
    district = as_user(app, "inspector")
    html = text(district.get("/tasks", query_string={"enterprise_name": "明辉"}))
    assert 'name="enterprise_name"' in html and 'value="明辉商贸物流有限公司"' in html


def test_an_inspector_of_many_enterprises_types_the_enterprise_of_a_new_hazard(app):
    app.config["ENTERPRISE_SELECT_MAX"] = 2
    district = as_user(app, "inspector")
    html = text(district.get("/hazards/new"))
    assert 'name="enterprise_name"' in html and not re.search(r'<select[^>]*name="enterprise_id"', html)
    report = dict(REPORT, source="government_inspection")
    resp = district.post("/hazards/new", dict(report, enterprise_name="有限公司"), content_type="multipart/form-data")
    assert resp.status_code == 422 and "有 3 家企业名称含“有限公司”" in text(resp)
    resp = district.post("/hazards/new", dict(report, enterprise_name=""), content_type="multipart/form-data")
    assert resp.status_code == 422 and "请选择发现隐患的企业。" in text(resp)
    hazard = district.report(enterprise_name="物流", source="government_inspection")
    assert "明辉商贸物流有限公司" in text(district.get(f"/hazards/{hazard}"))
    hazard = district.report(enterprise_id=_enterprise_of(app, "officer_b"), enterprise_name="绿源化工有限公司",
                             source="government_inspection")
    assert "绿源化工有限公司" in text(district.get(f"/hazards/{hazard}"))

    west = as_user(app, "inspector_west")
    app.config["ENTERPRISE_SELECT_MAX"] = 0
    resp = west.post("/hazards/new", dict(report, enterprise_name="宏达机械制造有限公司"),
                     content_type="multipart/form-data")
    assert resp.status_code == 422 and "没有名称含“宏达机械制造有限公司”的企业" in text(resp)
    resp = west.post("/hazards/new", dict(report, enterprise_id=_enterprise_of(app, "officer_a")),
                     content_type="multipart/form-data")
    assert resp.status_code == 422 and "该企业不在您的辖区内。" in text(resp)


def copies(app, hazard_id: int, n: int) -> None:
    """n more rows like the given hazard (the register only reads the read model)."""
    from app.extensions import db
    from app.models import Hazard

    with app.app_context():
        source = db.session.get(Hazard, hazard_id)
        columns = {c.key: getattr(source, c.key) for c in Hazard.__table__.columns if c.key not in ("id", "number", "instance_id")}
        db.session.add_all(Hazard(**dict(columns, number=f"COPY{i:04d}", title=f"副本{i}")) for i in range(n))
        db.session.commit()


def test_lists_count_up_to_the_cap_and_then_show_a_lower_bound(app, api, pages):
    officer = api.as_("officer_a")
    for n in range(3):
        api_report(officer, title=f"隐患{n}")
    app.config["LIST_COUNT_CAP"] = 2

    body = officer.get("/hazards?per_page=1").get_json()
    assert (body["total"], body["total_capped"], body["has_next"], len(body["items"])) == (2, True, True, 1)
    assert body["pages"] == 2  # the pages known to exist
    body = officer.get("/hazards?per_page=1&page=3").get_json()  # the last page: its rows tell the total
    assert (body["total"], body["total_capped"], body["has_next"], len(body["items"])) == (3, False, False, 1)
    body = officer.get("/tasks?per_page=2").get_json()
    assert (body["total"], body["total_capped"], body["has_next"], len(body["items"])) == (2, True, True, 2)
    body = officer.get("/tasks?per_page=2&page=2").get_json()
    assert (body["total"], body["total_capped"], body["has_next"], len(body["items"])) == (3, False, False, 1)

    pages.login("officer_a")
    assert re.search(r'data-total="3" data-capped="false">共 3 条隐患。', text(pages.get("/hazards")))
    copies(app, body["items"][0]["hazard"]["id"], 20)
    html = text(pages.get("/hazards"))  # 23 hazards, 20 a page
    assert re.search(r'id="register-total" data-total="2" data-capped="true">共 2\+ 条隐患。', html)
    assert html.count('<tr data-hazard-id="') == 20 and 'data-capped="true"' in html.split('id="register-table"')[1]
    assert "下一页" in html
    html = text(pages.get("/hazards?page=2"))
    assert html.count('<tr data-hazard-id="') == 3 and 'data-total="23" data-capped="false"' in html

    app.config["LIST_COUNT_CAP"] = 30
    body = officer.get("/hazards?per_page=1").get_json()
    assert (body["total"], body["total_capped"], body["pages"]) == (23, False, 23)
    app.config["LIST_COUNT_CAP"] = 0  # 0: count everything
    assert officer.get("/tasks?per_page=1").get_json()["total_capped"] is False
    spec = api.get("/openapi.json").get_json()
    assert "total_capped" in spec["components"]["schemas"]["HazardPage"]["properties"]


def test_a_capped_pagination_offers_next_without_a_last_page(app):
    def links(page: Page) -> list[str]:
        with app.test_request_context("/hazards?status=reported"):
            html = str(app.jinja_env.get_template("_macros.html").module.pagination(page, "hazards.register"))
        return re.findall(r'class="page-link"[^>]*>([^<]+)<', html)

    assert links(Page([], 10_000, 1, 20, capped=True, has_next=True)) == ["‹ 上一页", "1", "2", "…", "下一页 ›"]
    assert links(Page([], 10_000, 7, 20, capped=True, has_next=True)) == [
        "‹ 上一页", "1", "…", "5", "6", "7", "8", "…", "下一页 ›"]
    assert links(Page([], 10_000, 900, 20, capped=True, has_next=False))[-3:] == ["899", "900", "下一页 ›"]
    assert links(Page([], 45, 1, 20)) == ["‹ 上一页", "1", "2", "3", "下一页 ›"]  # exact: the last page shows
