"""Streamed Excel exports (issue 14): the register (any of its filters) and the listed-supervision ledger
(挂牌督办台账), in the caller's scope, with the page's columns in the caller's language.

A city's million rows must never be held in memory: the rows are read from the database in chunks (`yield_per`:
a server-side cursor on PostgreSQL), written to an openpyxl write-only workbook (which spills each row to a
temporary file as it is appended) saved in a temporary file, and the caller streams that file to the client and
deletes it. The labels (status, grade, column headings) come from the web layer, which owns the page's words.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.chinatime import china_date
from app.extensions import db
from app.models import Hazard, HazardStatus, Organisation, User
from app.services import replica
from app.services.access import hazard_scope
from app.services.hazards import HazardFilters, _order, hazard_query
from app.services.paging import Page, paginate

CHUNK = 2000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Labels:
    """The words of a sheet, in the caller's language (from the page that shows the same list)."""
    title: str
    headers: list[str]
    status: Callable[[Any], str]
    grade: Callable[[Any], str]
    yes: str
    no: str
    tier: Callable[[Any], str] = str


def as_values(sheet, row: Iterable[Any]) -> list[Any]:
    """A row for `sheet.append` whose text stays text: openpyxl stores a string starting with "=" as a formula,
    and text people typed (a hazard's title, a reward's reason) must never become one in a reader's Excel."""
    from openpyxl.cell import WriteOnlyCell

    values = []
    for value in row:
        if isinstance(value, str) and value.startswith("="):
            value = WriteOnlyCell(sheet, value)
            value.data_type = "s"
        values.append(value)
    return values


def write_xlsx(labels: Labels, rows: Iterable[Iterable[Any]]) -> Path:
    """A workbook of one sheet (a header row, then `rows`) in a temporary file; the caller deletes it."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(labels.title[:31])
    sheet.append(labels.headers)
    for row in rows:
        sheet.append(as_values(sheet, row))
    fd, name = tempfile.mkstemp(prefix="hazardloop-export-", suffix=".xlsx")
    os.close(fd)
    try:
        book.save(name)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def _stream(stmt) -> Iterator[Any]:
    """The statement's rows, fetched CHUNK at a time (a server-side cursor on PostgreSQL)."""
    yield from db.session.execute(stmt.execution_options(yield_per=CHUNK))


def _day(moment) -> Any:
    return china_date(moment) if moment is not None else None


# ------------------------------------------------------------------------------------ the register
REGISTER_COLUMNS = ("number", "title", "location", "enterprise", "status", "grade", "overdue", "listed",
                    "rectification_deadline", "responsible_person", "reported")


def register_statement(user: User, filters: HazardFilters):
    """The register's rows (every page of it, in its order) as the export's columns."""
    where = hazard_query(user, filters).whereclause
    stmt = (select(Hazard.number, Hazard.title, Hazard.location, Organisation.name, Hazard.status, Hazard.grade,
                   Hazard.overdue, Hazard.listed, Hazard.rectification_deadline, Hazard.responsible_person,
                   Hazard.created_at)
            .join(Organisation, Organisation.id == Hazard.enterprise_id))
    if where is not None:
        stmt = stmt.where(where)
    return stmt.order_by(*_order(Hazard, filters.sort))


def register_rows(user: User, filters: HazardFilters, labels: Labels) -> Iterator[tuple]:
    for (number, title, location, enterprise, status, grade, overdue, listed, deadline, responsible,
         created_at) in _stream(register_statement(user, filters)):
        yield (number, title, location, enterprise, labels.status(status), labels.grade(grade),
               labels.yes if overdue else labels.no, labels.yes if listed else labels.no, deadline,
               responsible, _day(created_at))


def export_register(user: User, filters: HazardFilters, labels: Labels) -> Path:
    """The register with these filters as an .xlsx in a temporary file (the caller streams and deletes it); read
    from the replica when there is one (replica.reads)."""
    with replica.reads(user):
        return write_xlsx(labels, register_rows(user, filters, labels))


# ------------------------------------------------------------------------------------ the ledger (挂牌督办台账)
LEDGER_COLUMNS = ("number", "title", "enterprise", "notice_number", "listing_unit", "tier", "supervision_deadline",
                  "responsible_person", "status", "written_off_on")


def ledger_statement(user: User):
    """The hazards listed for supervision that the caller may see, the latest listed first."""
    unit = aliased(Organisation)
    return (select(Hazard.id, Hazard.number, Hazard.title, Organisation.name, Hazard.notice_number, unit.name,
                   Hazard.supervision_tier, Hazard.supervision_deadline, Hazard.responsible_person, Hazard.status,
                   Hazard.closed_at)
            .join(Organisation, Organisation.id == Hazard.enterprise_id)
            .outerjoin(unit, unit.id == Hazard.supervising_unit_id)
            .where(hazard_scope(user), Hazard.listed.is_(True))
            .order_by(Hazard.created_at.desc(), Hazard.id.desc()))


@dataclass
class LedgerLine:
    id: int
    number: str
    title: str
    enterprise: str
    notice_number: str | None
    listing_unit: str | None
    tier: str | None
    supervision_deadline: Any
    responsible_person: str | None
    status: Any
    written_off_on: Any


def _line(row) -> LedgerLine:
    (hazard_id, number, title, enterprise, notice, unit, tier, deadline, responsible, status, closed_at) = row
    return LedgerLine(hazard_id, number, title, enterprise, notice, unit, tier, deadline, responsible, status,
                      _day(closed_at) if status == HazardStatus.written_off else None)


def ledger_page(user: User, page: int = 1, per_page: int = 20) -> Page:
    stmt = ledger_statement(user)
    rows = db.session.execute(stmt.limit(per_page + 1).offset((page - 1) * per_page))
    result = paginate(stmt, page, per_page, [_line(r) for r in rows])
    return result


def ledger_rows(user: User, labels: Labels) -> Iterator[tuple]:
    for row in _stream(ledger_statement(user)):
        line = _line(row)
        yield (line.number, line.title, line.enterprise, line.notice_number, line.listing_unit,
               labels.tier(line.tier) if line.tier else None, line.supervision_deadline, line.responsible_person,
               labels.status(line.status), line.written_off_on)


def export_ledger(user: User, labels: Labels) -> Path:
    with replica.reads(user):
        return write_xlsx(labels, ledger_rows(user, labels))
