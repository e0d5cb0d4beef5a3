"""The counts the header shows on every page, read in one statement."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import checklists, extension_requests, notifications, tasks


@dataclass
class HeaderCounts:
    tasks: tasks.TaskCounts  # the "My work" badge: `total` (capped past tasks.NAV_COUNT_CAP) and `overdue` (1 or 0)
    unread_notifications: int = 0
    open_checks: int = 0
    extension_decisions: int = 0


def header_counts(user: User, known_tasks: tasks.TaskCounts | None = None) -> HeaderCounts:
    """The header's badges: open tasks (and whether one is overdue), unread notifications, checks due and
    extension requests awaiting the user's decision — one SELECT of scalar subqueries.

    `known_tasks`: the task counts when the page counted them already (the worklist), so they are not read again.
    """
    columns = {"unread_notifications": notifications.unread_count_query(user).scalar_subquery()}
    for name, query in (("open_checks", checklists.my_checks_count_query(user)),
                        ("extension_decisions", extension_requests.awaiting_decision_count_query(user))):
        if query is not None:
            columns[name] = query.scalar_subquery()
    if known_tasks is None:
        total, late = tasks.nav_task_count_queries(user)
        columns["tasks_total"], columns["tasks_late"] = total.scalar_subquery(), late
    row = db.session.execute(select(*(column.label(name) for name, column in columns.items()))).one()._mapping
    if known_tasks is None:
        known_tasks = tasks.TaskCounts(total=row["tasks_total"] or 0,
                                       overdue=1 if row["tasks_total"] and row["tasks_late"] else 0)
    return HeaderCounts(tasks=known_tasks, unread_notifications=row["unread_notifications"] or 0,
                        open_checks=row.get("open_checks") or 0, extension_decisions=row.get("extension_decisions") or 0)
