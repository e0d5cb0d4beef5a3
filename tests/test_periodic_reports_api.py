"""The enterprises' quarterly and annual reports through /api/v1/reports/periodic (issue 14): each caller sees the
/reports pages' scope (an enterprise its own, a bureau its jurisdiction; anything else is 404), the filters narrow
the list, a report reads with its figures and the step open now with who may act, reminders are audited and
notified, and a bad value is refused naming its field. Also: a hazard's current steps say who may act and why a
step waits (four-eyes)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Organisation, PeriodicReport, Role, User
from app.services import periodic_reports
from tests.deadline_steps import deadline_of, move_to, tick, told

ENT_A, ENT_B = "宏达机械制造有限公司", "绿源化工有限公司"


def _ids(app, period: str = "2026Q4") -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(select(Organisation.name, PeriodicReport.id)
                                  .join(Organisation, Organisation.id == PeriodicReport.enterprise_id)
                                  .where(PeriodicReport.period == period)).all()
        db.session.remove()
    return dict(rows)


def _open(app, *periods: str) -> None:
    with app.app_context():
        for period in periods:
            periodic_reports.open_period(period)
        db.session.remove()


PREPARE, SIGN = ("officer_a", {"figures_checked": True}), ("principal_a", {"sign_decision": "approve"})


def _steps(app, report_id: int, *steps: tuple[str, dict]) -> None:
    """Do the report's steps through the service, each as (user name, form values)."""
    with app.app_context():
        for username, values in steps:
            user = db.session.scalar(select(User).where(User.username == username))
            periodic_reports.complete_step(user, report_id, values)
        db.session.remove()


def _listed(resp) -> list[int]:
    assert resp.status_code == 200, resp.get_json()
    return sorted(r["id"] for r in resp.get_json()["items"])


def _refused(resp, field: str, status: int = 422) -> dict:
    body = resp.get_json()
    assert resp.status_code == status and field in body["fields"], body
    assert body["request_id"]
    return body


def test_each_caller_sees_its_scope_and_nothing_else(app, api):
    _open(app, "2026Q4")
    ids = _ids(app)
    a, b = ids[ENT_A], ids[ENT_B]
    officer, west, bureau = api.as_("officer_a"), api.as_("inspector_west"), api.as_("inspector")
    assert _listed(officer.get("/reports/periodic")) == [a]
    assert _listed(west.get("/reports/periodic?period=2026Q4")) == [b]
    assert _listed(bureau.get("/reports/periodic?period=2026q4")) == sorted(ids.values())
    # Another enterprise's report, another district's station: as if it did not exist.
    assert officer.get(f"/reports/periodic/{b}").status_code == 404
    assert west.get(f"/reports/periodic/{a}").status_code == 404
    assert api.as_("officer_b").get(f"/reports/periodic/{a}").status_code == 404
    missing = west.post(f"/reports/periodic/{a}/remind")
    assert missing.status_code == 404 and missing.get_json()["request_id"]
    assert officer.get("/reports/periodic/99999").status_code == 404

    detail = officer.get(f"/reports/periodic/{a}?lang=en").get_json()
    assert (detail["period"], detail["due_date"], detail["status"], detail["late"]) == (
        "2026Q4", "2027-01-15", "preparing", False)
    assert detail["enterprise"] == ENT_A and detail["figures_recorded"] is False
    assert set(detail["figures"]) >= {"found", "fixed", "rate", "five_in_place", "funds_committed"}
    assert detail["remarks"] is None and detail["return_reason"] is None
    [step] = detail["current_tasks"]
    assert (step["name"], step["role"], step["who"], step["can_act"], step["waiting"]) == (
        "prepare", "officer", "Safety officer", True, None)
    principal_view = api.as_("principal_a").get(f"/reports/periodic/{a}").get_json()
    assert principal_view["current_tasks"][0]["can_act"] is False
    assert bureau.get(f"/reports/periodic/{a}").get_json()["current_tasks"][0]["can_act"] is False


def test_the_detail_follows_the_steps_prepare_send_back_sign(app, api):
    _open(app, "2026Q4")
    a = _ids(app)[ENT_A]
    _steps(app, a, ("officer_a", {"figures_checked": True, "remarks": "四季度专项检查"}),
           ("principal_a", {"sign_decision": "return", "return_reason": "资金数据需核实"}))
    detail = api.as_("principal_a").get(f"/reports/periodic/{a}").get_json()
    assert detail["status"] == "preparing" and detail["figures_recorded"] is True
    assert detail["remarks"] == "四季度专项检查" and detail["return_reason"] == "资金数据需核实"
    assert [t["name"] for t in detail["current_tasks"]] == ["prepare"]
    _steps(app, a, PREPARE, SIGN)
    detail = api.as_("inspector").get(f"/reports/periodic/{a}").get_json()
    assert detail["status"] == "submitted" and detail["current_tasks"] == [] and detail["submitted_at"]
    assert detail["signed_by_id"] is not None


def test_filters_period_status_late_and_paging(app, api):
    _open(app, "2026Q4", "2026")
    q4, year = _ids(app), _ids(app, "2026")
    _steps(app, q4[ENT_A], PREPARE)
    bureau = api.as_("inspector")
    everything = bureau.get("/reports/periodic").get_json()
    assert everything["total"] == 6 and [r["period"] for r in everything["items"]] == ["2026Q4"] * 3 + ["2026"] * 3
    assert _listed(bureau.get("/reports/periodic?period=2026")) == sorted(year.values())
    assert _listed(bureau.get("/reports/periodic?period=2026Q4&status=signing")) == [q4[ENT_A]]
    assert _listed(bureau.get("/reports/periodic?status=preparing&period=")) == sorted(
        [*year.values(), *(v for k, v in q4.items() if k != ENT_A)])
    assert _listed(bureau.get("/reports/periodic?late=true")) == []
    paged = bureau.get("/reports/periodic?per_page=4&page=2").get_json()
    assert (paged["total"], len(paged["items"]), paged["has_next"]) == (6, 2, False)

    move_to(deadline_of("2027-01-16"))
    tick(app)
    api.tokens.clear()  # the tokens expired meanwhile
    late = _listed(bureau.get("/reports/periodic?late=true"))
    assert late == sorted(q4.values()), "the quarter is late, the year is due by 31 January"
    assert _listed(bureau.get("/reports/periodic?late=false")) == sorted(year.values())
    assert _listed(api.as_("officer_a").get("/reports/periodic?late=true&status=signing")) == [q4[ENT_A]]

    # Bad values are refused naming the field.
    for query, field in (("period=2026Q5", "period"), ("period=Q4", "period"), ("status=late", "status"),
                         ("late=perhaps", "late"), ("page=0", "page"), ("per_page=101", "per_page")):
        _refused(bureau.get(f"/reports/periodic?{query}&lang=en"), field)


def test_reminders_are_audited_and_notified_and_only_for_the_bureau(app, api):
    _open(app, "2026Q4")
    ids = _ids(app)
    a, b = ids[ENT_A], ids[ENT_B]
    west, bureau, officer = api.as_("inspector_west"), api.as_("inspector"), api.as_("officer_a")
    assert officer.post(f"/reports/periodic/{a}/remind").status_code == 403
    assert officer.post("/reports/periodic/remind?period=2026Q4").status_code == 403
    _refused(bureau.post("/reports/periodic/remind"), "period")
    _refused(bureau.post("/reports/periodic/remind?period=2026Q9&lang=en"), "period")

    sent = west.post(f"/reports/periodic/{b}/remind")
    assert sent.status_code == 200 and sent.get_json() == {"reminded": 1}
    assert [n["period"] for n in told(app, "officer_b", "report_reminder")] == ["2026Q4"]
    assert told(app, "principal_b", "report_reminder")
    assert not told(app, "officer_a", "report_reminder")
    assert west.get(f"/reports/periodic/{b}").get_json()["last_reminded_at"]
    assert bureau.post("/reports/periodic/remind?period=2026Q4").get_json() == {"reminded": 0}  # none late yet

    move_to(deadline_of("2027-01-15") + timedelta(seconds=2))
    tick(app)
    api.tokens.clear()  # the tokens expired meanwhile
    assert west.post("/reports/periodic/remind?period=2026q4").get_json() == {"reminded": 1}
    assert bureau.post("/reports/periodic/remind?period=2026Q4").get_json() == {"reminded": len(ids)}
    assert len(told(app, "officer_b", "report_reminder")) == 3
    assert len(told(app, "officer_a", "report_reminder")) == 1
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.chain == f"report:{b}")))
        assert actions.count("report_reminded") == 3
        db.session.remove()

    _steps(app, a, PREPARE, SIGN)
    done = bureau.post(f"/reports/periodic/{a}/remind")
    assert done.status_code == 409 and done.get_json()["request_id"]


def test_a_hazards_current_steps_say_who_may_act_and_why_a_step_waits(app, api):
    from tests.helpers import complete, current_task
    from tests.test_roles import at_write_off, deploy, with_approval

    deploy(app, with_approval())
    head = api.as_("bureau_head")
    h = at_write_off(api, app)
    step = next(t for t in api.as_("inspector").get(f"/hazards/{h}?lang=en").get_json()["current_tasks"])
    assert (step["name"], step["who"], step["lane"], step["waiting"], step["excluded_user_id"]) == (
        "write_off", "Inspector", None, None, None)
    assert step["can_act"] is True
    complete(head, current_task(head, h, "write_off"), {"write_off_document": "销号〔2026〕5号"})
    detail = head.get(f"/hazards/{h}?lang=en").get_json()
    waiting = next(t for t in detail["current_tasks"] if t["name"] == "bureau_approval")
    with app.app_context():
        head_id = db.session.scalar(select(User.id).where(User.username == "bureau_head"))
        db.session.remove()
    assert waiting["lane"] == "bureau head" and waiting["who"] == "bureau head"
    assert waiting["excluded_user_id"] == head_id and waiting["can_act"] is False
    assert "different person from 郑局长（区应急局）" in waiting["waiting"]


def test_moving_an_enterprise_moves_its_open_reports_and_leaves_the_submitted_ones(app, api, client):
    from app.services import audit
    from tests.deadline_steps import Person
    from tests.test_admin_orgs_api import add_user, org_id, patch, region_id

    with app.app_context():
        add_user("inspector_east", Role.inspector, org_id("东湖街道安全生产监管站"))
        east_unit, west_unit = org_id("东湖街道安全生产监管站"), org_id("西山镇安全生产监管站")
        west_grid, ent_id = region_id("D01-T02-G01"), org_id(ENT_A)
        db.session.remove()
    _open(app, "2026Q3", "2026Q4")
    filed, still_open = _ids(app, "2026Q3")[ENT_A], _ids(app, "2026Q4")[ENT_A]
    _steps(app, filed, PREPARE, SIGN)
    east, west = api.as_("inspector_east"), api.as_("inspector_west")
    assert still_open in _listed(east.get("/reports/periodic"))
    assert still_open not in _listed(west.get("/reports/periodic"))

    moved = patch(api.as_("admin"), f"/admin/enterprises/{ent_id}", json={"region_id": west_grid})
    assert moved.status_code == 200 and moved.get_json()["supervising_unit_id"] == west_unit

    after = _listed(east.get("/reports/periodic"))
    assert filed in after and still_open not in after, "the submitted report stays where it was filed"
    assert still_open in _listed(west.get("/reports/periodic?period=2026Q4"))
    assert filed not in _listed(west.get("/reports/periodic"))
    assert west.get(f"/reports/periodic/{still_open}").status_code == 200
    assert east.get(f"/reports/periodic/{still_open}").status_code == 404
    person = Person(client, "inspector_west")
    page = person.get("/reports?period=2026Q4").get_data(as_text=True)
    assert f'data-report="{still_open}"' in page
    client.post("/logout", data={"csrf_token": person.token})
    page = Person(client, "inspector_east").get("/reports?period=2026Q4").get_data(as_text=True)
    assert f'data-report="{still_open}"' not in page
    with app.app_context():
        units = dict(db.session.execute(select(PeriodicReport.id, PeriodicReport.supervising_unit_id)
                                        .where(PeriodicReport.id.in_([filed, still_open]))).all())
        assert units == {filed: east_unit, still_open: west_unit}
        chain = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.chain == f"report:{still_open}")
                                        .order_by(AuditEvent.seq)))
        assert chain[-1] == "supervision_moved"
        assert "supervision_moved" not in db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.chain == f"report:{filed}")).all()
        assert audit.verify()[1] == []
        db.session.remove()
