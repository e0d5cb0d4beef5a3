"""The task-completion hot path: how many SQL statements it costs, and the cache of immutable version rows.

A statement budget is not a timing: it is deterministic, and a change that adds round trips to every
completion (the cost that bounds throughput, see bench-results/) shows up here first.
"""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from app.extensions import db
from app.services import processes
from tests.helpers import complete, current_task, in_days, report

ASSESS = {"grade": "general", "responsible_person": "张", "measures": "m", "rectification_deadline": in_days(5)}
# PostgreSQL, one completion that creates the next task and its deadline timer: 10 statements, plus the one
# INSERT … SELECT that tells the task's people it arrived (notifications.announce_arrivals; measured: 10 → 11),
# plus the statistics rollup's one INSERT … ON CONFLICT when the step changes what is counted (here the grade:
# the hazard's counters move from "not yet assessed" to "general", both rows in one statement; measured 11 → 12;
# a step that changes nothing counted writes nothing: services/statistics.py).
BUDGET = 12


@contextmanager
def counting(app):
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_completion_stays_within_its_statement_budget(api, app, backend):
    if backend != "postgresql":
        pytest.skip("the budget is measured on PostgreSQL, the production database")
    officer = api.as_("officer_a")
    for _ in range(2):  # the second round runs with warm caches, as a server does
        h = report(officer)
        task_id = current_task(officer, h["id"], "assess")
        with counting(app) as statements:
            body = complete(officer, task_id, ASSESS)
    assert body["status"] == "completed" and body["hazard"]["status"] == "rectifying"
    assert body["hazard"]["enterprise"]  # the response is built from the objects in hand
    assert len(statements) <= BUDGET, "\n".join(s.split("\n")[0][:100] for s in statements)
    assert not [s for s in statements if s.startswith("SELECT process_version")]


def test_version_rows_are_cached_per_application(app):
    with app.app_context():
        version = processes.active_version()
        version_id, sha = version.id, version.sha256
        db.session.commit()
        runtime = processes.runtime_for_version(version_id)
        db.session.rollback()
        with counting(app) as statements:
            assert processes.runtime_for_version(version_id) is runtime
        assert statements == []
        assert app.extensions["hazardloop.immutable"]["process_sha256"][version_id] == sha
