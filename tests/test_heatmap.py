"""Where the loop stalls (issue 14): per element of a process version, hazards there now, median and p90 time spent
there and the share past its deadline — from the human-task table, within the administrator's jurisdiction."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.clock import clock
from app.extensions import db
from app.models import Hazard, HumanTask, Organisation, ProcessVersion, Role, TaskStatus, User
from app.services import heatmap
from app.services.errors import Forbidden
from tests.deadline_steps import Person
from tests.helpers import report

HOUR = 3600.0


def test_the_continuous_percentile_is_postgresqls():
    assert heatmap.percentile([], 0.5) is None
    assert heatmap.percentile([5.0], 0.9) == 5.0
    assert heatmap.percentile([4.0, 1.0, 3.0, 2.0, 10.0], 0.5) == 3.0
    assert heatmap.percentile([1.0, 2.0, 3.0, 4.0, 10.0], 0.9) == pytest.approx(7.6)


def _known_tasks(app, api) -> tuple[int, list[int]]:
    """Three hazards of enterprise A (east) and one of enterprise B (west) waiting at "assess", plus five closed
    "assess" tasks of known durations (1, 2, 3, 4 and 10 hours; the 10-hour one past its deadline)."""
    officer_a, officer_b = api.as_("officer_a"), api.as_("officer_b")
    ids = [report(officer_a)["id"] for _ in range(3)] + [report(officer_b)["id"]]
    with app.app_context():
        hazard = db.session.get(Hazard, ids[0])
        open_task = db.session.scalar(select(HumanTask).where(HumanTask.hazard_id == hazard.id))
        open_task.due_at = clock.now() - timedelta(hours=1)  # one open task past its deadline
        now = clock.now()
        for hours in (1, 2, 3, 4, 10):
            start = now - timedelta(days=2)
            db.session.add(HumanTask(
                instance_id=hazard.instance_id, hazard_id=hazard.id, task_uuid=f"00000000-0000-0000-0000-00000000000{hours % 10}",
                spec_name="assess", title="评估分级", form_key="assess", role=Role.officer,
                organisation_id=hazard.enterprise_id, status=TaskStatus.completed, created_at=start,
                completed_at=start + timedelta(hours=hours), due_at=start + timedelta(hours=5)))
        db.session.commit()
        number = db.session.scalar(select(ProcessVersion.number).where(
            ProcessVersion.process_key == "hazard_lifecycle", ProcessVersion.active.is_(True)))
        db.session.remove()
    return number, ids


def test_figures_for_a_known_set_of_tasks(app, api):
    number, _ids = _known_tasks(app, api)
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        found = heatmap.heat(admin, "hazard_lifecycle", number)
        assess = found["assess"]
        assert (assess.now, assess.overdue_now, assess.completed) == (4, 1, 5)
        assert assess.median_seconds == pytest.approx(3 * HOUR)
        assert assess.p90_seconds == pytest.approx(7.6 * HOUR)
        # Past the deadline: the 10-hour task (deadline at 5 h) and the open one; 6 of them had a deadline.
        assert (assess.with_deadline, assess.past_deadline, assess.overdue_share) == (6, 2, round(2 / 6, 4))
        assert set(found) == {"assess"}

        # A district administrator of the western township sees its one hazard only.
        west = db.session.scalar(select(Organisation).where(Organisation.name == "西山镇安全生产监管站"))
        west_admin = User(username="admin_west", display_name="西山管理员", password_hash="x", role=Role.admin,
                          organisation_id=west.id, created_at=clock.now())
        db.session.add(west_admin)
        db.session.flush()
        assess = heatmap.heat(west_admin, "hazard_lifecycle", number)["assess"]
        assert (assess.now, assess.completed, assess.median_seconds) == (1, 0, None)
        waiting = heatmap.waiting_at(west_admin, "hazard_lifecycle", number, "assess")
        assert [item.kind for item in waiting.items] == ["hazard"] and waiting.total == 1
        with pytest.raises(Forbidden):
            heatmap.heat(db.session.scalar(select(User).where(User.username == "inspector")), "hazard_lifecycle", number)
        db.session.rollback()


def test_the_json_endpoint_and_the_list_of_hazards_at_a_step(app, api, client):
    number, ids = _known_tasks(app, api)
    admin = Person(client, "admin")
    data = admin.get(f"/admin/processes/hazard_lifecycle/versions/{number}/heatmap.json").get_json()
    assess = data["elements"]["assess"]
    assert assess["now"] == 4 and assess["median_seconds"] == pytest.approx(3 * HOUR)
    page = admin.get(assess["link"]).get_data(as_text=True)
    assert all(f'href="/hazards/{i}"' in page for i in ids)
    assert admin.get(f"/admin/processes/hazard_lifecycle/versions/{number + 5}/heatmap.json").status_code == 404
    client.post("/logout", data={"csrf_token": admin.token})
    inspector = Person(client, "inspector")
    assert inspector.get(f"/admin/processes/hazard_lifecycle/versions/{number}/heatmap.json").status_code == 403
