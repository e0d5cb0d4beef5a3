"""A public report's triage is a shipped process (issue 15, bpmn/public_report_triage.bpmn): the answer task reaches
the inspectors of the report's unit (never another unit's, never the enterprise) and their My work, with a
first-answer deadline that reminds and marks overdue as the clock moves; referring issues the task again to the
other unit; accepting opens the hazard; the reward is proposed and decided as tasks; a deployed diagram changes the
deadline of reports received afterwards. My work lists every subject's tasks, and the process library's failing
instances name periodic and public reports too."""
from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from app.clock import clock
from app.extensions import db
from app.models import (
    AuditEvent,
    Hazard,
    HumanTask,
    InstanceStatus,
    Notification,
    Organisation,
    PeriodicReport,
    ProcessInstance,
    ProcessVersion,
    PublicReport,
    Role,
    TaskStatus,
    Timer,
    TimerStatus,
    User,
)
from app.services import designer, header, lifecycle, periodic_reports, public_reports, subjects, tasks
from app.services.policy import may_own
from tests.deadline_steps import move_to, tick
from tests.test_public_reports import ACCEPT, _answer, _csrf, _report_id, _signed_in, _status, send

KEY = lifecycle.TRIAGE_PROCESS


def _user(name: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == name))


def _tasks_of(report_id: int, status: TaskStatus | None = TaskStatus.open) -> list[HumanTask]:
    stmt = sa.select(HumanTask).where(HumanTask.public_report_id == report_id).order_by(HumanTask.id)
    if status is not None:
        stmt = stmt.where(HumanTask.status == status)
    return list(db.session.scalars(stmt))


def _told(username: str, kind: str) -> list[dict]:
    return [dict(json.loads(n.params), link=n.link) for n in db.session.scalars(
        sa.select(Notification).where(Notification.user_id == _user(username).id, Notification.kind == kind)
        .order_by(Notification.id))]


def _chain(report_id: int) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.chain == f"public_report:{report_id}")
                                   .order_by(AuditEvent.seq)))


def _about(moment, expected) -> bool:
    """The same moment but for the milliseconds a step takes."""
    return abs(moment - expected) < timedelta(seconds=5)


def _my_work(app, username: str) -> str:
    return _signed_in(app, username).get("/tasks").get_data(as_text=True)


def test_the_answer_task_reaches_the_units_inspectors_and_their_my_work_never_the_enterprise(app):
    receipt = send(app.test_client(), app)
    report_id = _report_id(app, receipt["tracking_code"])
    with app.app_context():
        report = db.session.get(PublicReport, report_id)
        [task] = _tasks_of(report_id)
        assert report.instance_id is not None and task.instance_id == report.instance_id
        assert (task.role, task.organisation_id, task.form_key) == (Role.inspector, report.supervising_unit_id,
                                                                    "public_triage")
        assert _about(task.due_at, report.created_at + timedelta(days=7))  # the diagram's "P7D"
        assert may_own(_user("inspector"), task) and may_own(_user("bureau_head"), task)
        for other in ("inspector_west", "officer_a", "principal_a"):
            assert not may_own(_user(other), task)
        assert subjects.organisation_for(Role.officer, report) is None  # no enterprise lane for a public report
        assert _chain(report_id)[0] == "triage_started"
        assert [n["code"] for n in _told("inspector", "public_report_received")] == [receipt["tracking_code"]]
        counts = tasks.task_counts(_user("inspector"))
        assert counts.total >= 1 and header.header_counts(_user("inspector")).tasks.total == counts.total
        db.session.remove()
    assert f'href="/public-reports/{report_id}"' in _my_work(app, "inspector")
    for other in ("inspector_west", "officer_a"):
        assert f"/public-reports/{report_id}" not in _my_work(app, other)


def test_a_reminder_before_the_first_answer_deadline_then_overdue(app):
    receipt = send(app.test_client(), app)
    report_id = _report_id(app, receipt["tracking_code"])
    with app.app_context():
        due = _tasks_of(report_id)[0].due_at
        db.session.remove()
    move_to(due - timedelta(days=3) + timedelta(minutes=1))
    tick(app)
    with app.app_context():
        assert [(n["code"], n["days"]) for n in _told("inspector", "public_report_due_soon")] == [
            (receipt["tracking_code"], 3)]
        assert _told("officer_a", "public_report_due_soon") == []
        assert "deadline_reminder" in _chain(report_id)
        assert db.session.get(PublicReport, report_id).overdue_told_at is None
        db.session.remove()
    inspector = _signed_in(app, "inspector")
    assert "hl-overdue" not in inspector.get("/public-reports").get_data(as_text=True)
    move_to(due - timedelta(days=1) + timedelta(minutes=1))
    tick(app)
    move_to(due + timedelta(minutes=1))
    tick(app)
    with app.app_context():
        assert [n["days"] for n in _told("inspector", "public_report_due_soon")] == [3, 1]
        report = db.session.get(PublicReport, report_id)
        assert report.overdue_told_at is not None and "deadline_overdue" in _chain(report_id)
        assert [n["code"] for n in _told("inspector", "public_report_overdue")] == [receipt["tracking_code"]]
        assert _tasks_of(report_id)[0].status == TaskStatus.open  # still to be answered
        db.session.remove()
    assert "hl-overdue" in inspector.get("/public-reports").get_data(as_text=True)
    assert "hl-badge-overdue" in _my_work(app, "inspector")
    # Answered now: no more reminders, the instance moves on.
    assert _answer(inspector, report_id, "reject", outcome="经核查不属实").status_code == 302
    with app.app_context():
        assert db.session.get(PublicReport, report_id).instance.status == InstanceStatus.completed
        pending = db.session.scalar(sa.select(sa.func.count()).select_from(Timer).where(
            Timer.instance_id == db.session.get(PublicReport, report_id).instance_id,
            Timer.status == TimerStatus.pending))
        assert pending == 0


def test_a_referral_issues_the_answer_task_again_to_the_other_units_inspectors(app):
    public = app.test_client()
    receipt = send(public, app)
    report_id = _report_id(app, receipt["tracking_code"])
    with app.app_context():
        west = db.session.scalar(sa.select(Organisation.id).where(Organisation.name == "西山镇安全生产监管站"))
        first = _tasks_of(report_id)[0]
        assert not may_own(_user("inspector_west"), first)
        db.session.remove()
    clock.advance(days=2)
    assert _answer(_signed_in(app, "inspector"), report_id, "refer", unit_id=str(west)).status_code == 302
    with app.app_context():
        report = db.session.get(PublicReport, report_id)
        assert report.supervising_unit_id == west and report.status == "referred"
        done, again = _tasks_of(report_id, None)
        assert done.status == TaskStatus.completed and again.status == TaskStatus.open
        assert again.organisation_id == west and may_own(_user("inspector_west"), again)
        assert _about(again.due_at, clock.now() + timedelta(days=7))  # a new first-answer deadline at the new unit
        assert [n["code"] for n in _told("inspector_west", "public_report_received")] == [receipt["tracking_code"]]
        db.session.remove()
    assert f'href="/public-reports/{report_id}"' in _my_work(app, "inspector_west")
    assert _status(public, receipt)["status"] == "referred"
    # The other unit answers it.
    west_inspector = _signed_in(app, "inspector_west")
    assert _answer(west_inspector, report_id, "reject", outcome="不属本辖区").status_code == 302
    assert _status(public, receipt)["status"] == "rejected"


def test_accept_opens_the_hazard_then_reward_proposal_and_the_bureau_heads_approval_are_tasks(app):
    public = app.test_client()
    receipt = send(public, app)
    report_id = _report_id(app, receipt["tracking_code"])
    inspector = _signed_in(app, "inspector")
    assert _answer(inspector, report_id, "accept", **ACCEPT).status_code == 302
    status = _status(public, receipt)
    assert (status["status"], status["hazard_state"]) == ("accepted", "in_progress")
    with app.app_context():
        report = db.session.get(PublicReport, report_id)
        hazard = db.session.get(Hazard, report.hazard_id)
        assert hazard.source == "public_report" and hazard.enterprise_id == report.enterprise_id
        [propose] = _tasks_of(report_id)
        assert propose.form_key == "public_reward_propose" and not propose.bureau_head
        assert "public_report_answered" in _chain(report_id)
        db.session.remove()
    assert f'href="/public-reports/{report_id}"' in _my_work(app, "inspector")
    token = _csrf(inspector, f"/public-reports/{report_id}")
    assert inspector.post(f"/public-reports/{report_id}/reward", data={
        "csrf_token": token, "reward": "propose", "amount": "300", "reason": "举报属实"}).status_code == 302
    with app.app_context():
        [decide] = _tasks_of(report_id)
        assert decide.form_key == "public_reward_decide" and decide.bureau_head
        assert may_own(_user("bureau_head"), decide) and not may_own(_user("inspector"), decide)
        db.session.remove()
    assert f'href="/public-reports/{report_id}"' in _my_work(app, "bureau_head")
    assert f"/public-reports/{report_id}" not in _my_work(app, "inspector")
    head = _signed_in(app, "bureau_head")
    assert head.post(f"/public-reports/{report_id}/reward/decision", data={
        "csrf_token": _csrf(head, f"/public-reports/{report_id}"), "approve": "1"}).status_code == 302
    assert (_status(public, receipt)["reward"], _status(public, receipt)["reward_amount"]) == ("approved", 30000)
    with app.app_context():
        report = db.session.get(PublicReport, report_id)
        assert report.instance.status == InstanceStatus.completed and _tasks_of(report_id) == []
        assert {"public_reward_proposed", "public_reward_decided"} <= set(_chain(report_id))


def test_an_anonymous_accepted_report_ends_without_a_reward_step(app):
    public = app.test_client()
    receipt = send(public, app, name=None, contact=None)
    report_id = _report_id(app, receipt["tracking_code"])
    assert _answer(_signed_in(app, "inspector"), report_id, "accept", **ACCEPT).status_code == 302
    with app.app_context():
        assert _tasks_of(report_id) == []
        assert db.session.get(PublicReport, report_id).instance.status == InstanceStatus.completed


def test_a_deployed_diagram_with_5_days_changes_a_new_reports_deadline(app):
    public = app.test_client()
    before = _report_id(app, send(public, app)["tracking_code"])
    with app.test_request_context(headers={"Accept-Language": "en"}):
        xml = db.session.scalar(sa.select(ProcessVersion.bpmn_xml).where(ProcessVersion.process_key == KEY,
                                                                          ProcessVersion.active.is_(True)))
        version = designer.deploy(_user("admin"), KEY, xml.replace('"P7D"', '"P5D"'), note="5 days")
        assert version.number == 2 and version.active
        db.session.remove()
    after = _report_id(app, send(public, app, description="危化品仓库夜间无人值守，门锁损坏")["tracking_code"])
    with app.app_context():
        for report_id, days in ((before, 7), (after, 5)):
            report = db.session.get(PublicReport, report_id)
            assert _about(_tasks_of(report_id)[0].due_at, report.created_at + timedelta(days=days))


def test_reports_received_before_the_process_get_their_triage_once(app):
    with app.app_context():
        db.session.execute(sa.update(ProcessVersion).where(ProcessVersion.process_key == KEY).values(active=False))
        db.session.commit()
    report_id = _report_id(app, send(app.test_client(), app)["tracking_code"])
    with app.app_context():
        assert db.session.get(PublicReport, report_id).instance_id is None
        db.session.execute(sa.update(ProcessVersion).where(ProcessVersion.process_key == KEY).values(active=True))
        db.session.commit()
        from app.services import timers

        assert timers.tick().triages_started == 1
        assert timers.tick().triages_started == 0 and public_reports.start_missing_triages() == 0
        assert len(_tasks_of(report_id)) == 1 and db.session.get(PublicReport, report_id).instance_id is not None


def test_periodic_report_tasks_show_in_my_work_linking_to_the_report(app):
    with app.app_context():
        periodic_reports.open_period("2026Q4")
        report_id = db.session.scalar(sa.select(PeriodicReport.id).join(
            Organisation, Organisation.id == PeriodicReport.enterprise_id)
            .where(Organisation.name == "宏达机械制造有限公司"))
        officer = _user("officer_a")
        counts = tasks.task_counts(officer)
        page = tasks.list_tasks(officer)
        assert counts.total == page.total and any(t.report_id == report_id for t, _h in page.items)
        assert header.header_counts(officer).tasks.total == counts.total
        db.session.remove()
    html = _my_work(app, "officer_a")
    assert f'href="/reports/{report_id}"' in html and "2026Q4" in html
    assert f'href="/reports/{report_id}"' not in _my_work(app, "officer_b")


def test_the_failing_instances_list_names_a_broken_periodic_report_and_public_report(app):
    with app.app_context():
        periodic_reports.open_period("2026Q4")
        report = db.session.scalar(sa.select(PeriodicReport).order_by(PeriodicReport.id).limit(1))
        report_id, report_instance = report.id, report.instance_id
        db.session.remove()
    public_id = _report_id(app, send(app.test_client(), app)["tracking_code"])
    with app.app_context():
        public_instance = db.session.get(PublicReport, public_id).instance_id
        for instance_id in (report_instance, public_instance):  # a state the engine cannot read: every step fails
            db.session.execute(sa.update(ProcessInstance).where(ProcessInstance.id == instance_id)
                               .values(state="{broken"))
        db.session.commit()
    move_to(clock.now() + timedelta(days=120))
    tick(app)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        failing = {p.process_key: p.failing for p in designer.library(_user("admin"))}
        assert (("report", report_id) in {(f.subject.kind, f.subject.id) for f in failing["enterprise_report"]})
        assert (("public_report", public_id) in {(f.subject.kind, f.subject.id) for f in failing[KEY]})
    admin = _signed_in(app, "admin")
    library = admin.get("/admin/processes").get_data(as_text=True)
    assert f'href="/reports/{report_id}"' in library and f'href="/public-reports/{public_id}"' in library


def test_the_dry_run_runs_the_triage_on_a_sample_public_report_and_refuses_an_enterprise_lane(app):
    import pytest

    from app.services import processes

    with app.test_request_context(headers={"Accept-Language": "en"}):
        xml = db.session.scalar(sa.select(ProcessVersion.bpmn_xml).where(ProcessVersion.process_key == KEY,
                                                                          ProcessVersion.active.is_(True)))
        with pytest.raises(processes.DiagramInvalid) as refused:  # the enterprise never holds a triage task
            designer.deploy(_user("admin"), KEY, xml.replace('name="监管人员"', 'name="企业安全员"'))
        assert "answer" in {p["element_id"] for p in refused.value.problems}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PublicReport)) == 0  # nothing kept
