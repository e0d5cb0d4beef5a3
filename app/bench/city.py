"""A synthetic city, bulk-loaded with PostgreSQL COPY: districts → townships → grids, government units,
enterprises, users, and a year of hazards spread over every lifecycle stage with real instance states,
open human tasks, pending timers and hash-chained audit trails.

Everything is written in one transaction: the tables are truncated, their secondary indexes dropped,
rows streamed with COPY … FREEZE from a generator thread, and the indexes rebuilt at the end.
"""
from __future__ import annotations

import enum
import queue
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
import sqlalchemy as sa

from app.bench.presets import Preset
from app.bench.templates import STAGE_WEIGHTS, Context, StageTemplate, build_templates, copy_escape
from app.services.audit import GENESIS, event_hash
from app.services.org_codes import credit_code_check_char

PROCESS_KEY = "hazard_lifecycle"
BENCH_PASSWORD = "hazardloop"
SKELETON_TABLES = ["region", "organisation", "jurisdiction", "user_account"]

# GB/T 4754-2017 divisions: machinery, chemicals, warehousing, building, food, apparel, electronics, steel, retail,
# medicines.
INDUSTRIES = ["C34", "C26", "G59", "E47", "C14", "C18", "C39", "C31", "F52", "C27"]
OBJECTS = ["配电箱", "消防通道", "灭火器", "安全出口", "防护罩", "叉车", "储罐", "气瓶", "电缆桥架", "脚手架",
           "起重机", "通风系统", "可燃气体报警器", "应急照明", "危化品仓库", "配电柜", "砂轮机", "冲床", "升降平台", "防爆电器"]
PROBLEMS = ["未上锁", "堵塞", "过期失效", "缺失", "破损", "未接地", "泄漏", "超载使用", "无警示标识", "未定期检验",
            "线路老化", "防护不到位"]
PLACES = ["一车间", "二车间", "三车间", "成品仓库", "罐区", "配电室", "办公楼", "食堂", "装卸区", "锅炉房", "涂装车间", "原料库"]
HAZARD_TYPES = ["unsafe_behaviour", "unsafe_condition", "management_defect"]
SOURCES = ["self_check", "self_check", "self_check", "government_inspection", "public_report", "referral"]


def admin_engine(admin_url: str) -> sa.Engine:
    return sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")


def create_database(admin_url: str, name: str) -> str:
    """Drop and create the benchmark database; return its URL."""
    engine = admin_engine(admin_url)
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    engine = admin_engine(admin_url)
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def set_random_page_cost(admin_url: str, name: str, value: float) -> None:
    """The database's random_page_cost (the README's advice for SSD storage: 1.1), for its new connections."""
    engine = admin_engine(admin_url)
    with engine.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET random_page_cost = {float(value)}'))
    engine.dispose()


def libpq_url(url: str) -> str:
    """psycopg wants postgresql://, SQLAlchemy postgresql+psycopg://."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class World:
    """Ids of the organisational skeleton, so hazards and users can point at it."""

    districts: int
    townships: int
    grids: int
    bureaus: list[int]             # org id per district
    stations: list[int]            # org id per township
    grid_township: list[int]       # township index per grid
    grid_region: list[int]         # region id per grid
    first_enterprise: int          # org id of enterprise 0
    enterprises: int
    enterprise_grid: list[int]     # grid index per enterprise
    admin_user: int
    bureau_inspector: list[int]    # user id per district
    station_inspector: list[int]   # user id per township
    first_enterprise_user: int     # officer of enterprise j: +2j, principal: +2j+1

    def enterprise_id(self, j: int) -> int:
        return self.first_enterprise + j

    def officer(self, j: int) -> int:
        return self.first_enterprise_user + 2 * j

    def principal(self, j: int) -> int:
        return self.first_enterprise_user + 2 * j + 1

    def station_of(self, j: int) -> int:
        return self.grid_township[self.enterprise_grid[j]]


def credit_code(n: int) -> str:
    """The n-th enterprise's unified social credit code, with a valid check character."""
    first = f"91{n:015d}"
    return first + credit_code_check_char(first)


def _line(values) -> str:
    return "\t".join("\\N" if v is None else v if isinstance(v, str) else str(v) for v in values) + "\n"


def _ts(value: datetime) -> str:
    return value.isoformat()


class Chunks:
    """Per-table text buffers for one batch of rows."""

    def __init__(self) -> None:
        self.parts: dict[str, list[str]] = {}

    def add(self, table: str, line: str) -> None:
        self.parts.setdefault(table, []).append(line)


def _skeleton(preset: Preset, rng: random.Random, now: datetime, password_hash: str) -> tuple[World, Chunks]:
    out = Chunks()
    region_id = org_id = user_id = jur_id = 0
    bureaus, stations, grid_township, grid_region = [], [], [], []
    bureau_inspector, station_inspector = [], []
    township_index = 0
    created = _ts(now - timedelta(days=400))
    for d in range(preset.districts):
        region_id += 1
        district_region = region_id
        out.add("region", _line([region_id, f"D{d + 1:02d}", f"第{d + 1}区", "district", None]))
        org_id += 1
        bureau = org_id
        bureaus.append(bureau)
        out.add("organisation", _line([bureau, "government", f"第{d + 1}区应急管理局", None, None, None, None, None,
                                       None]))
        jur_id += 1
        out.add("jurisdiction", _line([jur_id, bureau, district_region]))
        for t in range(preset.townships_per_district):
            region_id += 1
            township_region = region_id
            out.add("region", _line([region_id, f"D{d + 1:02d}-T{t + 1:02d}", f"第{d + 1}区第{t + 1}街道", "township",
                                     district_region]))
            org_id += 1
            stations.append(org_id)
            out.add("organisation", _line([org_id, "government", f"第{d + 1}区第{t + 1}街道安全生产监管站", bureau, None,
                                           None, None, None, None]))
            jur_id += 1
            out.add("jurisdiction", _line([jur_id, org_id, township_region]))
            for g in range(preset.grids_per_township):
                region_id += 1
                out.add("region", _line([region_id, f"D{d + 1:02d}-T{t + 1:02d}-G{g + 1:02d}",
                                         f"第{d + 1}区第{t + 1}街道第{g + 1}网格", "grid", township_region]))
                grid_township.append(township_index)
                grid_region.append(region_id)
            township_index += 1
    first_enterprise = org_id + 1
    enterprise_grid = []
    for j in range(preset.enterprises):
        grid = rng.randrange(len(grid_region))
        enterprise_grid.append(grid)
        org_id += 1
        out.add("organisation", _line([org_id, "enterprise", f"企业{j + 1:06d}有限公司", None, grid_region[grid],
                                       rng.choice(INDUSTRIES), f"工业路{j + 1}号", credit_code(j + 1),
                                       stations[grid_township[grid]]]))

    def user(username: str, name: str, role: str, org: int) -> int:
        nonlocal user_id
        user_id += 1
        out.add("user_account", _line([user_id, username, name, None, password_hash, role, org, "t", None, created]))
        return user_id

    admin_user = user("admin", "系统管理员", "admin", bureaus[0])
    for d, bureau in enumerate(bureaus):
        bureau_inspector.append(user(f"inspector_d{d + 1:02d}", f"第{d + 1}区检查员", "inspector", bureau))
    for t, station in enumerate(stations):
        station_inspector.append(user(f"inspector_t{t + 1:03d}", f"第{t + 1}街道检查员", "inspector", station))
    first_enterprise_user = user_id + 1
    for j in range(preset.enterprises):
        user(f"officer_{j + 1}", f"安全员{j + 1}", "officer", first_enterprise + j)
        user(f"principal_{j + 1}", f"负责人{j + 1}", "principal", first_enterprise + j)
    user("sysadmin", "城市系统管理员", "admin", None)  # a system administrator (no organisation): the whole city
    world = World(preset.districts, len(stations), len(grid_region), bureaus, stations, grid_township, grid_region,
                  first_enterprise, preset.enterprises, enterprise_grid, admin_user, bureau_inspector,
                  station_inspector, first_enterprise_user)
    return world, out


# The benchmark's database is thrown away: fixed keys, passed to every application and server the bench starts.
BENCH_KEYS = {"SECRET_KEY": "hazardloop-bench-secret-key", "AUDIT_KEY": "hazardloop-bench-audit-key",
              "REPORTER_KEY": "hazardloop-bench-reporter-key"}

SKELETON_COLUMNS = {
    "region": "id, code, name, kind, parent_id",
    "organisation": "id, kind, name, parent_id, region_id, industry, address, credit_code, supervising_unit_id",
    "jurisdiction": "id, unit_id, region_id",
    "user_account": "id, username, display_name, email, password_hash, role, organisation_id, active, locale, created_at",
}


class HazardWriter:
    """Turns hazard numbers into rows for every captured table, one batch at a time."""

    def __init__(self, preset: Preset, world: World, templates: list[StageTemplate], now: datetime,
                 seed: int) -> None:
        self.preset, self.world, self.now = preset, world, now
        self.rng = random.Random(seed + 1)
        self.by_stage: dict[str, list[StageTemplate]] = {}
        for t in templates:
            self.by_stage.setdefault(t.stage, []).append(t)
        self.stages = [s for s in STAGE_WEIGHTS if s in self.by_stage]
        self.weights = [STAGE_WEIGHTS[s] for s in self.stages]
        salt = self.rng.getrandbits(48)
        longest = max(t.uuid_count for t in templates) + 1
        # Fresh, unique task UUIDs: the instance id in the first group, the template's index in the second.
        self.suffixes = [f"-{k:04x}-4{salt >> 36:03x}-8{(salt >> 24) & 0xfff:03x}-{salt & 0xffffff:06x}000000"
                         for k in range(longest)]
        self.counters: dict[str, int] = {}
        self.columns = {r.table: r.columns for t in templates for r in t.rows}
        self.open_hazards = 0
        self.pending_timers = 0
        self.idle_timers = 0
        self.idle_timer = self._idle_timer_factory()

    def _idle_timer_factory(self):
        """A far-future reminder for open hazards at steps where the diagram waits on no timer.

        The idle-tick measurement wants every open hazard to hold a pending timer; these rows are never
        due within the benchmark, so no scheduler ever acts on them.
        """
        columns = self.columns.get("timer")
        if not columns:
            return None
        from app.models import Timer

        table = Timer.__table__

        def make(ctx: Context, tpl: StageTemplate) -> str:
            self.counters["timer"] = self.counters.get("timer", 0) + 1
            self.idle_timers += 1
            due = self.now + timedelta(days=200 + ctx.hid % 165)
            known = {"id": str(self.counters["timer"]), "instance_id": str(ctx.hid), "hazard_id": str(ctx.hid),
                     "task_uuid": f"{ctx.hid:08x}" + self.suffixes[tpl.uuid_count], "spec_name": "bench_idle",
                     "due_at": due.isoformat(), "status": "pending", "created_at": ctx.base.isoformat(),
                     "kind": "reminder"}
            values = []
            for name in columns:
                if name in known:
                    values.append(known[name])
                    continue
                default = table.c[name].default
                arg = getattr(default, "arg", None) if default is not None and default.is_scalar else None
                values.append("\\N" if arg is None else _cell(arg))
            return "\t".join(values) + "\n"

        return make

    def _enterprise(self) -> int:
        # Skewed: a few large plants report many hazards, most enterprises a handful.
        return min(self.world.enterprises - 1, int(self.world.enterprises * self.rng.random() ** 2))

    def batch(self, first: int, last: int) -> Chunks:
        out = Chunks()
        rng, world, now = self.rng, self.world, self.now
        today = now.date()
        for hid in range(first, last + 1):
            stage = rng.choices(self.stages, self.weights)[0]
            tpl = rng.choice(self.by_stage[stage])
            j = self._enterprise()
            station = world.station_of(j)
            district = station // max(1, self.preset.townships_per_district)
            # Open hazards report recently; closed ones any time in the year.
            age = timedelta(seconds=rng.randrange((365 if tpl.finished else 60) * 86400),
                            microseconds=rng.randrange(1_000_000))
            base = now - age
            if tpl.sentinel_timers:
                # A waiting deadline timer is in the future: the scheduler has fired all that fell due.
                deadline = today + timedelta(days=rng.randrange(7, 60))
                supervision_deadline = today + timedelta(days=rng.randrange(30, 120))
            else:
                deadline = base.date() + timedelta(days=rng.randrange(7, 46))
                supervision_deadline = base.date() + timedelta(days=60)
            obj, problem, place = rng.choice(OBJECTS), rng.choice(PROBLEMS), rng.choice(PLACES)
            ctx = Context(
                hid=hid, number=f"YH{base:%Y%m%d}{hid:07d}", title=f"{place}{obj}{problem}",
                description=f"{place}巡查发现{obj}{problem}，存在安全风险。", location=f"{place}{rng.randrange(1, 40)}号位置",
                base=base, deadline=deadline, supervision_deadline=supervision_deadline,
                orgs={"enterprise": world.enterprise_id(j), "unit": world.stations[station],
                      "bureau": world.bureaus[district], "region": world.grid_region[world.enterprise_grid[j]]},
                users={"officer": world.officer(j), "principal": world.principal(j),
                       "inspector": world.station_inspector[station], "admin": world.admin_user},
                uuids=[f"{hid:08x}" + s for s in self.suffixes[:tpl.uuid_count]])
            ctx.dl, ctx.sdl = deadline.isoformat(), supervision_deadline.isoformat()
            ctx.state = tpl.state_fmt.format(c=ctx, u=ctx.uuids, dl=ctx.dl, sdl=ctx.sdl)
            for row in tpl.rows:
                if row.scratch_id is not None:
                    n = self.counters.get(row.table, 0) + 1
                    self.counters[row.table] = n
                    ctx.ids.setdefault(row.table, {})[row.scratch_id] = n
            prev = GENESIS
            last_hash = None
            head = None
            for row in tpl.rows:
                if row.audit is None and row.table != "hazard":
                    out.add(row.table, row.render(ctx))
                    continue
                values = [c if isinstance(c, str) else c(ctx) for c in row.cells]
                if row.audit is not None:
                    a = row.audit
                    data = a.data_fmt.format(c=ctx, u=ctx.uuids, dl=ctx.dl, sdl=ctx.sdl)
                    actor = a.actor if isinstance(a.actor, str) else a.actor(ctx)
                    created = datetime.fromisoformat(a.created if isinstance(a.created, str) else a.created(ctx))
                    digest = event_hash(BENCH_KEYS["AUDIT_KEY"], f"hazard:{hid}", a.seq, prev, a.action,
                                        None if actor == "\\N" else int(actor), hid, a.task_spec, data, created)
                    values[a.prev_index], values[a.hash_index] = prev, digest
                    prev = last_hash = digest
                else:
                    head = (row, values)  # the hazard row holds its chain's head: known after every event
                    continue
                out.add(row.table, "\t".join(values) + "\n")
            if head is not None:
                row, values = head
                if last_hash is not None:
                    values[row.columns.index("audit_hash")] = last_hash
                out.add(row.table, "\t".join(values) + "\n")
            if not tpl.finished:
                self.open_hazards += 1
                if not tpl.pending_timers and self.idle_timer is not None:
                    out.add("timer", self.idle_timer(ctx, tpl))
            self.pending_timers += tpl.pending_timers
        return out


def _secondary_indexes(cur, table: str) -> list[tuple[str, str]]:
    cur.execute("""
        SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)""", (table,))
    return list(cur.fetchall())


def _copy(cur, table: str, columns: str, lines: list[str]) -> None:
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN (FREEZE)") as copy:
        buf: list[str] = []
        size = 0
        for line in lines:
            buf.append(line)
            size += len(line)
            if size > 4_000_000:
                copy.write("".join(buf))
                buf, size = [], 0
        if buf:
            copy.write("".join(buf))


def _batches(writer: HazardWriter, total: int, size: int) -> Iterator[Chunks]:
    for first in range(1, total + 1, size):
        yield writer.batch(first, min(total, first + size - 1))


def _catalogue_lines(catalogue: dict[str, list], metadata: sa.MetaData, admin: int) -> dict[str, tuple[str, list]]:
    """Shared rows (process and form versions) copied as the scratch run made them."""
    out = {}
    for name, rows in catalogue.items():
        table = metadata.tables[name]
        lines = []
        for row in rows:
            values = []
            for column in table.c:
                value = row._mapping[column.name]
                if value is not None and any(fk.column.table.name == "user_account" for fk in column.foreign_keys):
                    value = admin
                values.append(_cell(value))
            lines.append("\t".join(values) + "\n")
        out[name] = (", ".join(c.name for c in table.c), lines)
    return out


def _cell(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.name
    return copy_escape(str(value))


def load_city(url: str, preset: Preset, password_hash: str, seed: int = 20261123, log=print) -> dict:
    """Generate and COPY the whole city in one transaction; return counts and timings."""
    from app.clock import clock

    started = time.perf_counter()
    rng = random.Random(seed)
    templates, catalogue, metadata = build_templates(log=log)
    now = clock.now()
    world, skeleton = _skeleton(preset, rng, now, password_hash)
    writer = HazardWriter(preset, world, templates, now, seed)
    catalogue_lines = _catalogue_lines(catalogue, metadata, world.admin_user)
    loaded = SKELETON_TABLES + list(catalogue_lines) + list(writer.columns)
    counts: dict[str, int] = {}
    dropped: list[tuple[str, str]] = []
    with psycopg.connect(libpq_url(url), autocommit=False) as conn:
        cur = conn.cursor()
        # Foreign keys hold by construction; checking them row by row would dominate the load.
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cur.execute("SET LOCAL synchronous_commit = off")
        # Truncated in this transaction, so COPY … FREEZE writes the rows frozen and all-visible.
        cur.execute(f"TRUNCATE {', '.join(loaded)} RESTART IDENTITY CASCADE")
        for table in loaded:
            for name, definition in _secondary_indexes(cur, table):
                dropped.append((name, definition))
                cur.execute(f'DROP INDEX "{name}"')
        for table, lines in skeleton.parts.items():
            _copy(cur, table, SKELETON_COLUMNS[table], lines)
            counts[table] = counts.get(table, 0) + len(lines)
        for table, (columns, lines) in catalogue_lines.items():
            _copy(cur, table, columns, lines)
        # The generator runs in a thread while this one streams the previous batch to the server.
        q: queue.Queue = queue.Queue(maxsize=2)
        failure: list[BaseException] = []

        def produce() -> None:
            try:
                for chunk in _batches(writer, preset.hazards, 20_000):
                    q.put(chunk)
            except BaseException as exc:  # noqa: BLE001  (handed to the consumer, which re-raises it)
                failure.append(exc)
            finally:
                q.put(None)

        thread = threading.Thread(target=produce, daemon=True)
        thread.start()
        done = 0
        while (chunk := q.get()) is not None:
            for table, lines in chunk.parts.items():
                _copy(cur, table, ", ".join(writer.columns[table]), lines)
                counts[table] = counts.get(table, 0) + len(lines)
            done += len(chunk.parts.get("hazard", []))
            if done % 100_000 == 0 or done == preset.hazards:
                log(f"  loaded {done:,} hazards ({time.perf_counter() - started:.0f}s)")
        thread.join()
        if failure:
            raise failure[0]
        copied = time.perf_counter()
        for table in loaded:
            if "id" in metadata.tables[table].c:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"GREATEST((SELECT max(id) FROM {table}), 1))")
        for _name, definition in dropped:
            cur.execute(definition)
        indexed = time.perf_counter()
        conn.commit()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("ANALYZE")
    finished = time.perf_counter()
    return {
        "counts": counts, "open_hazards": writer.open_hazards, "pending_timers_from_diagram": writer.pending_timers,
        "idle_reminder_timers": writer.idle_timers,
        "templates": len(templates), "stages": sorted({t.stage for t in templates}),
        "seconds": {"copy": round(copied - started, 1), "indexes": round(indexed - copied, 1),
                    "analyze": round(finished - indexed, 1), "total": round(finished - started, 1)},
        "world": {"districts": world.districts, "townships": world.townships, "grids": world.grids,
                  "enterprises": world.enterprises, "users": counts.get("user_account", 0)},
    }


def database_size(url: str) -> dict[str, str]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        total = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
        rows = conn.execute("""SELECT relname, pg_size_pretty(pg_total_relation_size(c.oid)) FROM pg_class c
                               JOIN pg_namespace n ON n.oid = c.relnamespace
                               WHERE n.nspname = 'public' AND c.relkind = 'r'
                               ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 6""").fetchall()
    return {"database": total, **{name: size for name, size in rows}}
