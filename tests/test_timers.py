"""Deadlines that act: the timer events of the diagram fire on the application's clock, and their ladder of
reminders and escalations reaches the right people at the right time.  Tests move the clock; nothing sleeps."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.clock import Clock, clock
from app.engine import ProcessRuntime, parse_process
from tests.deadline_steps import (
    alerts,
    apply_for_acceptance,
    audit_actions,
    deadline_of,
    general_hazard_rectifying,
    major_hazard_rectifying,
    move_to,
    read_hazard,
    rectify,
    tick,
    told,
    view,
)
from tests.helpers import in_days

MINUTE = timedelta(minutes=1)

TIMER_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
                  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work" name="Work"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:boundaryEvent id="deadline" cancelActivity="false" attachedToRef="work">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>due if armed else None</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="late"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:sequenceFlow id="f3" sourceRef="deadline" targetRef="late" />
  </bpmn:process>
</bpmn:definitions>"""


# ----------------------------------------------------------------------------------- the engine fact
def test_moving_the_application_clock_makes_a_diagram_timer_fire():
    """SpiffWorkflow 3.2.0 compares timers with datetime.now(); our timer events read the injected clock."""
    moved = Clock()
    runtime = ProcessRuntime(parse_process(TIMER_DIAGRAM, "p"), clock=moved.now)
    due = moved.now() + timedelta(days=3)
    started = runtime.start({"due": due.isoformat(), "armed": True})
    assert [t.due_at for t in started.timers] == [due] and not started.fired_timers

    moved.advance(days=3, seconds=-1)
    assert runtime.refresh(started.state).timers, "one second early: still waiting"
    moved.advance(seconds=1)
    fired = runtime.refresh(started.state)
    assert fired.timers == [] and [t.uuid for t in fired.fired_timers] == [started.timers[0].uuid]
    assert [t.name for t in fired.ready_tasks] == ["work"], "a non-interrupting deadline leaves the work open"


def test_changing_the_data_a_timer_reads_moves_it_and_none_disarms_it():
    moved = Clock()
    runtime = ProcessRuntime(parse_process(TIMER_DIAGRAM, "p"), clock=moved.now)
    started = runtime.start({"due": (moved.now() + timedelta(days=3)).isoformat(), "armed": True})
    later = moved.now() + timedelta(days=10)
    moved_on = runtime.update_data(started.state, {"due": later.isoformat()})
    assert [t.due_at for t in moved_on.timers] == [later]
    moved.advance(days=5)
    assert not runtime.refresh(moved_on.state).fired_timers
    disarmed = runtime.start({"armed": False})
    assert disarmed.timers == [] and [t.name for t in disarmed.ready_tasks] == ["work"]


# ------------------------------------------------------------------------------------ rectification
def test_the_officer_is_reminded_three_days_and_one_day_before_the_rectification_deadline(api, app):
    day = in_days(7)
    hazard_id = general_hazard_rectifying(api, day)
    assert alerts(app, hazard_id) == [("reminder", -3, "officer"), ("reminder", -1, "officer"),
                                      ("overdue", 0, "officer,principal"), ("escalation", 3, "inspector"),
                                      ("escalation", 7, "bureau_head")]
    tick(app)
    assert told(app, "officer_a") == []

    move_to(deadline_of(day) - timedelta(days=3) + MINUTE)
    tick(app)
    reminders = told(app, "officer_a", "deadline_reminder")
    assert [(r["days"], r["deadline"], r["due"]) for r in reminders] == [(3, "rectification", day)]
    assert reminders[0]["link"].startswith("/tasks/"), "the officer is sent to the task itself"
    assert told(app, "principal_a") == [] and told(app, "officer_b") == []

    move_to(deadline_of(day) - timedelta(days=1) + MINUTE)
    tick(app)
    assert [r["days"] for r in told(app, "officer_a", "deadline_reminder")] == [3, 1]
    assert view(api, "officer_a", hazard_id)["overdue"] is False


def test_at_the_deadline_officer_and_principal_are_told_at_once_and_the_hazard_is_overdue(api, app):
    day = in_days(5)
    hazard_id = general_hazard_rectifying(api, day)
    move_to(deadline_of(day) - MINUTE)
    tick(app)
    assert view(api, "officer_a", hazard_id)["overdue"] is False

    move_to(deadline_of(day) + MINUTE)
    tick(app)
    detail = view(api, "principal_a", hazard_id)
    assert detail["overdue"] is True and detail["status"] == "rectifying", "overdue, and the work is still open"
    assert [n["step"] for n in told(app, "officer_a", "deadline_overdue")] == ["隐患整改"]
    assert len(told(app, "principal_a", "deadline_overdue")) == 1
    assert told(app, "principal_a", "deadline_overdue")[0]["link"] == f"/hazards/{hazard_id}"
    assert told(app, "inspector") == [] and told(app, "bureau_head") == []
    fired = audit_actions(app, hazard_id, "timer_fired")
    assert [(e["task"], e["deadline"], e["late"]) for e in fired] == [("rectify_deadline", "rectification", False)]
    assert len(audit_actions(app, hazard_id, "deadline_overdue")) == 1
    listed = api.as_("officer_a").get("/hazards?overdue=true").get_json()["items"]  # token renewed by view()
    assert [h["id"] for h in listed] == [hazard_id]


def test_overdue_escalates_to_the_inspector_after_three_days_and_the_bureau_head_after_seven(api, app):
    day = in_days(2)
    hazard_id = general_hazard_rectifying(api, day)
    move_to(deadline_of(day) + timedelta(days=3) - MINUTE)
    tick(app)
    assert told(app, "inspector") == []

    move_to(deadline_of(day) + timedelta(days=3) + MINUTE)
    tick(app)
    escalated = told(app, "inspector", "deadline_escalated")
    assert [(n["days"], n["number"]) for n in escalated] == [(3, read_hazard(app, hazard_id).number)]
    assert told(app, "inspector_west") == [], "another township's inspector is not involved"
    assert told(app, "bureau_head") == []

    move_to(deadline_of(day) + timedelta(days=7) + MINUTE)
    tick(app)
    assert [n["days"] for n in told(app, "bureau_head", "deadline_escalated")] == [7]
    assert len(told(app, "inspector", "deadline_escalated")) == 1, "each tier is told once"
    assert [e["days"] for e in audit_actions(app, hazard_id, "deadline_escalated")] == [3, 7]
    assert alerts(app, hazard_id, status="pending") == []


def test_finishing_the_step_in_time_cancels_its_reminders_and_escalations(api, app):
    day = in_days(4)
    hazard_id = general_hazard_rectifying(api, day)
    rectify(api, hazard_id)
    assert alerts(app, hazard_id, status="pending") == []
    move_to(deadline_of(day) + timedelta(days=30))
    tick(app)
    assert told(app, "officer_a") == [] and told(app, "inspector") == []
    assert view(api, "officer_a", hazard_id)["overdue"] is False
    assert audit_actions(app, hazard_id, "timer_fired") == []


def test_finishing_the_step_late_is_on_record_and_stops_further_escalation(api, app):
    day = in_days(1)
    hazard_id = general_hazard_rectifying(api, day)
    move_to(deadline_of(day) + timedelta(hours=2))  # no scheduler ran: the completion itself fires the timer
    rectify(api, hazard_id)
    assert [e["task"] for e in audit_actions(app, hazard_id, "timer_fired")] == ["rectify_deadline"]
    assert view(api, "officer_a", hazard_id)["overdue"] is False, "the late step is done now"
    move_to(deadline_of(day) + timedelta(days=10))
    tick(app)
    assert told(app, "inspector") == [] and told(app, "bureau_head") == []


def test_a_scheduler_that_was_down_fires_each_missed_timer_once_and_records_it_late(api, app):
    day = in_days(2)
    hazard_id = general_hazard_rectifying(api, day)
    move_to(deadline_of(day) + timedelta(days=4))  # the scheduler was down over the reminders and the deadline
    first = tick(app)
    assert first["fired"] == 1
    fired = audit_actions(app, hazard_id, "timer_fired")
    assert len(fired) == 1 and fired[0]["late"] is True
    assert [e["late"] for e in audit_actions(app, hazard_id, "deadline_overdue")] == [True]
    assert [e["days"] for e in audit_actions(app, hazard_id, "deadline_escalated")] == [3]
    assert told(app, "officer_a", "deadline_reminder") == [], "a reminder after the deadline would mislead"
    assert tick(app).get("fired") == 0 and tick(app).get("alerts") == 0, "nothing fires twice"
    assert len(told(app, "officer_a", "deadline_overdue")) == 1


def test_a_timer_that_fails_neither_stops_nor_repeats_the_others_in_its_batch(api, app):
    from sqlalchemy import select, update

    from app.extensions import db
    from app.models import Hazard, ProcessInstance, Timer, TimerKind, TimerStatus
    from app.services import timers

    day = in_days(2)
    broken_id, sound_ids = general_hazard_rectifying(api, day), [general_hazard_rectifying(api, day) for _ in range(2)]
    with app.app_context():  # the broken hazard's instance state can no longer be read by the engine
        instance_id = db.session.scalar(select(Hazard.instance_id).where(Hazard.id == broken_id))
        db.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                           .values(state='{"serializer_version": "0.0"}'))
        db.session.commit()
        db.session.remove()
    move_to(deadline_of(day) + MINUTE)  # three diagram timers and their overdue notices are due in one batch

    def one_tick() -> timers.TickResult:
        with app.app_context():
            result = timers.tick()
            db.session.remove()
        return result

    first = one_tick()
    assert (first.fired, first.alerts, first.failed, len(first.errors)) == (2, 3, 0, 1)
    for hazard_id in sound_ids:
        assert len(audit_actions(app, hazard_id, "timer_fired")) == 1
        assert len(audit_actions(app, hazard_id, "deadline_overdue")) == 1
    assert audit_actions(app, broken_id, "timer_fired") == []
    for attempt in range(2, timers.MAX_ATTEMPTS + 1):
        result = one_tick()
        assert (result.fired, result.alerts, len(result.errors)) == (0, 0, 1), "nothing fires twice"
        assert result.failed == (1 if attempt == timers.MAX_ATTEMPTS else 0)
    assert not one_tick().errors, "a row that gave up is not tried again"
    with app.app_context():
        row = db.session.scalar(select(Timer).where(Timer.hazard_id == broken_id, Timer.kind == TimerKind.engine))
        assert row.status == TimerStatus.failed and row.attempts == timers.MAX_ATTEMPTS
        assert "serializer" in row.last_error
        db.session.remove()
    assert [e["timer"] for e in audit_actions(app, broken_id, "timer_failed")] == [row.id]
    for hazard_id in sound_ids:
        assert len(audit_actions(app, hazard_id, "timer_fired")) == 1
        assert len(audit_actions(app, hazard_id, "deadline_overdue")) == 1


# ----------------------------------------------------------------------------------- major hazards
def test_the_ten_day_verification_limit_escalates_to_the_head_of_the_bureau(api, app):
    hazard_id = major_hazard_rectifying(api, plan_deadline=in_days(30), listed=False)
    applied = clock.now()
    apply_for_acceptance(api, hazard_id)
    assert view(api, "inspector", hazard_id)["status"] == "verifying"

    move_to(applied + timedelta(days=8, minutes=5))
    tick(app)
    assert [n["days"] for n in told(app, "inspector", "deadline_reminder")] == [2]
    assert told(app, "officer_a", "deadline_reminder") == [], "the 10 days are the government's"

    move_to(applied + timedelta(days=10, minutes=5))
    tick(app)
    overdue = told(app, "inspector", "deadline_overdue")
    assert [(n["deadline"], n["step"]) for n in overdue] == [("verification", "政府现场审查")]
    assert overdue[0]["link"].startswith("/tasks/"), "the inspector can act on the verification"
    assert view(api, "inspector", hazard_id)["overdue"] is True
    assert told(app, "bureau_head") == [] and told(app, "officer_a", "deadline_overdue") == []

    move_to(applied + timedelta(days=11, minutes=5))
    tick(app)
    assert [(n["deadline"], n["days"]) for n in told(app, "bureau_head", "deadline_escalated")] == [
        ("verification", 1)]


def test_a_listed_supervision_deadline_tells_the_inspector_at_once_and_the_bureau_head_after_three_days(api, app):
    day = in_days(10)
    hazard_id = major_hazard_rectifying(api, plan_deadline=in_days(20), listed=True, supervision_deadline=day)
    move_to(deadline_of(day) + MINUTE)
    tick(app)
    for who in ("officer_a", "principal_a", "inspector"):
        assert [n["deadline"] for n in told(app, who, "deadline_overdue")] == ["supervision"], who
    assert view(api, "inspector", hazard_id)["overdue"] is True
    move_to(deadline_of(day) + timedelta(days=3, minutes=1))
    tick(app)
    assert [n["deadline"] for n in told(app, "bureau_head", "deadline_escalated")] == ["supervision"]


def test_an_unlisted_major_hazard_has_no_supervision_deadline(api, app):
    hazard_id = major_hazard_rectifying(api, plan_deadline=in_days(20), listed=False)
    assert {a[0] for a in alerts(app, hazard_id)} == {"reminder", "overdue", "escalation"}
    events = {e["task"] for e in audit_actions(app, hazard_id)}
    assert "supervision_deadline_timer" not in events
    from app.extensions import db
    from app.models import Timer

    with app.app_context():
        names = {t.spec_name for t in db.session.query(Timer).filter(Timer.hazard_id == hazard_id)}
        db.session.remove()
    assert names == {"rectify_major_deadline"}


# ---------------------------------------------------------------------------------- configuration
@pytest.mark.parametrize("value,problem", [("3,tomorrow", "整数天数"), ("officer,mayor", "未知的人员")])
def test_a_diagram_with_bad_reminder_settings_cannot_be_deployed(app, value, problem):
    from pathlib import Path

    from app.services import processes
    from app.services.errors import ValidationFailed

    xml = (Path(app.config["BPMN_DIR"]) / "hazard_lifecycle.bpmn").read_text(encoding="utf-8")
    key = "remindDaysBefore" if "tomorrow" in value else "overdueNotify"
    xml = xml.replace('<spiffworkflow:property name="deadline" value="rectification" />',
                      f'<spiffworkflow:property name="deadline" value="rectification" />'
                      f'<spiffworkflow:property name="{key}" value="{value}" />', 1)
    with app.app_context(), pytest.raises(ValidationFailed) as refused:
        processes.deploy("hazard_lifecycle", xml, None)
    message = refused.value.fields["rectify_deadline"]
    assert problem in message and key in message  # in the default language, Chinese


def test_an_administrator_changes_the_ladder_in_the_diagram(api, app):
    from pathlib import Path

    from app.extensions import db
    from app.services import processes

    xml = (Path(app.config["BPMN_DIR"]) / "hazard_lifecycle.bpmn").read_text(encoding="utf-8")
    xml = xml.replace('<spiffworkflow:property name="remindDaysBefore" value="3,1" />',
                      '<spiffworkflow:property name="remindDaysBefore" value="5" />', 1)
    xml = xml.replace('<spiffworkflow:property name="escalateInspectorAfterDays" value="3" />',
                      '<spiffworkflow:property name="escalateInspectorAfterDays" value="1" />', 1)
    with app.app_context():
        processes.deploy("hazard_lifecycle", xml, None)
        db.session.commit()
    hazard_id = general_hazard_rectifying(api, in_days(9))
    assert alerts(app, hazard_id) == [("reminder", -5, "officer"), ("overdue", 0, "officer,principal"),
                                      ("escalation", 1, "inspector"), ("escalation", 7, "bureau_head")]


def test_scheduler_cli_runs_once_and_reports_what_it_did(api, app, runner):
    day = in_days(1)
    general_hazard_rectifying(api, day)
    move_to(deadline_of(day) + MINUTE)
    result = runner.invoke(args=["scheduler", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "fired 1 timers" in result.output
    status = runner.invoke(args=["scheduler", "status"])
    assert "0 due now" in status.output


def test_the_in_process_scheduler_never_starts_in_tests_or_in_the_reloader_parent(app, monkeypatch):
    from app.scheduler import should_run_in_process

    app.config["SCHEDULER_IN_PROCESS"] = True
    assert should_run_in_process(app) is False, "tests never start it"
    app.testing, app.debug = False, True
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    assert should_run_in_process(app) is False, "the reloader's parent only watches files"
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    assert should_run_in_process(app) is True
    app.testing, app.debug = True, False
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5), "the clock was put back"
