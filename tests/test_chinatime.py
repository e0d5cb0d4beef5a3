"""China time: deadlines are whole days in UTC+8, whatever the server's zone."""
from __future__ import annotations

from datetime import UTC, date, datetime

from app import chinatime
from app.clock import clock


def test_a_day_ends_at_one_second_before_midnight_in_china():
    assert chinatime.end_of_day(date(2024, 3, 1)) == datetime(2024, 3, 1, 15, 59, 59, tzinfo=UTC)


def test_today_is_chinas_date_by_the_applications_clock():
    late_utc = datetime.now(UTC).replace(hour=20)  # 04:00 the next morning in China
    clock.offset = late_utc - datetime.now(UTC)
    try:
        assert chinatime.today() == date.fromordinal(late_utc.date().toordinal() + 1)
        assert chinatime.china_time(late_utc, "%H") == "04"
    finally:
        clock.reset()


def test_dates_are_read_from_iso_text_or_dates_and_anything_else_is_none():
    assert chinatime.parse_date("2024-03-01") == date(2024, 3, 1)
    assert chinatime.parse_date(date(2024, 3, 1)) == date(2024, 3, 1)
    assert chinatime.parse_date(datetime(2024, 3, 1, 12, tzinfo=UTC)) == date(2024, 3, 1)
    assert [chinatime.parse_date(v) for v in ("", None, "2024-02-30", "tomorrow", 42)] == [None] * 5
