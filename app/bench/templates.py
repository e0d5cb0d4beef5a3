"""Row templates for every lifecycle stage, captured by running the real services once per stage variant.

In a scratch SQLite database with the demo world, one hazard per variant is reported and driven through
its steps by the right people with `hazards.report_hazard` and `tasks.complete` — the real engine, the
real read model, human tasks, timers and audit trail. Every row those services wrote for the hazard is
captured and compiled into a template whose cells say how to vary per generated hazard: ids, people and
organisations, task UUIDs (the same in the instance state and in human_task/timer rows), number, title,
dates. Whatever the services write today is what the city gets, without the generator knowing the schema.
"""
from __future__ import annotations

import enum
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.chinatime import years_after

# Sentinels reported in the scratch run and replaced per generated hazard.
FIRST_SCRATCH_ID = 987654321000
TITLE = "__TITLE__"
DESCRIPTION = "__DESCRIPTION__"
LOCATION = "__LOCATION__"
# Sentinel deadlines: years away from every timestamp the scratch run makes (it spans weeks), so they are told
# apart, yet within the forms' range for a deadline (x-max-years-ahead: 5).
DEADLINE = years_after(date.today(), 4)
SUPERVISION_DEADLINE = DEADLINE - timedelta(days=31)
SENTINEL_AFTER = years_after(date.today(), 2)  # any date after this came from a sentinel deadline
STEP_DAYS = 2         # the scratch clock moves this much between steps, so timestamps are spread
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# What each step submits (the forms' shapes); dates are the sentinels, files are uploaded in the run.
STEP_DATA: dict[str, tuple[str, str, dict[str, Any]]] = {
    "assess_general": ("assess", "officer", {"grade": "general", "responsible_person": "张安全",
                                             "measures": "加锁并张贴警示标识",
                                             "rectification_deadline": DEADLINE.isoformat()}),
    "assess_major": ("assess", "officer", {"grade": "major", "responsible_person": "李厂长",
                                           "major_criterion": "工贸企业重大事故隐患判定标准 第十条"}),
    "rectify": ("rectify", "officer", {"measures_taken": "已整改并复核", "after_photos": "PHOTO"}),
    "review_pass": ("review", "principal", {"review_result": "pass", "review_opinion": "整改到位"}),
    "review_fail": ("review", "principal", {"review_result": "fail", "review_opinion": "警示标识不清晰"}),
    "plan": ("plan", "officer", {"measures": "更换防爆风机，增设可燃气体报警", "funds": 180000,
                                 "rectification_deadline": DEADLINE.isoformat(), "responsible_person": "李厂长",
                                 "emergency_plan": "停产并设置警戒区"}),
    "approve": ("approve_report", "principal", {"plan_decision": "approve", "report_current_state": "风机损坏",
                                                "report_harm": "可能引发爆炸", "reported_to_workers_congress": True}),
    "supervise": ("supervision_decision", "inspector", {"plan_review": "accept", "listed": True,
                                                        "notice_number": "督办〔2026〕12号",
                                                        "supervision_deadline": SUPERVISION_DEADLINE.isoformat()}),
    "rectify_major": ("rectify_major", "officer", {"measures_taken": "按方案整改完毕", "after_photos": "PHOTO"}),
    "acceptance": ("acceptance", "officer", {"acceptance_by": "agency", "acceptance_opinion": "整改合格",
                                             "acceptance_report": "PDF"}),
    "verify_pass": ("verification", "inspector", {"verification_result": "pass", "verification_opinion": "合格"}),
    "verify_fail": ("verification", "inspector", {"verification_result": "fail", "verification_opinion": "未联动",
                                                  "failure_reason": "报警未联动"}),
    "write_off": ("write_off", "inspector", {"write_off_document": "销号〔2026〕3号"}),
}

_GENERAL = ["assess_general", "rectify"]
_MAJOR = ["assess_major", "plan", "approve", "supervise", "rectify_major", "acceptance"]
# stage (the hazard's status) -> variants (the steps completed to reach it)
STAGES: dict[str, list[list[str]]] = {
    "assessing": [[]],
    "rectifying": [["assess_general"], ["assess_general", "rectify", "review_fail"], _MAJOR[:4],
                   _MAJOR + ["verify_fail"]],
    "reviewing": [_GENERAL],
    "closed": [_GENERAL + ["review_pass"], _GENERAL + ["review_fail", "rectify", "review_pass"]],
    "planning": [["assess_major"]],
    "approving": [_MAJOR[:2]],
    "supervision_review": [_MAJOR[:3]],
    "accepting": [_MAJOR[:5]],
    "verifying": [_MAJOR],
    "writing_off": [_MAJOR + ["verify_pass"]],
    "written_off": [_MAJOR + ["verify_pass", "write_off"]],
}
# Share of a year's hazards at each stage: most are closed, the open ones spread over every step.
STAGE_WEIGHTS = {
    "closed": 0.55, "written_off": 0.05, "assessing": 0.08, "rectifying": 0.14, "reviewing": 0.06,
    "planning": 0.02, "approving": 0.02, "supervision_review": 0.02, "accepting": 0.02, "verifying": 0.02,
    "writing_off": 0.02,
}
# Tables of the organisational skeleton: generated by the city, never captured per hazard.
SKELETON = {"region", "organisation", "jurisdiction", "user_account", "api_token"}


@dataclass
class Context:
    """What varies per generated hazard; template cells read it."""

    hid: int
    number: str
    title: str
    description: str
    location: str
    base: datetime          # the hazard's report time
    deadline: date
    supervision_deadline: date
    orgs: dict[str, int]    # enterprise, unit, bureau, region
    users: dict[str, int]   # officer, principal, inspector, admin
    uuids: list[str]
    ids: dict[str, dict[int, int]] = field(default_factory=dict)  # table -> scratch id -> new id
    state: str = ""
    memo: dict = field(default_factory=dict)
    dl: str = ""     # deadline.isoformat(), formatted once
    sdl: str = ""    # supervision_deadline.isoformat()


Cell = Callable[[Context], str] | str


@dataclass
class AuditTemplate:
    """How to re-hash an audit event once its values are substituted."""

    seq: int
    action: str
    actor: Cell
    task_spec: str | None
    data_fmt: str          # unescaped format string of the canonical JSON
    created: Cell
    prev_index: int
    hash_index: int


@dataclass
class RowTemplate:
    table: str
    scratch_id: int | None
    cells: list[Cell]
    columns: list[str]
    audit: AuditTemplate | None = None
    line: str = ""                                   # COPY line with {} for each varying cell
    varying: list = field(default_factory=list)      # the cells that vary, in order

    def compile(self) -> None:
        parts = []
        for cell in self.cells:
            if isinstance(cell, str):
                parts.append(cell.replace("{", "{{").replace("}", "}}"))
            else:
                parts.append("{}")
                self.varying.append(cell)
        self.line = "\t".join(parts) + "\n"

    def render(self, ctx: Context) -> str:
        return self.line.format(*[cell(ctx) for cell in self.varying])


@dataclass
class StageTemplate:
    stage: str
    steps: list[str]
    finished: bool
    open_count: int
    sentinel_timers: int                       # pending timers whose fire time comes from a deadline
    pending_timers: int
    rows: list[RowTemplate]
    state_fmt: str
    uuid_count: int
    id_tables: list[str] = field(default_factory=list)


def copy_escape(text: str) -> str:
    """PostgreSQL COPY text format: backslash, tab and newlines are escaped."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _shift_ts(offset: timedelta) -> Cell:
    def cell(ctx: Context) -> str:
        # Many rows of a hazard share a moment (one step writes several); format each moment once.
        value = ctx.memo.get(offset)
        if value is None:
            value = ctx.memo[offset] = (ctx.base + offset).isoformat()
        return value
    return cell


def _sentinel_ts(value: datetime) -> Cell:
    ref = DEADLINE if abs((value.date() - DEADLINE).days) <= abs((value.date() - SUPERVISION_DEADLINE).days) \
        else SUPERVISION_DEADLINE
    delta = value - datetime.combine(ref, datetime.min.time(), tzinfo=UTC)
    key = (ref, delta)

    def cell(ctx: Context) -> str:
        value = ctx.memo.get(key)
        if value is None:
            day = ctx.deadline if ref == DEADLINE else ctx.supervision_deadline
            value = ctx.memo[key] = (datetime.combine(day, datetime.min.time(), tzinfo=UTC)
                                     + delta).isoformat()
        return value
    return cell


def _sentinel_date(value: date) -> Cell:
    if value == SUPERVISION_DEADLINE:
        return lambda ctx: ctx.sdl
    if value == DEADLINE:
        return lambda ctx: ctx.dl
    delta = value - DEADLINE
    return lambda ctx: (ctx.deadline + delta).isoformat()


class _Capture:
    """Turns one scratch hazard's rows into templates."""

    def __init__(self, metadata: sa.MetaData, scratch: dict, hid: int, number: str, start: datetime) -> None:
        self.metadata, self.scratch, self.hid, self.number, self.start = metadata, scratch, hid, number, start
        self.uuids: list[str] = []
        self.uuid_index: dict[str, int] = {}

    def uuid(self, value: str) -> int:
        if value not in self.uuid_index:
            self.uuid_index[value] = len(self.uuids)
            self.uuids.append(value)
        return self.uuid_index[value]

    def text(self, value: str, escape: bool = True) -> str:
        """Format-string form of free text: sentinels and UUIDs become fields, braces are doubled."""
        escaped = (copy_escape(value) if escape else value).replace("{", "{{").replace("}", "}}")
        pattern = re.compile("|".join([UUID_RE.pattern, re.escape(self.number), str(self.hid), TITLE, DESCRIPTION,
                                       LOCATION, DEADLINE.isoformat(), SUPERVISION_DEADLINE.isoformat()]))
        names = {self.number: "{c.number}", str(self.hid): "{c.hid}", TITLE: "{c.title}",
                 DESCRIPTION: "{c.description}", LOCATION: "{c.location}", DEADLINE.isoformat(): "{dl}",
                 SUPERVISION_DEADLINE.isoformat(): "{sdl}"}

        def token(match: re.Match) -> str:
            found = match.group(0)
            return names[found] if found in names else f"{{u[{self.uuid(found)}]}}"

        return pattern.sub(token, escaped)

    def cell(self, table: sa.Table, column: sa.Column, value: Any) -> Cell:
        if value is None:
            return "\\N"
        fk = next(iter(column.foreign_keys), None)
        if fk is not None and isinstance(value, int):
            target = fk.column.table.name
            if target in ("hazard", "process_instance") and value in (self.hid, self.scratch["instance"]):
                return lambda ctx: str(ctx.hid)
            if target == "organisation":
                key = self.scratch["orgs"].get(value)
                return (lambda ctx, k=key: str(ctx.orgs[k])) if key else str(value)
            if target == "user_account":
                key = self.scratch["users"].get(value, "admin")
                return lambda ctx, k=key: str(ctx.users[k])
            if target == "region":
                return lambda ctx: str(ctx.orgs["region"])
            if target in self.scratch["per_hazard"]:
                return lambda ctx, t=target, v=value: str(ctx.ids[t][v])
            return str(value)  # a catalogue row (process or form version), copied as it is
        if column.primary_key and table.name in self.scratch["per_hazard"] and isinstance(value, int):
            if table.name in ("hazard", "process_instance"):
                return lambda ctx: str(ctx.hid)
            return lambda ctx, t=table.name, v=value: str(ctx.ids[t][v])
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, datetime):
            if value.date() > SENTINEL_AFTER:
                return _sentinel_ts(value)
            if table.name == "timer" and column.name in ("due_at", "anchor_at"):
                return value.isoformat()  # engine fire times are absolute (in the state too)
            return _shift_ts(value - self.start)
        if isinstance(value, date):
            if value > SENTINEL_AFTER:
                return _sentinel_date(value)
            shift = value - self.start.date()
            return lambda ctx: (ctx.base.date() + shift).isoformat()
        if isinstance(value, enum.Enum):
            return value.name  # an Enum stored by name (native_enum=False)
        if isinstance(value, (int, float)):
            return str(value)
        text = str(value)
        if text == f"hazard:{self.hid}":
            return lambda ctx: f"hazard:{ctx.hid}"
        fmt = self.text(text)
        if fmt == copy_escape(text).replace("{", "{{").replace("}", "}}"):
            return copy_escape(text)
        return lambda ctx, f=fmt: f.format(c=ctx, u=ctx.uuids, dl=ctx.dl, sdl=ctx.sdl)


def _run_scratch(workdir: Path, log) -> tuple[sa.MetaData, dict, list[dict]]:
    """Drive one hazard per stage variant through the real services; return the rows they wrote."""
    import io

    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from app import create_app
    from app.clock import clock
    from app.extensions import db
    from app.models import Hazard, HumanTask, Organisation, ProcessInstance, Region, TaskStatus, User
    from app.services import attachments, hazards, tasks
    from app.services.demo import seed_world, tiny_pdf, tiny_png
    from config import TestConfig

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{workdir / 'scratch.db'}",
                     INSTANCE_DIR=workdir, UPLOAD_DIR=workdir / "uploads", MAIL_ENABLED=False,
                     SCHEDULER_IN_PROCESS=False,
                     # Every variant is the same report: none may become a repeat of another (links between them
                     # would point outside the hazard they are copied with).
                     REPEAT_HAZARD_WINDOW_DAYS=0)
    variants = []
    saved_offset = clock.offset
    with app.test_request_context():
        upgrade()
        seed_world()
        users = {u.username: u for u in db.session.scalars(select(User))}
        people = {"officer": users["officer_a"], "principal": users["principal_a"], "inspector": users["inspector"]}
        enterprise = db.session.get(Organisation, people["officer"].organisation_id)
        unit = db.session.get(Organisation, enterprise.supervising_unit_id)
        bureau_id = unit.parent_id or unit.id
        # Hazard ids start at a sentinel, so that they can be told apart inside the instance state.
        db.session.execute(text(
            "INSERT INTO hazard (id, number, title, description, location, hazard_type, source, enterprise_id, "
            "status, listed, overdue, created_at, updated_at) VALUES (:id, 'PLACEHOLDER', 't', 'd', 'l', "
            "'unsafe_condition', 'self_check', :e, 'closed', 0, 0, '2000-01-01 00:00:00', '2000-01-01 00:00:00')"),
            {"id": FIRST_SCRATCH_ID, "e": enterprise.id})
        db.session.commit()
        region = db.session.get(Region, enterprise.region_id)
        for stage, step_lists in STAGES.items():
            for steps in step_lists:
                clock.reset()
                start = clock.now()
                hazard = hazards.report_hazard(people["officer"], {
                    "title": TITLE, "description": DESCRIPTION, "location": LOCATION,
                    "hazard_type": "unsafe_condition", "source": "self_check"})
                for step in steps:
                    clock.advance(days=STEP_DAYS)
                    name, role, data = STEP_DATA[step]
                    data = dict(data)
                    for key, value in list(data.items()):
                        if value == "PHOTO":
                            data[key] = [attachments.store(people[role], io.BytesIO(tiny_png()), "photo.png").id]
                        elif value == "PDF":
                            data[key] = [attachments.store(people[role], io.BytesIO(tiny_pdf()), "report.pdf").id]
                    if name in ("rectify", "rectify_major"):
                        data["completed_on"] = clock.now().date().isoformat()
                    if name == "verification":
                        data["verified_on"] = clock.now().date().isoformat()
                    task = db.session.scalar(select(HumanTask).where(
                        HumanTask.hazard_id == hazard.id, HumanTask.spec_name == name,
                        HumanTask.status == TaskStatus.open))
                    if task is None:
                        raise RuntimeError(f"stage {stage}: no open task {name} after {steps}")
                    tasks.complete(people[role], task.id, data)
                db.session.expire_all()
                hazard = db.session.get(Hazard, hazard.id)
                if hazard.status != stage:
                    raise RuntimeError(f"steps {steps} led to {hazard.status}, not {stage}: update STAGES")
                instance = db.session.get(ProcessInstance, hazard.instance_id)
                variants.append({"stage": stage, "steps": steps, "hid": hazard.id, "number": hazard.number,
                                 "instance": instance.id, "start": start,
                                 "finished": hazard.closed_at is not None})
        scratch = {"orgs": {enterprise.id: "enterprise", unit.id: "unit", bureau_id: "bureau"},
                   "users": {people["officer"].id: "officer", people["principal"].id: "principal",
                             people["inspector"].id: "inspector"},
                   "region": region.id}
        metadata = db.metadata
        rows = _rows_by_hazard(db, metadata, variants)
        catalogue = _catalogue(db, metadata, rows)
    clock.offset = saved_offset
    log(f"  captured {len(variants)} stage variants from the real services")
    return metadata, {"scratch": scratch, "rows": rows, "catalogue": catalogue}, variants


def _hazard_column(table: sa.Table) -> str | None:
    for name in ("hazard_id", "instance_id"):
        if name in table.c:
            return name
    return None


def _rows_by_hazard(db, metadata: sa.MetaData, variants: list[dict]) -> dict[int, list[tuple[sa.Table, Any]]]:
    out: dict[int, list[tuple[sa.Table, Any]]] = {v["hid"]: [] for v in variants}
    instance_of = {v["instance"]: v["hid"] for v in variants}
    for table in metadata.sorted_tables:
        if table.name in SKELETON:
            continue
        if table.name == "hazard":
            for row in db.session.execute(sa.select(table).where(table.c.id.in_(list(out)))):
                out[row.id].append((table, row))
        elif table.name == "process_instance":
            for row in db.session.execute(sa.select(table).where(table.c.id.in_(list(instance_of)))):
                out[instance_of[row.id]].append((table, row))
        elif table.name == "audit_head":
            continue  # the system chain's head only: a hazard's chain keeps its head on the hazard row
        elif (column := _hazard_column(table)) is not None:
            order = [table.c[k] for k in ("chain", "seq") if k in table.c] or list(table.primary_key.columns)
            for row in db.session.execute(sa.select(table).order_by(*order)):
                key = getattr(row, column)
                hid = key if column == "hazard_id" else instance_of.get(key)
                if column == "instance_id" and "hazard_id" in table.c and row.hazard_id is not None:
                    hid = row.hazard_id
                if hid in out:
                    out[hid].append((table, row))
    return out


def _catalogue(db, metadata: sa.MetaData, rows) -> dict[str, list]:
    """Rows the captured ones point at that are shared, not per hazard (process and form versions)."""
    per_hazard = {t.name for items in rows.values() for t, _r in items}
    wanted: set[str] = set()
    for items in rows.values():
        for table, _row in items:
            for column in table.c:
                for fk in column.foreign_keys:
                    target = fk.column.table.name
                    if target not in per_hazard and target not in SKELETON and target not in ("hazard",):
                        wanted.add(target)
    out = {}
    for table in metadata.sorted_tables:
        if table.name in wanted:
            out[table.name] = list(db.session.execute(sa.select(table)))
    return out


def build_templates(log=print) -> tuple[list[StageTemplate], dict[str, list], sa.MetaData]:
    """Run the real services once per stage variant and compile their rows into templates."""
    with tempfile.TemporaryDirectory(prefix="hazardloop-bench-") as tmp:
        metadata, captured, variants = _run_scratch(Path(tmp), log)
    scratch, rows = captured["scratch"], captured["rows"]
    per_hazard = {t.name for items in rows.values() for t, _r in items}
    scratch["per_hazard"] = per_hazard
    templates = []
    for v in variants:
        cap = _Capture(metadata, dict(scratch, instance=v["instance"]), v["hid"], v["number"], v["start"])
        compiled: list[RowTemplate] = []
        state_fmt = ""
        open_count = sentinel_timers = pending_timers = 0
        id_tables: list[str] = []
        for table, row in rows[v["hid"]]:
            values = row._mapping
            if table.name == "process_instance":
                state_fmt = cap.text(values["state"])
            if table.name == "human_task" and _enum_name(values["status"]) == "open":
                open_count += 1
            if table.name == "timer" and _enum_name(values["status"]) == "pending":
                pending_timers += 1
                sentinel_timers += values["due_at"].date() > SENTINEL_AFTER
            cells = []
            for column in table.c:
                if table.name == "process_instance" and column.name == "state":
                    cells.append(lambda ctx: ctx.state)  # formatted once per hazard by the writer
                else:
                    cells.append(cap.cell(table, column, values[column.name]))
            scratch_id = values["id"] if "id" in values and table.name not in ("hazard", "process_instance") \
                else None
            if scratch_id is not None and table.name not in id_tables:
                id_tables.append(table.name)
            audit = None
            if table.name == "audit_event":
                names = [c.name for c in table.c]
                audit = AuditTemplate(values["seq"], values["action"],
                                      cap.cell(table, table.c.actor_id, values["actor_id"]), values["task_spec"],
                                      cap.text(values["data"], escape=False),
                                      cap.cell(table, table.c.created_at, values["created_at"]),
                                      names.index("prev_hash"), names.index("hash"))
            if table.name == "hazard":
                names = [c.name for c in table.c]
                cells[names.index("overdue")] = _overdue(values)
            compiled.append(RowTemplate(table.name, scratch_id, cells, [c.name for c in table.c], audit))
            compiled[-1].compile()
        templates.append(StageTemplate(v["stage"], v["steps"], v["finished"], open_count, sentinel_timers,
                                       pending_timers, compiled, state_fmt, len(cap.uuids), id_tables))
    return templates, captured["catalogue"], metadata


def _overdue(values) -> Cell:
    """The read model's overdue flag for the generated deadline (as lifecycle computes it)."""
    from app.models import FINAL_STATUSES
    from app.services.lifecycle import end_of_day

    if values["status"] in FINAL_STATUSES or values["rectification_deadline"] is None:
        return "f"
    now = datetime.now(UTC)
    return lambda ctx: "t" if end_of_day(ctx.deadline) < now else "f"


def _enum_name(value: Any) -> str:
    return value.name if isinstance(value, enum.Enum) else str(value)
