"""The national table (隐患排查治理情况统计表, issue 14): the statutory statistics of hazard investigation and
governance by region or by industry, for a month, a quarter or a year, read from the statistics rollup
(services/statistics.py holds what each figure means) and scoped to the caller.

Columns, as the government table lays them out: units checked (排查单位数: enterprises with a hazard found in the
period); general hazards found / rectified / rate; major hazards found / rectified and written off / rate; major
hazards listed in a governance plan (列入治理计划: a plan recorded) and of those how many have each of the five in
place (statistics.PLAN_ITEMS); listed for supervision (挂牌督办) in all and at each tier (provincial, city,
county — a city's district — and township); governance funds committed (累计落实治理资金) in 10,000 yuan (万元).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.extensions import db
from app.models import HazardStatsDaily
from app.services import exports, statistics
from app.services.capabilities import may_see_statistics
from app.services.errors import Forbidden, ValidationFailed

GROUPS = ("region", "industry")
# The rollup counters the table sums (units checked is counted apart: distinct enterprises).
SUMS = ("general_found", "general_fixed", "major_found", "major_written_off", "major_planned",
        *statistics.PLAN_ITEMS, "listed", *(f"listed_{tier}" for tier in statistics.TIERS), "funds_committed")
PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})|Q([1-4]))?$")
TEN_THOUSAND_YUAN_IN_FEN = 1_000_000


@dataclass
class Period:
    text: str          # as given: 2026-11, 2026Q4 or 2026
    start: date
    end: date


def parse_period(raw: Any) -> Period:
    """A month (2026-11), a quarter (2026Q4) or a year (2026), between 2000 and 2100."""
    match = PERIOD.match(raw) if isinstance(raw, str) and len(raw) <= 7 else None
    year = int(match.group(1)) if match else 0
    month = int(match.group(2)) if match and match.group(2) else None
    if not match or not 2000 <= year <= 2100 or (month is not None and not 1 <= month <= 12):
        raise ValidationFailed(_("Give the period as a month (2026-11), a quarter (2026Q4) or a year (2026), "
                                 "between 2000 and 2100."), fields={"period": _("Use 2026-11, 2026Q4 or 2026.")})
    if month is not None:
        first, months = date(year, month, 1), 1
    elif match.group(3):
        first, months = date(year, (int(match.group(3)) - 1) * 3 + 1, 1), 3
    else:
        first, months = date(year, 1, 1), 12
    after = date(year + (first.month - 1 + months) // 12, (first.month - 1 + months) % 12 + 1, 1)
    return Period(raw, first, after - timedelta(days=1))


@dataclass
class Line:
    """One row of the table (or its total)."""
    key: Any
    label: str
    units: int = 0
    sums: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUMS, 0))

    @property
    def units_checked(self) -> int:
        return self.units

    def add(self, row: Any, sign: int = 1) -> None:
        for name in SUMS:
            self.sums[name] += sign * int(row[name] or 0)

    def as_dict(self) -> dict[str, Any]:
        s = self.sums
        return {"key": self.key, "label": self.label, "units_checked": self.units_checked,
                "general_found": s["general_found"], "general_rectified": s["general_fixed"],
                "general_rate": _rate(s["general_fixed"], s["general_found"]),
                "major_found": s["major_found"], "major_written_off": s["major_written_off"],
                "major_rate": _rate(s["major_written_off"], s["major_found"]),
                "major_planned": s["major_planned"], **{name: s[name] for name in statistics.PLAN_ITEMS},
                "listed": s["listed"], **{f"listed_{tier}": s[f"listed_{tier}"] for tier in statistics.TIERS},
                "funds_committed": str((Decimal(s["funds_committed"]) / TEN_THOUSAND_YUAN_IN_FEN)
                                       .quantize(Decimal("0.01")))}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class Table:
    period: Period
    group_by: str
    rows: list[Line]
    total: Line
    parent_label: str | None = None


def statutory_table(user, period_text: Any, group_by: str, region_id: int | None = None,
                    language: str | None = None, *, daily_only: bool = False) -> Table:
    """The national table for a period, grouped by region (the districts, or the regions right below `region_id`)
    or by GB/T 4754 industry section, within the caller's scope. The sums come from the rollups
    (statistics.rollup_parts: the monthly one for whole months); units checked (distinct enterprises) from the
    daily rollup, which alone knows the enterprise, reading only its key columns. `daily_only`: the daily rollup
    answers all of it (the tests' comparison)."""
    if not may_see_statistics(user):
        raise Forbidden(_("The statistics are for inspectors, enterprise principals and administrators."))
    if group_by not in GROUPS:
        raise ValidationFailed(_("group_by must be one of: %(values)s.", values=", ".join(GROUPS)),
                               fields={"group_by": ", ".join(GROUPS)})
    period = parse_period(period_text)
    filters = statistics.StatsFilters(start=period.start, end=period.end, region_id=region_id)
    daily = statistics.Part(HazardStatsDaily, period.start, period.end)
    parts = [daily] if daily_only else statistics.rollup_parts(user, filters, group_by)
    lines: dict[Any, Line] = {}
    regions = statistics._regions() if group_by == "region" else None
    parent_label = regions.get(region_id, (None, ""))[1] if regions and region_id else None

    def grouped(stmt, t):
        stmt, key = statistics._group_key(stmt, t, group_by, filters, regions)
        return stmt.add_columns(key.label("k")).group_by(key)

    def line_of(k):
        if group_by == "industry":
            return lines.setdefault(k, Line(key=k or None, label=statistics._label("industry", k, {}, language)))
        label = regions.get(k, (None, ""))[1] if k else _("No region")
        return lines.setdefault(k, Line(key=k or None, label=label))

    total = Line(key=None, label=_("Total"))
    for part in parts:
        t = part.table
        sums = [func.coalesce(func.sum(getattr(t, name)), 0).label(name) for name in SUMS]
        stmt = grouped(select(*sums).select_from(t), t).where(*statistics._where(user, filters, part))
        for row in db.session.execute(stmt):
            line_of(row.k).add(row._mapping, part.sign)
            total.add(row._mapping, part.sign)
    # Units checked: per group, the enterprises with a hazard found in the period (each counted once per group),
    # and in all (each once): one pass over the daily rollup's key columns for the distinct (group, enterprise).
    t = HazardStatsDaily
    pairs = grouped(select(t.enterprise_id.label("e")).select_from(t), t).group_by(t.enterprise_id).where(
        *statistics._where(user, filters, daily), t.found > 0)
    units: dict[Any, int] = defaultdict(int)
    enterprises = set()
    for row in db.session.execute(pairs):
        units[row.k] += 1
        enterprises.add(row.e)
    for k, count in units.items():
        line_of(k).units = count
    total.units = len(enterprises)
    rows = sorted((line for line in lines.values() if line.units or any(line.sums.values())),
                  key=lambda line: (line.key is None, str(line.label)))
    return Table(period, group_by, rows, total, parent_label)


def as_json(table: Table) -> dict[str, Any]:
    return {"period": table.period.text, "from": table.period.start.isoformat(), "to": table.period.end.isoformat(),
            "group_by": table.group_by, "rows": [line.as_dict() for line in table.rows],
            "total": table.total.as_dict()}


# ------------------------------------------------------------------------------------ the sheet
def columns() -> list[tuple[str | None, str, str]]:
    """The table's columns as (group heading or None, heading, field of Line.as_dict), in order."""
    general, major = _("General hazards"), _("Major hazards")
    planned, listed = _("Major hazards in a governance plan"), _("Listed for supervision")
    return [
        (None, _("Units checked"), "units_checked"),
        (general, _("Found"), "general_found"), (general, _("Rectified"), "general_rectified"),
        (general, _("Rectification rate"), "general_rate"),
        (major, _("Found"), "major_found"), (major, _("Rectified and written off"), "major_written_off"),
        (major, _("Rectification rate"), "major_rate"),
        (planned, _("In a plan"), "major_planned"), (planned, _("Targets and tasks in place"), "plan_targets"),
        (planned, _("Funds and materials in place"), "plan_funds_materials"),
        (planned, _("Organisation and people in place"), "plan_organisation"),
        (planned, _("Time limit in place"), "plan_time_limit"),
        (planned, _("Safety measures and emergency plan in place"), "plan_safety_emergency"),
        (listed, _("Total"), "listed"),
        *[(listed, label, f"listed_{tier}") for tier, label in tier_labels().items()],
        (None, _("Governance funds committed (10,000 yuan)"), "funds_committed"),
    ]


def tier_labels() -> dict[str, str]:
    """The supervision tiers (statistics.TIERS) and their names in the user's language, in the table's order."""
    names = {"province": _("Province tier"), "city": _("City tier"), "district": _("District tier"),
             "township": _("Township tier")}
    return {tier: names[tier] for tier in statistics.TIERS}


def column_groups() -> list[tuple[str | None, list[tuple[str | None, str, str]]]]:
    """The columns in runs of the same group heading (None: a column of its own), for the two header rows."""
    runs: list[tuple[str | None, list]] = []
    for col in columns():
        if col[0] is not None and runs and runs[-1][0] == col[0]:
            runs[-1][1].append(col)
        else:
            runs.append((col[0], [col]))
    return runs


def scope_label(user) -> str:
    """Whose figures: the caller's organisation (an inspector's unit, a principal's enterprise), or the system."""
    return user.organisation.name if getattr(user, "organisation", None) is not None else _("The whole system")


def filename(table: Table) -> str:
    return f"{_('statutory-table')}-{table.period.text}-{table.group_by}.xlsx"


def title() -> str:
    return _("Statistics of hazard investigation and governance")


def workbook(table: Table, scope_label: str) -> bytes:
    """The table as an .xlsx: a title row, the period and scope, two header rows as the government table lays
    them out (group headings merged over their columns), one row per group and the totals row."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    cols = columns()
    width = len(cols) + 1
    book = Workbook()
    sheet = book.active
    sheet.title = table.period.text
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.cell(1, 1, title()).font = Font(bold=True, size=14)
    sheet.cell(1, 1).alignment = centre
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(2, 1, _("Period: %(period)s (%(start)s – %(end)s). Scope: %(scope)s.", period=table.period.text,
                       start=table.period.start.isoformat(), end=table.period.end.isoformat(), scope=scope_label))
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    first_heading = _("Region") if table.group_by == "region" else _("Industry")
    sheet.cell(3, 1, first_heading)
    sheet.merge_cells(start_row=3, start_column=1, end_row=4, end_column=1)
    column = 2
    for group, run in column_groups():
        if group is None:
            sheet.cell(3, column, run[0][1])
            sheet.merge_cells(start_row=3, start_column=column, end_row=4, end_column=column)
        else:
            sheet.cell(3, column, group)
            sheet.merge_cells(start_row=3, start_column=column, end_row=3, end_column=column + len(run) - 1)
            for offset, (_group, heading, _name) in enumerate(run):
                sheet.cell(4, column + offset, heading)
        column += len(run)
    for row in (3, 4):
        for column in range(1, width + 1):
            cell = sheet.cell(row, column)
            cell.font, cell.alignment, cell.border = Font(bold=True), centre, box
    for line in [*table.rows, table.total]:
        values = line.as_dict()
        # A region's or an industry's name is text people typed: it stays text ("=…" is no formula).
        sheet.append(exports.as_values(sheet, [line.label] + [_cell(values[name]) for _g, _h, name in cols]))
        current = sheet.max_row
        for column, (_g, _h, name) in enumerate(cols, start=2):
            cell = sheet.cell(current, column)
            if name.endswith("_rate"):
                cell.number_format = "0.00%"
            elif name == "funds_committed":
                cell.number_format = "0.00"
        for column in range(1, width + 1):
            sheet.cell(current, column).border = box
            if line is table.total:
                sheet.cell(current, column).font = Font(bold=True)
    sheet.column_dimensions["A"].width = 24
    for column in range(2, width + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 12
    sheet.row_dimensions[4].height = 48
    sheet.freeze_panes = "B5"
    sheet.print_title_rows = "3:4"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return Decimal(value)
    return value
