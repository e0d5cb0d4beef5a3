"""Pagination of lists that may match a city's worth of rows: counts stop at LIST_COUNT_CAP ("10,000+")."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, literal, select

from app.extensions import db


@dataclass
class Page:
    """One page of a list. With `capped`, `total` is a lower bound: more rows match than were counted."""
    items: list
    total: int
    page: int
    per_page: int
    capped: bool = False
    has_next: bool | None = None

    @property
    def more(self) -> bool:
        """Whether a next page exists."""
        return self.has_next if self.has_next is not None else self.page * self.per_page < self.total

    @property
    def pages(self) -> int:
        """How many pages there are (when capped: how many are known to exist, at least one past this one)."""
        known = max(1, -(-self.total // self.per_page))
        return max(known, self.page + 1 if self.more else self.page) if self.capped else known


def count_cap() -> int:
    """How many rows a list counts at most (LIST_COUNT_CAP; 0 counts everything)."""
    return max(int(current_app.config.get("LIST_COUNT_CAP", 10_000)), 0)


def capped_count(stmt) -> tuple[int, bool]:
    """(count, capped) of the rows `stmt` selects, reading at most LIST_COUNT_CAP + 1 of them.

    An exact count(*) of a city's register reads every visible row; past the cap the number is shown as
    "10,000+" and the pagination offers previous/next without a last page.
    """
    cap = count_cap()
    total = count_upto(stmt, cap + 1 if cap else None)
    return (cap, True) if cap and total > cap else (total, False)


def count_upto(stmt, most: int | None) -> int:
    """How many rows `stmt` selects, reading at most `most` of them (None: all)."""
    return db.session.scalar(count_upto_query(stmt, most)) or 0


def count_upto_query(stmt, most: int | None):
    """SELECT count_upto(stmt, most), for reading it together with other counts (the header's one statement)."""
    rows = stmt.order_by(None).with_only_columns(literal(1), maintain_column_froms=True)
    if most is not None:
        rows = rows.limit(most)
    return select(func.count()).select_from(rows.subquery())


def paginate(stmt, page: int, per_page: int, rows) -> Page:
    """A Page from the (capped) count of `stmt` and `rows`, the page's rows read with one row extra."""
    rows = list(rows)
    if len(rows) <= per_page and (rows or page == 1):  # the last page: the total is known without counting
        return Page(rows, (page - 1) * per_page + len(rows), page, per_page, has_next=False)
    total, capped = capped_count(stmt)
    return Page(rows[:per_page], total, page, per_page, capped=capped, has_next=len(rows) > per_page)
