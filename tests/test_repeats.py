"""Issue 14: repeat hazards (反复性隐患) — the same fault at the same enterprise (same checklist item, or same
location and type) within REPEAT_HAZARD_WINDOW_DAYS is recognised at report time, linked to its earlier
occurrences, flagged on the detail page, counted in the statistics, and the repeat offenders listed."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape as html_unescape

from sqlalchemy import select

from app.chinatime import today
from app.clock import clock
from app.extensions import db
from app.models import Hazard, HazardRepeat, User
from app.services import hazards, statistics
from tests.deadline_steps import Person, move_to
from tests.helpers import REPORT, report
from tests.test_checklists import make_checklist

PLACE = {"location": "二车间喷涂线", "hazard_type": "unsafe_condition"}


def _links(app, hazard_id: int) -> list[tuple[int, str]]:
    with app.app_context():
        return [(r.earlier_id, r.reason) for r in db.session.scalars(
            select(HazardRepeat).where(HazardRepeat.hazard_id == hazard_id).order_by(HazardRepeat.earlier_id))]


def _number(app, hazard_id: int) -> int | None:
    with app.app_context():
        return db.session.get(Hazard, hazard_id).repeat_number


def test_the_same_location_and_type_within_the_window_is_a_repeat(app, api):
    officer = api.as_("officer_a")
    first = report(officer, title="喷涂线静电接地断开", **PLACE)["id"]
    other_place = report(officer, title="配电箱门未关", location="三车间", hazard_type="unsafe_condition")["id"]
    other_type = report(officer, title="工人未戴防毒面具", location="二车间喷涂线", hazard_type="unsafe_behaviour")["id"]
    move_to(clock.now() + timedelta(days=200))
    api.tokens.clear()
    second = report(officer, title="喷涂线接地线又断", **PLACE)["id"]
    third = report(officer, title="喷涂线接地再次失效", **PLACE)["id"]
    assert [_number(app, h) for h in (first, other_place, other_type)] == [None, None, None]
    assert (_number(app, second), _links(app, second)) == (2, [(first, "location_type")])
    assert (_number(app, third), _links(app, third)) == (3, [(first, "location_type"), (second, "location_type")])
    # The report's audit event names the earlier occurrences.
    detail = officer.get(f"/hazards/{third}").get_json()
    reported = next(e for e in detail["timeline"] if e["action"] == "hazard_reported")
    assert reported["data"]["repeat_of"] == [first, second]


def test_outside_the_window_or_at_another_enterprise_it_is_not(app, api):
    first = report(api.as_("officer_a"), **PLACE)["id"]
    assert _number(app, report(api.as_("officer_b"), **PLACE)["id"]) is None  # another enterprise
    move_to(clock.now() + timedelta(days=366))
    api.tokens.clear()
    late = report(api.as_("officer_a"), **PLACE)["id"]
    assert (_number(app, late), _links(app, late)) == (None, [])
    app.config["REPEAT_HAZARD_WINDOW_DAYS"] = 400  # configurable: a longer window reaches back to the first
    longer = report(api.as_("officer_a"), **PLACE)["id"]
    assert _links(app, longer) == [(first, "location_type"), (late, "location_type")]


def test_the_same_checklist_item_is_a_repeat_wherever_it_was_written_down(app):
    make_checklist(app)
    with app.test_request_context():
        officer = db.session.scalar(select(User).where(User.username == "officer_a"))
        from app.models import Checklist

        items = db.session.scalars(select(Checklist)).one().items
        guard, exit_ = items[0].id, items[1].id
        first = hazards.record_hazard(officer, dict(REPORT, location="一号冲床"), checklist_item_id=guard).id
        other_item = hazards.record_hazard(officer, dict(REPORT, location="消防通道"), checklist_item_id=exit_).id
        again = hazards.record_hazard(officer, dict(REPORT, location="二号冲床"), checklist_item_id=guard).id
        db.session.commit()
        db.session.remove()
    assert _number(app, other_item) is None
    assert (_number(app, again), _links(app, again)) == (2, [(first, "checklist_item")])


def test_the_detail_page_flags_it_and_the_statistics_count_it(app, api, client):
    officer = api.as_("officer_a")
    first = report(officer, **PLACE)["id"]
    second = report(officer, **PLACE)["id"]
    report(api.as_("officer_b"), **PLACE)
    report(api.as_("officer_b"), **PLACE)
    third = report(officer, **PLACE)["id"]
    person = Person(client, "inspector")
    page = person.get(f"/hazards/{third}?lang=zh").get_data(as_text=True)
    assert "反复性隐患：第 3 次" in page
    earlier = re.findall(r'<a href="/hazards/(\d+)" class="hl-repeat-earlier">', page)
    assert earlier == [str(first), str(second)]
    assert 'id="hazard-repeat"' not in person.get(f"/hazards/{first}").get_data(as_text=True)
    # Counted: two repeats at ent A, one at ent B; the register's "repeat" lists exactly them.
    day = today().isoformat()
    total = api.as_("admin").get("/statistics", query_string={"from": day, "to": day}).get_json()["total"]
    assert total["repeat"] == 3
    listed = api.as_("admin").get(f"/hazards?from={day}&to={day}&outcome=repeat&per_page=100").get_json()
    assert len(listed["items"]) == 3 and third in {h["id"] for h in listed["items"]}
    with app.app_context():
        assert statistics.differences() == []
    # The repeat offenders: ent A first (two), then ent B (one), each linking to its repeats in the register.
    offenders = person.get("/statistics/repeats").get_data(as_text=True)
    rows = re.findall(r'<tr data-enterprise-id="(\d+)">.*?data-outcome="repeat" href="([^"]+)">(\d+)</a>', offenders,
                      re.DOTALL)
    assert [count for _e, _h, count in rows] == ["2", "1"]
    register = person.get(html_unescape(rows[0][1])).get_data(as_text=True)
    assert re.search(r'data-total="(\d+)"', register).group(1) == "2"
    assert Person(app.test_client(), "officer_a").get("/statistics/repeats").status_code == 403
    # The dashboard shows the figure too, linking to the same hazards.
    dashboard = person.get(f"/statistics?period=custom&from={day}&to={day}").get_data(as_text=True)
    assert re.search(r'id="card-repeat"><a href="[^"]+" class="hl-figure" data-outcome="repeat">3</a>', dashboard)
