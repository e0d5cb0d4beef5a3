"""The supervision dashboard (issue 14): the figures of services/statistics.py for a period, grouped and
drillable, each linking to the register filtered to exactly the hazards it counts."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.chinatime import today as china_today
from app.models import Role
from app.services import statistics
from app.services.errors import Forbidden

bp = Blueprint("statistics", __name__)

PERIODS = ("month", "quarter", "year", "last_month", "last_quarter", "last_year", "custom")


def may_see_dashboard(user) -> bool:
    """Inspectors (bureau heads among them), enterprise principals (their own enterprise) and administrators."""
    return user.role in (Role.inspector, Role.principal, Role.admin)


def period_range(kind: str, today: date) -> tuple[date, date]:
    """The first and last day of a named period containing (or just before) today."""
    if kind in ("month", "last_month"):
        first = today.replace(day=1)
        if kind == "last_month":
            first = (first - timedelta(days=1)).replace(day=1)
        return first, min(today, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1))
    if kind in ("quarter", "last_quarter"):
        first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        if kind == "last_quarter":
            first = (first - timedelta(days=1)).replace(day=1)
            first = first.replace(month=(first.month - 1) // 3 * 3 + 1)
        last = (first + timedelta(days=95)).replace(day=1) - timedelta(days=1)
        return first, min(today, last)
    year = today.year - (1 if kind == "last_year" else 0)
    return date(year, 1, 1), min(today, date(year, 12, 31))


@bp.get("/statistics")
@login_required
def dashboard():
    if not may_see_dashboard(current_user):
        raise Forbidden(_("The statistics are for inspectors, enterprise principals and administrators."))
    today = china_today()
    kind = request.args.get("period") if request.args.get("period") in PERIODS else None
    args = request.args.to_dict()
    if kind and kind != "custom":
        start, end = period_range(kind, today)
        args.update({"from": start.isoformat(), "to": end.isoformat()})
    elif kind is None and not (args.get("from") or args.get("to")):
        kind = "year"
    filters, problems = statistics.parse_filters(args, today)
    group_by = request.args.get("group_by") if request.args.get("group_by") in statistics.GROUPS else "region"
    found = statistics.statistics(current_user, filters, group_by, str(get_locale()))
    return render_template("statistics/dashboard.html", stats=found, filters=filters, problems=problems,
                           period=kind or "custom", periods=PERIODS, group_by=group_by,
                           groups=statistics.GROUPS[:5])
