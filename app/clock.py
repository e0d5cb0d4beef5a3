"""The one clock that services, the engine and the scheduler read, so tests can move time."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock UTC time plus an offset that tests (and only tests) may move."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        self.offset += timedelta(**kwargs)

    def reset(self) -> None:
        self.offset = timedelta()


clock = Clock()
