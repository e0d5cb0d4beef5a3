"""Reads that may lag go to a real streaming replica (pg_basebackup, started by the `pg_replica` fixture); a person
sees their own writes at once. With replay paused on the replica, a write on the primary is visible to its writer
in the register straight away, and not to a colleague (whose register is read from the replica) until replay
resumes."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import seeded_app
from tests.helpers import report


@pytest.fixture
def replica_app(app):
    return app, sa.create_engine(app.config["DATABASE_REPLICA_URL"], isolation_level="AUTOCOMMIT")


@pytest.fixture
def app(pg_url, pg_replica, tmp_path):
    """The application on PostgreSQL with its replica (this module's tests use PostgreSQL only)."""
    with seeded_app(pg_url, tmp_path, DATABASE_REPLICA_URL=pg_replica, REPLICA_STICKY_SECONDS=2) as application:
        yield application
        replica = sa.create_engine(pg_replica, isolation_level="AUTOCOMMIT")
        with replica.connect() as conn:  # never leave the replica paused for the next test
            conn.execute(sa.text("SELECT pg_wal_replay_resume()"))
        replica.dispose()


def caught_up(app, replica, timeout: float = 30) -> None:
    with app.app_context():
        target = db.session.scalar(sa.text("SELECT pg_current_wal_lsn()::text"))
        db.session.remove()
    deadline = time.monotonic() + timeout
    with replica.connect() as conn:
        while not conn.scalar(sa.text("SELECT pg_last_wal_replay_lsn() >= CAST(:t AS pg_lsn)"), {"t": target}):
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.1)


def titles(api, who: str) -> set[str]:
    resp = api.as_(who).get("/hazards?per_page=100")
    assert resp.status_code == 200, resp.get_json()
    return {h["title"] for h in resp.get_json()["items"]}


def test_the_register_reads_the_replica_and_a_writer_sees_their_own_write_at_once(replica_app, api):
    app, replica = replica_app
    api.token("officer_a")
    api.token("principal_a")  # both of enterprise A: both may see A's hazards
    caught_up(app, replica)
    with replica.connect() as conn:
        conn.execute(sa.text("SELECT pg_wal_replay_pause()"))

    report(api.as_("officer_a"), title="只在主库上")
    assert "只在主库上" in titles(api, "officer_a"), "the writer reads the primary right after writing"
    assert "只在主库上" not in titles(api, "principal_a"), "a colleague's register is read from the paused replica"

    with replica.connect() as conn:
        conn.execute(sa.text("SELECT pg_wal_replay_resume()"))
    caught_up(app, replica)
    assert "只在主库上" in titles(api, "principal_a")

    # Once the window has passed, the writer reads the replica again: paused, it lacks their next write... which
    # they see at once again, since writing opened a new window.
    time.sleep(2.2)
    with replica.connect() as conn:
        conn.execute(sa.text("SELECT pg_wal_replay_pause()"))
    assert "只在主库上" in titles(api, "officer_a")
    report(api.as_("officer_a"), title="第二条")
    assert "第二条" in titles(api, "officer_a") and "第二条" not in titles(api, "principal_a")


def test_statistics_read_the_replica_too(replica_app, api):
    app, replica = replica_app
    caught_up(app, replica)
    with app.app_context():
        assert "replica" in db.engines
    resp = api.as_("principal_a").get("/statistics")
    assert resp.status_code == 200, resp.get_json()


def export_titles(api, who: str, path: str = "/hazards/export") -> set[str]:
    from io import BytesIO

    from openpyxl import load_workbook

    resp = api.as_(who).get(path)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    rows = load_workbook(BytesIO(resp.data), read_only=True).active.iter_rows(values_only=True)
    return {str(cell) for row in rows for cell in row if cell is not None}


def test_an_export_is_served_by_the_replica_and_the_writer_still_sees_their_write(replica_app, api):
    """The register's Excel export reads the replica like the register: with replay paused, a colleague's export
    lacks the new hazard until the replica catches up; the writer's export (inside their window) has it."""
    app, replica = replica_app
    api.token("officer_a")
    api.token("principal_a")
    caught_up(app, replica)
    with replica.connect() as conn:
        conn.execute(sa.text("SELECT pg_wal_replay_pause()"))
    report(api.as_("officer_a"), title="导出只在主库上")
    assert "导出只在主库上" in export_titles(api, "officer_a")
    assert "导出只在主库上" not in export_titles(api, "principal_a"), "a colleague's export is read from the replica"
    with replica.connect() as conn:
        conn.execute(sa.text("SELECT pg_wal_replay_resume()"))
    caught_up(app, replica)
    assert "导出只在主库上" in export_titles(api, "principal_a")
