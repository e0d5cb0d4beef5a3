"""The supervision dashboard (issue 14): the figures of services/statistics.py for a period, grouped and
drillable, each linking to the register filtered to exactly the hazards it counts."""
from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO

from flask import Blueprint, render_template, request, send_file
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.chinatime import today as china_today
from app.services import exports, repeats, statistics, statutory
from app.services.capabilities import may_see_statistics
from app.services.errors import Forbidden, ValidationFailed
from app.web.headers import user_file

bp = Blueprint("statistics", __name__)

PERIODS = ("month", "quarter", "year", "last_month", "last_quarter", "last_year", "custom")


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
    if not may_see_statistics(current_user):
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


def _this_quarter(today: date) -> str:
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def _period_choices(today: date) -> list[str]:
    """This and the last month, quarter and year, for the period field's suggestions."""
    last_month = today.replace(day=1) - timedelta(days=1)
    last_quarter = period_range("last_quarter", today)[0]
    return [today.strftime("%Y-%m"), last_month.strftime("%Y-%m"), _this_quarter(today), _this_quarter(last_quarter),
            str(today.year), str(today.year - 1)]


def _statutory_args() -> tuple[str, str, int | None, dict[str, str]]:
    """The table's period, grouping and region from the query string; problems by field."""
    problems: dict[str, str] = {}
    period = request.args.get("period") or _this_quarter(china_today())
    group_by = request.args.get("group_by") or "region"
    if group_by not in statutory.GROUPS:
        problems["group_by"] = _("group_by must be one of: %(values)s.", values=", ".join(statutory.GROUPS))
        group_by = "region"
    raw = request.args.get("region") or ""
    region = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 and int(raw) > 0 else None
    if raw and region is None:
        problems["region"] = _("%(field)s must be a whole number id.", field="region")
    return period, group_by, region, problems


@bp.get("/statistics/statutory")
@login_required
def statutory_table():
    """The national table (隐患排查治理情况统计表) on a page: a period picker, the table, its Excel and print."""
    period, group_by, region, problems = _statutory_args()
    shown = period
    try:
        statutory.parse_period(period)
    except ValidationFailed as exc:
        problems["period"] = exc.message
        shown = _this_quarter(china_today())
    table = statutory.statutory_table(current_user, shown, group_by, region, str(get_locale()))
    status = 422 if problems else 200
    return render_template("statistics/statutory.html", table=table, period=period, group_by=group_by,
                           region=region, problems=problems, columns=statutory.columns(),
                           column_groups=statutory.column_groups(), period_choices=_period_choices(china_today()),
                           scope=statutory.scope_label(current_user)), status


@bp.get("/statistics/statutory.xlsx")
@login_required
def statutory_workbook():
    period, group_by, region, problems = _statutory_args()
    if problems:
        raise ValidationFailed(next(iter(problems.values())), fields=problems)
    table = statutory.statutory_table(current_user, period, group_by, region, str(get_locale()))
    body = statutory.workbook(table, statutory.scope_label(current_user))
    return user_file(send_file(BytesIO(body), mimetype=exports.XLSX), statutory.filename(table))


@bp.get("/statistics/repeats")
@login_required
def repeat_offenders():
    """The enterprises with the most repeat hazards (反复性隐患) found in a period, in the caller's scope; each
    links to the register filtered to its repeat hazards."""
    if not may_see_statistics(current_user):
        raise Forbidden(_("The statistics are for inspectors, enterprise principals and administrators."))
    today = china_today()
    args = request.args.to_dict()
    if not (args.get("from") or args.get("to")):
        start, end = period_range("year", today)
        args.update({"from": start.isoformat(), "to": end.isoformat()})
    filters, problems = statistics.parse_filters(args, today)
    offenders = repeats.repeat_offenders(current_user, filters)
    return render_template("statistics/repeats.html", offenders=offenders, filters=filters, problems=problems,
                           window=repeats.window_days())
