"""Two people completing the same task at once: exactly one wins, the other gets 409, nothing is torn."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Hazard, HumanTask, ProcessInstance, TaskStatus
from tests.helpers import current_task, in_days, report

ASSESS = {"grade": "general", "responsible_person": "张", "measures": "m", "rectification_deadline": in_days(5)}


def race(app, tokens: list[str], task_id: int, data: dict) -> list[int]:
    """Fire one completion per token from its own thread, all released at the same instant."""
    barrier = threading.Barrier(len(tokens))
    results: list[int] = []
    lock = threading.Lock()

    def worker(token: str) -> None:
        client = app.test_client()
        barrier.wait()
        resp = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data},
                           headers={"Authorization": f"Bearer {token}"})
        with lock:
            results.append(resp.status_code)

    threads = [threading.Thread(target=worker, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(results)


def test_concurrent_completions_of_one_task_let_exactly_one_through(api, app, backend):
    officer = api.as_("officer_a")
    token = officer.token("officer_a")
    for _round in range(5):
        h = report(officer)
        task_id = current_task(officer, h["id"], "assess")
        with app.app_context():
            version_before = db.session.get(ProcessInstance, db.session.get(Hazard, h["id"]).instance_id).lock_version
        assert race(app, [token] * 4, task_id, ASSESS) == [200, 409, 409, 409]
        with app.app_context():
            hazard = db.session.get(Hazard, h["id"])
            tasks = db.session.scalars(select(HumanTask).where(HumanTask.hazard_id == h["id"])
                                       .order_by(HumanTask.id)).all()
            assert [(t.spec_name, t.status) for t in tasks] == [("assess", TaskStatus.completed),
                                                                ("rectify", TaskStatus.open)]
            assert hazard.status == "rectifying" and hazard.grade == "general"
            completions = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.hazard_id == h["id"], AuditEvent.action == "task_completed"))
            assert completions == 1
            instance = db.session.get(ProcessInstance, hazard.instance_id)
            assert instance.lock_version == version_before + 1  # exactly one write
            assert tasks[1].task_uuid in instance.state


def test_completion_while_another_transaction_holds_the_instance_gets_409_busy(api, app, backend):
    if backend != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter")
    officer = api.as_("officer_a")
    h = report(officer)
    task_id = current_task(officer, h["id"], "assess")
    with app.app_context():
        instance_id = db.session.get(Hazard, h["id"]).instance_id
        engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["LOCK_TIMEOUT_MS"] = 300
    with engine.connect() as other:
        other.execute(sa.text("SELECT id FROM process_instance WHERE id = :id FOR UPDATE"), {"id": instance_id})
        resp = officer.post(f"/tasks/{task_id}/complete", json={"data": ASSESS})
        other.rollback()
    engine.dispose()
    assert resp.status_code == 409 and resp.get_json()["error"]
    # Once the other transaction is gone, the same completion goes through.
    assert officer.post(f"/tasks/{task_id}/complete", json={"data": ASSESS}).status_code == 200
