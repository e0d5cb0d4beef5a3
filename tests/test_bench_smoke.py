"""The benchmark's city generator at a tiny size: a valid HazardLoop database that the real services can work on."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app import create_app
from app.bench import city
from app.bench.presets import PRESETS
from config import Config
from tests.conftest import PG_ADMIN_URL, _pg_available

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def tiny_city():
    if not _pg_available():
        pytest.skip("PostgreSQL not reachable")
    from flask_migrate import upgrade

    name = f"hazardloop_bench_smoke_{uuid.uuid4().hex[:8]}"
    url = city.create_database(PG_ADMIN_URL, name)
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False, **city.BENCH_KEYS)
    try:
        with app.app_context():
            upgrade()
        summary = city.load_city(url, PRESETS["tiny"], "not-a-usable-password-hash", log=lambda *_: None)
        yield app, summary
    finally:
        with app.app_context():
            from app.extensions import db

            db.session.remove()
            db.engine.dispose()
        city.drop_database(PG_ADMIN_URL, name)


def test_tiny_city_has_every_stage_open_tasks_and_a_pending_timer_per_open_hazard(tiny_city):
    app, summary = tiny_city
    assert summary["counts"]["hazard"] == 200
    from app.extensions import db

    with app.app_context():
        statuses = set(db.session.scalars(sa.text("SELECT DISTINCT status FROM hazard")))
        assert {"assessing", "rectifying", "closed", "written_off"} <= statuses
        open_without_task = db.session.scalar(sa.text(
            "SELECT count(*) FROM hazard h WHERE h.closed_at IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM human_task t WHERE t.hazard_id = h.id AND t.status = 'open')"))
        open_without_timer = db.session.scalar(sa.text(
            "SELECT count(*) FROM hazard h WHERE h.closed_at IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM timer t WHERE t.instance_id = h.instance_id AND t.status = 'pending')"))
        due = db.session.scalar(sa.text("SELECT count(*) FROM timer WHERE status = 'pending' AND due_at <= now()"))
        assert (open_without_task, open_without_timer, due) == (0, 0, 0)


def test_generated_tasks_can_really_be_completed_and_the_audit_trail_verifies(tiny_city):
    app, _summary = tiny_city
    from app.extensions import db
    from app.models import HumanTask, TaskStatus, User
    from app.services import audit, tasks

    later = (date.today() + timedelta(days=30)).isoformat()
    with app.test_request_context():
        task = db.session.scalars(sa.select(HumanTask).where(
            HumanTask.status == TaskStatus.open, HumanTask.spec_name == "assess")).first()
        user = db.session.scalar(sa.select(User).where(User.role == task.role,
                                                       User.organisation_id == task.organisation_id))
        tasks.complete(user, task.id, {"grade": "general", "responsible_person": "张", "measures": "加锁",
                                       "rectification_deadline": later})
        assert task.hazard.status == "rectifying"
        checked, problems = audit.verify()
        assert checked > 200 and problems == []


def test_the_benchmark_has_its_own_command_line_and_is_not_in_the_production_cli(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'cli.db'}", INSTANCE_DIR=tmp_path,
                     **city.BENCH_KEYS)
    flask_help = app.test_cli_runner().invoke(args=["--help"]).output
    assert "scheduler" in flask_help and "bench" not in flask_help
    bench_help = subprocess.run([sys.executable, "-m", "app.bench", "--help"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout
    assert all(command in bench_help for command in ("run", "generate", "report", "summary"))
