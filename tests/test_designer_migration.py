"""Moving running hazards to a new process version: what can move does, the rest is named and left alone."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.clock import clock
from app.extensions import db
from app.models import AuditEvent, Hazard, HumanTask, ProcessInstance, TaskStatus, Timer, TimerStatus, User
from app.services import audit, designer, migration
from app.services.errors import Forbidden
from tests import designer_diagrams as dd
from tests.helpers import complete, current_task, hazard, in_days, report, upload

KEY = "hazard_lifecycle"
ASSESS = {"grade": "general", "responsible_person": "张安全", "measures": "加锁", "rectification_deadline": in_days(7)}


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def deploy(app, xml: str) -> int:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        return designer.deploy(user("admin"), KEY, xml).number


def instance_of(app, hazard_id: int) -> tuple[int, int, str]:
    with app.app_context():
        h = db.session.get(Hazard, hazard_id)
        inst = db.session.get(ProcessInstance, h.instance_id)
        return inst.id, inst.version_id, inst.state


def renamed_review(xml: str) -> str:
    """Version 2: the principal's review is a different element (new id), so hazards waiting there cannot move."""
    return dd.set_name(dd.rename_id(xml, "review", "principal_review"), "principal_review", "负责人复查")


def test_hazards_waiting_on_steps_that_still_exist_move_and_the_others_stay_intact(app, api):
    officer, principal = api.as_("officer_a"), api.as_("principal_a")
    at_assess = report(officer)
    at_rectify = report(officer)
    complete(officer, current_task(officer, at_rectify["id"], "assess"), ASSESS)
    at_review = report(officer)
    complete(officer, current_task(officer, at_review["id"], "assess"), ASSESS)
    complete(officer, current_task(officer, at_review["id"], "rectify"), {
        "measures_taken": "已加锁", "after_photos": [upload(officer)], "completed_on": in_days(0)})
    blocked_before = instance_of(app, at_review["id"])
    number = deploy(app, renamed_review(dd.shipped()))

    with app.test_request_context(headers={"Accept-Language": "en"}):
        preview = migration.preview(user("admin"), KEY, number)
        by_hazard = {m.hazard_id: m for m in preview.instances}
        assert by_hazard[at_assess["id"]].movable and by_hazard[at_rectify["id"]].movable
        blocked = by_hazard[at_review["id"]]
        assert not blocked.movable and blocked.waiting_at == ["review"]
        assert blocked.problems[0]["element_id"] == "review"
        assert "no longer has" in blocked.problems[0]["message"]

        outcome = migration.migrate(user("admin"), KEY, number, [m.instance_id for m in preview.instances])
        assert sorted(outcome.moved) == sorted([by_hazard[at_assess["id"]].instance_id,
                                                by_hazard[at_rectify["id"]].instance_id])
        assert list(outcome.refused) == [blocked.instance_id]
        assert outcome.refused[blocked.instance_id][0]["element_id"] == "review"

    assert instance_of(app, at_review["id"]) == blocked_before  # same version, same state
    assert [t["name"] for t in hazard(officer, at_review["id"])["current_tasks"]] == ["review"]
    # the moved hazard runs on the new version: after rectification comes the new review step
    with app.app_context():
        assert instance_of(app, at_rectify["id"])[1] != blocked_before[1]
    complete(officer, current_task(officer, at_rectify["id"], "rectify"), {
        "measures_taken": "已加锁", "after_photos": [upload(officer)], "completed_on": in_days(0)})
    assert [t["name"] for t in hazard(officer, at_rectify["id"])["current_tasks"]] == ["principal_review"]
    complete(principal, current_task(principal, at_rectify["id"], "principal_review"), {"review_result": "pass"})
    assert hazard(officer, at_rectify["id"])["status"] == "closed"
    # the blocked one still completes on its old version
    complete(principal, current_task(principal, at_review["id"], "review"), {"review_result": "pass"})
    assert hazard(officer, at_review["id"])["status"] == "closed"


def test_a_move_is_recorded_in_the_hazards_audit_trail_and_the_trail_stays_intact(app, api):
    h = report(api.as_("officer_a"))
    number = deploy(app, renamed_review(dd.shipped()))
    with app.test_request_context(headers={"Accept-Language": "en"}):
        instance_id = instance_of(app, h["id"])[0]
        migration.migrate(user("admin"), KEY, number, [instance_id])
        moved = db.session.scalar(select(AuditEvent).where(AuditEvent.hazard_id == h["id"],
                                                           AuditEvent.action == "instance_migrated"))
        assert moved is not None and '"to_version":2' in moved.data and moved.actor_id == user("admin").id
        summary = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "instances_migrated"))
        assert summary is not None and str(instance_id) in summary.data
        assert audit.verify()[1] == []


def test_a_waiting_task_keeps_its_row_and_claim_and_takes_the_new_name(app, api):
    officer = api.as_("officer_a")
    h = report(officer)
    task_id = current_task(officer, h["id"], "assess")
    assert officer.post(f"/tasks/{task_id}/claim").status_code == 200
    number = deploy(app, dd.set_name(renamed_review(dd.shipped()), "assess", "评估定级"))
    with app.test_request_context(headers={"Accept-Language": "en"}):
        migration.migrate(user("admin"), KEY, number, [instance_of(app, h["id"])[0]])
        row = db.session.get(HumanTask, task_id)
        assert row.status == TaskStatus.open and row.assignee_id == user("officer_a").id
        assert row.title == "评估定级"
    complete(officer, task_id, ASSESS)


def test_a_boundary_event_added_to_the_waiting_step_blocks_the_move(app, api):
    h = report(api.as_("officer_a"))
    number = deploy(app, dd.add_boundary_timer(dd.shipped(), "assess", "designer_assess_reminder"))
    with app.test_request_context(headers={"Accept-Language": "en"}):
        move = migration.preview(user("admin"), KEY, number).instances[0]
        assert move.hazard_id == h["id"] and not move.movable
        assert move.problems[0]["element_id"] == "assess" and "way into" in move.problems[0]["message"]


def test_a_waiting_timer_keeps_its_fire_time_when_its_hazard_moves(app, api):
    deploy(app, dd.add_boundary_timer(dd.shipped(), "assess", "designer_assess_reminder", '"P3D"'))
    h = report(api.as_("officer_a"))
    with app.app_context():
        instance_id = instance_of(app, h["id"])[0]
        due = db.session.scalar(select(Timer.due_at).where(Timer.instance_id == instance_id,
                                                           Timer.spec_name == "designer_assess_reminder"))
    assert due is not None
    clock.advance(days=1)
    number = deploy(app, dd.set_name(dd.add_boundary_timer(dd.shipped(), "assess", "designer_assess_reminder",
                                                           '"P3D"'), "assess", "评估定级"))
    with app.test_request_context(headers={"Accept-Language": "en"}):
        outcome = migration.migrate(user("admin"), KEY, number, [instance_id])
        assert outcome.moved == [instance_id]
        timers = db.session.scalars(select(Timer).where(Timer.instance_id == instance_id,
                                                        Timer.spec_name == "designer_assess_reminder")).all()
        assert [(t.status, t.due_at) for t in timers] == [(TimerStatus.pending, due)]


def test_only_administrators_may_preview_or_move(app, api):
    report(api.as_("officer_a"))
    number = deploy(app, renamed_review(dd.shipped()))
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for name in ("officer_a", "inspector"):
            with pytest.raises(Forbidden):
                migration.preview(user(name), KEY, number)
            with pytest.raises(Forbidden):
                migration.migrate(user(name), KEY, number, [1])
