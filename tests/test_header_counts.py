"""The header's badges on every page (open tasks and overdue, unread notifications, checks due, extension requests
awaiting a decision): one SQL statement per request, and the same numbers as the lists they lead to."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, select

from app.extensions import db
from app.models import User
from app.services import checklists, extension_requests, notifications, tasks
from tests.deadline_steps import Person, deadline_of, general_hazard_rectifying, move_to, tick
from tests.helpers import in_days, report
from tests.test_checklists import make_checklist
from tests.test_extension_requests import ask


@contextmanager
def statements(app):
    """The SQL statements run meanwhile."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def header_statements(seen: list[str]) -> list[str]:
    return [s for s in seen if "notification" in s]


def expected(app, username: str) -> dict:
    """The numbers as the lists behind the badges count them."""
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.username == username))
        counts = tasks.task_counts(user)
        found = {"tasks": counts.total, "overdue": counts.overdue > 0,
                 "unread": len(notifications.inbox(user, unread_only=True, limit=1000)),
                 "checks": len(checklists.my_checks(user)), "decisions": len(extension_requests.awaiting_decision(user))}
        db.session.remove()
    return found


def shown(html: str) -> dict:
    """The numbers the header shows."""
    nav = re.search(r'<span class="badge rounded-pill (text-bg-\w+)"\s+id="hl-nav-task-count">(\d+)</span>', html)
    unread = re.search(r'id="hl-unread-count" data-unread="(\d+)"', html)
    checks = re.search(r'href="/checks">[^<]*<span class="badge text-bg-warning">(\d+)</span>', html)
    decisions = re.search(r'href="/extensions">[^<]*<span class="badge text-bg-danger">(\d+)</span>', html)
    return {"tasks": int(nav.group(2)) if nav else 0, "overdue": bool(nav) and nav.group(1) == "text-bg-danger",
            "unread": int(unread.group(1)) if unread else 0, "checks": int(checks.group(1)) if checks else 0,
            "decisions": int(decisions.group(1)) if decisions else 0}


def test_the_header_counts_in_one_statement_what_the_lists_count(api, app, client):
    make_checklist(app)  # officer_a's daily check
    day = in_days(2)
    hazard_id = general_hazard_rectifying(api, day)
    report(api.as_("officer_a"))
    assert isinstance(ask(api, hazard_id, in_days(9)), int)  # awaiting principal_a's decision
    move_to(deadline_of(day) + timedelta(minutes=1))  # the rectification is overdue now
    tick(app)

    officer = Person(client, "officer_a")
    with statements(app) as seen:
        html = officer.get("/hazards").get_data(as_text=True)
    [header] = header_statements(seen)
    assert "human_task" in header and "check_task" in header
    numbers = expected(app, "officer_a")
    assert numbers["tasks"] == 2 and numbers["overdue"] and numbers["unread"] and numbers["checks"] == 1
    assert shown(html) == dict(numbers, decisions=0)

    with statements(app) as seen:
        html = officer.get("/tasks").get_data(as_text=True)
    [header] = header_statements(seen)
    assert "human_task" not in header, "the worklist has counted its tasks already"
    assert shown(html) == dict(numbers, decisions=0)

    principal = Person(app.test_client(), "principal_a")
    with statements(app) as seen:
        html = principal.get("/notifications").get_data(as_text=True)
    [header] = header_statements([s for s in seen if "extension_request" in s])
    assert header in header_statements(seen) and len(header_statements(seen)) == 2  # the header + the inbox
    numbers = expected(app, "principal_a")
    assert numbers["decisions"] == 1 and numbers["unread"]
    assert shown(html) == numbers
