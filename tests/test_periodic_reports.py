"""The enterprise's quarterly and annual hazard report (issue 14): opened once per enterprise and period, prepared
from the statistics by the safety officer, signed (or sent back) by the principal, late after its due date, seen and
reminded by the supervising unit of its jurisdiction only. Time moves through the application's clock."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, HumanTask, Notification, Organisation, PeriodicReport, TaskStatus, User
from app.services import forms, periodic_reports, statistics, tasks
from app.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.deadline_steps import deadline_of, move_to, tick

ENT_A = "宏达机械制造有限公司"


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _report_of(enterprise: str, period: str = "2026Q4") -> PeriodicReport:
    return db.session.scalar(select(PeriodicReport).join(Organisation, Organisation.id == PeriodicReport.enterprise_id)
                             .where(Organisation.name == enterprise, PeriodicReport.period == period))


def _told(username: str, kind: str) -> list[dict]:
    user = _user(username)
    return [dict(json.loads(n.params), link=n.link) for n in db.session.scalars(
        select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
        .order_by(Notification.id))]


def _chain(report: PeriodicReport) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.chain == f"report:{report.id}")
                                   .order_by(AuditEvent.seq)))


def _open_task(report: PeriodicReport) -> HumanTask | None:
    return db.session.scalar(select(HumanTask).where(HumanTask.report_id == report.id,
                                                     HumanTask.status == TaskStatus.open))


def test_periods_and_their_due_dates():
    assert periodic_reports.parse_period("2026q4") == periodic_reports.Period(
        "2026Q4", date(2026, 10, 1), date(2026, 12, 31), date(2027, 1, 15))
    assert periodic_reports.parse_period("2026Q1").due == date(2026, 4, 15)
    assert periodic_reports.parse_period(" 2026 ").due == date(2027, 1, 31)
    for bad in ("", "2026Q5", "26Q1", "2026-Q1", None, "1999"):
        with pytest.raises(ValidationFailed):
            periodic_reports.parse_period(bad)
    assert [p.key for p in periodic_reports.ended_periods(date(2027, 1, 1))] == ["2026Q4", "2026"]
    assert [p.key for p in periodic_reports.ended_periods(date(2026, 7, 20))] == ["2026Q2"]


def test_opening_a_period_is_idempotent_one_report_per_enterprise(app, runner):
    result = runner.invoke(args=["reports", "open", "--period", "2026Q4"])
    assert result.exit_code == 0, result.output
    assert "3 reports opened" in result.output
    again = runner.invoke(args=["reports", "open", "--period", "2026q4"])
    assert "0 reports opened" in again.output
    bad = runner.invoke(args=["reports", "open", "--period", "Q4"])
    assert bad.exit_code != 0 and "2026Q4" in bad.output
    with app.app_context():
        assert periodic_reports.open_period("2026Q4") == 0
        assert db.session.scalar(select(func.count()).select_from(PeriodicReport)) == 3
        report = _report_of(ENT_A)
        assert (report.status.value, report.due_date, report.late) == ("preparing", date(2027, 1, 15), False)
        task = _open_task(report)
        assert (task.spec_name, task.role.value, task.organisation_id, task.hazard_id) == (
            "prepare", "officer", report.enterprise_id, None)
        assert task.due_at == deadline_of("2027-01-15")
        assert _chain(report) == ["report_opened"]
        assert [n["period"] for n in _told("officer_a", "report_task")] == ["2026Q4"]
        assert not _told("principal_a", "report_task")


def test_prepare_from_the_statistics_sign_and_submit(app):
    with app.app_context():
        from app.services.demo import seed_hazards

        seed_hazards()
        periodic_reports.open_period("2026Q4")
        report = _report_of(ENT_A)
        officer, principal = _user("officer_a"), _user("principal_a")
        view = periodic_reports.report_view(officer, report.id)
        expected = statistics.enterprise_figures(report.enterprise_id, date(2026, 10, 1), date(2026, 12, 31))
        assert expected.found >= 3 and view.figures["found"] == expected.found
        assert view.figures["fixed"] == expected.fixed and view.figures["rate"] == expected.rate
        [step] = view.open_tasks
        assert tasks.may_act(officer, step) and forms.task_form(step).key == "report_prepare"
        assert not tasks.may_act(principal, periodic_reports.report_view(principal, report.id).open_tasks[0])

        with pytest.raises(ValidationFailed) as refused:
            periodic_reports.complete_step(officer, report.id, {"remarks": "x"})
        assert "figures_checked" in refused.value.fields
        with pytest.raises(Forbidden):
            periodic_reports.complete_step(principal, report.id, {"figures_checked": True})

        periodic_reports.complete_step(officer, report.id, {"figures_checked": True, "remarks": "四季度专项检查"})
        report = _report_of(ENT_A)
        assert report.status.value == "signing" and report.remarks == "四季度专项检查"
        assert json.loads(report.figures)["found"] == expected.found
        assert _told("principal_a", "report_task")[-1]["step"] == "主要负责人签字"

        periodic_reports.complete_step(principal, report.id, {"sign_decision": "approve"})
        report = _report_of(ENT_A)
        assert report.status.value == "submitted" and report.submitted_at is not None
        assert report.signed_by_id == principal.id and not report.late
        assert _open_task(report) is None
        assert _chain(report) == ["report_opened", "task_completed", "task_completed"]
        with pytest.raises(Conflict):
            periodic_reports.complete_step(principal, report.id, {"sign_decision": "approve"})
        from app.services import audit
        assert audit.verify()[1] == []


def test_the_principal_sends_it_back_with_a_reason(app):
    with app.app_context():
        periodic_reports.open_period("2026Q4")
        report = _report_of(ENT_A)
        officer, principal = _user("officer_a"), _user("principal_a")
        periodic_reports.complete_step(officer, report.id, {"figures_checked": True})
        with pytest.raises(ValidationFailed) as refused:
            periodic_reports.complete_step(principal, report.id, {"sign_decision": "return"})
        assert "return_reason" in refused.value.fields
        periodic_reports.complete_step(principal, report.id, {"sign_decision": "return",
                                                              "return_reason": "资金数据需核实"})
        report = _report_of(ENT_A)
        assert report.status.value == "preparing" and report.return_reason == "资金数据需核实"
        assert _open_task(report).spec_name == "prepare"
        assert _told("officer_a", "report_returned")[-1]["step"] == "编制报表"
        periodic_reports.complete_step(officer, report.id, {"figures_checked": True, "remarks": "已核实"})
        periodic_reports.complete_step(principal, report.id, {"sign_decision": "approve"})
        assert _report_of(ENT_A).status.value == "submitted"


def test_past_the_15th_the_report_is_late_and_the_enterprise_is_told(app):
    with app.app_context():
        periodic_reports.open_period("2026Q4")
        db.session.remove()
    move_to(deadline_of("2027-01-15") - timedelta(minutes=1))
    tick(app)
    with app.app_context():
        assert not _report_of(ENT_A).late, "due by the end of the 15th, China time: not yet late"
    move_to(deadline_of("2027-01-16"))
    tick(app)
    with app.app_context():
        report = _report_of(ENT_A)
        assert report.late and report.status.value == "preparing"
        assert [n["period"] for n in _told("officer_a", "report_overdue")] == ["2026Q4"]
        assert [n["period"] for n in _told("principal_a", "report_overdue")] == ["2026Q4"]
        assert not _told("officer_b", "report_overdue") or _report_of("绿源化工有限公司").late
        assert "report_late" in _chain(report)
        # Still to be done, and stays late once submitted (told once only).
        periodic_reports.complete_step(_user("officer_a"), report.id, {"figures_checked": True})
        periodic_reports.complete_step(_user("principal_a"), report.id, {"sign_decision": "approve"})
        report = _report_of(ENT_A)
        assert report.status.value == "submitted" and report.late
        assert len(_told("officer_a", "report_overdue")) == 1


def test_the_bureau_sees_its_jurisdiction_and_reminds(app):
    with app.app_context():
        periodic_reports.open_period("2026Q4")
        ent_a, ent_b = _report_of(ENT_A), _report_of("绿源化工有限公司")
        officer, principal = _user("officer_a"), _user("principal_a")
        periodic_reports.complete_step(officer, ent_a.id, {"figures_checked": True})
        periodic_reports.complete_step(principal, ent_a.id, {"sign_decision": "approve"})
        bureau = periodic_reports.overview(_user("inspector"), "2026Q4")
        assert bureau.counts == {"submitted": 1, "late": 0, "pending": 2}
        west = periodic_reports.overview(_user("inspector_west"), "2026Q4")
        assert [r.enterprise.name for r in west.page.items] == ["绿源化工有限公司"]
        assert west.counts == {"submitted": 0, "late": 0, "pending": 1}

        # Scoping: another enterprise, another district's station.
        with pytest.raises(NotFound):
            periodic_reports.visible_report(_user("officer_b"), ent_a.id)
        with pytest.raises(NotFound):
            periodic_reports.visible_report(_user("inspector_west"), ent_a.id)
        with pytest.raises(NotFound):
            periodic_reports.remind(_user("inspector_west"), "2026Q4", ent_a.id)
        with pytest.raises(Forbidden):
            periodic_reports.remind(officer, "2026Q4", ent_b.id)
        assert [r.enterprise_id for r in periodic_reports.list_reports(officer).items] == [ent_a.enterprise_id]
        with pytest.raises(Conflict):
            periodic_reports.remind(_user("inspector"), "2026Q4", ent_a.id)  # submitted

        assert periodic_reports.remind(_user("inspector_west"), "2026Q4", ent_b.id) == 1
        assert _told("officer_b", "report_reminder")[-1]["by"] == "吴检查（西山镇站）"
        assert _told("principal_b", "report_reminder")
        assert not _told("officer_c", "report_reminder")
        assert periodic_reports.remind(_user("inspector"), "2026Q4") == 0  # nobody late yet
        db.session.remove()
    move_to(deadline_of("2027-01-16"))
    tick(app)
    with app.app_context():
        assert periodic_reports.overview(_user("inspector"), "2026Q4").counts == {
            "submitted": 1, "late": 2, "pending": 0}
        assert periodic_reports.remind(_user("inspector_west"), "2026Q4") == 1  # its late one only
        assert periodic_reports.remind(_user("inspector"), "2026Q4") == 2
        assert len(_told("officer_c", "report_reminder")) == 1
        assert len(_told("officer_b", "report_reminder")) == 3
        assert "report_reminded" in _chain(_report_of("绿源化工有限公司"))


def test_the_scheduler_opens_the_ended_periods_once(app):
    app.config["REPORTS_OPEN_AUTOMATICALLY"] = True
    periodic_reports._opened_in_process.clear()
    move_to(deadline_of("2027-01-01"))
    tick(app)
    tick(app)
    with app.app_context():
        periods = sorted(db.session.scalars(select(PeriodicReport.period)))
        assert periods == ["2026"] * 3 + ["2026Q4"] * 3
        annual = _report_of(ENT_A, "2026")
        assert annual.due_date == date(2027, 1, 31)
    periodic_reports._opened_in_process.clear()
    tick(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PeriodicReport)) == 6


# ------------------------------------------------------------------------------------------------ pages
def _step_action(page: str, report_id: int) -> str:
    """Where the page's (only) open step is sent."""
    [action] = re.findall(rf'action="(/reports/{report_id}/steps/\d+)"', page)
    return action


def test_pages_prepare_sign_and_the_bureau_overview(app, client):
    from tests.deadline_steps import Person

    with app.app_context():
        periodic_reports.open_period("2026Q4")
        report_id = _report_of(ENT_A).id
        other_id = _report_of("绿源化工有限公司").id
        db.session.remove()
    officer = Person(client, "officer_a")
    page = officer.get("/reports").get_data(as_text=True)
    assert f'data-report="{report_id}"' in page and f'data-report="{other_id}"' not in page
    assert officer.get(f"/reports/{other_id}").status_code == 404
    page = officer.get(f"/reports/{report_id}").get_data(as_text=True)
    step = _step_action(page, report_id)
    assert 'id="report-form-' in page and 'data-figure="found"' in page
    refused = officer.post(step, {"remarks": "x"})
    assert refused.status_code == 422
    done = officer.post(step, {"figures_checked": "on", "remarks": "无"})
    assert done.status_code == 302, done.get_data(as_text=True)[:1500]

    client.post("/logout", data={"csrf_token": officer.token})
    principal = Person(client, "principal_a")
    page = principal.get(f"/reports/{report_id}").get_data(as_text=True)
    step = _step_action(page, report_id)
    assert 'id="report-form-' in page
    assert principal.post(step, {"sign_decision": "approve"}).status_code == 302
    assert principal.post("/reports/remind", {"period": "2026Q4"}).status_code == 403
    assert principal.post(step, {"sign_decision": "approve"}).status_code == 409

    client.post("/logout", data={"csrf_token": principal.token})
    inspector = Person(client, "inspector_west")
    page = inspector.get("/reports?period=2026Q4").get_data(as_text=True)
    assert f'data-report="{other_id}"' in page and f'data-report="{report_id}"' not in page
    assert inspector.get("/reports?period=2026Q9").status_code == 422
    assert inspector.get(f"/reports/{report_id}").status_code == 404
    assert inspector.post("/reports/remind", {"period": "2026Q4", "report_id": str(report_id)}).status_code == 404
    sent = inspector.post("/reports/remind", {"period": "2026Q4", "report_id": str(other_id)})
    assert sent.status_code == 302
    with app.app_context():
        assert _told("officer_b", "report_reminder")


def test_reminders_before_the_due_date_then_none_once_submitted(app):
    with app.app_context():
        periodic_reports.open_period("2026Q4")
        db.session.remove()
    move_to(deadline_of("2027-01-12"))  # three days before the end of the 15th
    tick(app)
    with app.app_context():
        assert [(n["period"], n["days"]) for n in _told("officer_a", "report_due_soon")] == [("2026Q4", 3)]
        assert [n["days"] for n in _told("principal_a", "report_due_soon")] == [3]
        report = _report_of(ENT_A)
        assert "deadline_reminder" in _chain(report)
        # Prepared: the step moves to the principal, the reminders stay planned once per due date.
        periodic_reports.complete_step(_user("officer_a"), report.id, {"figures_checked": True})
        ent_b = _report_of("绿源化工有限公司")
        periodic_reports.complete_step(_user("officer_b"), ent_b.id, {"figures_checked": True})
        periodic_reports.complete_step(_user("principal_b"), ent_b.id, {"sign_decision": "approve"})
        db.session.remove()
    move_to(deadline_of("2027-01-14"))
    tick(app)
    with app.app_context():
        assert [n["days"] for n in _told("officer_a", "report_due_soon")] == [3, 1]
        assert [n["days"] for n in _told("officer_b", "report_due_soon")] == [3], "submitted: no more reminders"
        assert not _report_of(ENT_A).late


def test_a_reports_task_is_claimed_but_not_done_through_the_hazard_task_api(app, api):
    """Claim and release work for every subject's task (issue 15 follow-up); completing is the report's own."""
    with app.app_context():
        periodic_reports.open_period("2026Q4")
        task_id = _open_task(_report_of(ENT_A)).id
        db.session.remove()
    officer = api.as_("officer_a")
    for action in ("claim", "release"):
        assert officer.post(f"/tasks/{task_id}/{action}").status_code == 200
    assert officer.post(f"/tasks/{task_id}/complete", json={"data": {"figures_checked": True}}).status_code == 409
    assert officer.get(f"/tasks/{task_id}").get_json()["subject"]["kind"] == "periodic_report"
    assert api.as_("officer_b").post(f"/tasks/{task_id}/claim").status_code == 404
    with app.app_context():
        assert _report_of(ENT_A).status.value == "preparing"
