"""China time: the calendar the users live in. Deadlines are whole days in China Standard Time (UTC+8).

Times are stored in UTC (app/models/base.py) and read from the one clock (app/clock.py); this module turns
them into China's dates and back, and reads the dates users and diagrams write (ISO 8601, YYYY-MM-DD).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from app.clock import clock

CHINA = timezone(timedelta(hours=8))
# How far ahead a deadline may be set (forms say so with "x-max-years-ahead"; extension requests use this).
DEADLINE_YEARS_AHEAD = 5


def end_of_day(day: date) -> datetime:
    """The last second of a day in China, in UTC: when a deadline of that day passes."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=CHINA).astimezone(UTC)


def china_date(moment: datetime) -> date:
    """The date in China at a moment."""
    return moment.astimezone(CHINA).date()


def china_time(moment: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A moment as China's wall-clock time, for people to read."""
    return moment.astimezone(CHINA).strftime(fmt)


def today() -> date:
    """Today in China, by the application's clock."""
    return china_date(clock.now())


def years_after(day: date, years: int) -> date:
    """The same calendar day `years` later (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def parse_date(value: Any) -> date | None:
    """A date from a date or its ISO text (YYYY-MM-DD); None when empty or not a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
