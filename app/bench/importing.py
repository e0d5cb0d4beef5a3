"""Benchmark steps of issue 12's bulk onboarding: `import` and `lists`.

`import`: a workbook of the preset's city — its regions (districts → townships → grids), government units with
their jurisdiction, enterprises and two people per enterprise (officer and principal), plus each district's
administrator — is written with openpyxl (write_only, streamed) and imported by `flask org import`'s service
into an empty, migrated database of its own, in a child process whose peak RSS is measured; then imported again
unchanged (it must write nothing).

`lists`: the administrator's enterprise and people lists (API and pages) over the imported city, filtered and
searched, as a district administrator and as the city's system administrator, through gunicorn, one request at
a time (app/bench/client.py), p50/p95/p99 per scenario.

`python -m app.bench import-lists --preset city` runs both alone (bench-results/import-<preset>.json/.md);
`make bench` runs them after the rest, at the preset's size.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from app.bench import city
from app.bench.presets import Preset

PEOPLE_PER_ENTERPRISE = 2
SCALES = ["large", "medium", "small", "micro"]
INDUSTRIES = ["C26", "C34", "G59", "E47", "C13", "F51", "H61", "C30"]
ADMIN_PASSWORD = "bench-import-admin-7Q"


def district_code(d: int) -> str:
    return f"B{d + 1:02d}"


def township_code(d: int, t: int) -> str:
    return f"B{d + 1:02d}-T{t + 1:02d}"


def grid_code(d: int, t: int, g: int) -> str:
    return f"B{d + 1:02d}-T{t + 1:02d}-G{g + 1}"


def write_workbook(path: Path, preset: Preset) -> dict:
    """The city as an onboarding workbook (template layout, Chinese headers); returns its row counts."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    regions, units = wb.create_sheet("区域"), wb.create_sheet("监管单位")
    enterprises, people = wb.create_sheet("企业"), wb.create_sheet("人员")
    regions.append(["代码", "名称", "类型", "上级代码"])
    units.append(["名称", "上级单位", "管辖区域"])
    enterprises.append(["统一社会信用代码", "企业名称", "行业代码", "所在区域代码", "规模", "地址", "法定代表人",
                        "主要负责人", "联系电话"])
    people.append(["用户名", "姓名", "角色", "所属单位", "电子邮箱", "手机号"])
    grids: list[str] = []
    for d in range(preset.districts):
        regions.append([district_code(d), f"第{d + 1}区", "district", None])
        bureau = f"第{d + 1}区应急管理局"
        units.append([bureau, None, district_code(d)])
        people.append([f"admin_b{d + 1:02d}", f"第{d + 1}区管理员", "admin", bureau, None, None])
        for t in range(preset.townships_per_district):
            regions.append([township_code(d, t), f"第{d + 1}区第{t + 1}街道", "street", district_code(d)])
            units.append([f"第{d + 1}区第{t + 1}街道监管站", bureau, township_code(d, t)])
            for g in range(preset.grids_per_township):
                regions.append([grid_code(d, t, g), f"第{d + 1}区第{t + 1}街道第{g + 1}网格", "grid",
                                township_code(d, t)])
                grids.append(grid_code(d, t, g))
    people.append(["bench_sysadmin", "城市系统管理员", "admin", None, None, None])
    for j in range(preset.enterprises):
        code = city.credit_code(j + 1)
        enterprises.append([code, f"企业{j + 1:06d}号有限公司", INDUSTRIES[j % len(INDUSTRIES)],
                            grids[j % len(grids)], SCALES[j % 4], f"工业路{j + 1}号", f"法人{j + 1}",
                            f"负责人{j + 1}", f"0{10 + j % 80}-{10_000_000 + j}"])
        people.append([f"officer_{j + 1}", f"安全员{j + 1}", "officer", code, f"officer_{j + 1}@bench.example",
                       f"13{j % 10}{j:08d}"[:11]])
        people.append([f"principal_{j + 1}", f"负责人{j + 1}", "principal", code, None, None])
    wb.save(path)
    sizes = {"区域": (4, len(grids) + preset.districts * (1 + preset.townships_per_district) + 1),
             "监管单位": (3, preset.districts * (1 + preset.townships_per_district) + 1),
             "企业": (9, preset.enterprises + 1),
             "人员": (6, preset.enterprises * PEOPLE_PER_ENTERPRISE + preset.districts + 2)}
    _add_dimensions(path, sizes)
    return {"regions": len(grids) + preset.districts * (1 + preset.townships_per_district),
            "units": preset.districts * (1 + preset.townships_per_district),
            "enterprises": preset.enterprises,
            "people": preset.enterprises * PEOPLE_PER_ENTERPRISE + preset.districts + 1}


def _add_dimensions(path: Path, sizes: dict[str, tuple[int, int]]) -> None:
    """Write each sheet's <dimension> as Excel and WPS do (openpyxl's write-only mode leaves it out, and then
    openpyxl's reader parses a whole sheet once more just to size it): the workbook is read as an uploaded one."""
    import re
    import shutil
    import zipfile

    from openpyxl.utils import get_column_letter

    with zipfile.ZipFile(path) as zin:
        book = zin.read("xl/workbook.xml").decode()
        rels = zin.read("xl/_rels/workbook.xml.rels").decode()
        targets = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="/?(?:xl/)?([^"]+)"', rels))
        targets.update({k: v for v, k in re.findall(r'Target="/?(?:xl/)?([^"]+)"[^>]*Id="(rId\d+)"', rels)})
        sheets = {"xl/" + targets[rid]: name for name, rid in re.findall(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="(rId\d+)"',
                                                                        book)}
        tmp = path.with_suffix(".tmp.xlsx")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in zin.infolist():
                with zin.open(item) as src, zout.open(item.filename, "w") as dst:
                    name = sheets.get(item.filename)
                    if name in sizes:
                        cols, rows = sizes[name]
                        head = src.read(4096).decode()
                        at = head.index("</sheetPr>") + len("</sheetPr>") if "</sheetPr>" in head else \
                            head.index(">", head.index("<worksheet")) + 1
                        head = head[:at] + f'<dimension ref="A1:{get_column_letter(cols)}{rows}"/>' + head[at:]
                        dst.write(head.encode())
                    shutil.copyfileobj(src, dst, 1 << 20)
    tmp.replace(path)


def _app(url: str):
    from app import create_app
    from config import Config

    return create_app(Config, SQLALCHEMY_DATABASE_URI=url, SCHEDULER_IN_PROCESS=False, **city.BENCH_KEYS)


def import_once(url: str, path: Path) -> dict:
    """One import of the workbook as the command line does it (system administrator); in its own process."""
    from sqlalchemy import event, func, select

    from app.extensions import db
    from app.models import AuditEvent
    from app.services import org_import

    app = _app(url)
    writes = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(1)

    with app.app_context():
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        db.session.rollback()
        event.listen(db.engine, "before_cursor_execute", seen)
        cpu0, t0 = time.process_time(), time.perf_counter()
        outcome = org_import.import_workbook(None, path, filename=path.name)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        event.remove(db.engine, "before_cursor_execute", seen)
        after = db.session.scalar(select(func.count()).select_from(AuditEvent))
    return {"seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "rows": outcome.rows,
            "rows_per_second": round(outcome.rows / seconds) if seconds else None,
            "bad_rows": outcome.bad_rows, "counts": outcome.counts, "audit_events_added": after - events,
            "write_statements": len(writes),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _child(*args: str) -> dict:
    from app.bench.server import ROOT

    out = Path(args[-1])
    subprocess.run([sys.executable, "-m", "app.bench.importing", *args], check=True, cwd=ROOT,
                   env=dict(os.environ, PYTHONPATH=str(ROOT)))
    return json.loads(out.read_text(encoding="utf-8"))


def measure_import(url: str, preset: Preset, tmp: Path, log=print) -> dict:
    path = tmp / f"onboarding-{preset.name}.xlsx"
    t0 = time.perf_counter()
    sizes = write_workbook(path, preset)
    written = round(time.perf_counter() - t0, 1)
    log(f"[bench] import: workbook of {sum(sizes.values()):,} rows written in {written}s "
        f"({path.stat().st_size / 1e6:.1f} MB); importing")
    first = _child("import", url, str(path), str(tmp / "import-1.json"))
    log(f"[bench] import: {first['rows']:,} rows in {first['seconds']}s, peak RSS {first['peak_rss_mb']} MB; "
        "importing again unchanged")
    again = _child("import", url, str(path), str(tmp / "import-2.json"))
    log(f"[bench] re-import: {again['seconds']}s, {again['audit_events_added']} audit events added")
    return {"workbook": {"rows": sizes, "bytes": path.stat().st_size, "write_seconds": written},
            "first": first, "again": again}


def _admin_tokens(url: str) -> dict[str, str]:
    """Bearer tokens of a district administrator and the system administrator (imported without a password:
    the tokens are inserted as the app stores them, as the main benchmark does)."""
    import psycopg

    from app.bench.tools import _tokens
    from app.clock import clock

    with psycopg.connect(city.libpq_url(url)) as conn:
        # As if both had been given a one-time password and replaced it (imported accounts must first).
        ids = dict(conn.execute("UPDATE user_account SET must_change_password = false WHERE username IN "
                                "('admin_b01', 'bench_sysadmin') RETURNING username, id").fetchall())
        tokens = _tokens(conn, set(ids.values()), clock.now() + timedelta(0))
    return {name: tokens[uid] for name, uid in ids.items()}


def lists_plan(url: str, preset: Preset) -> dict:
    import random

    import psycopg

    rng = random.Random(12)
    n = preset.latency_samples
    tokens = _admin_tokens(url)
    with psycopg.connect(city.libpq_url(url)) as conn:
        township = conn.execute("SELECT id FROM region WHERE code = %s", (township_code(0, 0),)).fetchone()[0]
        enterprise = conn.execute("SELECT id FROM organisation WHERE credit_code = %s",
                                  (city.credit_code(1),)).fetchone()[0]
    scenarios: dict[str, list[tuple[str, str]]] = {}
    for who in ("admin_b01", "bench_sysadmin"):
        label = "district admin" if who == "admin_b01" else "city admin"
        e, u = "/api/v1/admin/enterprises", "/api/v1/admin/users"
        scenarios[f"enterprises filtered ({label})"] = [(f"{e}?status=active&industry=C&scale=small", who)] * n
        scenarios[f"enterprises in a township ({label})"] = [(f"{e}?region={township}", who)] * n
        scenarios[f"enterprises search ({label})"] = [
            (f"{e}?q={_q(f'企业{rng.randrange(1, preset.enterprises + 1):06d}')}", who) for _ in range(n)]
        scenarios[f"people filtered ({label})"] = [(f"{u}?role=officer&active=true", who)] * n
        scenarios[f"people of an enterprise ({label})"] = [(f"{u}?organisation={enterprise}", who)] * n
        scenarios[f"people search ({label})"] = [
            (f"{u}?q={_q(rng.choice(['officer_', '安全员', 'principal_']) + str(rng.randrange(1, preset.enterprises)))}",
             who) for _ in range(n)]
    requests = []
    for name, reqs in scenarios.items():
        for path, who in reqs[:3]:
            requests.append({"scenario": name, "path": path, "warmup": True,
                             "headers": {"Authorization": f"Bearer {tokens[who]}"}})
    for i in range(n):
        for name, reqs in scenarios.items():
            path, who = reqs[i]
            requests.append({"scenario": name, "path": path, "headers": {"Authorization": f"Bearer {tokens[who]}"}})
    return {"base": "", "mode": "latency", "requests": requests}


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text)


def measure_lists(url: str, preset: Preset, tmp: Path, workers: int, log=print) -> dict:
    from app.bench.server import Gunicorn
    from app.bench.tools import _client

    plan = lists_plan(url, preset)
    server = Gunicorn(url, workers, city.BENCH_KEYS["SECRET_KEY"], tmp / f"gunicorn-lists-{preset.name}.log")
    try:
        server.wait_ready()
        plan["base"] = server.base
        log(f"[bench] lists: {len(plan['requests'])} sequential requests")
        return _client(plan, tmp, "lists")
    finally:
        server.stop()


def run_steps(preset: Preset, admin_url: str, db_name: str, out_dir: Path, workers: int | None = None,
              keep: bool = False, log=print, random_page_cost: float | None = None) -> dict:
    """The import and lists steps in their own database; returns their results.

    `random_page_cost`: set on the database (the README's advice for SSD storage), else the server's."""
    from flask_migrate import upgrade

    tmp = out_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    url = city.create_database(admin_url, db_name)
    try:
        if random_page_cost is not None:
            city.set_random_page_cost(admin_url, db_name, random_page_cost)
        with _app(url).app_context():
            upgrade()
        results = {"load_before": os.getloadavg(), "server": _server_settings(url)}
        results["import"] = measure_import(url, preset, tmp, log)
        results["lists"] = measure_lists(url, preset, tmp, workers or os.cpu_count() or 1, log)
        results["size"] = city.database_size(url)
        results["load_after"] = os.getloadavg()
        return results
    finally:
        if not keep:
            city.drop_database(admin_url, db_name)


def _server_settings(url: str) -> dict:
    import psycopg

    with psycopg.connect(city.libpq_url(url), autocommit=True) as conn:
        return dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name IN "
                                 "('random_page_cost', 'autovacuum', 'shared_buffers', 'work_mem')").fetchall())


def targets(preset: str, results: dict) -> dict:
    first, again = results["import"]["first"], results["import"]["again"]
    worst = max(((name, s["p95"]) for name, s in results["lists"].items() if isinstance(s, dict) and "p95" in s),
                key=lambda x: x[1], default=(None, None))
    city_scale = preset == "city"
    return {
        "import_city": {"target": "import of 100,000 enterprises and 200,000 people < 5 min",
                        "measured": f"{first['rows']:,} rows in {first['seconds']} s "
                                    f"(peak RSS {first['peak_rss_mb']} MB)",
                        "met": first["seconds"] < 300, "applies": city_scale},
        "reimport_city": {"target": "re-import unchanged < 2 min, writing nothing",
                          "measured": f"{again['seconds']} s, {again['audit_events_added']} audit events, "
                                      f"{again['write_statements']} write statements",
                          "met": again["seconds"] < 120 and again["audit_events_added"] == 0
                                 and again["write_statements"] == 0,
                          "applies": city_scale},
        "admin_lists_import_city": {"target": "administrators' enterprise and people lists p95 < 50 ms",
                                    "measured": f"worst p95 {worst[1]} ms ({worst[0]})",
                                    "met": worst[1] is not None and worst[1] < 50, "applies": city_scale},
    }


def markdown(preset: str, results: dict) -> str:
    imp = results["import"]
    lines = [f"# HazardLoop benchmark — bulk onboarding and administrators' lists, `{preset}`", "",
             "## Import (`flask org import`'s service, one transaction, in its own process)", "",
             "| workbook | rows |", "|---|---:|"]
    lines += [f"| {k} | {v:,} |" for k, v in imp["workbook"]["rows"].items()]
    if "server" in results:
        load = ", ".join(f"{x:.1f}" for x in results["load_before"])
        settings = ", ".join(f"{k} {v}" for k, v in sorted(results["server"].items()))
        after = ", ".join(f"{x:.1f}" for x in results["load_after"])
        lines[2:2] = [(f"PostgreSQL settings: {settings}; load average before the run {load}, after {after} "
                       "(2 cores: above 2, other work shared the machine and the times are longer than on an idle "
                       "one)."), ""]
    lines += ["", f"Workbook {imp['workbook']['bytes'] / 1e6:.1f} MB, written in {imp['workbook']['write_seconds']} s.",
              "", "| run | seconds | rows/s | CPU s | peak RSS | audit events added | write statements |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for label, r in (("first import", imp["first"]), ("again, unchanged", imp["again"])):
        lines.append(f"| {label} | {r['seconds']} | {r['rows_per_second']:,} | {r['cpu_seconds']} | "
                     f"{r['peak_rss_mb']} MB | {r['audit_events_added']} | {r['write_statements']:,} |")
    lines += ["", "## Administrators' lists (gunicorn, one request at a time, ms)", "",
              "| scenario | p50 | p95 | p99 |", "|---|---:|---:|---:|"]
    for name, s in results["lists"].items():
        if isinstance(s, dict) and "p95" in s:
            lines.append(f"| {name} | {s['p50']} | {s['p95']} | {s['p99']} |")
    lines += ["", "## Targets", "", "| target | measured | met |", "|---|---|:---:|"]
    for t in results["targets"].values():
        met = ("yes" if t["met"] else "**no**") if t.get("applies", True) else "n/a (city only)"
        lines.append(f"| {t['target']} | {t['measured']} | {met} |")
    return "\n".join(lines) + "\n"


def write(preset: str, results: dict, out_dir: Path) -> Path:
    results["targets"] = targets(preset, results)
    (out_dir / f"import-{preset}.json").write_text(json.dumps(results, ensure_ascii=False, indent=1),
                                                   encoding="utf-8")
    md = out_dir / f"import-{preset}.md"
    md.write_text(markdown(preset, results), encoding="utf-8")
    return md


if __name__ == "__main__":  # python -m app.bench.importing import URL FILE OUT
    command, *rest = sys.argv[1:]
    if command == "import":
        db_url, workbook, out_file = rest
        Path(out_file).write_text(json.dumps(import_once(db_url, Path(workbook))), encoding="utf-8")
    else:
        raise SystemExit(f"unknown command {command}")
