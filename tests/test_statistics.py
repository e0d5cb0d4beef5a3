"""Issue 14: the statistics — a known set of hazards driven through the real services, every figure checked by
hand, the rollup checked against a fresh count, the register agreeing with every number, and scoping."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape as html_unescape

import pytest
from sqlalchemy import select

from app.chinatime import today
from app.extensions import db
from app.models import Hazard, Region
from app.services import statistics
from tests.deadline_steps import (
    Person,
    apply_for_acceptance,
    deadline_of,
    major_hazard_rectifying,
    move_to,
    rectify,
    tick,
)
from tests.helpers import complete, current_task, in_days, report

ASSESS = {"grade": "general", "responsible_person": "张安全", "measures": "加锁"}


def _general(api, user: str, deadline: str, **overrides) -> int:
    person = api.as_(user)
    h = report(person, **overrides)
    complete(person, current_task(person, h["id"], "assess"), dict(ASSESS, rectification_deadline=deadline))
    return h["id"]


def _close_general(api, hazard_id: int) -> None:
    rectify(api, hazard_id)
    principal = api.as_("principal_a")
    complete(principal, current_task(principal, hazard_id, "review"), {"review_result": "pass"})


def _major(api, *, listed: bool, write_off: bool) -> int:
    """A major hazard of ent A with its plan (five in place, 180,000 yuan); written off or still rectifying."""
    hazard_id = major_hazard_rectifying(api, plan_deadline=in_days(30), listed=listed,
                                        supervision_deadline=in_days(45) if listed else None)
    if write_off:
        inspector = api.as_("inspector")
        apply_for_acceptance(api, hazard_id)
        complete(inspector, current_task(inspector, hazard_id, "verification"), {
            "verification_result": "pass", "verification_opinion": "合格", "verified_on": in_days(0)})
        complete(inspector, current_task(inspector, hazard_id, "write_off"), {"write_off_document": "销号1号"})
    return hazard_id


@pytest.fixture
def known(app, api):
    """Seven hazards, all found today:
    - a: general, ent A, fixed on time;            - b: general, ent A, fixed three days late;
    - c: general, ent A, overdue now (scheduler);  - d: major, ent A, listed, plan 180,000 yuan, written off;
    - e: major, ent A, not listed, plan 180,000 yuan, rectifying;  - f: ent B (west), not yet assessed;
    - g: general, ent C (east, grid 2), public report, rectifying, not overdue.
    """
    ids = {}
    ids["a"] = _general(api, "officer_a", in_days(5))
    _close_general(api, ids["a"])
    ids["b"] = _general(api, "officer_a", in_days(1), hazard_type="unsafe_behaviour")
    ids["c"] = _general(api, "officer_a", in_days(1))
    ids["d"] = _major(api, listed=True, write_off=True)
    ids["e"] = _major(api, listed=False, write_off=False)
    ids["f"] = report(api.as_("officer_b"), source="public_report")["id"]
    ids["g"] = _general(api, "officer_c", in_days(60), source="public_report")
    found_on = today()
    move_to(deadline_of(in_days(3)) - timedelta(hours=1))
    tick(app)
    api.tokens.clear()
    _close_general(api, ids["b"])
    api.tokens.clear()
    return ids, found_on


def _stats(api, user: str, **params) -> dict:
    resp = api.as_(user).get("/statistics", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _register_ids(api, user: str, path: str) -> set[int]:
    """The hazard ids the register lists for a dashboard link (every page)."""
    ids, page = set(), 1
    while True:
        resp = api.as_(user).get(path + f"&page={page}&per_page=100")
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        ids |= {h["id"] for h in body["items"]}
        if not body.get("has_next"):
            return ids
        page += 1


def test_every_figure_matches_the_hand_count(app, api, known):
    _ids, day = known
    period = {"from": day.isoformat(), "to": (day + timedelta(days=5)).isoformat()}
    total = _stats(api, "admin", group_by="grade", **period)["total"]
    # found 7; fixed a, b, d; on time a, d (no deadline passed: d's plan deadline is 30 days out); overdue c;
    # major d, e; written off d; listed d; five in place d, e; funds 180,000 + 180,000.
    assert {k: total[k] for k in ("found", "fixed", "fixed_on_time", "overdue", "major_found", "major_written_off",
                                  "listed", "five_in_place")} == {
        "found": 7, "fixed": 3, "fixed_on_time": 2, "overdue": 1, "major_found": 2, "major_written_off": 1,
        "listed": 1, "five_in_place": 2}
    assert total["rate"] == round(3 / 7, 4) and total["on_time_rate"] == round(2 / 3, 4)
    assert total["funds_committed"] == "360000.00" and total["funds_spent"] == "0.00"  # none recorded
    by_grade = {r["key"]: r for r in _stats(api, "admin", group_by="grade", **period)["rows"]}
    assert {k: v["found"] for k, v in by_grade.items()} == {"general": 4, "major": 2, "": 1}
    assert by_grade["general"]["fixed"] == 2 and by_grade["general"]["overdue"] == 1
    by_source = {r["key"]: r["found"] for r in _stats(api, "admin", group_by="source", **period)["rows"]}
    assert by_source == {"self_check": 5, "public_report": 2}
    by_industry = {r["key"]: r["found"] for r in _stats(api, "admin", group_by="industry", **period)["rows"]}
    assert by_industry == {"C": 6, "G": 1}
    # A period that ends before the day found counts nothing.
    empty = _stats(api, "admin", **{"from": (day - timedelta(days=30)).isoformat(),
                                    "to": (day - timedelta(days=1)).isoformat()})
    assert empty["total"]["found"] == 0 and empty["rows"] == [] and empty["total"]["rate"] is None
    with app.app_context():
        assert statistics.differences() == []


def test_region_drill_down_and_scoping(app, api, known):
    _ids, day = known
    period = {"from": day.isoformat(), "to": day.isoformat()}
    with app.app_context():
        region = {r.code: r.id for r in db.session.scalars(select(Region))}
    districts = _stats(api, "inspector", group_by="region", **period)["rows"]
    assert [(r["key"], r["found"]) for r in districts] == [(region["D01"], 7)]
    towns = {r["key"]: r["found"] for r in _stats(api, "inspector", group_by="region", region=region["D01"],
                                                  **period)["rows"]}
    assert towns == {region["D01-T01"]: 6, region["D01-T02"]: 1}
    grids = {r["key"]: r["found"] for r in _stats(api, "inspector", group_by="region", region=region["D01-T01"],
                                                  **period)["rows"]}
    assert grids == {region["D01-T01-G01"]: 5, region["D01-T01-G02"]: 1}
    enterprises = _stats(api, "inspector", group_by="region", region=region["D01-T01-G01"], **period)
    assert enterprises["group_by"] == "enterprise" and [r["found"] for r in enterprises["rows"]] == [5]
    # The west station's inspector sees only ent B's hazard; ent A's officer only ent A's.
    assert _stats(api, "inspector_west", **period)["total"]["found"] == 1
    assert _stats(api, "officer_a", **period)["total"]["found"] == 5
    assert _stats(api, "officer_c", **period)["total"]["found"] == 1


def test_found_equals_the_register_total_and_links_list_exactly_the_counted(app, api, known):
    ids, day = known
    period = f"from={day.isoformat()}&to={day.isoformat()}"
    expected = {"found": set(ids.values()), "fixed": {ids["a"], ids["b"], ids["d"]},
                "fixed_on_time": {ids["a"], ids["d"]}, "overdue": {ids["c"]}, "major_found": {ids["d"], ids["e"]},
                "major_written_off": {ids["d"]}, "listed": {ids["d"]}, "five_in_place": {ids["d"], ids["e"]}}
    for outcome, hazards in expected.items():
        assert _register_ids(api, "admin", f"/hazards?{period}&outcome={outcome}") == hazards, outcome
    for user, filters in (("admin", "grade=general"), ("admin", "type=unsafe_behaviour"), ("admin", "industry=G"),
                          ("inspector_west", ""), ("admin", "grade=none"), ("officer_a", "source=self_check")):
        found = _stats(api, user, **dict(p.split("=") for p in f"{period}&{filters}".strip("&").split("&")))
        listed = _register_ids(api, user, f"/hazards?{period}&{filters}")
        assert found["total"]["found"] == len(listed), (user, filters)


def test_bad_parameters_are_named(api, known):
    for params, field in (({"from": "2026-13-01"}, "from"), ({"from": "9999-01-01"}, "from"),
                          ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
                          ({"from": "2024-01-01", "to": "2026-01-01"}, "to"), ({"industry": "9"}, "industry"),
                          ({"group_by": "colour"}, "group_by"), ({"region": "99999999999"}, "region"),
                          ({"from": "x\x00"}, "from")):
        resp = api.as_("admin").get("/statistics", query_string=params)
        assert resp.status_code in (400, 422), resp.get_json()
        assert field in resp.get_json()["fields"], (params, resp.get_json())


def test_rebuild_recounts_the_same_rollup(app, known):
    table = statistics.HazardStatsDaily.__table__
    columns = [*[table.c[k] for k in statistics.KEY], *[table.c[n] for n in statistics.COUNTERS], table.c.industry]
    with app.app_context():
        before = sorted((tuple(r[:7]), tuple(r[7:])) for r in db.session.execute(select(*columns)).all()
                        if any(r[7:-1]))  # a row left at zero by a move is no row after a rebuild
        statistics.rebuild()
        db.session.commit()
        after = sorted((tuple(r[:7]), tuple(r[7:])) for r in db.session.execute(select(*columns)).all())
        assert before == after and statistics.differences() == []
        assert db.session.scalar(select(Hazard.five_in_place).where(Hazard.grade == "major").limit(1)) is True


LINK = re.compile(r'<a href="([^"]+)" class="hl-figure" data-outcome="[a-z_]+">(\d+)</a>')


def test_the_dashboard_numbers_each_open_exactly_their_hazards_in_the_register(app, client, known):
    _ids, day = known
    person = Person(client, "inspector")
    page = person.get(f"/statistics?period=custom&from={day.isoformat()}&to={day.isoformat()}&group_by=grade")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    links = LINK.findall(html)
    assert len(links) > 30 and 'id="card-found"' in html
    for href, number in links:
        register = person.get(html_unescape(href)).get_data(as_text=True)
        total = re.search(r'data-total="(\d+)"', register)
        assert total and total.group(1) == number, (href, number)
    # Drill-down links open the dashboard one tier down; everyone it is for can open it, others cannot.
    towns = person.get(f"/statistics?group_by=region&from={day.isoformat()}&to={day.isoformat()}")
    assert "hl-drill" in towns.get_data(as_text=True)
    for user, status in (("principal_a", 200), ("admin", 200), ("officer_a", 403)):
        assert Person(app.test_client(), user).get("/statistics").status_code == status, user
    for bad in ("from=2026-99-01", "to=9999-01-01", "from=2020-01-01&to=2026-01-01"):
        resp = person.get(f"/statistics?period=custom&{bad}")
        assert resp.status_code == 200 and "is-invalid" in resp.get_data(as_text=True), bad
    for odd in ("to=x%00", "region=99999999999999", "group_by=colour", "period=%FF"):
        assert person.get(f"/statistics?{odd}").status_code in (200, 400, 422), odd


def test_a_change_to_a_hazard_expired_by_a_commit_moves_its_counters_once(app, api):
    """Whatever path changes a hazard (here the ORM directly, after a commit expired it), the rollup follows."""
    hazard_id = _general(api, "officer_a", in_days(5))
    with app.app_context():
        hazard = db.session.get(Hazard, hazard_id)
        db.session.commit()            # expires every attribute
        hazard.overdue = True          # set without reading the old value
        hazard.supervising_unit_id = None
        db.session.commit()
        assert statistics.differences() == []
        hazard = db.session.get(Hazard, hazard_id)
        db.session.commit()
        hazard.grade = "major"         # read first this time
        _ = hazard.status
        db.session.commit()
        assert statistics.differences() == []
        row = db.session.execute(select(statistics.HazardStatsDaily).where(
            statistics.HazardStatsDaily.found > 0)).scalars().all()
        assert [(r.grade, r.overdue, r.supervising_unit_id) for r in row] == [("major", 1, 0)]
