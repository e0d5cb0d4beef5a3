"""Issue 14, "Speed": the monthly and weekly rollups. Over a generated set of hazards spread across fourteen months,
the figures the monthly and weekly rollups answer (whole months; the edge months from whole blocks of days and the
remaining days from the daily rollup, or the month less its other days) equal the daily rollup's alone, for random
periods, groupings, filters and callers; every kind of move a hazard or an enterprise makes keeps the three rollups
equal to a fresh count (`flask stats check`), and a rebuild writes the same rows."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

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
    User,
)
from app.services import statistics, statutory
from app.services.statistics import HazardStatsDaily as Daily
from app.services.statistics import StatsFilters

GRADES = ("general", "major", None)
STATUSES = (HazardStatus.reported, HazardStatus.rectifying, HazardStatus.closed, HazardStatus.written_off)
FIRST_DAY = date(2025, 11, 1)
DAYS = 430


def _org(name: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.name == name))


def _generate(count: int, seed: int = 14, tiers: tuple[str, ...] = statistics.TIERS) -> None:
    """`count` hazards of the demo's enterprises (and two more: another section, none), every counted value
    random, found on random days of FIRST_DAY + DAYS (China time), written through the ORM (the rollup hook);
    listed at one of `tiers` or none."""
    rng = random.Random(seed)
    ent_a = _org("宏达机械制造有限公司")
    extra = []
    for name, industry in (("月度测试矿业有限公司", "B06"), ("月度测试无行业有限公司", None)):
        extra.append(Organisation(kind=OrgKind.enterprise, name=name, industry=industry, region_id=ent_a.region_id,
                                  supervising_unit_id=ent_a.supervising_unit_id))
    db.session.add_all(extra)
    db.session.flush()
    enterprises = list(db.session.scalars(select(Organisation).where(Organisation.kind == OrgKind.enterprise)))
    for i in range(count):
        ent = rng.choice(enterprises)
        found = datetime.combine(FIRST_DAY + timedelta(days=rng.randrange(DAYS)), datetime.min.time(),
                                 tzinfo=UTC) + timedelta(hours=rng.randrange(24))  # China: +8 h
        status = rng.choice(STATUSES)
        grade = rng.choice(GRADES) if status == HazardStatus.reported else rng.choice(GRADES[:2])
        fixed = status in (HazardStatus.closed, HazardStatus.written_off)
        deadline = (found + timedelta(days=rng.randrange(-3, 20))).date() if grade else None
        db.session.add(Hazard(
            number=f"M{seed}-{i:05d}", title="月度", description="月度", location=f"车间{rng.randrange(3)}",
            hazard_type=rng.choice(statistics.HAZARD_TYPES), source=rng.choice(statistics.SOURCES),
            enterprise_id=ent.id, supervising_unit_id=ent.supervising_unit_id, region_id=ent.region_id,
            status=status, grade=grade, created_at=found, updated_at=found,
            closed_at=found + timedelta(days=rng.randrange(0, 25)) if fixed else None,
            rectification_deadline=deadline, overdue=not fixed and rng.random() < .3, listed=rng.random() < .2,
            five_in_place=rng.random() < .5, plan_funds=rng.choice((None, 0, 150_000)),
            funds_spent=rng.choice((None, 90_000)), planned=rng.random() < .5, plan_targets=rng.random() < .5,
            plan_time_limit=rng.random() < .5, supervision_tier=rng.choice((None, *tiers)),
            repeat_number=rng.choice((None, None, 2)), audit_seq=0))
        if i % 50 == 49:
            db.session.flush()
    db.session.commit()


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _snapshot(table) -> list[tuple]:
    """The rollup's non-zero rows, comparable across a rebuild."""
    columns = list(table.__table__.c)
    counters = [c for c in columns if c.name in statistics.COUNTERS]
    return sorted(tuple(r) for r in db.session.execute(select(*columns)).all()
                  if any(r[columns.index(c)] for c in counters))


def _comparable(found: statistics.Statistics) -> tuple:
    return (found.group_by, found.total.counts, [(f.key, f.label, f.counts, f.link) for f in found.rows],
            [(f.key, f.counts, f.link) for f in found.trend])


def _parts(parts: list[statistics.Part]) -> set[tuple]:
    return {(p.table, p.start, p.end, p.sign) for p in parts}


def test_monthly_and_daily_rollups_give_the_same_figures(app):
    with app.app_context():
        _generate(400)
        assert statistics.differences() == []
        months = db.session.scalar(select(db.func.count()).select_from(HazardStatsMonthly))
        weeks = db.session.scalar(select(db.func.count()).select_from(HazardStatsWeekly))
        assert 0 < months < weeks < db.session.scalar(select(db.func.count()).select_from(HazardStatsDaily))
        rng = random.Random(7)
        regions = {r.code: r.id for r in db.session.scalars(select(Region))}
        sections = ["C", "G", "B"]
        monthly_used = weekly_used = subtracted = 0
        for trial in range(80):
            start = FIRST_DAY + timedelta(days=rng.randrange(-20, DAYS - 20))
            end = min(start + timedelta(days=rng.choice((0, 9, 30, 45, 91, 200, 365))), date(2027, 1, 31))
            if trial % 5 == 0:  # calendar periods, the common case
                start = start.replace(day=1)
                end = statistics._month_after(start + timedelta(days=rng.choice((0, 62, 334)))) - timedelta(days=1)
            filters = StatsFilters(start=start, end=end)
            if rng.random() < .3:
                filters.region_id = regions[rng.choice(("D01", "D01-T01", "D01-T02"))]
            for name, values in (("industry", sections), ("grade", ("general", "major", "none")),
                                 ("hazard_type", statistics.HAZARD_TYPES), ("source", statistics.SOURCES)):
                if rng.random() < .2:
                    setattr(filters, name, rng.choice(values))
            user = _user(rng.choice(("admin", "inspector", "inspector_west", "principal_a")))
            group_by = rng.choice(("region", "industry", "grade", "hazard_type", "source"))
            parts = statistics.rollup_parts(user, filters, group_by)
            monthly_used += any(p.table is HazardStatsMonthly for p in parts)
            weekly_used += any(p.table is HazardStatsWeekly for p in parts)
            subtracted += any(p.sign < 0 for p in parts)
            mixed = statistics.statistics(user, filters, group_by)
            daily = statistics.statistics(user, filters, group_by, daily_only=True)
            assert _comparable(mixed) == _comparable(daily), (trial, filters, group_by, user.username, parts)
            assert sum(f.counts["found"] for f in mixed.rows) == mixed.total.counts["found"]
        assert monthly_used > 20 and weekly_used > 20 and subtracted > 10, (monthly_used, weekly_used, subtracted)
        # The principal's scope, and an enterprise's figures, are never the monthly rollup's (it has no enterprise).
        year = StatsFilters(start=date(2026, 1, 1), end=date(2026, 12, 31))
        assert [p.table for p in statistics.rollup_parts(_user("principal_a"), year, "grade")] == [Daily]
        assert [p.table for p in statistics.rollup_parts(_user("admin"), year, "enterprise")] == [Daily]
        assert [p.table for p in statistics.rollup_parts(_user("inspector"), year, "grade")] == [HazardStatsMonthly]
        today = date(2026, 12, 6)
        edges = statistics.rollup_parts(_user("admin"), StatsFilters(start=date(2025, 12, 7), end=today), today=today)
        Weekly = HazardStatsWeekly
        assert _parts(edges) == {
            # December 2025 from the 7th: its month less its first block, plus the 7th
            (HazardStatsMonthly, date(2025, 12, 1), date(2026, 11, 30), 1), (Weekly, date(2025, 12, 1), date(2025, 12, 7), -1),
            (Daily, date(2025, 12, 7), date(2025, 12, 7), 1),
            # December 2026 up to today, the 6th: its first block (the 7th is in the future: no hazards to subtract)
            (Weekly, date(2026, 12, 1), date(2026, 12, 7), 1), (Daily, date(2026, 12, 7), date(2026, 12, 7), -1)}
        edges = statistics.rollup_parts(_user("admin"), StatsFilters(start=date(2025, 3, 3), end=date(2025, 8, 12)),
                                        today=today)
        assert _parts(edges) == {
            (HazardStatsMonthly, date(2025, 3, 1), date(2025, 7, 31), 1), (Daily, date(2025, 3, 1), date(2025, 3, 2), -1),
            # August's first twelve days: its first two blocks less the 13th and 14th
            (Weekly, date(2025, 8, 1), date(2025, 8, 14), 1), (Daily, date(2025, 8, 13), date(2025, 8, 14), -1)}
        # The benchmark's mid-month to mid-month period: each edge from blocks, at most a day from the daily rollup.
        edges = statistics.rollup_parts(_user("admin"), StatsFilters(start=date(2026, 1, 16), end=date(2026, 11, 15)),
                                        today=today)
        assert _parts(edges) == {
            (HazardStatsMonthly, date(2026, 2, 1), date(2026, 10, 31), 1),
            (Weekly, date(2026, 1, 15), date(2026, 1, 31), 1), (Daily, date(2026, 1, 15), date(2026, 1, 15), -1),
            (Weekly, date(2026, 11, 1), date(2026, 11, 14), 1), (Daily, date(2026, 11, 15), date(2026, 11, 15), 1)}
        # The national table reads the same figures whichever rollup answers (whole months and edges).
        for period in ("2026", "2026Q2", "2026-03"):
            for group_by in statutory.GROUPS:
                table = statutory.statutory_table(_user("admin"), period, group_by)
                per_day = statutory.statutory_table(_user("admin"), period, group_by, daily_only=True)
                assert [(r.key, r.units, r.sums) for r in [*table.rows, table.total]] == \
                    [(r.key, r.units, r.sums) for r in [*per_day.rows, per_day.total]], (period, group_by)


def test_every_move_keeps_both_rollups_in_step_and_rebuild_writes_the_same(app, runner):
    with app.app_context():
        _generate(120, seed=3)
        hazards = list(db.session.scalars(select(Hazard).order_by(Hazard.id)))
        west_unit = _org("西山镇安全生产监管站").id
        west_grid = db.session.scalar(select(Region.id).where(Region.code == "D01-T02-G01"))
        moves = [
            lambda: setattr(hazards[0], "status", HazardStatus.closed),                 # fixed
            lambda: setattr(hazards[1], "grade", "major" if hazards[1].grade != "major" else "general"),
            lambda: setattr(hazards[2], "overdue", not hazards[2].overdue),
            lambda: setattr(hazards[3], "supervising_unit_id", west_unit),             # a supervision move
            lambda: setattr(hazards[4], "created_at", hazards[4].created_at + timedelta(days=40)),  # another month
        ]
        for move in moves:
            move()
            db.session.commit()
            assert statistics.differences() == []
        # An enterprise moved to another unit and region, and to another industry section; then back to none.
        ent = _org("宏达机械制造有限公司")
        ent.supervising_unit_id, ent.region_id = west_unit, west_grid
        for hazard in db.session.scalars(select(Hazard).where(Hazard.enterprise_id == ent.id)):
            hazard.supervising_unit_id, hazard.region_id = west_unit, west_grid
        db.session.commit()
        assert statistics.differences() == []
        for industry in ("G59", None, "C34"):
            ent.industry = industry
            db.session.commit()
            assert statistics.differences() == []
        db.session.commit()  # expired: the section changed without reading the old one first
        ent.industry = "B06"
        hazards[5].status = HazardStatus.written_off
        db.session.commit()
        assert statistics.differences() == []
        before = (_snapshot(HazardStatsDaily), _snapshot(HazardStatsWeekly), _snapshot(HazardStatsMonthly))
    result = runner.invoke(args=["stats", "check"])
    assert result.exit_code == 0 and "agree" in result.output, result.output
    result = runner.invoke(args=["stats", "rebuild"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert (_snapshot(HazardStatsDaily), _snapshot(HazardStatsWeekly), _snapshot(HazardStatsMonthly)) == before
        # A rollup row changed behind its back is found by the check.
        db.session.execute(HazardStatsMonthly.__table__.update().values(found=HazardStatsMonthly.found + 1))
        db.session.commit()
    result = runner.invoke(args=["stats", "check"])
    assert result.exit_code == 1 and "monthly" in result.output, result.output
    with app.app_context():
        db.session.execute(HazardStatsMonthly.__table__.update().values(found=HazardStatsMonthly.found - 1))
        db.session.execute(HazardStatsWeekly.__table__.update().values(listed_city=HazardStatsWeekly.listed_city + 1))
        db.session.commit()
    result = runner.invoke(args=["stats", "check"])
    assert result.exit_code == 1 and "weekly" in result.output and "monthly" not in result.output, result.output
    with app.app_context():  # a daily row under another section than its enterprise's
        db.session.execute(HazardStatsWeekly.__table__.update().values(listed_city=HazardStatsWeekly.listed_city - 1))
        db.session.execute(HazardStatsDaily.__table__.update().where(HazardStatsDaily.found > 0).values(industry="Z"))
        db.session.commit()
    result = runner.invoke(args=["stats", "check"])
    assert result.exit_code == 1 and "'industry'" in result.output and "weekly" not in result.output, result.output


@pytest.mark.parametrize("day", [date(2026, 1, 31), date(2026, 2, 1), date(2026, 12, 31)])
def test_a_period_of_whole_months_is_the_monthly_rollups_alone(app, day):
    with app.app_context():
        today = date(2026, 12, 6)
        month = StatsFilters(start=day.replace(day=1), end=statistics._month_after(day) - timedelta(days=1))
        assert [(p.table, p.start, p.sign) for p in statistics.rollup_parts(_user("admin"), month, today=today)] == [
            (HazardStatsMonthly, month.start, 1)]
        one_day = StatsFilters(start=day, end=day)
        parts = statistics.rollup_parts(_user("admin"), one_day, today=today)
        assert [p.table for p in parts] == [Daily]  # one day of daily rows (none at all after today)
        block = StatsFilters(start=statistics.week_of(day), end=statistics.week_of(day) + timedelta(days=6))
        if block.end.month == day.month:  # a whole block: its weekly rows alone
            assert _parts(statistics.rollup_parts(_user("admin"), block, today=today)) == {
                (HazardStatsWeekly, block.start, block.end, 1)}


def test_the_blocks_of_a_month():
    assert [statistics.week_of(date(2026, 2, d)) for d in (1, 7, 8, 14, 15, 21, 22, 28)] == [
        date(2026, 2, d) for d in (1, 1, 8, 8, 15, 15, 22, 22)]
    assert [statistics.week_of(date(2026, 1, d)) for d in (29, 31)] == [date(2026, 1, 29)] * 2
    assert statistics._blocks(date(2026, 2, 1))[-1] == (date(2026, 2, 22), date(2026, 2, 28))  # no fifth block
    assert statistics._blocks(date(2024, 2, 1))[-1] == (date(2024, 2, 29), date(2024, 2, 29))


@pytest.mark.parametrize("revision, table", [("9e4a6c8b2d17", HazardStatsMonthly),   # 0029: the monthly rollup
                                             ("5d2f8b7e1c30", HazardStatsWeekly)])   # 0030: the weekly one
def test_the_migration_fills_its_rollup_from_the_daily_one(app, revision, table):
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        # Listed at the tiers offered before 0030 (it adds the other tiers' counters at 0).
        _generate(80, seed=5, tiers=("district", "township"))
        before = _snapshot(table)
        db.session.remove()
        downgrade(revision=f"{revision}-1")   # to the revision before it (whatever the chain)
        upgrade()
        assert _snapshot(table) == before and before
        assert statistics.differences() == []
