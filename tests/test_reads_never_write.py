"""Reads never write: a database set up by the documented commands serves its read paths read-only.

A fresh PostgreSQL database gets `flask db upgrade`, `flask shipped install` and `flask seed-demo` (what
`make run` and the README's production steps run); then every transaction is opened READ ONLY, and the
process library, a form, the register and a hazard's page must still be served: none of them may deploy,
seed or otherwise write anything on the way.
"""
from __future__ import annotations

import pytest
from sqlalchemy import event, select

from app import create_app
from app.extensions import db
from app.models import Hazard
from config import TestConfig
from tests.conftest import empty_pg_database
from tests.test_pages import Pages


@pytest.fixture
def fresh_pg(tmp_path):
    with empty_pg_database("hazardloop_ro") as url:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=tmp_path, UPLOAD_DIR=tmp_path / "up")
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_library_a_form_the_register_and_a_hazard_are_served_by_read_only_transactions(fresh_pg):
    app = fresh_pg
    runner = app.test_cli_runner()
    for command in (["db", "upgrade"], ["shipped", "install"], ["seed-demo"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, (command, result.output, result.exception)
    assert "is up to date" in runner.invoke(args=["shipped", "install"]).output  # idempotent
    with app.app_context():
        hazard_id = db.session.scalar(select(Hazard.id).order_by(Hazard.id).limit(1))
        engine = db.engine

    admin, officer = Pages(app.test_client()), Pages(app.test_client())
    assert admin.login("admin").status_code == 302 and officer.login("officer_a").status_code == 302
    token = app.test_client().post("/api/v1/auth/token", json={"username": "officer_a", "password": "hazardloop"}) \
        .get_json()["token"]

    refused: list[str] = []

    def read_only(conn) -> None:
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")

    def note_writes(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            refused.append(statement.split("\n")[0][:120])

    event.listen(engine, "begin", read_only)
    event.listen(engine, "before_cursor_execute", note_writes)
    try:
        for who, path in ((admin, "/admin/processes"), (admin, "/admin/forms"), (admin, "/admin/forms/assess"),
                          (admin, "/admin/processes/hazard_lifecycle/versions/1"),
                          (officer, "/hazards"), (officer, f"/hazards/{hazard_id}"), (officer, "/tasks"),
                          (admin, "/admin/regions"), (admin, "/admin/units"), (admin, "/admin/enterprises?q=宏达"),
                          (admin, "/admin/enterprises/new"), (admin, "/admin/units/new")):
            resp = who.get(path)
            assert resp.status_code == 200, (path, resp.status_code, resp.get_data(as_text=True)[:500])
        resp = app.test_client().get("/api/v1/forms/assess", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200 and resp.get_json()["key"] == "assess"
    finally:
        event.remove(engine, "begin", read_only)
        event.remove(engine, "before_cursor_execute", note_writes)
    assert refused == []
