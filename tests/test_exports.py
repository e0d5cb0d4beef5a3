"""Issue 14: the streamed Excel exports — the register's rows for a filter equal the register's own, another
enterprise's hazards never appear, the column headings in Chinese and English, the listed-supervision ledger
(挂牌督办台账), and the temporary file gone once sent."""
from __future__ import annotations

import glob
import os
import re
import tempfile
from html import unescape as html_unescape
from io import BytesIO

import pytest
from openpyxl import load_workbook

from app.chinatime import today
from tests.deadline_steps import Person, apply_for_acceptance, major_hazard_rectifying
from tests.helpers import complete, current_task, in_days, report

ASSESS = {"grade": "general", "responsible_person": "张安全", "measures": "加锁"}
ZH_HEADERS = ("编号", "隐患", "隐患部位", "企业", "状态", "等级", "已逾期", "挂牌", "期限", "责任人", "登记时间")
EN_HEADERS = ("Number", "Hazard", "Location", "Enterprise", "Status", "Grade", "Overdue", "Listed", "Deadline",
              "Responsible", "Reported")


def _rows(data: bytes) -> list[tuple]:
    """The sheet's rows, each as wide as the header row (empty cells at the end are not written)."""
    rows = list(load_workbook(BytesIO(data), read_only=True).active.iter_rows(values_only=True))
    return [tuple(row) + (None,) * (len(rows[0]) - len(row)) for row in rows]


@pytest.fixture
def known(app, api):
    """ent A: two general hazards (one by another title), a major one listed at the district tier and written
    off, a major one listed at the township tier; ent B: one general; ent C: one not yet assessed."""
    officer = api.as_("officer_a")
    ids = {}
    for key, title in (("a1", "配电箱门未关"), ("a2", "消防通道堆物")):
        ids[key] = report(officer, title=title)["id"]
        complete(officer, current_task(officer, ids[key], "assess"), dict(ASSESS, rectification_deadline=in_days(5)))
    ids["d"] = major_hazard_rectifying(api, plan_deadline=in_days(30), listed=True, supervision_deadline=in_days(45),
                                       tier="district")
    inspector = api.as_("inspector")
    apply_for_acceptance(api, ids["d"])
    complete(inspector, current_task(inspector, ids["d"], "verification"), {
        "verification_result": "pass", "verification_opinion": "合格", "verified_on": in_days(0)})
    complete(inspector, current_task(inspector, ids["d"], "write_off"), {"write_off_document": "销号1号"})
    ids["e"] = major_hazard_rectifying(api, plan_deadline=in_days(30), listed=True, supervision_deadline=in_days(40),
                                       tier="township")
    officer_b = api.as_("officer_b")
    ids["b"] = report(officer_b, title="叉车超速")["id"]
    complete(officer_b, current_task(officer_b, ids["b"], "assess"), dict(ASSESS, rectification_deadline=in_days(3)))
    ids["c"] = report(api.as_("officer_c"), title="货车违停")["id"]
    return ids


def _register_numbers(api, user: str, query: str) -> list[str]:
    numbers, page = [], 1
    while True:
        body = api.as_(user).get(f"/hazards?{query}&page={page}&per_page=100").get_json()
        numbers += [h["number"] for h in body["items"]]
        if not body.get("has_next"):
            return numbers
        page += 1


def test_the_export_holds_exactly_the_registers_rows_in_its_order(api, known):
    for user, query in (("admin", "grade=general"), ("admin", "sort=deadline"), ("inspector", "q=配电"),
                        ("admin", f"from={today().isoformat()}&outcome=listed"), ("inspector_west", ""),
                        ("officer_a", "status=rectifying")):
        resp = api.as_(user).get(f"/hazards/export?{query}")
        assert resp.status_code == 200, (user, query, resp.get_data(as_text=True)[:300])
        assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        rows = _rows(resp.data)
        assert [r[0] for r in rows[1:]] == _register_numbers(api, user, query), (user, query)


def test_an_enterprise_exports_only_its_own(api, known):
    everything = {r[0] for r in _rows(api.as_("admin").get("/hazards/export").data)[1:]}
    own = _rows(api.as_("officer_a").get("/hazards/export").data)[1:]
    assert len(everything) == 6 and len(own) == 4
    assert {r[3] for r in own} == {own[0][3]}  # one enterprise's name
    other = _rows(api.as_("officer_b").get("/hazards/export").data)[1:]
    assert [r[1] for r in other] == ["叉车超速"]
    assert not {r[0] for r in own} & {r[0] for r in other}


def test_headings_and_values_in_chinese_and_in_english(api, known):
    zh = _rows(api.as_("admin").get("/hazards/export?grade=major&lang=zh").data)
    assert zh[0] == ZH_HEADERS
    assert {r[5] for r in zh[1:]} == {"重大隐患"} and {r[7] for r in zh[1:]} == {"是"}
    en = _rows(api.as_("admin").get("/hazards/export?grade=major&lang=en").data)
    assert en[0] == EN_HEADERS
    assert {r[5] for r in en[1:]} == {"Major hazard"} and {r[6] for r in en[1:]} == {"No"}
    assert all(r[10] == today() or getattr(r[10], "date", lambda: None)() == today() for r in en[1:])


def test_the_ledger_lists_the_listed_hazards_with_notice_tier_deadline_and_write_off(api, known):
    rows = _rows(api.as_("inspector").get("/ledger/export?lang=zh").data)
    assert rows[0] == ("编号", "隐患", "企业", "督办文号", "挂牌单位", "督办层级", "督办期限", "责任人", "状态", "销号日期")
    by_tier = {r[5]: r for r in rows[1:]}
    assert set(by_tier) == {"区（县）级", "乡镇（街道）级"} and len(rows) == 3
    district, township = by_tier["区（县）级"], by_tier["乡镇（街道）级"]
    assert district[3] == "示应急督〔2026〕12号" and district[4] and district[7] == "李厂长"
    assert _day(district[9]) == today() and township[9] is None
    assert _day(township[6]).isoformat() == in_days(40)
    # Enterprise B has no listed hazard; enterprise A's principal sees its own two.
    assert len(_rows(api.as_("officer_b").get("/ledger/export").data)) == 1
    assert len(_rows(api.as_("principal_a").get("/ledger/export").data)) == 3


def _day(value):
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def test_the_pages_offer_the_exports_and_leave_no_file_behind(app, client, known):
    pattern = os.path.join(tempfile.gettempdir(), "hazardloop-export-*")
    before = set(glob.glob(pattern))
    person = Person(client, "inspector")
    html = person.get("/hazards?grade=general&sort=deadline").get_data(as_text=True)
    href = html_unescape(re.search(r'id="register-export" href="([^"]+)"', html).group(1))
    assert "grade=general" in href and "sort=deadline" in href
    resp = person.get(href)
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    assert [r[0] for r in _rows(resp.data)[1:]] == _register_numbers_page(html)
    ledger = person.get("/ledger").get_data(as_text=True)
    assert ledger.count("data-hazard-id=") == 2 and "示应急督〔2026〕12号" in ledger
    export = person.get(html_unescape(re.search(r'id="ledger-export" href="([^"]+)"', ledger).group(1)))
    assert len(_rows(export.data)) == 3
    empty = Person(app.test_client(), "principal_b").get("/ledger").get_data(as_text=True)
    assert 'id="ledger-empty"' in empty
    assert person.get("/hazards/export.xlsx?from=2026-99-01").status_code == 422
    assert set(glob.glob(pattern)) == before  # every export's temporary file is gone once sent


def _register_numbers_page(html: str) -> list[str]:
    table = html.split('id="register-table"')[1]
    return re.findall(r'<td data-label="[^"]+" class="text-nowrap"><a href="[^"]+">([^<]+)</a></td>', table)
