"""Every instance step goes through one unit of work: a rival writer means 409 and nothing half-written.

The rival is real: on PostgreSQL another connection holds the instance's row lock (the step waits its
lock timeout, then answers "busy"); on SQLite, which has no row locks, another connection changes the
instance after the step has read it (the step's write matches no row: "someone else changed it").
Each step kind is tried: reporting (a diagram that fails at run time), completing, claiming, asking for
and deciding an extension, migrating, firing a timer. After each refusal the database holds exactly
what it held before.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from app.clock import clock
from app.extensions import db
from app.models import (
    AuditEvent,
    ExtensionRequest,
    Hazard,
    HumanTask,
    ProcessInstance,
    ProcessVersion,
    Timer,
    TimerStatus,
    User,
)
from app.services import audit, designer, extension_requests, hazards, migration, tasks, timers
from app.services.errors import Conflict, ServiceError
from tests import designer_diagrams as dd
from tests.helpers import REPORT, complete, current_task, in_days, report

ASSESS = {"grade": "general", "responsible_person": "张安全", "measures": "加锁", "rectification_deadline": in_days(5)}


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def snapshot() -> dict[str, object]:
    """What a step could have written: row counts and the versions and states of every instance."""
    counts = {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
              for model in (AuditEvent, ExtensionRequest, Hazard, HumanTask, ProcessInstance, Timer)}
    instances = db.session.execute(select(ProcessInstance.id, ProcessInstance.lock_version, ProcessInstance.version_id,
                                          ProcessInstance.state).order_by(ProcessInstance.id)).all()
    tasks_ = db.session.execute(select(HumanTask.id, HumanTask.status, HumanTask.assignee_id)
                                .order_by(HumanTask.id)).all()
    timers_ = db.session.execute(select(Timer.id, Timer.status).order_by(Timer.id)).all()
    heads = db.session.execute(select(Hazard.id, Hazard.audit_seq, Hazard.audit_hash, Hazard.status)
                               .order_by(Hazard.id)).all()
    return {"counts": counts, "instances": instances, "tasks": tasks_, "timers": timers_, "heads": heads}


@contextmanager
def rival(backend: str, instance_id: int):
    """Another writer of the instance for the duration of the block (see the module docstring)."""
    if backend == "postgresql":
        conn = db.engine.connect()
        tx = conn.begin()
        conn.execute(text("SELECT id FROM process_instance WHERE id = :i FOR UPDATE"), {"i": instance_id})
        db.session.execute(text("SET lock_timeout = '200ms'"))  # this session's wait, so the test is quick
        try:
            yield
        finally:
            tx.rollback()
            conn.close()
            db.session.rollback()
        return
    done: list[bool] = []

    def change_it_meanwhile(_conn, _cursor, statement, *_args) -> None:
        if not done and statement.lstrip().split(" ", 1)[0] in {"INSERT", "UPDATE", "DELETE"}:
            done.append(True)  # just before the step's first write: another connection changes the instance
            with db.engine.begin() as conn:
                conn.execute(text("UPDATE process_instance SET lock_version = lock_version + 1 WHERE id = :i"),
                             {"i": instance_id})

    engine = db.engine
    event.listen(engine, "before_cursor_execute", change_it_meanwhile)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", change_it_meanwhile)
    assert done, "the step wrote nothing, so no rival could get in its way"


def refused_with_nothing_written(app, backend: str, instance_id: int, step) -> Conflict:
    """Run `step()` against a rival; it must raise Conflict (409) and leave every row as it was."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        before = snapshot()
        db.session.rollback()
        with rival(backend, instance_id), pytest.raises(Conflict) as refused:
            step()
        db.session.rollback()
        assert refused.value.status == 409
        if backend == "sqlite":  # the rival's own change (the version) is the only difference
            after = snapshot()
            before["instances"] = [(i, v + 1 if i == instance_id else v, vid, s) for i, v, vid, s in
                                   before["instances"]]
            assert after == before
        else:
            assert snapshot() == before
        db.session.remove()
    return refused.value


def rectifying(app, api) -> tuple[int, int, int]:
    """A general hazard at its rectification step: (hazard id, instance id, rectify task id)."""
    officer = api.as_("officer_a")
    h = report(officer)
    complete(officer, current_task(officer, h["id"], "assess"), ASSESS)
    with app.app_context():
        instance_id = db.session.scalar(select(Hazard.instance_id).where(Hazard.id == h["id"]))
    return h["id"], instance_id, current_task(officer, h["id"], "rectify")


def test_completing_a_task(app, api, backend):
    officer = api.as_("officer_a")
    h = report(officer)
    task_id = current_task(officer, h["id"], "assess")
    with app.app_context():
        instance_id = db.session.scalar(select(Hazard.instance_id).where(Hazard.id == h["id"]))
    refused_with_nothing_written(app, backend, instance_id,
                                 lambda: tasks.complete(user("officer_a"), task_id, ASSESS))
    complete(officer, task_id, ASSESS)  # once the rival is gone, the same step goes through


def test_claiming_and_releasing_a_task(app, api, backend):
    _hid, instance_id, task_id = rectifying(app, api)
    refused_with_nothing_written(app, backend, instance_id, lambda: tasks.claim(user("officer_a"), task_id))
    with app.test_request_context():
        tasks.claim(user("officer_a"), task_id)
    refused_with_nothing_written(app, backend, instance_id, lambda: tasks.release(user("officer_a"), task_id))


def test_asking_for_and_deciding_an_extension(app, api, backend):
    hazard_id, instance_id, _task = rectifying(app, api)
    ask = {"requested_deadline": in_days(20), "reason": "备件到货延迟"}
    refused_with_nothing_written(app, backend, instance_id,
                                 lambda: extension_requests.request_extension(user("officer_a"), hazard_id, ask))
    with app.test_request_context():
        request_id = extension_requests.request_extension(user("officer_a"), hazard_id, ask).id
    refused_with_nothing_written(app, backend, instance_id,
                                 lambda: extension_requests.decide(user("principal_a"), request_id, True))
    with app.test_request_context():
        assert extension_requests.decide(user("principal_a"), request_id, True).status.value == "approved"


def test_migrating_an_instance(app, api, backend):
    _hid, instance_id, _task = rectifying(app, api)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        number = designer.deploy(user("admin"), "hazard_lifecycle",
                                 dd.set_name(dd.shipped(), "assess", "评估定级")).number
        before = snapshot()
        db.session.rollback()
        with rival(backend, instance_id):
            outcome = migration.migrate(user("admin"), "hazard_lifecycle", number, [instance_id])
        assert outcome.moved == [] and list(outcome.refused) == [instance_id]
        assert "nothing was changed" in outcome.refused[instance_id][0]["message"] or \
            "try again" in outcome.refused[instance_id][0]["message"]
        after = snapshot()
        # Only the administrator's record of the action (system chain) is new.
        assert after["tasks"] == before["tasks"] and after["timers"] == before["timers"]
        assert after["heads"] == before["heads"]
        version_of = {i[0]: i[2] for i in before["instances"]}
        assert {i[0]: i[2] for i in after["instances"]} == version_of  # nothing moved
        db.session.remove()


def test_firing_a_timer_waits_for_the_instance(app, api, backend):
    _hid, instance_id, _task = rectifying(app, api)
    clock.advance(days=6)  # the rectification deadline (end of day 5) has passed
    try:
        with app.test_request_context():
            due = db.session.scalar(select(func.count()).select_from(Timer).where(
                Timer.instance_id == instance_id, Timer.status == TimerStatus.pending, Timer.due_at <= clock.now()))
            assert due
            before = snapshot()
            db.session.rollback()
            with rival(backend, instance_id):
                timers.fire_due()
            db.session.rollback()
            if backend == "postgresql":  # the claim skipped the locked instance: nothing happened
                assert snapshot() == before
            result = timers.fire_due()  # the rival is gone: each due row fires once
            fired = db.session.scalars(select(AuditEvent.data).where(
                AuditEvent.chain == audit.hazard_chain(_hid), AuditEvent.action == "timer_fired")).all()
            assert len(fired) == len(set(fired)) >= 1 and not result.errors
            db.session.remove()
    finally:
        clock.reset()


def test_reporting_on_a_diagram_that_fails_at_run_time_is_refused_and_leaves_nothing(app, backend):
    shipped = Path(app.config["BPMN_DIR"], "hazard_lifecycle.bpmn").read_text(encoding="utf-8")
    failing = dd.add_script_task_after(shipped, "start", "boom", "计算", "x = 1 / 0")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        dd.activate_unchecked("hazard_lifecycle", failing)  # deploying it now is refused by the dry run
        before = snapshot()
        with pytest.raises(Conflict) as refused:
            hazards.report_hazard(user("officer_a"), dict(REPORT))
        assert refused.value.status == 409 and "could not continue" in refused.value.message
        assert snapshot() == before
        db.session.remove()


def test_a_step_of_a_hazard_the_user_may_not_see_never_locks_or_reveals_it(app, api):
    _hid, _instance_id, task_id = rectifying(app, api)
    resp = api.as_("officer_b").post(f"/tasks/{task_id}/complete", json={"data": {}})
    assert resp.status_code == 404
    resp = api.as_("principal_a").post(f"/tasks/{task_id}/complete", json={"data": {}})
    assert resp.status_code == 403


def test_the_audit_trail_stays_intact_through_every_kind_of_step(app, api):
    hazard_id, _instance_id, task_id = rectifying(app, api)
    with app.test_request_context():
        tasks.claim(user("officer_a"), task_id)
        tasks.release(user("officer_a"), task_id)
        request_id = extension_requests.request_extension(user("officer_a"), hazard_id, {
            "requested_deadline": in_days(20), "reason": "备件到货延迟"}).id
        extension_requests.decide(user("principal_a"), request_id, False, "不同意")
        checked, problems = audit.verify()
        assert problems == [] and checked >= 7
        head = db.session.get(Hazard, hazard_id)
        assert head.audit_seq == db.session.scalar(select(func.max(AuditEvent.seq)).where(
            AuditEvent.chain == audit.hazard_chain(hazard_id)))
        assert db.session.scalar(select(func.count()).select_from(ProcessVersion)) >= 1
        db.session.remove()


def test_a_connection_lost_in_the_middle_of_a_step_is_503_and_nothing_is_written(app, api, backend):
    if backend != "postgresql":
        pytest.skip("a server that drops the connection is a PostgreSQL matter")
    officer = api.as_("officer_a")
    h = report(officer)
    task_id = current_task(officer, h["id"], "assess")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        before = snapshot()
        db.session.rollback()
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        killed: list[bool] = []

        def drop_the_connection(_session, _context, _instances) -> None:
            if not killed:
                killed.append(True)
                with db.engine.connect() as other:
                    other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

        event.listen(Session, "before_flush", drop_the_connection)
        try:
            with pytest.raises(ServiceError) as refused:
                tasks.complete(user("officer_a"), task_id, ASSESS)
        finally:
            event.remove(Session, "before_flush", drop_the_connection)
        assert killed and refused.value.status == 503 and "try again" in refused.value.message
        db.session.remove()
    with app.test_request_context():
        assert snapshot() == before
        db.session.remove()
    complete(officer, task_id, ASSESS)  # a new connection: the same step goes through


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_completion_racing_the_scheduler_leaves_no_stale_overdue_flag(api, app, backend):
    """Issue 18: the scheduler marks the hazard overdue just before the completion takes the instance lock. The
    completion reads the hazard under the lock, so its `overdue = false` is written, not lost as a no-op."""
    from tests.deadline_steps import deadline_of, general_hazard_rectifying, move_to, view
    from tests.helpers import complete, current_task, in_days, upload

    day = in_days(3)
    hazard_id = general_hazard_rectifying(api, day)
    move_to(deadline_of(day) + timedelta(minutes=1))  # past the deadline; the scheduler has not run yet
    officer = api.as_("officer_a")
    officer.tokens.clear()
    task = current_task(officer, hazard_id, "rectify")
    photo = upload(officer)
    with app.app_context():
        engine = db.engine
    raced = []

    def scheduler_first(conn, _cursor, statement, *_args):
        if not raced and "FOR UPDATE" in statement and "process_instance" in statement:
            raced.append(statement)
            with engine.connect() as other:  # the scheduler, in its own transaction, commits first
                other.execute(text("UPDATE hazard SET overdue = true WHERE id = :id"), {"id": hazard_id})
                other.commit()

    event.listen(engine, "before_cursor_execute", scheduler_first)
    try:
        complete(officer, task, {"measures_taken": "已加锁", "after_photos": [photo], "completed_on": in_days(0)})
    finally:
        event.remove(engine, "before_cursor_execute", scheduler_first)
    assert raced, "the completion took no row lock on the instance"
    assert view(api, "officer_a", hazard_id)["overdue"] is False
