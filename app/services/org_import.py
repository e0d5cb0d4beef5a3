"""Bulk onboarding from Excel: the template workbook, and the import of regions, government units, enterprises
and people from it (the upload page's job and `flask org import`).

Every row is checked by the validator of its record kind (org_checks.check_region/check_unit/check_enterprise,
users.validate_user) as the importing administrator, so delegated administration holds row by row: a district
administrator's rows outside their district are bad rows naming the column. A bad row is reported (sheet, row,
column, reason in the importer's language) and left out; the good rows are imported.

Upsert: regions by code, units by name within their parent unit, enterprises by credit code, people by user name
(case-blind). A row equal to its record is not written at all, so importing the same file again changes nothing
and adds nothing to the audit trail.

One transaction for the whole workbook: the regions and units are written through the organisation services'
own write functions (their `__wrapped__`, without the commit; few rows, each with its own audit event, each in a
savepoint so that a refused one leaves nothing); the enterprises and people in batches of `batch` rows, new ones
by a multi-row INSERT with one audit event per batch listing every record created (what the services record per
record), changed ones through the services' update functions (their own audit event, supervision moves). The
commit comes after the last row; a database failure anywhere rolls everything back. Memory stays bounded: the
workbook is streamed (openpyxl read_only), the session is emptied after every batch, and what is kept is one
small entry per key seen (to name a key that comes twice in the file).
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select, true
from sqlalchemy.exc import SQLAlchemyError

from app.clock import clock
from app.extensions import db
from app.models import Organisation, OrgKind, OrgStatus, Region, RegionKind, Role, User
from app.services import audit, orgs, policy, users
from app.services.errors import ServiceError
from app.services.org_checks import check_enterprise
from app.services.org_codes import industries, normalise_credit_code
from app.services.xlsx_rows import SheetReader

BATCH = 1000
READER_PROCESS_BYTES = 1 << 20  # a workbook this large is parsed in a child process (about 15,000 rows)
MAX_PROBLEMS = 5000  # bad rows listed in a job's answer (all of them are counted)
UNUSABLE_PASSWORD = "!"  # matches no password (werkzeug's check_password_hash): an imported account's start


@dataclass(frozen=True)
class Column:
    key: str
    en: str
    zh: str
    required: bool
    help: Any  # lazy text
    examples: tuple[Any, ...]


@dataclass(frozen=True)
class Sheet:
    key: str
    en: str
    zh: str
    columns: tuple[Column, ...]


NOTE = Column("note", "Note", "备注", False, _l("Free text, not imported. A row whose note is “example” (示例) is an "
                                               "example and is skipped."), ("示例 example",) * 2)

SHEETS: tuple[Sheet, ...] = (
    Sheet("regions", "Regions", "区域", (
        Column("code", "Code", "代码", True, _l("The region's own code: letters, digits, “.”, “_” or “-” (e.g. "
                                               "D01-T03). Rows are matched to existing regions by it."),
               ("EX-D01", "EX-D01-T01")),
        Column("name", "Name", "名称", True, _l("The region's name, at most 100 characters."), ("示例区", "示例街道")),
        Column("kind", "Kind", "类型", True, _l("district, township, street, park or grid (区、乡镇、街道、园区、网格)."),
               ("district", "街道")),
        Column("parent_code", "Parent code", "上级代码", False, _l("The code of the region it belongs to (empty for a "
                                                                 "district): a region of the database or a row above."),
               ("", "EX-D01")),
        NOTE)),
    Sheet("units", "Units", "监管单位", (
        Column("name", "Name", "名称", True, _l("The government unit's name. Rows are matched to existing units by name "
                                               "within the parent unit."), ("示例区应急管理局", "示例街道安全监管站")),
        Column("parent", "Parent unit", "上级单位", False, _l("The name of the unit it reports to (empty only for a "
                                                            "top-level unit, which a system administrator adds)."),
               ("", "示例区应急管理局")),
        Column("jurisdiction", "Jurisdiction", "管辖区域", False, _l("The codes of the regions it supervises, "
                                                                 "separated by commas; empty leaves an existing "
                                                                 "unit's jurisdiction as it is."),
               ("EX-D01", "EX-D01-T01")),
        NOTE)),
    Sheet("enterprises", "Enterprises", "企业", (
        Column("credit_code", "Credit code", "统一社会信用代码", True, _l("The unified social credit code (统一社会信用代码), "
                                                                    "18 characters with its check character (GB "
                                                                    "32100-2015). Rows are matched by it."),
               ("91110000MA0000001L", "91110000MA0000002P")),
        Column("name", "Name", "企业名称", True, _l("The enterprise's registered name."), ("示例机械有限公司", "示例化工有限公司")),
        Column("industry", "Industry", "行业代码", True, _l("The industry code of GB/T 4754-2017: a section letter (A–T) "
                                                          "or a division (e.g. C26); see the sheet Industries."),
               ("C34", "C26")),
        Column("region_code", "Region code", "所在区域代码", True, _l("The code of the region (grid, township, street "
                                                                   "or park) it is in."), ("EX-D01-T01", "EX-D01-T01")),
        Column("scale", "Scale", "规模", False, _l("large, medium, small or micro (大型、中型、小型、微型)."),
               ("medium", "小型")),
        Column("address", "Address", "地址", False, _l("At most 300 characters."), ("示例路1号", "示例路2号")),
        Column("legal_representative", "Legal representative", "法定代表人", False, _l("At most 100 characters."),
               ("张三", "李四")),
        Column("principal_name", "Principal", "主要负责人", False, _l("At most 100 characters."), ("张三", "王五")),
        Column("contact_phone", "Contact phone", "联系电话", False, _l("A phone number, e.g. 010-12345678 or "
                                                                   "13800000000."), ("010-12345678", "13800000000")),
        NOTE)),
    Sheet("people", "People", "人员", (
        Column("username", "User name", "用户名", True, _l("3 to 60 letters, digits, “.”, “-”, “_” or “@”. Rows are "
                                                          "matched to existing accounts by it."),
               ("example_officer", "example_inspector")),
        Column("display_name", "Name", "姓名", True, _l("The person's name as shown in the pages."), ("示例安全员", "示例检查员")),
        Column("role", "Role", "角色", True, _l("officer, principal, inspector or admin (安全员、主要负责人、监管人员、"
                                               "管理员)."), ("officer", "监管人员")),
        Column("organisation", "Organisation", "所属单位", True, _l("For a safety officer or principal: the enterprise's "
                                                                  "credit code; for an inspector or administrator: the "
                                                                  "government unit's name."),
               ("91110000MA0000001L", "示例街道安全监管站")),
        Column("email", "E-mail", "电子邮箱", False, _l("An e-mail address (optional)."), ("officer@example.com", "")),
        Column("mobile", "Mobile", "手机号", False, _l("An 11-digit mainland mobile number (optional)."),
               ("13800138000", "")),
        Column("bureau_head", "Bureau head", "局领导", False, _l("yes or no (是/否): an inspector heading a bureau."),
               ("no", "否")),
        Column("locale", "Language", "语言", False, _l("zh or en (empty: the browser's)."), ("zh", "")),
        NOTE)),
)
SHEET_BY_KEY = {s.key: s for s in SHEETS}
# Values people write in Chinese, as the validators take them.
WORDS = {
    "kind": {"区": "district", "县": "district", "区县": "district", "乡镇": "township", "乡": "township",
             "镇": "township", "街道": "street", "园区": "park", "网格": "grid"},
    "scale": {"大型": "large", "中型": "medium", "小型": "small", "微型": "micro"},
    "role": {"安全员": "officer", "企业安全员": "officer", "主要负责人": "principal", "企业主要负责人": "principal",
             "负责人": "principal", "监管人员": "inspector", "检查员": "inspector", "管理员": "admin"},
    "bureau_head": {"是": "yes", "否": "no"},
}
EXAMPLE_NOTES = {"example", "示例", "示例 example", "例", "样例"}


# --------------------------------------------------------------------------------------------------- template
def _is_english(language: str | None) -> bool:
    return (language or "").startswith("en")


def template(language: str | None) -> bytes:
    """The workbook to fill in, in `language`: instructions, one sheet per record kind with its header row and two
    example rows (marked as examples in their note, so that importing them changes nothing), and the industry
    codes of GB/T 4754-2017."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    english = _is_english(language)
    book = Workbook()
    guide = book.active
    guide.title = "Instructions" if english else "填写说明"
    bold, grey = Font(bold=True), Font(italic=True, color="FF6B6B6B")
    header_fill = PatternFill("solid", fgColor="FFDDE7F3")
    guide.append([_("Bulk onboarding: how to fill in this workbook")])
    guide["A1"].font = Font(bold=True, size=14)
    for line in (
            _("Fill in the sheets Regions, Units, Enterprises and People (any of them; leave the others empty). "
              "The first row of each sheet names its columns (in Chinese or English); keep it."),
            _("Rows are imported in this order, so a row may refer to records in the sheets before it or in rows "
              "above it. Rows already in the system are matched (regions by code, units by name within their "
              "parent, enterprises by credit code, people by user name) and updated; a row equal to its record "
              "changes nothing, so you can import the same file again."),
            _("The two grey rows in each sheet are examples: their note says “example” and they are never imported. "
              "Delete them or write below them."),
            _("Imported people start without a password: give each a one-time password from the people pages "
              "(reset password) when they are to sign in."),
            _("Every bad row is listed with its sheet, row number, column and what to fix; the other rows are "
              "imported.")):
        guide.append([line])
    guide.append([])
    guide.append([_("Sheet"), _("Column"), _("Required"), _("What it takes")])
    for cell in guide[guide.max_row]:
        cell.font = bold
    for sheet in SHEETS:
        for column in sheet.columns:
            guide.append([sheet.en if english else sheet.zh, column.en if english else column.zh,
                          _("yes") if column.required else _("no"), str(column.help)])
    guide.column_dimensions["A"].width = 16
    guide.column_dimensions["B"].width = 22
    guide.column_dimensions["D"].width = 100
    for sheet in SHEETS:
        ws = book.create_sheet(sheet.en if english else sheet.zh)
        ws.append([c.en if english else c.zh for c in sheet.columns])
        for cell in ws[1]:
            cell.font, cell.fill = bold, header_fill
        for i in range(2):
            ws.append([c.examples[i] for c in sheet.columns])
            for cell in ws[ws.max_row]:
                cell.font = grey
        for index, column in enumerate(sheet.columns):
            ws.column_dimensions[chr(ord("A") + index)].width = max(14, len(column.en) + 4)
        ws.freeze_panes = "A2"
    codes = book.create_sheet("Industries" if english else "行业代码")
    codes.append([_("Code"), _("Industry")])
    for cell in codes[1]:
        cell.font = bold
    for code, item in industries().items():
        codes.append([code, item.name(language)])
    codes.column_dimensions["B"].width = 60
    out = BytesIO()
    book.save(out)
    return out.getvalue()


# ----------------------------------------------------------------------------------------------------- result
@dataclass
class Problem:
    sheet: str
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}


@dataclass
class Outcome:
    """What an import found and did: per sheet key, how many rows were created, updated, unchanged, bad."""
    counts: dict[str, dict[str, int]] = field(default_factory=lambda: {
        s.key: {"created": 0, "updated": 0, "unchanged": 0, "bad": 0, "examples": 0} for s in SHEETS})
    problems: list[Problem] = field(default_factory=list)
    bad_rows: int = 0
    rows: int = 0
    dry_run: bool = False

    @property
    def changed(self) -> int:
        return sum(c["created"] + c["updated"] for c in self.counts.values())


class ImportFailed(ServiceError):
    """The workbook could not be read, or the database failed: nothing of the file was kept."""
    status = 422


Progress = Callable[[int], None]


# ------------------------------------------------------------------------------------------------- the import
def import_workbook(actor: User | None, source: Path | BytesIO, *, dry_run: bool = False, batch: int = BATCH,
                    progress: Progress | None = None, filename: str | None = None,
                    finish: Callable[[Outcome], None] | None = None,
                    reader_process_bytes: int | None = READER_PROCESS_BYTES) -> Outcome:
    """Import the workbook as `actor` (None: the command line, acting as a system administrator); one
    transaction, committed at the end (rolled back with `dry_run`, or when the database fails: ImportFailed).

    `progress(n)` is told of every `n` rows done; `finish(outcome)` runs inside the transaction just before the
    commit (the job row's answer is committed with the rows, or not at all). A file of `reader_process_bytes` or
    more is parsed by a child process while this one checks and writes (xlsx_rows.py; None: never)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 — not a zip, damaged XML, not a workbook: the user's file, not our bug
        raise ImportFailed(_("The file is not an Excel workbook (.xlsx) that can be read: %(why)s",
                             why=str(exc)[:200])) from None
    run = _Run(actor, book, batch, progress or (lambda n: None), dry_run)
    if isinstance(source, Path) and reader_process_bytes is not None and source.stat().st_size >= reader_process_bytes \
            and (os.cpu_count() or 1) > 1:
        run.reader = SheetReader(source, [ws.title for ws in run.sheets().values()])
    try:
        _begin()
        with policy.remembered():
            run.all_sheets()
            if run.outcome.changed and not dry_run:
                audit.record("org_import", actor_id=run.actor_id, data={
                    "file": filename, "sha256": _sha256(source), "rows": run.outcome.rows,
                    "bad_rows": run.outcome.bad_rows, "counts": run.outcome.counts})
        run.outcome.dry_run = dry_run
        if dry_run:
            db.session.rollback()
        if finish is not None:
            finish(run.outcome)
        db.session.commit()
        if run.outcome.changed and not dry_run:
            _refresh_planner_statistics()
    except ImportFailed:
        db.session.rollback()
        raise
    except OSError as exc:  # the reader process could not read on (a damaged part of the file)
        db.session.rollback()
        raise ImportFailed(_("The file is not an Excel workbook (.xlsx) that can be read: %(why)s",
                             why=str(exc)[:200])) from None
    except SQLAlchemyError as exc:
        db.session.rollback()
        raise ImportFailed(_("The database failed at sheet %(sheet)s, row %(row)d, so nothing of this file was "
                             "imported: %(why)s", sheet=run.where[0], row=run.where[1],
                             why=str(exc).splitlines()[0][:300])) from exc
    except BaseException:
        db.session.rollback()
        raise
    finally:
        book.close()
        if run.reader is not None:
            run.reader.close()
    return run.outcome


def _refresh_planner_statistics() -> None:
    """After a bulk import, PostgreSQL's planner statistics of the tables it filled are out of date until
    autovacuum's next ANALYZE (never, where autovacuum is off): the administrators' lists would be planned for
    the empty tables of yesterday (a district's people list read every account, issue 12's benchmark). Refresh
    them now, after the commit, with a VACUUM that also marks the new rows all-visible, so that the lists' counts
    read the indexes alone (neither takes a lock that blocks readers or writers)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE) region, organisation, jurisdiction, user_account")


def _begin() -> None:
    """Make sure the session's transaction has begun in the database. pysqlite sends BEGIN only before the first
    write, and SQLite treats a SAVEPOINT outside a transaction as the transaction itself: releasing the first
    row's savepoint would commit it."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")


def _sha256(source: Path | BytesIO) -> str:
    digest = hashlib.sha256()
    if isinstance(source, BytesIO):
        digest.update(source.getvalue())
    else:
        with open(source, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def count_rows(source: Path | BytesIO) -> int:
    """The number of data rows the workbook's sheets declare (their dimension; 0 when it is not written)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 — the import itself says what is wrong with the file
        return 0
    try:
        total = 0
        for ws in book.worksheets:
            if _sheet_key(ws.title) is not None:
                total += max((ws.max_row or 1) - 1, 0)
        return total
    finally:
        book.close()


def _sheet_key(title: str) -> str | None:
    name = " ".join(str(title).split()).lower()
    for sheet in SHEETS:
        if name in (sheet.key, sheet.en.lower(), sheet.zh):
            return sheet.key
    return None


def _cell(value: Any) -> Any:
    """A cell's value as the validators take it: text trimmed (empty → None), whole floats as ints."""
    if isinstance(value, str):
        value = " ".join(value.split())
        return value or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _Run:
    def __init__(self, actor: User | None, book, batch: int, progress: Progress, dry_run: bool) -> None:
        self.actor_id = actor.id if actor is not None else None
        # A detached copy of who acts (policy reads role and organisation): the session is emptied between batches.
        self.actor = User(id=actor.id, username=actor.username, role=actor.role,
                          organisation_id=actor.organisation_id) if actor is not None else \
            User(id=None, username="cli", role=Role.admin, organisation_id=None)
        self.book, self.batch, self.progress, self.dry_run = book, max(1, batch), progress, dry_run
        self.outcome = Outcome()
        self.where: tuple[str, int] = ("", 0)
        self.reader: SheetReader | None = None

    # ----------------------------------------------------------------------------------------- reading
    def sheets(self) -> dict[str, Any]:
        """The workbook's sheets by record kind, in the order they are imported."""
        found: dict[str, Any] = {}
        for ws in self.book.worksheets:
            key = _sheet_key(ws.title)
            if key is not None and key not in found:
                found[key] = ws
        return {sheet.key: found[sheet.key] for sheet in SHEETS if sheet.key in found}

    def all_sheets(self) -> None:
        found = self.sheets()
        if not found:
            names = ", ".join(f"{s.zh}/{s.en}" for s in SHEETS)
            raise ImportFailed(_("The workbook has none of the sheets %(names)s; download the template and fill it "
                                 "in.", names=names))
        handlers = {"regions": self.regions, "units": self.units, "enterprises": self.enterprises,
                    "people": self.people}
        for sheet in SHEETS:
            if sheet.key in found:
                handlers[sheet.key](found[sheet.key])
                policy.forget_units()

    def rows(self, ws, sheet: Sheet) -> Iterator[tuple[int, dict[str, Any], dict[str, str]]]:
        """(row number, {column key: value}, {column key: header as written}) of each data row; header problems
        are reported on row 1."""
        iterator = self.reader.rows(ws.title) if self.reader is not None else ws.iter_rows(values_only=True)
        header = next(iterator, None) or ()
        known = {}
        for column in sheet.columns:
            for name in (column.key, column.en.lower(), column.zh):
                known[name] = column.key
        positions: dict[str, int] = {}
        headers: dict[str, str] = {}
        for index, raw in enumerate(header):
            text = " ".join(str(raw).split()) if raw is not None else ""
            if not text:
                continue
            key = known.get(text.lower()) or known.get(text.rstrip("*＊ ").lower())
            if key is None:
                self.problem(ws.title, 1, text, _("Unknown column; the columns of this sheet are: %(names)s.",
                                                  names=", ".join(c.zh + "/" + c.en for c in sheet.columns)))
            elif key not in positions:
                positions[key], headers[key] = index, text
        missing = [c for c in sheet.columns if c.required and c.key not in positions]
        for column in missing:
            self.problem(ws.title, 1, f"{column.zh}/{column.en}", _("This column is required; add it to the header "
                                                                    "row."))
        if missing:
            return
        for column in sheet.columns:
            headers.setdefault(column.key, column.en)
        number = 1
        for values in iterator:
            number += 1
            row = {key: _cell(values[i]) if i < len(values) else None for key, i in positions.items()}
            self.where = (ws.title, number)
            if all(v is None for v in row.values()):
                continue
            if str(row.get("note") or "").strip().lower() in EXAMPLE_NOTES:
                self.outcome.counts[sheet.key]["examples"] += 1
                continue
            row.pop("note", None)
            for key, words in WORDS.items():
                if isinstance(row.get(key), str) and row[key] in words:
                    row[key] = words[row[key]]
            self.outcome.rows += 1
            yield number, row, headers

    def problem(self, sheet: str, row: int, column: str, message: str) -> None:
        if len(self.outcome.problems) < MAX_PROBLEMS:
            self.outcome.problems.append(Problem(sheet, row, column, message))

    def bad(self, ws, sheet: Sheet, number: int, headers: dict[str, str], errors: dict[str, str],
            fields: dict[str, str] | None = None) -> None:
        """Report each field's problem under the column it came from (`fields`: field name → column key)."""
        fields = fields or {}
        for name, message in errors.items():
            key = fields.get(name, name)
            self.problem(ws.title, number, headers.get(key) or headers.get(sheet.columns[0].key, key), message)
        self.outcome.counts[sheet.key]["bad"] += 1
        self.outcome.bad_rows += 1

    def done(self, n: int) -> None:
        if n:
            self.progress(n)

    # ----------------------------------------------------------------------------------------- regions
    def _region_ids(self, codes) -> dict[str, int]:
        codes = [c for c in codes if c]
        if not codes:
            return {}
        return dict(db.session.execute(select(Region.code, Region.id).where(Region.code.in_(codes))).all())

    def regions(self, ws) -> None:
        sheet = SHEET_BY_KEY["regions"]
        seen: dict[str, int] = {}
        for number, row, headers in self.rows(ws, sheet):
            code = str(row["code"]) if row.get("code") is not None else None
            if code is not None and code.lower() in seen:
                self.bad(ws, sheet, number, headers, {"code": _("The code %(code)s is on row %(row)d already; a "
                                                                "region appears once.", code=code,
                                                                row=seen[code.lower()])})
                self.done(1)
                continue
            if code is not None:
                seen[code.lower()] = number
            values = {"code": code, "name": row.get("name"), "kind": row.get("kind")}
            parent_code = row.get("parent_code")
            values["parent_id"] = None
            if parent_code is not None:
                parent = self._region_ids([str(parent_code)]).get(str(parent_code))
                if parent is None:
                    self.bad(ws, sheet, number, headers, {"parent_code": _(
                        "No region has the code %(code)s (in the system or on a row above).", code=parent_code)})
                    self.done(1)
                    continue
                values["parent_id"] = parent
            existing = db.session.scalar(select(Region).where(Region.code == code)) if code else None
            regions = policy.administered_regions(self.actor)
            if existing is not None and regions is not None and existing.id not in regions:
                self.bad(ws, sheet, number, headers, {"code": _("The code %(code)s belongs to a region you do not "
                                                                "administer.", code=code)})
                self.done(1)
                continue
            self._write(ws, sheet, number, headers, {"parent_id": "parent_code"}, existing,
                        lambda values=values: orgs.create_region.__wrapped__(self.actor, values),
                        lambda existing=existing, values=values: self._same(existing, _region_clean(values)),
                        lambda existing=existing, values=values: orgs.update_region.__wrapped__(
                            self.actor, existing.id, values))
            self.done(1)

    def _same(self, record, clean: dict[str, Any]) -> bool:
        return all(getattr(record, k) == v for k, v in clean.items())

    def _write(self, ws, sheet: Sheet, number: int, headers, fields, existing, create, same, update) -> None:
        """One region or unit row, in a savepoint: created, updated, or (equal to its record) left alone."""
        counts = self.outcome.counts[sheet.key]
        savepoint = db.session.begin_nested()
        try:
            if existing is None:
                create()
                counts["created"] += 1
                policy.forget_units()
            elif same():
                counts["unchanged"] += 1
            else:
                update()
                counts["updated"] += 1
                policy.forget_units()
            savepoint.commit()
        except ServiceError as exc:
            savepoint.rollback()
            errors = exc.fields or {sheet.columns[0].key: exc.message}
            self.bad(ws, sheet, number, headers, errors, fields)

    # ----------------------------------------------------------------------------------------- units
    def _units_named(self, name: str) -> list[Organisation]:
        return list(db.session.scalars(select(Organisation).where(Organisation.kind == OrgKind.government,
                                                                  Organisation.name == name)
                                       .order_by(Organisation.id)))

    def units(self, ws) -> None:
        sheet = SHEET_BY_KEY["units"]
        seen: dict[tuple, int] = {}
        for number, row, headers in self.rows(ws, sheet):
            self.done(1)
            values: dict[str, Any] = {"name": row.get("name"), "parent_id": None}
            parent_name = row.get("parent")
            if parent_name is not None:
                parents = self._units_named(str(parent_name))
                if len(parents) != 1:
                    message = (_("No government unit is named %(name)s (in the system or on a row above).",
                                 name=parent_name) if not parents else
                               _("Several government units are named %(name)s; give the parent a name of its own "
                                 "first.", name=parent_name))
                    self.bad(ws, sheet, number, headers, {"parent": message})
                    continue
                values["parent_id"] = parents[0].id
            key = (values["parent_id"], str(values["name"]).lower())
            if key in seen:
                self.bad(ws, sheet, number, headers, {"name": _("This unit is on row %(row)d already.",
                                                                row=seen[key])})
                continue
            seen[key] = number
            if row.get("jurisdiction") is not None:
                codes = [c for c in str(row["jurisdiction"]).replace("，", ",").replace(";", ",").replace("；", ",")
                         .split(",") if c.strip()]
                codes = [c.strip() for c in codes]
                ids = self._region_ids(codes)
                unknown = [c for c in codes if c not in ids]
                if unknown:
                    self.bad(ws, sheet, number, headers, {"jurisdiction": _(
                        "No region has the code %(codes)s.", codes=", ".join(unknown))})
                    continue
                values["region_ids"] = sorted(set(ids.values()))
            existing = None
            if values["name"] is not None:
                existing = db.session.scalar(select(Organisation).where(
                    Organisation.kind == OrgKind.government, Organisation.name == values["name"],
                    Organisation.parent_id.is_(None) if values["parent_id"] is None
                    else Organisation.parent_id == values["parent_id"]).order_by(Organisation.id).limit(1))
            if existing is not None and db.session.scalar(select(Organisation.id).where(
                    Organisation.id == existing.id, orgs._unit_scope(self.actor))) is None:
                self.bad(ws, sheet, number, headers, {"name": _("A unit of this name belongs to another "
                                                                "administrator; you cannot change it.")})
                continue

            def same(existing=existing, values=values) -> bool:
                if existing.name != values["name"] or existing.parent_id != values["parent_id"]:
                    return False
                return "region_ids" not in values or orgs.jurisdiction_of(existing.id) == values["region_ids"]

            self._write(ws, sheet, number, headers, {"parent_id": "parent", "region_ids": "jurisdiction"}, existing,
                        lambda values=values: orgs.create_unit.__wrapped__(self.actor, values), same,
                        lambda existing=existing, values=values: orgs.update_unit.__wrapped__(
                            self.actor, existing.id, values))

    # ----------------------------------------------------------------------------------------- enterprises
    def _batches(self, ws, sheet: Sheet) -> Iterator[list[tuple[int, dict[str, Any], dict[str, str]]]]:
        chunk: list = []
        for item in self.rows(ws, sheet):
            chunk.append(item)
            if len(chunk) >= self.batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def _end_batch(self, n: int) -> None:
        db.session.flush()
        db.session.expunge_all()  # bounded memory: nothing of the batch stays in the session
        self.done(n)

    def enterprises(self, ws) -> None:
        sheet = SHEET_BY_KEY["enterprises"]
        counts = self.outcome.counts["enterprises"]
        seen: dict[str, int] = {}
        region_ids = dict(db.session.execute(select(Region.code, Region.id)).all())
        fields = {"region_id": "region_code"}
        for chunk in self._batches(ws, sheet):
            codes = {normalise_credit_code(str(r["credit_code"])) for _n, r, _h in chunk if r.get("credit_code")}
            existing = {o.credit_code: o for o in db.session.scalars(
                select(Organisation).where(Organisation.credit_code.in_(codes)))} if codes else {}
            visible = set(db.session.scalars(select(Organisation.id).where(
                Organisation.id.in_([o.id for o in existing.values()]), orgs._enterprise_scope(self.actor)))) \
                if existing else set()
            taken = {code: o.id for code, o in existing.items()}
            # Held for the batch: the session keeps only what is referenced, and every row asks for its region.
            regions = db.session.scalars(select(Region)).all()  # noqa: F841
            new: list[dict[str, Any]] = []
            for number, row, headers in chunk:
                code = normalise_credit_code(str(row["credit_code"])) if row.get("credit_code") else None
                if code and code in seen:
                    self.bad(ws, sheet, number, headers, {"credit_code": _(
                        "The credit code %(code)s is on row %(row)d already; an enterprise appears once.",
                        code=code, row=seen[code])})
                    continue
                if code:
                    seen[code] = number
                values = {k: row.get(k) for k in ("credit_code", "name", "industry", "scale", "address",
                                                  "legal_representative", "principal_name", "contact_phone")}
                region_code = row.get("region_code")
                if region_code is not None:
                    values["region_id"] = region_ids.get(str(region_code))
                    if values["region_id"] is None:
                        self.bad(ws, sheet, number, headers, {"region_code": _(
                            "No region has the code %(code)s.", code=region_code)})
                        continue
                current = existing.get(code) if code else None
                if current is not None and (current.id not in visible or current.kind != OrgKind.enterprise):
                    self.bad(ws, sheet, number, headers, {"credit_code": _(
                        "Another enterprise is registered with the credit code %(code)s.", code=code)})
                    continue
                checked = check_enterprise(self.actor, values, current, credit_codes=taken)
                if checked.errors:
                    self.bad(ws, sheet, number, headers, checked.errors, fields)
                    continue
                if current is None:
                    new.append(checked.values)
                elif all(getattr(current, k) == v for k, v in checked.values.items()):
                    counts["unchanged"] += 1
                else:
                    try:
                        orgs.update_enterprise.__wrapped__(self.actor, current.id, values)
                    except ServiceError as exc:
                        self.bad(ws, sheet, number, headers, exc.fields or {"credit_code": exc.message}, fields)
                        continue
                    counts["updated"] += 1
            if new:
                keys = sorted({k for v in new for k in v})
                rows = [dict(kind=OrgKind.enterprise, status=OrgStatus.active, **{k: v.get(k) for k in keys})
                        for v in new]
                # A Core INSERT of the table (every row the same columns: one multi-row statement per batch),
                # keyed by credit code, not by position (an ordered RETURNING would insert row by row).
                table = Organisation.__table__
                ids = dict(db.session.execute(insert(table).returning(table.c.credit_code, table.c.id), rows).all())
                audit.record("import_created", actor_id=self.actor_id, data={
                    "sheet": "enterprises", "count": len(ids),
                    "records": [{"enterprise": ids[v["credit_code"]], **_plain(v)} for v in new]})
                counts["created"] += len(ids)
            self._end_batch(len(chunk))

    # ----------------------------------------------------------------------------------------- people
    def people(self, ws) -> None:
        sheet = SHEET_BY_KEY["people"]
        counts = self.outcome.counts["people"]
        seen: dict[str, int] = {}
        units: dict[str, list[int]] = {}
        for unit_id, name in db.session.execute(select(Organisation.id, Organisation.name)
                                                .where(Organisation.kind == OrgKind.government)):
            units.setdefault(name, []).append(unit_id)
        fields = {"organisation_id": "organisation"}
        now = clock.now()
        for chunk in self._batches(ws, sheet):
            names = {str(r["username"]).lower() for _n, r, _h in chunk if r.get("username") is not None}
            existing = {u.username.lower(): u for u in db.session.scalars(
                select(User).where(func.lower(User.username).in_(names)))} if names else {}
            manageable = set(db.session.scalars(users._manageable(self.actor).with_only_columns(User.id).where(
                User.id.in_([u.id for u in existing.values()])))) if existing else set()
            codes = {normalise_credit_code(str(r["organisation"])) for _n, r, _h in chunk
                     if r.get("organisation") is not None}
            enterprises = dict(db.session.execute(select(Organisation.credit_code, Organisation.id).where(
                Organisation.credit_code.in_(codes))).all()) if codes else {}
            org_ids = set(enterprises.values()) | {i for ids in units.values() for i in ids}
            lookups = users.Lookups(usernames=set(existing), organisations=dict(db.session.execute(
                select(Organisation.id, Organisation.kind).where(
                    Organisation.id.in_(org_ids) if len(org_ids) < 5000 else true(),
                    policy.administered_org_clause(self.actor) if self.actor_id else true())).all()))
            new: list[dict[str, Any]] = []
            for number, row, headers in chunk:
                username = str(row["username"]) if row.get("username") is not None else None
                if username is not None and username.lower() in seen:
                    self.bad(ws, sheet, number, headers, {"username": _(
                        "The user name %(name)s is on row %(row)d already; a person appears once.", name=username,
                        row=seen[username.lower()])})
                    continue
                if username is not None:
                    seen[username.lower()] = number
                values = {k: row.get(k) for k in ("username", "display_name", "role", "email", "mobile",
                                                  "bureau_head", "locale")}
                if isinstance(values["role"], str):
                    values["role"] = values["role"].lower()
                if isinstance(values["bureau_head"], bool):
                    values["bureau_head"] = "yes" if values["bureau_head"] else "no"
                if values["mobile"] is not None:
                    values["mobile"] = str(values["mobile"])
                org = row.get("organisation")
                values["organisation_id"] = None
                if org is not None:
                    org_id, message = self._organisation(str(org), values["role"], enterprises, units)
                    if message:
                        self.bad(ws, sheet, number, headers, {"organisation": message})
                        continue
                    values["organisation_id"] = org_id
                current = existing.get(username.lower()) if username is not None else None
                if current is not None and current.id not in manageable:
                    self.bad(ws, sheet, number, headers, {"username": _(
                        "The user name “%(name)s” is taken; choose another.", name=username)})
                    continue
                if current is not None:
                    values["username"] = current.username
                check = users.validate_user(values, actor=self.actor if self.actor_id else None, user=current,
                                            lookups=lookups)
                if check.errors:
                    self.bad(ws, sheet, number, headers, check.errors, fields)
                    continue
                if current is None:
                    new.append(check.values)
                elif all(getattr(current, k) == v for k, v in check.values.items() if k != "username"):
                    counts["unchanged"] += 1
                else:
                    try:
                        users.change_user(self.actor, current, {k: v for k, v in values.items() if k != "username"})
                    except ServiceError as exc:
                        self.bad(ws, sheet, number, headers, exc.fields or {"username": exc.message}, fields)
                        continue
                    counts["updated"] += 1
            if new:
                rows = [{"username": v["username"], "display_name": v["display_name"], "role": v["role"],
                         "organisation_id": v.get("organisation_id"), "email": v.get("email"),
                         "mobile": v.get("mobile"), "bureau_head": v.get("bureau_head", False),
                         "locale": v.get("locale"), "active": True, "must_change_password": True,
                         "password_hash": UNUSABLE_PASSWORD, "created_at": now} for v in new]
                table = User.__table__
                ids = dict(db.session.execute(insert(table).returning(table.c.username, table.c.id), rows).all())
                audit.record("import_created", actor_id=self.actor_id, data={
                    "sheet": "people", "count": len(ids),
                    "records": [{"user_id": ids[r["username"]], "username": r["username"],
                                 "display_name": r["display_name"], "role": r["role"].value,
                                 "organisation_id": r["organisation_id"], "email": r["email"], "mobile": r["mobile"],
                                 "bureau_head": r["bureau_head"]} for r in rows]})
                counts["created"] += len(ids)
            self._end_batch(len(chunk))

    def _organisation(self, text: str, role: Any, enterprises: dict[str, int],
                      units: dict[str, list[int]]) -> tuple[int | None, str | None]:
        """The organisation a person's row names: an enterprise by credit code, a unit by name."""
        code = normalise_credit_code(text)
        if role in ("officer", "principal") or (role not in ("inspector", "admin") and code in enterprises):
            found = enterprises.get(code)
            return (found, None) if found else (None, _(
                "No enterprise has the credit code %(code)s (in the system or on the sheet Enterprises).", code=text))
        found_units = units.get(text, [])
        if len(found_units) == 1:
            return found_units[0], None
        if not found_units:
            return None, _("No government unit is named %(name)s.", name=text)
        return None, _("Several government units are named %(name)s; rename one of them first.", name=text)


def _region_clean(values: dict[str, Any]) -> dict[str, Any]:
    """A region row's values as stored (kind as its enumeration), to compare with the record."""
    clean = dict(values)
    kind = RegionKind._value2member_map_.get(str(values.get("kind") or "").lower())
    clean["kind"] = kind if kind is not None else values.get("kind")
    return clean


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in values.items()}


def outcome_json(outcome: Outcome) -> tuple[str, str]:
    """(counts, problems) as JSON for the job row."""
    return (json.dumps(outcome.counts, ensure_ascii=False),
            json.dumps([p.as_dict() for p in outcome.problems], ensure_ascii=False))


