"""Backups that restore: the README's `pg_dump` of a working database, restored into a fresh database, serves and
passes `flask audit verify` (the chains of hashes check, so nothing was lost or reordered on the way)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Hazard
from config import TestConfig
from tests.conftest import empty_pg_database
from tests.helpers import complete, current_task, in_days, report, upload

ROOT = Path(__file__).resolve().parent.parent


def libpq(url: str) -> str:
    """The URL as PostgreSQL's own tools take it (no +psycopg driver name)."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_a_dump_restored_into_a_fresh_database_verifies_and_serves(api, app, backend, tmp_path):
    if backend != "postgresql":
        pytest.skip("the backup procedure is PostgreSQL's (pg_dump / pg_restore)")
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is needed (Debian package postgresql-client)")
    officer = api.as_("officer_a")
    hazard_id = report(officer, photos=[upload(officer)])["id"]
    complete(officer, current_task(officer, hazard_id, "assess"), {
        "grade": "general", "responsible_person": "张安全", "measures": "加锁", "rectification_deadline": in_days(3)})
    source = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        hazards = db.session.scalar(sa.select(sa.func.count()).select_from(Hazard))
        db.session.remove()
    dump = tmp_path / "hazardloop.dump"
    # As the README says: custom format, taken while the service runs (one consistent snapshot).
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", libpq(source)], check=True,
                   timeout=300)

    with empty_pg_database("hazardloop_restore") as restored:
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={libpq(restored)}", str(dump)],
                       check=True, timeout=300)
        env = {**os.environ, "FLASK_APP": "wsgi.py", "DATABASE_URL": restored, "SECRET_KEY": TestConfig.SECRET_KEY,
               "AUDIT_KEY": TestConfig.AUDIT_KEY, "REPORTER_KEY": TestConfig.REPORTER_KEY, "HAZARDLOOP_INSTANCE_DIR": str(tmp_path), "LOG_FORMAT": "text"}
        flask = str(Path(sys.executable).parent / "flask")
        verify = subprocess.run([flask, "audit", "verify"], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=300, check=False)
        assert verify.returncode == 0, verify.stderr[-3000:]
        assert f"Audit trail intact: {events} events verified." in verify.stdout
        current = subprocess.run([flask, "db", "current"], cwd=ROOT, env=env, capture_output=True, text=True,
                                 timeout=300, check=False)
        assert "(head)" in current.stdout, current.stdout + current.stderr
        engine = sa.create_engine(restored)
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM hazard")) == hazards
        engine.dispose()
