"""Scheduler processes against one PostgreSQL database: real OS processes running `flask scheduler run`.

Two processes share 1,000 due timers and every one fires exactly once; a scheduler killed with SIGKILL in the
middle of its work loses nothing and, restarted, fires nothing twice.  Counted from the audit trail.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, insert, select

from app.clock import clock
from app.extensions import db
from app.models import (
    AuditEvent,
    Hazard,
    HumanTask,
    ProcessInstance,
    TaskStatus,
    Timer,
    TimerKind,
    TimerStatus,
    User,
)
from app.services import audit, hazards, processes, tasks
from config import TestConfig

ROOT = Path(__file__).resolve().parent.parent
N = 1000


@pytest.fixture
def pg_app(app, backend):
    if backend != "postgresql":
        pytest.skip("several scheduler processes need PostgreSQL (FOR UPDATE SKIP LOCKED)")
    return app


def without_overdue_notices(app) -> None:
    """Deploy the shipped lifecycle minus the "tell at once" tier: firing a timer then only plans later tiers
    (the tiers' own firing is tested in test_timers.py; here the count of due rows stays 1,000)."""
    xml = (Path(app.config["BPMN_DIR"]) / "hazard_lifecycle.bpmn").read_text(encoding="utf-8")
    xml = xml.replace('<spiffworkflow:property name="overdueNotify" value="officer,principal" />',
                      '<spiffworkflow:property name="overdueNotify" value="" />', 1)
    with app.test_request_context():
        processes.deploy("hazard_lifecycle", xml, None)
        db.session.commit()
        db.session.remove()


def due_hazards(app, n: int) -> list[int]:
    """`n` hazards being rectified whose deadline passed yesterday, each with one due deadline timer."""
    clock.advance(days=-3)  # reported three days ago, deadline tomorrow then: yesterday now
    try:
        with app.test_request_context():
            officer = db.session.scalar(select(User).where(User.username == "officer_a"))
            template = hazards.report_hazard(officer, {
                "title": "配电箱门未关闭", "description": "巡检发现", "location": "一车间", "hazard_type": "unsafe_condition",
                "source": "self_check"})
            assess = next(t for t, h in tasks.list_tasks(officer).items if h.id == template.id)
            deadline = (clock.now() + timedelta(hours=8) + timedelta(days=1)).date().isoformat()
            tasks.complete(officer, assess.id, {"grade": "general", "responsible_person": "张安全",
                                                "measures": "加锁", "rectification_deadline": deadline})
            template_id = template.id
    finally:
        clock.reset()
    with app.app_context():
        template = db.session.get(Hazard, template_id)
        instance = db.session.get(ProcessInstance, template.instance_id)
        # Only the diagram's deadline timer: its reminders and escalations are planned when it fires.
        db.session.execute(delete(Timer).where(Timer.instance_id == instance.id, Timer.kind != TimerKind.engine))
        timer = db.session.scalar(select(Timer).where(Timer.instance_id == instance.id))
        task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                         HumanTask.status == TaskStatus.open))
        assert timer.due_at < clock.now() - timedelta(hours=12) and task.spec_name == "rectify"
        now = clock.now()
        copies = n - 1
        instance_ids = db.session.scalars(insert(ProcessInstance).returning(ProcessInstance.id, sort_by_parameter_order=True), [
            {"version_id": instance.version_id, "state": instance.state, "serializer_version": instance.serializer_version,
             "status": instance.status, "lock_version": 0, "created_at": now, "updated_at": now}] * copies).all()
        # Each copy starts its own audit chain (its head is on its row).
        columns = {c.key for c in Hazard.__table__.columns} - {"id", "number", "instance_id", "audit_seq", "audit_hash"}
        base = {c: getattr(template, c) for c in columns}
        hazard_ids = db.session.scalars(insert(Hazard).returning(Hazard.id, sort_by_parameter_order=True), [
            dict(base, number=f"YHTEST{i:06d}", instance_id=iid) for i, iid in enumerate(instance_ids)]).all()
        task_columns = {c.key for c in HumanTask.__table__.columns} - {"id", "instance_id", "hazard_id"}
        task_base = {c: getattr(task, c) for c in task_columns}
        db.session.execute(insert(HumanTask), [dict(task_base, instance_id=iid, hazard_id=hid)
                                               for iid, hid in zip(instance_ids, hazard_ids, strict=True)])
        timer_columns = {c.key for c in Timer.__table__.columns} - {"id", "instance_id", "hazard_id"}
        timer_base = {c: getattr(timer, c) for c in timer_columns}
        db.session.execute(insert(Timer), [dict(timer_base, instance_id=iid, hazard_id=hid)
                                           for iid, hid in zip(instance_ids, hazard_ids, strict=True)])
        db.session.commit()
        due = db.session.scalar(select(func.count()).select_from(Timer).where(
            Timer.status == TimerStatus.pending, Timer.due_at <= clock.now()))
        assert due == n
        db.session.remove()
    return [template_id, *hazard_ids]


def scheduler(tmp_path: Path, pg_url: str, *args: str) -> subprocess.Popen:
    # The test application's keys: the processes append to the audit chains that the test then verifies.
    env = dict(os.environ, FLASK_APP="wsgi.py", DATABASE_URL=pg_url, HAZARDLOOP_INSTANCE_DIR=str(tmp_path),
               SCHEDULER_IN_PROCESS="0", MAIL_ENABLED="0", PYTHONUNBUFFERED="1", SECRET_KEY=TestConfig.SECRET_KEY,
               AUDIT_KEY=TestConfig.AUDIT_KEY, REPORTER_KEY=TestConfig.REPORTER_KEY)
    flask = Path(sys.executable).parent / "flask"
    return subprocess.Popen([str(flask), "scheduler", "run", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def fired_counts(app) -> Counter:
    """How often each timer row fired, from the audit trail."""
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent.data).where(AuditEvent.action == "timer_fired")).all()
        db.session.remove()
    return Counter(json.loads(r)["timer"] for r in rows)


def engine_timer_ids(app) -> set[int]:
    with app.app_context():
        ids = set(db.session.scalars(select(Timer.id).where(Timer.kind == TimerKind.engine)))
        db.session.remove()
    return ids


def escalation_plans(app) -> Counter:
    """How many pending escalation rows each (hazard, audience) has."""
    with app.app_context():
        rows = db.session.execute(select(Timer.hazard_id, Timer.audience).where(
            Timer.kind == TimerKind.escalation, Timer.status == TimerStatus.pending)).all()
        db.session.remove()
    return Counter((hazard_id, audience) for hazard_id, audience in rows)


def test_two_scheduler_processes_fire_a_thousand_due_timers_each_exactly_once(pg_app, pg_url, tmp_path):
    without_overdue_notices(pg_app)  # keeps the test to the 1,000 timers (the tiers are tested in test_timers)
    hazard_ids = due_hazards(pg_app, N)
    timers = engine_timer_ids(pg_app)
    first, second = scheduler(tmp_path, pg_url, "--once"), scheduler(tmp_path, pg_url, "--once")
    outputs = [p.communicate(timeout=600) for p in (first, second)]
    for process, (out, err) in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, err[-3000:]
    shares = [int(out.split("fired ")[1].split(" ")[0]) for out, _err in outputs]
    assert sum(shares) == N and min(shares) > 0, f"both processes took a share: {shares}"

    fired = fired_counts(pg_app)
    assert set(fired) == timers and set(fired.values()) == {1}, "every timer fired, none twice"
    # Firing planned each hazard's later escalation tiers exactly once, whichever process fired it.
    assert escalation_plans(pg_app) == {(hazard_id, who): 1 for hazard_id in hazard_ids
                                        for who in ("inspector", "bureau_head")}
    with pg_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Timer).where(
            Timer.status == TimerStatus.pending, Timer.due_at <= clock.now())) == 0
        assert db.session.scalar(select(func.count()).select_from(Hazard).where(Hazard.overdue.is_(True))) == N
        checked, problems = audit.verify()
        assert problems == [] and checked > N
        db.session.remove()


def test_a_scheduler_killed_mid_run_loses_no_timer_and_a_restart_fires_none_twice(pg_app, pg_url, tmp_path):
    without_overdue_notices(pg_app)  # only the diagram's timers are due: the kill lands in an engine step
    due_hazards(pg_app, N)
    timers = engine_timer_ids(pg_app)
    victim = scheduler(tmp_path, pg_url, "--interval", "0.2")
    deadline = time.monotonic() + 300
    while sum(fired_counts(pg_app).values()) < N // 5:
        assert victim.poll() is None, victim.stderr.read()[-3000:]
        assert time.monotonic() < deadline, "the scheduler made no progress"
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    before = fired_counts(pg_app)
    assert N // 5 <= sum(before.values()) < N, "killed in the middle of its work"

    restarted = scheduler(tmp_path, pg_url, "--once")
    out, err = restarted.communicate(timeout=600)
    assert restarted.returncode == 0, err[-3000:]
    after = fired_counts(pg_app)
    assert set(after) == timers and set(after.values()) == {1}, "nothing lost, nothing fired twice"
    assert int(out.split("fired ")[1].split(" ")[0]) == N - sum(before.values())
    with pg_app.app_context():
        _checked, problems = audit.verify()
        assert problems == [], "the kill left no half-written audit chain"
        db.session.remove()
