"""The regulator's figures (issue 14): the one home of what "found", "fixed", "on time", "overdue" and
"five in place" mean, the rollup that keeps them, and the queries the dashboard, the API and later the
statutory table read.

Definitions (a hazard as it stands now, counted in the period in which it was *found*):

- found: reported in the period (China date of `hazard.created_at` within [from, to]).
- fixed: its loop is closed on evidence — status `closed` (a general hazard re-checked, 复查) or
  `written_off` (a major hazard verified on site and written off, 核销). Steps before that (rectifying,
  reviewing, accepting, verifying, writing_off) are not fixed yet.
- rectification rate = fixed ÷ found; on-time rate = fixed on time ÷ fixed, where *fixed on time* means
  closed (China date of `closed_at`) on or before its rectification deadline, or fixed with no deadline set.
- overdue: overdue now (the read model's flag: a step still open past its deadline).
- major found / major written off: grade `major`; and of those, status `written_off`. listed: listed for
  supervision (挂牌督办).
- five in place (五落实), read from the plan form (forms/plan.json): measures 措施 ← `measures`, funds 资金 ←
  `funds` (recorded, zero allowed), deadline 时限 ← `rectification_deadline`, responsible person 责任人 ←
  `responsible_person`, emergency plan 预案 ← `emergency_plan`. Counted for major hazards only (a general
  hazard has no plan); all five present.
- funds committed: the plan's `funds`; funds spent: the rectification's `funds_spent` (forms/rectify.json),
  where recorded. Both in fen (0.01 yuan) in the database, yuan in answers.

The rollup (`hazard_stats_daily`) holds these counters per day found × enterprise × unit × region × grade ×
type × source and equals a GROUP BY over the hazard table: each flush that adds or changes a hazard (a step
of the unit of work, a scheduler alert marking it overdue, a supervision move) subtracts the hazard's old
contribution and adds its new one, in the same transaction (`_track`, a before_flush hook on the session).
The weekly and monthly rollups hold the same counters without the enterprise (its industry section instead), per
block of days inside a month (week_of) and per month, written by the same hook in the same statement.
`rebuild()` (`flask stats rebuild`) recomputes all three from the hazards.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Integer, case, event, func, inspect, literal, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from app.chinatime import china_date, parse_date
from app.extensions import db
from app.models import (
    Hazard,
    HazardStatsDaily,
    HazardStatsMonthly,
    HazardStatsWeekly,
    HazardStatus,
    Organisation,
    OrgKind,
    Region,
)
from app.services import org_codes, replica
from app.services.access import hazard_scope
from app.services.policy import hazard_scope_orgs, region_subtree

FIXED_STATUSES = frozenset({HazardStatus.closed, HazardStatus.written_off})
MAJOR = "major"
GRADES = ("general", "major")
HAZARD_TYPES = ("unsafe_behaviour", "unsafe_condition", "management_defect")
SOURCES = ("self_check", "government_inspection", "public_report", "referral")
GROUPS = ("region", "industry", "grade", "hazard_type", "source", "enterprise")
# The plan form's fields that put the five of 五落实 in place.
FIVE_FIELDS = {"measures": "measures", "funds": "funds", "deadline": "rectification_deadline",
               "responsible_person": "responsible_person", "emergency_plan": "emergency_plan"}
# The national table's five (治理目标任务, 经费物资, 机构人员, 时间要求, 安全措施应急预案): the hazard's flag ← the
# plan form's fields that must all be recorded for it.
PLAN_ITEMS = {"plan_targets": ("goal",), "plan_funds_materials": ("funds",),
              "plan_organisation": ("responsible_person",), "plan_time_limit": ("rectification_deadline",),
              "plan_safety_emergency": ("safety_measures", "emergency_plan")}
# The tiers a listed hazard is supervised at (forms/supervision_decision.json `supervision_tier`), in the national
# table's order: provincial, city, county (a city's district), and township.
TIERS = ("province", "city", "district", "township")
COUNTERS = ("found", "fixed", "fixed_on_time", "overdue", "major_found", "major_written_off", "listed",
            "five_in_place", "funds_committed", "funds_spent",
            # the national table's (migration 0021)
            "general_found", "general_fixed", "major_planned", *PLAN_ITEMS, "listed_district", "listed_township",
            "repeat",
            # the provincial and city tiers (migration 0030)
            "listed_province", "listed_city")
# The counters the dashboard and the statistics API show (the rest are the national table's): what they sum.
DASHBOARD = (*COUNTERS[:10], "repeat")
TREND = ("found", "fixed", "overdue")   # the monthly trend's (the chart and its table)
KEY = ("day", "enterprise_id", "supervising_unit_id", "region_id", "grade", "hazard_type", "source")
# The monthly rollup's key (models/statistics.HazardStatsMonthly): no enterprise, no day; the enterprise's industry
# section instead.
MONTH_KEY = ("month", "supervising_unit_id", "region_id", "industry", "grade", "hazard_type", "source")
# The weekly rollup's (HazardStatsWeekly): the monthly key with the week (a block of days inside the month) for the
# month.
WEEK_KEY = ("week", *MONTH_KEY[1:])
# The hazard columns a contribution reads.
_READS = ("created_at", "enterprise_id", "supervising_unit_id", "region_id", "grade", "hazard_type", "source",
          "status", "rectification_deadline", "closed_at", "overdue", "listed", "five_in_place", "plan_funds",
          "funds_spent", "planned", *PLAN_ITEMS, "supervision_tier", "repeat_number")


# ------------------------------------------------------------------------------------ definitions
def fen(value: Any) -> int | None:
    """A sum in yuan (a form's number) as fen; None when not recorded."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int((Decimal(str(value)) * 100).to_integral_value())
    except ArithmeticError:
        return None


def plan_figures(data: dict[str, Any]) -> tuple[bool, int | None, int | None]:
    """(all five of 五落实 in place, plan funds, funds spent) from an instance's data (its forms' fields)."""
    five = all(data.get(name) not in (None, "") for name in FIVE_FIELDS.values())
    return five, fen(data.get("funds")), fen(data.get("funds_spent"))


def plan_items(data: dict[str, Any]) -> dict[str, bool]:
    """The national table's plan flags from an instance's data: `planned` (a governance plan recorded: its
    `measures`) and each of PLAN_ITEMS (all of its fields recorded). Counted for major hazards only."""
    def present(name: str) -> bool:
        return data.get(name) not in (None, "")

    return {"planned": present("measures"),
            **{flag: all(present(name) for name in names) for flag, names in PLAN_ITEMS.items()}}


def is_fixed(status: Any) -> bool:
    return status in FIXED_STATUSES


def fixed_on_time(status: Any, closed_at, deadline: date | None) -> bool:
    if not is_fixed(status):
        return False
    return deadline is None or (closed_at is not None and china_date(closed_at) <= deadline)


def _contribution(values: dict[str, Any]) -> tuple[tuple, dict[str, int]] | None:
    """(rollup key, counters) of one hazard's column values; None for a hazard not yet recorded."""
    if values["created_at"] is None or values["enterprise_id"] is None:
        return None
    status, grade = values["status"], values["grade"]
    fixed = is_fixed(status)
    major = grade == MAJOR
    key = (china_date(values["created_at"]), values["enterprise_id"], values["supervising_unit_id"] or 0,
           values["region_id"] or 0, grade or "", values["hazard_type"] or "", values["source"] or "")
    counters = {
        "found": 1, "fixed": int(fixed),
        "fixed_on_time": int(fixed_on_time(status, values["closed_at"], values["rectification_deadline"])),
        "overdue": int(bool(values["overdue"])), "major_found": int(major),
        "major_written_off": int(major and status == HazardStatus.written_off),
        "listed": int(bool(values["listed"])), "five_in_place": int(major and bool(values["five_in_place"])),
        "funds_committed": values["plan_funds"] or 0, "funds_spent": values["funds_spent"] or 0,
        "general_found": int(grade == "general"), "general_fixed": int(grade == "general" and fixed)}
    planned = major and bool(values["planned"])
    counters["major_planned"] = int(planned)
    for flag in PLAN_ITEMS:
        counters[flag] = int(planned and bool(values[flag]))
    listed = bool(values["listed"])
    for tier in TIERS:
        counters[f"listed_{tier}"] = int(listed and values["supervision_tier"] == tier)
    counters["repeat"] = int(values["repeat_number"] is not None)  # 反复性隐患 (services/repeats.py)
    return key, counters


def _values(session: Session, hazard: Hazard, *, old: bool) -> dict[str, Any]:
    """The columns a contribution reads: as the hazard is now, or (`old`) as its row was before this flush.

    An attribute expired by a commit is loaded here; one set while expired (its old value never read) is read
    from the row, which this flush has not written yet.
    """
    if not old:
        return {name: getattr(hazard, name) for name in _READS}
    state = inspect(hazard)
    values: dict[str, Any] = {}
    for name in _READS:
        history = state.attrs[name].load_history()
        if history.deleted or history.unchanged:
            values[name] = (history.deleted or history.unchanged)[0]
        elif history.added:
            row = session.connection().execute(select(*[getattr(Hazard, n) for n in _READS])
                                               .where(Hazard.id == state.identity[0])).one()
            return dict(zip(_READS, row, strict=True))
        else:
            values[name] = None
    return values


# ------------------------------------------------------------------------------------ the rollup
@event.listens_for(Session, "before_flush")
def _track(session: Session, _flush_context, _instances) -> None:
    """Move the changed hazards' contributions in the rollup, in the flush that writes them."""
    deltas: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, Hazard):
            continue
        state = inspect(obj)
        if obj in session.dirty and not session.is_modified(obj):
            continue
        if obj not in session.deleted:  # the register's filter for "fixed on time" reads this column
            on_time = fixed_on_time(obj.status, obj.closed_at, obj.rectification_deadline)
            if obj.fixed_on_time != on_time:
                obj.fixed_on_time = on_time
        before = None if state.pending else _contribution(_values(session, obj, old=True))
        after = None if obj in session.deleted else _contribution(_values(session, obj, old=False))
        if before == after:
            continue
        for contribution, sign in ((before, -1), (after, 1)):
            if contribution is not None:
                key, counters = contribution
                for name, value in counters.items():
                    deltas[key][name] += sign * value
    rows = [dict(zip(KEY, key, strict=True), **counters) for key, counters in deltas.items()
            if any(counters.values())]
    if rows:
        _upsert_rollups(session, rows)
    _move_industries(session)


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _month_sql(postgres: bool, day: str) -> str:
    return f"CAST(date_trunc('month', {day}) AS date)" if postgres else f"date({day}, 'start of month')"


def week_of(day: date) -> date:
    """The first day of `day`'s week in the weekly rollup: the block of days 1–7, 8–14, 15–21, 22–28 or 29 to the
    month's end that holds it."""
    return day.replace(day=min((day.day - 1) // 7, 4) * 7 + 1)


def _week_sql(postgres: bool, day: str) -> str:
    """week_of in SQL."""
    if postgres:
        return (f"CAST(date_trunc('month', {day}) AS date) "
                f"+ LEAST(CAST(EXTRACT(day FROM {day}) AS integer) - 1, 28) / 7 * 7")
    return (f"date({day}, 'start of month', "
            f"'+' || (min(CAST(strftime('%d', {day}) AS integer) - 1, 28) / 7 * 7) || ' days')")


# The rollups without the enterprise: (table, key, the SQL of its period from a day).
_COARSE = (("hazard_stats_weekly", WEEK_KEY, _week_sql), ("hazard_stats_monthly", MONTH_KEY, _month_sql))


def _rollup_insert(table: str, key: tuple[str, ...], select_sql: str) -> str:
    """INSERT … SELECT into a rollup that adds the selected counters to rows already there."""
    adds = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in COUNTERS)
    return (f"INSERT INTO {table} ({', '.join(key)}, {', '.join(COUNTERS)}) {select_sql} "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {adds}")


def _upsert_rollups(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add the deltas (daily keys) to the three rollups; every rollup takes the enterprise's industry section from
    its row (the daily one as a column beside its key, set when its row is first written). PostgreSQL: one
    statement (the daily and weekly upserts as data-modifying CTEs, the weekly rows summed once and the monthly
    ones summed from them, so a completion's budget holds); SQLite (no such CTE): the daily, the weekly and the
    monthly upsert."""
    postgres = _postgresql(session)
    # Rows in key order, every rollup: concurrent flushes lock the rows they share in the same order (a weekly or
    # monthly row is shared by a region's enterprises), so they wait for each other rather than deadlock.
    rows = sorted(rows, key=lambda row: tuple(row[k] for k in KEY))
    payload = json.dumps([{**row, "day": row["day"].isoformat()} for row in rows])
    section = "substr(coalesce(o.industry, ''), 1, 1)"
    group = ", ".join(str(i) for i in range(1, len(MONTH_KEY) + 1))
    daily_adds = ", ".join(f"{name} = hazard_stats_daily.{name} + excluded.{name}" for name in COUNTERS)
    daily_names = ", ".join((*KEY, *COUNTERS, "industry"))
    if postgres:
        columns = ", ".join([f"{name} {'date' if name == 'day' else 'text' if name in ('grade', 'hazard_type', 'source') else 'bigint'}"
                             for name in (*KEY, *COUNTERS)])
        sums = ", ".join(f"SUM(w.{name})" for name in COUNTERS)
        weekly = _rollup_insert("hazard_stats_weekly", WEEK_KEY, f"SELECT * FROM w ORDER BY {group}")
        monthly = _rollup_insert(
            "hazard_stats_monthly", MONTH_KEY,
            f"SELECT {_month_sql(True, 'w.week')}, {', '.join(f'w.{k}' for k in WEEK_KEY[1:])}, {sums} FROM w "
            f"GROUP BY {group} ORDER BY {group}")
        session.connection().execute(text(
            f"WITH v AS (SELECT x.*, {section} AS industry FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
            f"AS x({columns}) LEFT JOIN organisation o ON o.id = x.enterprise_id), "
            f"daily AS (INSERT INTO hazard_stats_daily ({daily_names}) SELECT {daily_names} FROM v "
            f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {daily_adds}), "
            f"w AS (SELECT {_week_sql(True, 'v.day')} AS week, v.supervising_unit_id, v.region_id, v.industry, "
            f"v.grade, v.hazard_type, v.source, {', '.join(f'SUM(v.{name}) AS {name}' for name in COUNTERS)} "
            f"FROM v GROUP BY {group}), "
            f"weekly AS ({weekly}) {monthly}"), {"rows": payload})
        return
    field = "json_extract(j.value, '$.{}')".format
    joined = f"FROM json_each(:rows) j LEFT JOIN organisation o ON o.id = {field('enterprise_id')}"
    session.connection().execute(text(
        f"INSERT INTO hazard_stats_daily ({daily_names}) "
        f"SELECT {', '.join(field(name) for name in (*KEY, *COUNTERS))}, {section} {joined} "
        f"WHERE true ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {daily_adds}"), {"rows": payload})
    for table, key, period in _COARSE:
        session.connection().execute(text(_rollup_insert(table, key, (
            f"SELECT {period(False, field('day'))}, {field('supervising_unit_id')}, {field('region_id')}, "
            f"{section}, {field('grade')}, {field('hazard_type')}, {field('source')}, "
            f"{', '.join(f'SUM({field(name)})' for name in COUNTERS)} {joined} "
            f"WHERE true GROUP BY {group} ORDER BY {group}"))), {"rows": payload})


def _move_industries(session: Session) -> None:
    """An enterprise whose industry section changes takes its hazards' weekly and monthly counters along, and its
    daily rows take the new section: its daily rows
    (which hold every hazard of it, this flush's included) are subtracted under the old section and added under
    the new one — two statements, only when a section changes (an administrator's edit, an import)."""
    for obj in list(session.dirty):
        if not isinstance(obj, Organisation) or obj.kind != OrgKind.enterprise:
            continue
        history = inspect(obj).attrs.industry.load_history()
        if not history.added and not history.deleted:
            continue
        if history.deleted:
            old = history.deleted[0]
        else:  # set while expired: the row still holds the old value
            old = session.connection().execute(select(Organisation.industry)
                                               .where(Organisation.id == obj.id)).scalar()
        old_section, new_section = (old or "")[:1], (obj.industry or "")[:1]
        if old_section == new_section:
            continue
        session.connection().execute(text("UPDATE hazard_stats_daily SET industry = :section "
                                          "WHERE enterprise_id = :enterprise"),
                                     {"section": new_section, "enterprise": obj.id})
        for table, key, period_sql in _COARSE:
            period = period_sql(_postgresql(session), "d.day")
            for section, sign in ((old_section, -1), (new_section, 1)):
                session.connection().execute(text(_rollup_insert(table, key, (
                    f"SELECT {period}, d.supervising_unit_id, d.region_id, CAST(:section AS VARCHAR(1)), d.grade, "
                    f"d.hazard_type, d.source, {', '.join(f'{sign} * SUM(d.{name})' for name in COUNTERS)} "
                    f"FROM hazard_stats_daily d WHERE d.enterprise_id = :enterprise "
                    f"GROUP BY {period}, d.supervising_unit_id, d.region_id, d.grade, d.hazard_type, d.source"))),
                    {"section": section, "enterprise": obj.id})


def rebuild() -> int:
    """Recompute the rollup (and each hazard's `fixed_on_time`) from the hazards, streamed; returns the rollup
    rows written. For hazards loaded around the ORM (an import, the benchmark's COPY) and after a repair. Caller
    commits."""
    db.session.execute(HazardStatsDaily.__table__.delete())
    totals: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    columns = [Hazard.id, Hazard.fixed_on_time, *[getattr(Hazard, name) for name in _READS]]
    wrong: dict[bool, list[int]] = {True: [], False: []}
    for row in db.session.execute(select(*columns).execution_options(yield_per=5000)):
        contribution = _contribution(dict(zip(_READS, row[2:], strict=True)))
        if contribution is not None:
            key, counters = contribution
            for name, value in counters.items():
                totals[key][name] += value
            if bool(counters["fixed_on_time"]) != bool(row[1]):
                wrong[bool(counters["fixed_on_time"])].append(row[0])
    for value, ids in wrong.items():
        for start in range(0, len(ids), 5000):
            db.session.execute(update(Hazard).where(Hazard.id.in_(ids[start:start + 5000]))
                               .values(fixed_on_time=value).execution_options(synchronize_session=False))
    # In key order (day first), as rows written day by day lie, so that a period's rows are read together.
    sections = _sections()
    rows = [dict(zip(KEY, key, strict=True), **counters, industry=sections.get(key[1], ""))
            for key, counters in sorted(totals.items())]
    for start in range(0, len(rows), 5000):
        db.session.execute(HazardStatsDaily.__table__.insert(), rows[start:start + 5000])
    written = len(rows)
    for table, key, of in ((HazardStatsWeekly, WEEK_KEY, week_of), (HazardStatsMonthly, MONTH_KEY, _month_of)):
        db.session.execute(table.__table__.delete())
        coarse = [dict(zip(key, k, strict=True), **counters) for k, counters in sorted(_by_period(totals, of).items())]
        for start in range(0, len(coarse), 5000):
            db.session.execute(table.__table__.insert(), coarse[start:start + 5000])
        written += len(coarse)
    return written


def _month_of(day: date) -> date:
    return day.replace(day=1)


def _sections() -> dict[int, str]:
    """Each enterprise's GB/T 4754 section letter now ("" for none)."""
    return {oid: (industry or "")[:1] for oid, industry in db.session.execute(
        select(Organisation.id, Organisation.industry).where(Organisation.kind == OrgKind.enterprise))}


def _by_period(daily: dict[tuple, dict[str, int]], of) -> dict[tuple, dict[str, int]]:
    """The weekly (`of` = week_of) or monthly (_month_of) rollup's rows from the daily rollup's (keys as KEY), with
    the enterprises' sections now."""
    sections = _sections()
    periods: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for (day, enterprise_id, unit, region, grade, hazard_type, source), counters in daily.items():
        bucket = periods[(of(day), unit, region, sections.get(enterprise_id, ""), grade, hazard_type, source)]
        for name, value in counters.items():
            bucket[name] += value
    return periods


def differences() -> list[tuple]:
    """Rollup keys whose counters differ from a fresh count of the hazards (empty when they agree): the daily
    rollup's keys (and as ("industry", *KEY) a daily row whose section is not its enterprise's), the weekly
    rollup's as ("weekly", *WEEK_KEY) and the monthly one's as ("monthly", *MONTH_KEY)."""
    fresh: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for row in db.session.execute(select(*[getattr(Hazard, name) for name in _READS])):
        contribution = _contribution(dict(zip(_READS, row, strict=True)))
        if contribution is not None:
            for name, value in contribution[1].items():
                fresh[contribution[0]][name] += value
    zero = dict.fromkeys(COUNTERS, 0)
    sections = _sections()
    # A daily row that counts hazards under another section than its enterprise's, as ("industry", *KEY).
    wrong = sorted(("industry", *r[:-1]) for r in db.session.execute(
        select(*[getattr(HazardStatsDaily, n) for n in KEY], HazardStatsDaily.industry)
        .where(HazardStatsDaily.found != 0)) if sections.get(r[1], "") != r[-1])
    for table, key, counted, name in ((HazardStatsDaily, KEY, fresh, None),
                                      (HazardStatsWeekly, WEEK_KEY, _by_period(fresh, week_of), "weekly"),
                                      (HazardStatsMonthly, MONTH_KEY, _by_period(fresh, _month_of), "monthly")):
        stored = {tuple(getattr(r, k) for k in key): {c: getattr(r, c) for c in COUNTERS}
                  for r in db.session.scalars(select(table))}
        found = sorted(k for k in set(stored) | set(counted) if stored.get(k, zero) != counted.get(k, zero))
        wrong += found if name is None else [(name, *k) for k in found]
    return wrong


# ------------------------------------------------------------------------------------ queries
@dataclass
class StatsFilters:
    """What the figures are counted over: the period found, and the drill-down so far."""
    start: date | None      # None (the register only): no bound
    end: date | None
    region_id: int | None = None
    enterprise_id: int | None = None
    industry: str | None = None      # a GB/T 4754 section letter
    grade: str | None = None         # "general", "major", or "none" (not yet assessed)
    hazard_type: str | None = None
    source: str | None = None
    outcome: str | None = None       # the register only: which figure (OUTCOMES)

    def params(self) -> dict[str, Any]:
        """The query string that selects the same hazards in the register (and this dashboard)."""
        found = {"from": self.start and self.start.isoformat(), "to": self.end and self.end.isoformat(), "region": self.region_id,
                 "enterprise": self.enterprise_id, "industry": self.industry, "grade": self.grade,
                 "type": self.hazard_type, "source": self.source}
        return {k: v for k, v in found.items() if v is not None}


@dataclass
class Figures:
    key: Any = None
    label: str = ""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    link: dict[str, Any] = field(default_factory=dict)   # the register's filters for these hazards

    def __getattr__(self, name: str):
        counts = self.__dict__.get("counts") or {}
        if name in counts:
            return counts[name]
        raise AttributeError(name)

    @property
    def rate(self) -> float | None:
        return round(self.counts["fixed"] / self.counts["found"], 4) if self.counts["found"] else None

    @property
    def on_time_rate(self) -> float | None:
        return round(self.counts["fixed_on_time"] / self.counts["fixed"], 4) if self.counts["fixed"] else None

    def yuan(self, name: str) -> Decimal:
        return (Decimal(self.counts[name]) / 100).quantize(Decimal("0.01"))

    def add(self, counts: Any, sign: int = 1) -> None:
        for name in COUNTERS:
            if name in counts:
                self.counts[name] += sign * int(counts[name] or 0)


@dataclass
class Statistics:
    filters: StatsFilters
    group_by: str
    rows: list[Figures]
    total: Figures
    trend: list[Figures]
    parent_label: str | None = None   # the region or grid drilled into


def as_row(figures: Figures) -> dict[str, Any]:
    """One row of the API's answer."""
    return {"key": figures.key, "label": figures.label, **{n: figures.counts[n] for n in COUNTERS[:8]},
            "repeat": figures.counts["repeat"],
            "rate": figures.rate, "on_time_rate": figures.on_time_rate,
            "funds_committed": figures.yuan("funds_committed"), "funds_spent": figures.yuan("funds_spent")}


Rollup = type[HazardStatsDaily] | type[HazardStatsWeekly] | type[HazardStatsMonthly]


def period_column(t: Rollup):
    """A rollup's period column: the day, the week's first day or the month's first day."""
    return t.day if t is HazardStatsDaily else t.week if t is HazardStatsWeekly else t.month


@dataclass
class Part:
    """One slice of a period, the rollup that answers it, and whether its figures are added or subtracted."""
    table: Rollup
    start: date
    end: date
    sign: int = 1


def _month_after(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _past_days(start: date, end: date, today: date) -> int:
    """How many days of [start, end] can hold hazards found (none are found after today)."""
    return max(0, (min(end, today) - start).days + 1)


def _blocks(month: date) -> list[tuple[date, date]]:
    """The weekly rollup's blocks of a month (week_of): days 1–7, 8–14, 15–21, 22–28 and 29 to its end."""
    last = _month_after(month) - timedelta(days=1)
    return [(month.replace(day=d), min(month.replace(day=d + 6) if d < 29 else last, last))
            for d in (1, 8, 15, 22, 29) if d <= last.day]


# What reading one day of the daily rollup, one block of the weekly rollup and one month of the monthly rollup costs,
# in rows (a day's = 1). The benchmark city (bench-results/statistics-city.md): a quiet month has 1,500 daily rows
# a day, 3,500 weekly rows a block and 5,600 monthly rows; a busy one 7,900, 9,600 and 11,400 — in between.
COSTS = {"hazard_stats_daily": 1, "hazard_stats_weekly": 2, "hazard_stats_monthly": 3}


def _direct(start: date, end: date, sign: int, today: date) -> list[Part]:
    """Days [start, end] of one month as whole blocks from the weekly rollup; a block cut by the range either as
    its days in the range from the daily rollup, or as its weekly rows less the daily rows of its days outside
    the range — whichever reads fewer past days of daily rows (at most three per cut block)."""
    parts: list[Part] = []
    for first, last in _blocks(start.replace(day=1)):
        if last < start or first > end:
            continue
        inside = (max(first, start), min(last, end))
        if inside == (first, last):
            parts.append(Part(HazardStatsWeekly, first, last, sign))
            continue
        outside = [(a, b) for a, b in ((first, inside[0] - timedelta(days=1)), (inside[1] + timedelta(days=1), last))
                   if a <= b]
        days = [Part(HazardStatsDaily, *inside, sign)]
        less = [Part(HazardStatsWeekly, first, last, sign), *[Part(HazardStatsDaily, a, b, -sign) for a, b in outside]]
        parts += less if _cost(less, today) < _cost(days, today) else days
    return parts


def _cost(parts: list[Part], today: date) -> int:
    """The rows the parts read, estimated by COSTS: per past day of the daily rollup, per weekly block and per
    month that holds past days (none are found after today)."""
    cost = 0
    for p in parts:
        if p.table is HazardStatsDaily:
            units = _past_days(p.start, p.end, today)
        elif p.table is HazardStatsWeekly:
            units = len([b for b in _blocks(p.start.replace(day=1)) if p.start <= b[0] <= p.end and b[0] <= today])
        else:
            units = int(p.start <= today)
        cost += COSTS[p.table.__tablename__] * units
    return cost


def _merged(parts: list[Part]) -> list[Part]:
    """Adjacent parts of the same rollup and sign as one read."""
    out: list[Part] = []
    for part in sorted(parts, key=lambda p: (p.table.__tablename__, p.sign, p.start)):
        prev = out[-1] if out else None
        if (prev is not None and prev.table is part.table and prev.sign == part.sign
                and prev.end + timedelta(days=1) == part.start):
            prev.end = part.end
        else:
            out.append(Part(part.table, part.start, part.end, part.sign))
    return out


def _edge(start: date, end: date, today: date) -> list[Part]:
    """Days [start, end] of one month, the month not whole: its blocks (_direct), or the month's monthly rows less
    the month's other days (_direct, subtracted) — whichever costs less (_cost; "this month" and "the year up to
    today" read almost nothing, as the current month's remaining days hold no hazards)."""
    first, last = start.replace(day=1), _month_after(start) - timedelta(days=1)
    direct = _direct(start, end, 1, today)
    others = [Part(HazardStatsMonthly, first, first)]
    for a, b in ((first, start - timedelta(days=1)), (end + timedelta(days=1), last)):
        if a <= b:
            others += _direct(a, b, -1, today)
    return _merged(others if _cost(others, today) < _cost(direct, today) else direct)


def rollup_parts(user, filters: StatsFilters, group_by: str | None = None, today: date | None = None) -> list[Part]:
    """Which rollup answers which days of the period — the one place that decides. The monthly rollup answers
    the whole months of the period unless the figures are grouped or filtered by enterprise, or the caller's
    scope is an enterprise (a principal's): it has no enterprise. A partial month at either edge comes from the
    weekly rollup's whole blocks and the daily rollup's remaining days, or as its month less the month's other
    days, whichever reads less (_edge); everything the monthly and weekly rollups cannot answer comes from the
    daily rollup. All hold the same counters, so the figures are the same whichever answers
    (tests/test_statistics_monthly.py)."""
    from app.chinatime import today as china_today

    scope = hazard_scope_orgs(user) if user is not None else None
    if not (group_by != "enterprise" and filters.enterprise_id is None
            and (scope is None or scope[0].key in MONTH_KEY)):
        return [Part(HazardStatsDaily, filters.start, filters.end)]
    today = today or china_today()
    if filters.start.replace(day=1) == filters.end.replace(day=1):  # within one month
        if filters.start.day == 1 and _month_after(filters.end) - timedelta(days=1) == filters.end:
            return [Part(HazardStatsMonthly, filters.start, filters.start)]
        return _edge(filters.start, filters.end, today)
    first = filters.start if filters.start.day == 1 else _month_after(filters.start)
    last_month = filters.end.replace(day=1)
    whole_end = filters.end if _month_after(filters.end) - timedelta(days=1) == filters.end else last_month
    parts = []
    if filters.start < first:
        parts += _edge(filters.start, first - timedelta(days=1), today)
    if first < whole_end:
        parts.append(Part(HazardStatsMonthly, first, whole_end - timedelta(days=1) if whole_end == last_month
                          else whole_end))
    if whole_end == last_month:
        parts += _edge(last_month, filters.end, today)
    # The monthly slices are consecutive months: one read of them all.
    months = [p for p in parts if p.table is HazardStatsMonthly]
    if len(months) > 1:
        parts = [Part(HazardStatsMonthly, months[0].start, months[-1].end),
                 *[p for p in parts if p.table is not HazardStatsMonthly]]
    return parts


def _where(user, filters: StatsFilters, part: Part | None = None) -> list:
    """The rollup rows of `part` (the whole period on the daily rollup when None) that the filters select."""
    part = part or Part(HazardStatsDaily, filters.start, filters.end)
    t = part.table
    period = period_column(t)
    where = [hazard_scope(user, on=t), period >= part.start, period <= part.end]
    if filters.region_id is not None:
        where.append(t.region_id.in_(region_subtree([filters.region_id])))
    if filters.enterprise_id is not None:
        where.append(t.enterprise_id == filters.enterprise_id)
    if filters.industry:
        where.append(t.industry == filters.industry)
    if filters.grade:
        where.append(t.grade == ("" if filters.grade == "none" else filters.grade))
    if filters.hazard_type:
        where.append(t.hazard_type == filters.hazard_type)
    if filters.source:
        where.append(t.source == filters.source)
    return where


def _sums(table: Rollup = HazardStatsDaily, names: tuple[str, ...] = COUNTERS):
    return [func.coalesce(func.sum(getattr(table, name)), 0).label(name) for name in names]


def _regions() -> dict[int, tuple[int | None, str]]:
    return {rid: (parent, name) for rid, parent, name in db.session.execute(
        select(Region.id, Region.parent_id, Region.name))}


def statistics(user, filters: StatsFilters, group_by: str, language: str | None = None, *,
               daily_only: bool = False) -> Statistics:
    """The figures over the rollups: one row per group, their total and the monthly trend, from one query per
    part of the period (rollup_parts) grouped by month (or day) and group. `daily_only`: the daily rollup answers
    all of it (the tests' comparison)."""
    with replica.reads(user):  # may lag a few seconds; the user's own writes never do
        parent_label = None
        regions = None
        if group_by == "region":
            regions = _regions()
            if filters.region_id is not None:
                parent_label = regions.get(filters.region_id, (None, ""))[1]
                if not any(parent == filters.region_id for parent, _name in regions.values()):
                    group_by = "enterprise"  # a grid: its enterprises
        parts = ([Part(HazardStatsDaily, filters.start, filters.end)] if daily_only
                 else rollup_parts(user, filters, group_by))
        total = Figures(label=_("Total"), link=filters.params())
        trend: dict[str, Figures] = {}
        found: list[tuple[Any, Any, int]] = []   # (group key, counters, sign) per row, every part
        for part in parts:
            t = part.table
            period = period_column(t)
            # A part within one month (an edge) is grouped by group alone: fewer, larger groups.
            by_period = part.start.replace(day=1) != part.end.replace(day=1)
            stmt, key = _group_key(select(*([period.label("period")] if by_period else [])).select_from(t), t,
                                   group_by, filters, regions)
            stmt = stmt.add_columns(key.label("k"), *_sums(t, DASHBOARD)).where(*_where(user, filters, part))
            for row in db.session.execute(stmt.group_by(*([period] if by_period else []), key)):
                month = (row.period if by_period else part.start).strftime("%Y-%m")
                trend.setdefault(month, Figures(key=month, label=month)).add(row._mapping, part.sign)
                total.add(row._mapping, part.sign)
                found.append((row.k, row._mapping, part.sign))
        month_start = filters.start.replace(day=1)
        while month_start <= filters.end:  # every month of the period, an empty one as zeros
            month = month_start.strftime("%Y-%m")
            trend.setdefault(month, Figures(key=month, label=month))
            month_start = _month_after(month_start)
        for month, bucket in trend.items():
            first = date.fromisoformat(month + "-01")
            last = _month_after(first) - timedelta(days=1)
            bucket.link = {**filters.params(), "from": max(first, filters.start).isoformat(),
                           "to": min(last, filters.end).isoformat()}
        rows = _grouped(found, filters, group_by, language, regions)
        return Statistics(filters, group_by, rows, total, [trend[m] for m in sorted(trend)], parent_label)


def region_groups(regions: dict[int, tuple[int | None, str]], parent: int | None) -> dict[int, int]:
    """Each region's group when grouping by region below `parent` (the top tier when None): _ancestor_below."""
    return {rid: _ancestor_below(regions, rid, parent) for rid in regions}


def _group_key(stmt, t: Rollup, group_by: str, filters: StatsFilters,
               regions: dict[int, tuple[int | None, str]] | None):
    """(the statement, joined as needed, and the group's expression) for grouping rollup `t` by `group_by`:
    region → the region right below the one drilled into (0: none), industry → GB/T 4754 section letter."""
    if group_by == "region":
        below = region_groups(regions or _regions(), filters.region_id)
        if db.session.get_bind().dialect.name == "postgresql" and below:
            # Each region's group as a table joined by hash (a city has a thousand regions or more), from two
            # array parameters (a VALUES list of them costs more to compile than the query takes).
            keys = func.unnest(literal(list(below), postgresql.ARRAY(Integer)),
                               literal(list(below.values()), postgresql.ARRAY(Integer))
                               ).table_valued("rid", "k").render_derived(name="group_keys")
            return stmt.outerjoin(keys, keys.c.rid == t.region_id), func.coalesce(keys.c.k, 0)
        # SQLite has no VALUES with column names: a CASE (a small deployment's few regions)
        return stmt, (case(below, value=t.region_id, else_=0) if below else literal(0))
    if group_by == "industry":
        return stmt, t.industry
    return stmt, getattr(t, {"grade": "grade", "hazard_type": "hazard_type", "source": "source",
                             "enterprise": "enterprise_id"}[group_by])


def _grouped(found: list[tuple[Any, Any, int]], filters: StatsFilters, group_by: str, language: str | None,
             regions: dict[int, tuple[int | None, str]] | None = None) -> list[Figures]:
    groups: dict[Any, Figures] = {}
    if group_by == "region":
        for key, counts, sign in found:
            groups.setdefault(key, Figures(key=key)).add(counts, sign)
        for key, figures in groups.items():
            figures.label = regions.get(key, (None, _("No region")))[1] if key else _("No region")
            figures.link = {**filters.params(), "region": key} if key else filters.params()
        return _ordered(groups)
    names = {}
    if group_by == "enterprise":
        ids = list({k for k, _counts, _sign in found})
        names = dict(db.session.execute(select(Organisation.id, Organisation.name)
                                        .where(Organisation.id.in_(ids))).all()) if ids else {}
    param = {"industry": "industry", "grade": "grade", "hazard_type": "type", "source": "source",
             "enterprise": "enterprise"}[group_by]
    for key, counts, sign in found:
        figures = groups.get(key)
        if figures is None:
            figures = groups[key] = Figures(key=key, label=_label(group_by, key, names, language))
            value = ("none" if group_by == "grade" and not key else key) or None
            figures.link = {**filters.params(), param: value} if value is not None else filters.params()
        figures.add(counts, sign)
    return _ordered(groups)


def _ordered(groups: dict[Any, Figures]) -> list[Figures]:
    """The groups with anything counted (a rollup row left at zero by a move, or a month less its other days,
    is no group), the most found first."""
    return sorted((f for f in groups.values() if any(f.counts.values())),
                  key=lambda f: (-f.counts["found"], str(f.label)))


def _ancestor_below(regions: dict[int, tuple[int | None, str]], region_id: int, parent: int | None) -> int:
    """The region among `parent`'s children (the top tier when None) that `region_id` lies in; 0 for none."""
    chain, seen = [], set()
    current: int | None = region_id or None
    while current is not None and current not in seen:
        seen.add(current)
        chain.append(current)
        current = regions.get(current, (None, ""))[0]
    if parent is None:
        return chain[-1] if chain else 0
    if parent in chain:
        index = chain.index(parent)
        return chain[index - 1] if index > 0 else parent
    return 0


def _label(group_by: str, key: Any, names: dict[int, str], language: str | None) -> str:
    if group_by == "grade":
        return {"general": _("General"), "major": _("Major")}.get(key, _("Not yet assessed"))
    if group_by == "hazard_type":
        return {"unsafe_behaviour": _("Unsafe behaviour"), "unsafe_condition": _("Unsafe condition"),
                "management_defect": _("Management defect")}.get(key, key or _("Unknown"))
    if group_by == "source":
        return {"self_check": _("Self-check"), "government_inspection": _("Government inspection"),
                "public_report": _("Public report"), "referral": _("Referral")}.get(key, key or _("Unknown"))
    if group_by == "industry":
        found = org_codes.industries().get(key) if key else None
        return f"{key} {found.name(language)}" if found else _("No industry")
    if group_by == "enterprise":
        return names.get(key, str(key))
    return str(key)


# ------------------------------------------------------------------------------------ the register's side
OUTCOMES = ("found", "fixed", "fixed_on_time", "overdue", "major_found", "major_written_off", "listed",
            "five_in_place", "repeat")


def register_filters(args: Any, today: date) -> tuple[StatsFilters | None, dict[str, str]]:
    """The register's statistics filters from its query string; None when it has none of them."""
    if not any(args.get(name) not in (None, "") for name in REGISTER_PARAMS):
        return None, {}
    filters, errors = parse_filters(args, today, register=True)
    filters.grade = None  # the register's own grade filter applies it (HazardFilters.grade, "none" included)
    errors.pop("grade", None)
    return filters, errors


REGISTER_PARAMS = ("from", "to", "region", "industry", "type", "source", "outcome")


def register_clauses(filters: StatsFilters | None) -> list:
    """WHERE clauses on Hazard selecting exactly the hazards a figure counts (the dashboard's links)."""
    from app.chinatime import end_of_day

    where: list = []
    if filters is not None:
        if filters.start is not None:
            where.append(Hazard.created_at > end_of_day(filters.start - timedelta(days=1)))
        if filters.end is not None:
            where.append(Hazard.created_at <= end_of_day(filters.end))
        if filters.region_id is not None:
            where.append(Hazard.region_id.in_(region_subtree([filters.region_id])))
        if filters.industry:
            where.append(Hazard.enterprise_id.in_(select(Organisation.id).where(
                Organisation.industry.like(f"{filters.industry}%"))))
        if filters.grade == "none":
            where.append(Hazard.grade.is_(None))
        elif filters.grade:
            where.append(Hazard.grade == filters.grade)
        if filters.hazard_type:
            where.append(Hazard.hazard_type == filters.hazard_type)
        if filters.source:
            where.append(Hazard.source == filters.source)
    outcome = filters.outcome if filters is not None else None
    fixed = Hazard.status.in_(list(FIXED_STATUSES))
    if outcome == "fixed":
        where.append(fixed)
    elif outcome == "fixed_on_time":
        where += [fixed, Hazard.fixed_on_time.is_(True)]
    elif outcome == "overdue":
        where.append(Hazard.overdue.is_(True))
    elif outcome == "major_found":
        where.append(Hazard.grade == MAJOR)
    elif outcome == "major_written_off":
        where += [Hazard.grade == MAJOR, Hazard.status == HazardStatus.written_off]
    elif outcome == "listed":
        where.append(Hazard.listed.is_(True))
    elif outcome == "five_in_place":
        where += [Hazard.grade == MAJOR, Hazard.five_in_place.is_(True)]
    elif outcome == "repeat":
        where.append(Hazard.repeat_number.is_not(None))
    return where


def parse_filters(args: Any, today: date, *, register: bool = False) -> tuple[StatsFilters, dict[str, str]]:
    """Filters from a query string (the dashboard's, the register's); problems by field, never an exception.

    `register`: the register's reading — no default period and no limit on its length.
    """
    errors: dict[str, str] = {}

    def day(name: str, default: date | None) -> date | None:
        raw = args.get(name)
        if raw in (None, ""):
            return default
        value = parse_date(raw) if isinstance(raw, str) and len(raw) <= 10 else None
        if value is None or not 2000 <= value.year <= 2100:
            errors[name] = _("Give %(field)s as a date YYYY-MM-DD between 2000 and 2100.", field=name)
            return default
        return value

    def ident(name: str) -> int | None:
        raw = args.get(name)
        if raw in (None, ""):
            return None
        if isinstance(raw, int) or (isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 10):
            value = int(raw)
            if 1 <= value <= 2**31 - 1:
                return value
        errors[name] = _("%(field)s must be a whole number id.", field=name)
        return None

    def choice(name: str, allowed: Iterable[str]) -> str | None:
        raw = args.get(name)
        if raw in (None, ""):
            return None
        if raw not in allowed:
            errors[name] = _("%(field)s must be one of: %(values)s.", field=name, values=", ".join(allowed))
            return None
        return raw

    start = day("from", None if register else today.replace(month=1, day=1))
    end = day("to", None if register else today)
    if start is not None and end is not None and start > end and not errors:
        errors["to"] = _("The end of the period (to) must not be before its start (from).")
    elif not register and (end - start).days > 366 and not errors:
        errors["to"] = _("A period can be at most a year (366 days); choose a later from or an earlier to.")
    industry = args.get("industry")
    if industry not in (None, "") and not (isinstance(industry, str) and len(industry) == 1
                                          and industry in org_codes.industries()):
        errors["industry"] = _("industry must be a GB/T 4754 section letter, such as C.")
        industry = None
    outcome = choice("outcome", OUTCOMES) if register else None
    filters = StatsFilters(start=start, end=end, outcome=outcome, region_id=ident("region"), enterprise_id=ident("enterprise"),
                           industry=industry or None, grade=choice("grade", (*GRADES, "none")),
                           hazard_type=choice("type", HAZARD_TYPES), source=choice("source", SOURCES))
    return filters, errors


def enterprise_figures(enterprise_id: int, start: date, end: date) -> Figures:
    """One enterprise's figures for hazards found in [start, end] (its statutory report's, services/periodic_reports.py):
    the same definitions and rollup as the dashboard; the caller has checked who may see them."""
    t = HazardStatsDaily
    figures = Figures(label="", link={"from": start.isoformat(), "to": end.isoformat(), "enterprise": enterprise_id})
    row = db.session.execute(select(*_sums()).where(t.enterprise_id == enterprise_id, t.day >= start,
                                                    t.day <= end)).one()
    figures.add(row._mapping)
    return figures
