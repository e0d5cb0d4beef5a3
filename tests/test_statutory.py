"""Issue 14: the national table (隐患排查治理情况统计表) — a known set of hazards driven through the real services,
every figure of the JSON and of the .xlsx (read back with openpyxl) checked against a hand count, including the
five-in-place counts and the listings by tier; periods, grouping, drill-down, scoping and refused parameters."""
from __future__ import annotations

import re
from html import unescape as html_unescape
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.chinatime import today
from app.extensions import db
from app.models import Region
from app.services import statistics
from tests.deadline_steps import Person, apply_for_acceptance, major_hazard_rectifying, rectify
from tests.helpers import complete, current_task, in_days, report

ASSESS = {"grade": "general", "responsible_person": "张安全", "measures": "加锁"}
FIVE = ("plan_targets", "plan_funds_materials", "plan_organisation", "plan_time_limit", "plan_safety_emergency")


def _general(api, user: str, *, close: bool) -> int:
    person = api.as_(user)
    h = report(person)
    complete(person, current_task(person, h["id"], "assess"), dict(ASSESS, rectification_deadline=in_days(5)))
    if close:
        rectify(api, h["id"])
        principal = api.as_("principal_a")
        complete(principal, current_task(principal, h["id"], "review"), {"review_result": "pass"})
    return h["id"]


def _write_off(api, hazard_id: int) -> None:
    inspector = api.as_("inspector")
    apply_for_acceptance(api, hazard_id)
    complete(inspector, current_task(inspector, hazard_id, "verification"), {
        "verification_result": "pass", "verification_opinion": "合格", "verified_on": in_days(0)})
    complete(inspector, current_task(inspector, hazard_id, "write_off"), {"write_off_document": "销号1号"})


@pytest.fixture
def known(app, api):
    """Seven hazards, all found today:
    - a: general, ent A, closed;   - b: general, ent A, rectifying;   - c: general, ent B (west town), rectifying;
    - d: major, ent A, plan with all five (goal and safety measures given), 180,000 yuan, listed at the district
      tier, written off;
    - e: major, ent A, plan without goal and safety measures, 180,000 yuan, listed at the township tier;
    - f: major, ent A, plan with a goal but no safety measures, 25,000 yuan, listed at the city tier;
    - g: ent C (east, grid 2), not yet assessed;
    - h: major, ent A, plan without goal and safety measures, 180,000 yuan, listed at the provincial tier.
    """
    ids = {"a": _general(api, "officer_a", close=True), "b": _general(api, "officer_a", close=False),
           "c": _general(api, "officer_b", close=False)}
    ids["d"] = major_hazard_rectifying(api, plan_deadline=in_days(30), listed=True, supervision_deadline=in_days(45),
                                       tier="district", plan={"goal": "消除爆炸风险", "safety_measures": "设警戒区"})
    _write_off(api, ids["d"])
    ids["e"] = major_hazard_rectifying(api, plan_deadline=in_days(30), listed=True, supervision_deadline=in_days(45),
                                       tier="township")
    ids["f"] = major_hazard_rectifying(api, plan_deadline=in_days(30), listed=True, supervision_deadline=in_days(45),
                                       tier="city", plan={"goal": "更换线路", "funds": 25000})
    ids["g"] = report(api.as_("officer_c"), source="public_report")["id"]
    ids["h"] = major_hazard_rectifying(api, plan_deadline=in_days(30), listed=True, supervision_deadline=in_days(45),
                                       tier="province")
    return ids, today()


def _table(api, user: str, **params):
    return api.as_(user).get("/reports/statutory", query_string=params)


def _json(api, user: str, **params) -> dict:
    resp = _table(api, user, format="json", **params)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


TOTAL = {"units_checked": 3, "general_found": 3, "general_rectified": 1, "general_rate": round(1 / 3, 4),
         "major_found": 4, "major_written_off": 1, "major_rate": 0.25, "major_planned": 4,
         "plan_targets": 2, "plan_funds_materials": 4, "plan_organisation": 4, "plan_time_limit": 4,
         "plan_safety_emergency": 1, "listed": 4, "listed_province": 1, "listed_city": 1, "listed_district": 1,
         "listed_township": 1, "funds_committed": "56.50"}


def _figures(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("key", "label")}


def test_every_figure_of_the_table_matches_the_hand_count(app, api, known):
    _ids, day = known
    quarter = f"{day.year}Q{(day.month - 1) // 3 + 1}"
    for period in (f"{day.year}-{day.month:02d}", quarter, str(day.year)):
        body = _json(api, "admin", period=period)
        assert _figures(body["total"]) == TOTAL, period
        assert len(body["rows"]) == 1 and _figures(body["rows"][0]) == TOTAL  # one district: D01
    body = _json(api, "admin", period=quarter)
    assert body["period"] == quarter and body["from"] <= day.isoformat() <= body["to"]
    with app.app_context():
        region = {r.code: r.id for r in db.session.scalars(select(Region))}
        assert statistics.differences() == []
    # Drilled into the district: the town of ent A and C, and the west town of ent B.
    towns = {r["key"]: r for r in _json(api, "admin", period=quarter, region=region["D01"])["rows"]}
    assert set(towns) == {region["D01-T01"], region["D01-T02"]}
    east, west = towns[region["D01-T01"]], towns[region["D01-T02"]]
    assert (east["units_checked"], east["general_found"], east["general_rectified"], east["major_found"]) == (2, 2, 1, 4)
    assert [east[k] for k in FIVE] == [2, 4, 4, 4, 1]
    assert [east[f"listed_{tier}"] for tier in ("province", "city", "district", "township")] == [1, 1, 1, 1]
    assert (west["units_checked"], west["general_found"], west["general_rectified"], west["major_found"],
            west["major_planned"], west["listed"], west["funds_committed"]) == (1, 1, 0, 0, 0, 0, "0.00")
    assert west["general_rate"] == 0.0 and west["major_rate"] is None
    # By industry: ents A and B are manufacturing (C), ent C transport (G), with g not yet assessed.
    industries = {r["key"]: r for r in _json(api, "admin", period=quarter, group_by="industry")["rows"]}
    assert set(industries) == {"C", "G"}
    assert _figures(industries["C"]) == {**TOTAL, "units_checked": 2}
    assert industries["G"]["units_checked"] == 1 and industries["G"]["general_found"] == 0
    assert industries["G"]["general_rate"] is None
    # Another period counts nothing.
    empty = _json(api, "admin", period=str(day.year - 1))
    assert empty["rows"] == [] and empty["total"]["units_checked"] == 0 and empty["total"]["general_rate"] is None


def test_the_table_is_scoped_to_the_caller(api, known):
    _ids, day = known
    period = str(day.year)
    assert _figures(_json(api, "inspector", period=period)["total"]) == TOTAL
    west = _json(api, "inspector_west", period=period)["total"]
    assert (west["units_checked"], west["general_found"], west["major_found"]) == (1, 1, 0)
    own = _json(api, "principal_a", period=period)["total"]
    assert (own["units_checked"], own["general_found"], own["major_found"], own["listed"]) == (1, 2, 4, 4)
    resp = _table(api, "officer_a", period=period)
    assert resp.status_code == 403 and resp.get_json()["error"]


def test_the_workbook_lays_out_the_government_table(api, known):
    _ids, day = known
    resp = _table(api, "admin", period=str(day.year), lang="en")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in resp.headers["Content-Disposition"]
    sheet = load_workbook(BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Statistics of hazard investigation and governance"
    assert str(day.year) in rows[1][0]
    # Two header rows: group headings merged over their columns, single columns merged over both rows.
    assert rows[2][:3] == ("Region", "Units checked", "General hazards")
    assert rows[3][2:5] == ("Found", "Rectified", "Rectification rate")
    assert rows[2][8] == "Major hazards in a governance plan" and rows[3][8:14] == (
        "In a plan", "Targets and tasks in place", "Funds and materials in place", "Organisation and people in place",
        "Time limit in place", "Safety measures and emergency plan in place")
    assert rows[2][14] == "Listed for supervision" and rows[3][14:19] == (
        "Total", "Province tier", "City tier", "District tier", "Township tier")
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A3:A4", "B3:B4", "C3:E3", "F3:H3", "I3:N3", "O3:S3", "T3:T4"} <= merged
    expected = [3, 3, 1, round(1 / 3, 4), 4, 1, 0.25, 4, 2, 4, 4, 4, 1, 4, 1, 1, 1, 1, 56.5]
    district, total = rows[4], rows[5]
    assert district[0]  # the district's name
    assert [float(v) for v in district[1:]] == [float(v) for v in expected]
    assert total[0] == "Total" and [float(v) for v in total[1:]] == [float(v) for v in expected]
    assert len(rows) == 6
    # In Chinese by default.
    zh = load_workbook(BytesIO(_table(api, "admin", period=str(day.year), group_by="industry", lang="zh").data)).active
    zh_rows = list(zh.iter_rows(values_only=True))
    assert zh_rows[0][0] == "隐患排查治理情况统计表" and zh_rows[2][:2] == ("行业", "排查单位数")
    assert zh_rows[3][8:14] == ("列入治理计划", "落实治理目标任务", "落实经费物资", "落实机构人员", "落实时间要求",
                                "落实安全措施应急预案")
    assert zh_rows[3][15:19] == ("省级", "市级", "区（县）级", "乡镇（街道）级")


@pytest.mark.parametrize("params, field", [
    ({"period": "2026-13"}, "period"), ({"period": "1999"}, "period"), ({"period": "2026Q5"}, "period"),
    ({"period": "x\x00"}, "period"), ({}, "period"), ({"period": "2026", "group_by": "grade"}, "group_by"),
    ({"period": "2026", "format": "pdf"}, "format"), ({"period": "2026", "region": "99999999999"}, "region")])
def test_bad_parameters_are_named(api, params, field):
    resp = _table(api, "admin", **params)
    assert resp.status_code in (400, 422), resp.get_data(as_text=True)[:500]
    assert field in resp.get_json()["fields"], (params, resp.get_json())


def test_the_page_shows_the_table_with_its_excel_and_print(app, client, known):
    _ids, day = known
    person = Person(client, "inspector")
    page = person.get(f"/statistics/statutory?period={day.year}&lang=zh")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "隐患排查治理情况统计表" in html and 'id="statutory-print"' in html and "statutory-print.css" in html
    total = re.search(r'<tr class="fw-semibold" id="statutory-total"[^>]*>(.*?)</tr>', html, re.DOTALL).group(1)
    cells = dict(re.findall(r'data-field="([a-z_]+)">([^<]*)</td>', total))
    assert {k: cells[k] for k in ("units_checked", "general_found", "major_planned", *FIVE, "listed_province",
                                  "listed_city", "listed_district", "listed_township", "funds_committed")} == {
        "units_checked": "3", "general_found": "3", "major_planned": "4", "plan_targets": "2",
        "plan_funds_materials": "4", "plan_organisation": "4", "plan_time_limit": "4", "plan_safety_emergency": "1",
        "listed_province": "1", "listed_city": "1", "listed_district": "1", "listed_township": "1",
        "funds_committed": "56.50"}
    assert cells["general_rate"] == "33.33%"
    # The Excel button downloads the same table (the page's session, no API token).
    href = html_unescape(re.search(r'id="statutory-xlsx"\s+href="([^"]+)"', html).group(1))
    sheet = load_workbook(BytesIO(person.get(href).data)).active
    assert [float(v) for v in list(sheet.iter_rows(values_only=True))[-1][1:]][:3] == [3, 3, 1]
    # A drill-down link per region opens the table one tier down.
    drill = html_unescape(re.search(r'<th scope="row" class="fw-normal text-nowrap">\s*<a href="([^"]+)"', html).group(1))
    towns = person.get(drill).get_data(as_text=True)
    assert towns.count('<th scope="row"') == 3  # two towns and the total
    # A bad period is named on the form, the current quarter shown meanwhile; others may not see the table.
    bad = person.get("/statistics/statutory?period=2026-13")
    assert bad.status_code == 422 and 'id="period-error"' in bad.get_data(as_text=True)
    assert person.get("/statistics/statutory.xlsx?period=2026-13").status_code == 422
    for user, status in (("principal_a", 200), ("admin", 200), ("officer_a", 403)):
        assert Person(app.test_client(), user).get(f"/statistics/statutory?period={day.year}").status_code == status
    for odd in ("group_by=colour", "region=99999999999999", "period=%FF", "period=x%00"):
        assert person.get(f"/statistics/statutory?{odd}").status_code in (200, 400, 422), odd


def test_a_label_starting_with_an_equals_sign_stays_text_in_the_workbook(app, api):
    """A region's name is text an administrator typed: the workbook keeps it as text, never a formula."""
    report(api.as_("officer_a"))
    with app.app_context():
        district = db.session.scalar(select(Region).where(Region.parent_id.is_(None)))
        district.name = '=HYPERLINK("http://example.com","x")'
        db.session.commit()
        db.session.remove()
    resp = _table(api, "admin", period=str(today().year))
    assert resp.status_code == 200
    cell = load_workbook(BytesIO(resp.data)).active.cell(5, 1)
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://example.com","x")', "s")


def test_the_ledger_and_the_notice_name_every_tier(app, api, client, known):
    """The listed-supervision ledger (page and .xlsx) and the supervision notice show the tier chosen on the
    supervision decision, the provincial and city tiers included."""
    _ids, _day = known
    sheet = load_workbook(BytesIO(api.as_("inspector").get("/ledger/export?lang=zh").data), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][5] == "督办层级"
    assert sorted(r[5] for r in rows[1:]) == sorted(["省级", "市级", "区（县）级", "乡镇（街道）级"])
    en = load_workbook(BytesIO(api.as_("inspector").get("/ledger/export?lang=en").data), read_only=True).active
    assert {r[5] for r in list(en.iter_rows(values_only=True))[1:]} == {
        "Province tier", "City tier", "District tier", "Township tier"}
    page = Person(client, "inspector").get("/ledger?lang=zh").get_data(as_text=True)
    assert "省级" in page and "市级" in page
    with app.app_context():
        from app.services.documents import _choice

        assert [_choice("supervision_decision", "supervision_tier", t)
                for t in ("province", "city", "district", "township")] == ["省级", "市级", "区（县）级", "乡镇（街道）级"]
