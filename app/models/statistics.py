"""The statistics rollups (issue 14): counters per day found × enterprise × the hazard's classification, and per
week (a block of days inside a month) and per month found × the classification without the enterprise.

One daily row sums the hazards *found* (reported) on `day` (China date of `hazard.created_at`) with the same
enterprise, supervising unit, region, grade, type and source, as they stand now; one weekly or monthly row those
found in its `week` or `month` with the same unit, region, industry section, grade, type and source.
services/statistics.py keeps all three equal to a GROUP BY over the hazard table, in the same flush as the change
to a hazard.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class StatsCounters:
    """The counters both rollups hold (definitions in services/statistics.py)."""
    found: Mapped[int] = mapped_column(default=0)
    fixed: Mapped[int] = mapped_column(default=0)
    fixed_on_time: Mapped[int] = mapped_column(default=0)
    overdue: Mapped[int] = mapped_column(default=0)
    major_found: Mapped[int] = mapped_column(default=0)
    major_written_off: Mapped[int] = mapped_column(default=0)
    listed: Mapped[int] = mapped_column(default=0)
    five_in_place: Mapped[int] = mapped_column(default=0)
    funds_committed: Mapped[int] = mapped_column(BigInteger, default=0)   # fen (0.01 yuan)
    funds_spent: Mapped[int] = mapped_column(BigInteger, default=0)       # fen
    # The national table's (migration 0021).
    general_found: Mapped[int] = mapped_column(default=0, server_default="0")
    general_fixed: Mapped[int] = mapped_column(default=0, server_default="0")
    major_planned: Mapped[int] = mapped_column(default=0, server_default="0")
    plan_targets: Mapped[int] = mapped_column(default=0, server_default="0")
    plan_funds_materials: Mapped[int] = mapped_column(default=0, server_default="0")
    plan_organisation: Mapped[int] = mapped_column(default=0, server_default="0")
    plan_time_limit: Mapped[int] = mapped_column(default=0, server_default="0")
    plan_safety_emergency: Mapped[int] = mapped_column(default=0, server_default="0")
    listed_district: Mapped[int] = mapped_column(default=0, server_default="0")
    listed_township: Mapped[int] = mapped_column(default=0, server_default="0")
    repeat: Mapped[int] = mapped_column(default=0, server_default="0")   # repeat hazards (反复性隐患)
    # Listed at the provincial and city tiers (migration 0030).
    listed_province: Mapped[int] = mapped_column(default=0, server_default="0")
    listed_city: Mapped[int] = mapped_column(default=0, server_default="0")



class HazardStatsDaily(StatsCounters, Base):
    __tablename__ = "hazard_stats_daily"
    __table_args__ = (
        # A jurisdiction's year: its units' rows by day (the admin's city: the primary key's day first).
        Index("ix_hazard_stats_unit_day", "supervising_unit_id", "day"),
        Index("ix_hazard_stats_enterprise_day", "enterprise_id", "day"),
    )
    # The key; None is stored as 0 / "" so that the key is unique (NULLs never collide in a unique key).
    day: Mapped[date] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(primary_key=True)
    supervising_unit_id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(primary_key=True)
    grade: Mapped[str] = mapped_column(String(10), primary_key=True)
    hazard_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The enterprise's GB/T 4754 section letter now ("" for none), beside the key: grouping and filtering by
    # industry read it rather than joining the enterprises (migration 0030).
    industry: Mapped[str] = mapped_column(String(1), default="", server_default="")


class ClassifiedKey:
    """The key of the rollups without the enterprise, after their period: the enterprise's industry section instead."""
    supervising_unit_id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(primary_key=True)
    industry: Mapped[str] = mapped_column(String(1), primary_key=True)
    grade: Mapped[str] = mapped_column(String(10), primary_key=True)
    hazard_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(40), primary_key=True)


class HazardStatsMonthly(ClassifiedKey, StatsCounters, Base):
    """The same counters per month found × supervising unit × region × industry section × grade × type × source:
    no enterprise and no day, so that a city's year is a few rows per region and month instead of one per hazard.
    It answers every figure that is not grouped or filtered by enterprise over whole months (the edge months of a
    period come from the weekly and daily rollups: services/statistics.rollup_parts). `industry` is the enterprise's GB/T 4754
    section letter ("" for none) as it stands now: a change of an enterprise's section moves its rows.
    """
    __tablename__ = "hazard_stats_monthly"
    __table_args__ = (
        # An inspector's jurisdiction: its units' rows by month (the whole city: the primary key's month first).
        Index("ix_hazard_stats_monthly_unit_month", "supervising_unit_id", "month"),
    )
    month: Mapped[date] = mapped_column(primary_key=True, sort_order=-1)   # the month's first day


class HazardStatsWeekly(ClassifiedKey, StatsCounters, Base):
    """The same counters per week found × the monthly rollup's key. A "week" is a block of days *inside* a month:
    days 1–7, 8–14, 15–21, 22–28 and 29 to the month's end (0–3 days), `week` being its first day. The blocks
    nest in months, so a month is the sum of its five and a partial month at a period's edge is whole blocks plus
    at most three days per cut block (services/statistics.rollup_parts); ISO weeks straddle months and would not
    add up with the monthly rollup. Kept in the same statement as the daily and monthly rollups.
    """
    __tablename__ = "hazard_stats_weekly"
    __table_args__ = (
        Index("ix_hazard_stats_weekly_unit_week", "supervising_unit_id", "week"),
    )
    week: Mapped[date] = mapped_column(primary_key=True, sort_order=-1)    # the block's first day: 1, 8, 15, 22 or 29
