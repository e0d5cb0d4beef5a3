"""One benchmark run: build the city, measure everything, write bench-results/<preset>.json and .md."""
from __future__ import annotations

import json
import os
import platform
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from app.bench import city, report
from app.bench.ceiling import measure as measure_ceiling
from app.bench.ceiling import step_data
from app.bench.presets import Preset
from app.bench.server import ROOT, Gunicorn
from app.bench.tools import _client, _pick, _session_cookie, _tokens

# User tasks the load generator completes: those whose forms need no uploaded file.
COMPLETABLE = ["assess", "review", "plan", "approve_report", "supervision_decision", "verification", "write_off"]


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem = 0
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem / 1024 / 1024, 1),
            "python": platform.python_version(), "load_before": os.getloadavg()}


def _pg_info(url: str) -> dict:
    with psycopg.connect(city.libpq_url(url), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = dict(conn.execute("SELECT name, setting || COALESCE(unit, '') FROM pg_settings WHERE name IN "
                                     "('shared_buffers', 'work_mem', 'jit', 'max_connections', "
                                     "'random_page_cost', 'effective_cache_size')").fetchall())
    return {"version": version, **settings}




def _has_pages() -> bool:
    from app import create_app

    app = create_app(SQLALCHEMY_DATABASE_URI="sqlite://", **city.BENCH_KEYS)
    rules = {r.rule for r in app.url_map.iter_rules()}
    return {"/tasks", "/hazards", "/hazards/<int:hazard_id>"} <= rules


def latency_plan(conn, preset: Preset, base: str, secret: str, pages: bool, now: datetime) -> tuple[dict, dict]:
    """Requests per scenario, as the busiest officer, township inspector and district inspector."""
    rng = random.Random(7)
    officer = _pick(conn, """SELECT u.id, count(*) FROM human_task t JOIN user_account u
                             ON u.organisation_id = t.organisation_id AND u.role = 'officer'
                             WHERE t.status = 'open' AND t.role = 'officer'
                             GROUP BY u.id ORDER BY count(*) DESC LIMIT 1""")[0]
    inspector = _pick(conn, """SELECT u.id, count(*) FROM human_task t JOIN user_account u
                               ON u.organisation_id = t.organisation_id AND u.role = 'inspector'
                               WHERE t.status = 'open' AND t.role = 'inspector'
                               GROUP BY u.id ORDER BY count(*) DESC LIMIT 1""")[0]
    district = _pick(conn, """SELECT u.id, u.organisation_id FROM user_account u JOIN organisation o
                              ON o.id = u.organisation_id WHERE u.role = 'inspector' AND o.parent_id IS NULL
                              ORDER BY u.id LIMIT 1""")[0]
    district_hazards = _pick(conn, """SELECT count(*) FROM hazard h JOIN organisation o
                                      ON o.id = h.supervising_unit_id WHERE o.id = %s OR o.parent_id = %s""",
                             (district[1], district[1]))[0][0]
    admin = _pick(conn, "SELECT id FROM user_account WHERE role = 'admin' ORDER BY id LIMIT 1")[0][0]
    sysadmin = _pick(conn, """SELECT id FROM user_account WHERE role = 'admin' AND organisation_id IS NULL
                              ORDER BY id LIMIT 1""")[0][0]
    detail_ids = [r[0] for r in _pick(conn, """SELECT h.id FROM hazard h JOIN organisation o
                                               ON o.id = h.supervising_unit_id
                                               WHERE o.parent_id = %s ORDER BY random() LIMIT %s""",
                                      (district[1], preset.latency_samples))]
    tokens = _tokens(conn, {district[0], officer[0], inspector[0], admin, sysadmin}, now)
    cookie = {uid: f"session={_session_cookie(conn, secret, uid, now)}" for uid in (officer[0], inspector[0], district[0], admin, sysadmin)}
    bearer = {uid: f"Bearer {tok}" for uid, tok in tokens.items()}
    words = list(city.OBJECTS)

    def page(uid: int) -> dict:
        return {"Cookie": cookie[uid]}

    def api(uid: int) -> dict:
        return {"Authorization": bearer[uid]}

    scenarios: dict[str, tuple[str, list[tuple[str, dict]]]] = {}
    n = preset.latency_samples
    if pages:
        scenarios["worklist (officer)"] = ("GET /tasks", [("/tasks", page(officer[0]))] * n)
        scenarios["worklist (township inspector)"] = ("GET /tasks", [("/tasks", page(inspector[0]))] * n)
        scenarios["register filtered (district)"] = (
            "GET /hazards?status=rectifying&grade=general",
            [("/hazards?status=rectifying&grade=general", page(district[0]))] * n)
        scenarios["register text search (district)"] = (
            "GET /hazards?q=<word>",
            [(f"/hazards?q={_q(rng.choice(words))}", page(district[0])) for _ in range(n)])
        scenarios["hazard detail (district)"] = (
            "GET /hazards/<id>", [(f"/hazards/{hid}", page(district[0])) for hid in detail_ids])
        # Few samples: the whole city, for the administrator (reported, not a target).
        scenarios["register, whole city (admin)"] = ("GET /hazards", [("/hazards", page(admin))] * max(5, n // 10))
    else:
        scenarios["worklist (officer)"] = ("GET /api/v1/tasks", [("/api/v1/tasks", api(officer[0]))] * n)
        scenarios["worklist (township inspector)"] = ("GET /api/v1/tasks",
                                                       [("/api/v1/tasks", api(inspector[0]))] * n)
        scenarios["register filtered (district)"] = (
            "GET /api/v1/hazards?status=rectifying&grade=general",
            [("/api/v1/hazards?status=rectifying&grade=general", api(district[0]))] * n)
        scenarios["register text search (district)"] = (
            "GET /api/v1/hazards?q=<word>",
            [(f"/api/v1/hazards?q={_q(rng.choice(words))}", api(district[0])) for _ in range(n)])
        scenarios["hazard detail (district)"] = (
            "GET /api/v1/hazards/<id>", [(f"/api/v1/hazards/{hid}", api(district[0])) for hid in detail_ids])
    scenarios["API hazard list (district)"] = ("GET /api/v1/hazards", [("/api/v1/hazards", api(district[0]))] * n)
    # The administrators' enterprise list (issue 12): a district's administrator and the city's, filtered and searched.
    for who, uid in (("district admin", admin), ("city admin", sysadmin)):
        base_path = "/api/v1/admin/enterprises"
        scenarios[f"admin enterprises filtered ({who})"] = (
            f"GET {base_path}?status=active&industry=C", [(f"{base_path}?status=active&industry=C", api(uid))] * n)
        scenarios[f"admin enterprises search ({who})"] = (
            f"GET {base_path}?q=<name or code part>",
            [(f"{base_path}?q={_q(rng.choice(['企业', '']) + f'{rng.randrange(1, 10_000):04d}')}", api(uid))
             for _ in range(n)])
    if pages:
        scenarios["admin enterprises page search (district admin)"] = (
            "GET /admin/enterprises?q=<name part>",
            [(f"/admin/enterprises?q={_q(f'企业{rng.randrange(1, 10_000):04d}')}", page(admin)) for _ in range(n)])
    if pages:
        # The same queries without the page around them, to tell query cost from rendering.
        scenarios["API register filtered (district)"] = (
            "GET /api/v1/hazards?status=rectifying&grade=general",
            [("/api/v1/hazards?status=rectifying&grade=general", api(district[0]))] * n)
        scenarios["API text search (district)"] = (
            "GET /api/v1/hazards?q=<word>",
            [(f"/api/v1/hazards?q={_q(rng.choice(words))}", api(district[0])) for _ in range(n)])
    # The statistics (issue 14) are a step of their own: app/bench/stats_step.py.
    requests = []
    for name, (_route, reqs) in scenarios.items():
        for path, headers in reqs[:5]:
            requests.append({"scenario": name, "path": path, "headers": headers, "warmup": True})
    # Interleaved, so that a slow moment of the machine does not land on one scenario only.
    for i in range(n):
        for name, (_route, reqs) in scenarios.items():
            if i < len(reqs):
                path, headers = reqs[i]
                requests.append({"scenario": name, "path": path, "headers": headers})
    meta = {"routes": {name: route for name, (route, _r) in scenarios.items()},
            "pages": pages, "officer_open_tasks": officer[1], "inspector_open_tasks": inspector[1],
            "district_hazards": district_hazards}
    return {"base": base, "mode": "latency", "requests": requests}, meta


def _q(word: str) -> str:
    from urllib.parse import quote

    return quote(word)


def load_jobs(conn, count: int, now: datetime) -> list[dict]:
    """Open tasks (one per hazard) with a valid submission each, and a token for a user who may do them."""
    rows = _pick(conn, """SELECT DISTINCT ON (t.id) t.id, t.spec_name, u.id FROM human_task t
                          JOIN user_account u ON u.organisation_id = t.organisation_id AND u.role = t.role
                          WHERE t.status = 'open' AND t.spec_name = ANY(%s) AND t.assignee_id IS NULL
                          ORDER BY t.id, u.id""", (COMPLETABLE,))
    rng = random.Random(11)
    rng.shuffle(rows)
    rows = rows[:count]
    tokens = _tokens(conn, {r[2] for r in rows}, now)
    data = step_data(now.date())
    jobs = []
    for task_id, spec, uid in rows:
        body = data["assess_general"] if spec == "assess" else data[spec]
        jobs.append({"method": "POST", "path": f"/api/v1/tasks/{task_id}/complete",
                     "headers": {"Authorization": f"Bearer {tokens[uid]}"}, "body": {"data": body}})
    return jobs


def hot_path_anatomy(url: str, jobs: list[dict]) -> dict:
    """Completions through the Flask test client in this process: SQL statements and CPU per completion."""
    from collections import Counter

    from sqlalchemy import event

    from app import create_app
    from app.extensions import db
    from config import Config

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False, **city.BENCH_KEYS)
    client = app.test_client()
    statements: list[str] = []

    def post(job: dict) -> None:
        resp = client.post(job["path"], json=job["body"], headers=job["headers"])
        if resp.status_code != 200:
            raise RuntimeError(f"{job['path']}: {resp.status_code} {resp.get_data(as_text=True)[:300]}")

    with app.app_context():
        engine = db.engine

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(" ".join(statement.split()[:4]))

    warm, measured = jobs[:10], jobs[10:]
    for job in warm:
        post(job)
    event.listen(engine, "before_cursor_execute", count)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for job in measured:
        post(job)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    event.remove(engine, "before_cursor_execute", count)
    n = len(measured)
    kinds = Counter(s.split()[0] for s in statements)
    return {"completions": n, "statements_per_completion": round(len(statements) / n, 1),
            "by_kind": {k: round(v / n, 1) for k, v in kinds.most_common()},
            "cpu_ms_per_completion": round(1000 * cpu / n, 2), "wall_ms_per_completion": round(1000 * wall / n, 2)}




def build(preset: Preset, admin_url: str, db_name: str, log=print) -> dict:
    """Create the benchmark database, migrate it and bulk-load the synthetic city."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from app import create_app
    from config import Config

    log(f"[bench] {preset.name}: creating database {db_name}")
    url = city.create_database(admin_url, db_name)
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, **city.BENCH_KEYS)
    with app.app_context():
        upgrade()
    xml = (ROOT / "bpmn" / f"{city.PROCESS_KEY}.bpmn").read_text(encoding="utf-8")
    log(f"[bench] generating {preset.hazards:,} hazards, {preset.enterprises:,} enterprises (COPY)")
    loaded = city.load_city(url, preset, generate_password_hash(city.BENCH_PASSWORD), log=log)
    # The hazards were COPYed around the ORM: count them into the statistics rollup (`flask stats rebuild`).
    rebuild_started = time.perf_counter()
    with app.app_context():
        from app.extensions import db
        from app.services import statistics

        loaded["statistics_rollup_rows"] = statistics.rebuild()
        db.session.commit()
    loaded["seconds"]["statistics_rebuild"] = round(time.perf_counter() - rebuild_started, 1)
    log(f"[bench] statistics rollup: {loaded['statistics_rollup_rows']:,} rows in "
        f"{loaded['seconds']['statistics_rebuild']}s")
    loaded["size"] = city.database_size(url)
    log(f"[bench] loaded in {loaded['seconds']['total']}s; database {loaded['size']['database']}")
    return {"url": url, "xml": xml, "load": loaded}


def run(preset: Preset, admin_url: str, db_name: str, out_dir: Path, keep: bool = False,
        workers: int | None = None, log=print) -> dict:
    """The whole benchmark for one preset; returns the results that were written."""
    from app.clock import clock

    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "tmp"
    tmp.mkdir(exist_ok=True)
    workers = workers or os.cpu_count() or 1
    results: dict = {"preset": preset.name, "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                     "machine": machine(), "sizes": {}, "targets": {}}
    built = build(preset, admin_url, db_name, log=log)
    url, xml = built["url"], built["xml"]
    try:
        results["postgresql"] = _pg_info(url)
        results["load"] = built["load"]

        log("[bench] engine ceiling (one core, no web, no database)")
        results["engine"] = measure_ceiling(xml, city.PROCESS_KEY, preset.engine_seconds, clock.now)

        secret = city.BENCH_KEYS["SECRET_KEY"]
        now = clock.now()
        pages = _has_pages()
        with psycopg.connect(city.libpq_url(url)) as conn:
            lat_plan, lat_meta = latency_plan(conn, preset, "", secret, pages, now)
            jobs = load_jobs(conn, preset.completions + workers * 10 + 60, now)
        log("[bench] hot path anatomy: 50 completions in-process (Flask test client)")
        results["hot_path"] = hot_path_anatomy(url, jobs[-60:])
        jobs = jobs[:-60]
        server = Gunicorn(url, workers, secret, tmp / f"gunicorn-{preset.name}.log")
        try:
            server.wait_ready()
            lat_plan["base"] = server.base
            log(f"[bench] latency: {len(lat_plan['requests'])} sequential requests "
                f"({'pages' if pages else 'API'})")
            results["latency"] = {"meta": lat_meta, "scenarios": _client(lat_plan, tmp, "latency")}
            results["web_worker_peak_rss_mb_after_latency"] = server.peak_rss_mb()
            from app.bench import stats_step

            results["statistics"] = stats_step.measure(url, server.base, tmp, min(preset.latency_samples, 20), now,
                                                       log=log)
            results["statistics"]["started_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            stats_step.write(preset.name, results["statistics"], out_dir)
            warm, measured = jobs[:workers * 10], jobs[workers * 10:]
            _client({"base": server.base, "mode": "load", "concurrency": workers * 2, "seconds": 60,
                     "requests": warm}, tmp, "warmup")
            concurrency = workers * 4
            log(f"[bench] throughput: {len(measured)} completions, {concurrency} connections, "
                f"{workers} gunicorn workers")
            with psycopg.connect(city.libpq_url(url), autocommit=True) as conn:
                conn.execute("SELECT pg_stat_reset()")
            cpu0 = _cpu_times()
            web_pids, pg_pids = server.workers(), backend_pids(db_name)
            web0, pg0 = process_cpu_seconds(web_pids), process_cpu_seconds(pg_pids)
            load = _client({"base": server.base, "mode": "load", "concurrency": concurrency, "seconds": 120,
                            "requests": measured}, tmp, "load")
            cpu1 = _cpu_times()
            web1, pg1 = process_cpu_seconds(web_pids), process_cpu_seconds(pg_pids)
            ok = max(load["ok"], 1)
            load.update(workers=workers, concurrency=concurrency, machine_cpu=_cpu_split(cpu0, cpu1),
                        cpu_ms_per_completion={"web": round(1000 * (web1 - web0) / ok, 2),
                                               "postgresql": round(1000 * (pg1 - pg0) / ok, 2),
                                               "load_generator": round(1000 * load["client_cpu_seconds"] / ok, 2)})
            results["throughput"] = load
            results["web_worker_peak_rss_mb"] = server.peak_rss_mb()
        finally:
            server.stop()
        log(f"[bench] scheduler: idle tick and {preset.due_timers:,} due timers")
        out_file = tmp / "scheduler.out.json"
        subprocess.run([sys.executable, "-m", "app.bench.scheduler", url, str(preset.due_timers), str(out_file)],
                       check=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        results["scheduler"] = json.loads(out_file.read_text(encoding="utf-8"))
        log("[bench] exports: the whole city's register and ledger, streamed (peak RSS of the exporting process)")
        out_file = tmp / "exports.out.json"
        subprocess.run([sys.executable, "-m", "app.bench.exports", url, str(out_file)],
                       check=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        results["exports"] = json.loads(out_file.read_text(encoding="utf-8"))
    finally:
        if not keep:
            city.drop_database(admin_url, db_name)
    results["machine"]["load_after"] = os.getloadavg()
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["sizes"] = {"hazards": preset.hazards, "enterprises": preset.enterprises,
                        **{k: v for k, v in results["load"]["counts"].items()},
                        "open_hazards": results["load"]["open_hazards"]}
    report.evaluate(results, out_dir)
    report.write(results, out_dir)
    log(f"[bench] done in {results['seconds']}s: {out_dir / (preset.name + '.md')}")
    # Issue 12's steps, in a database of their own: bulk onboarding (import, re-import) and the administrators'
    # enterprise and people lists over what was imported.
    from app.bench import importing

    steps = importing.run_steps(preset, admin_url, f"{db_name}_import", out_dir, workers=workers, log=log)
    log(f"[bench] import and lists: {importing.write(preset.name, steps, out_dir)}")
    return results


def process_cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (children that exited are not counted)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / tick


def backend_pids(db_name: str) -> list[int]:
    """PostgreSQL backends serving the benchmark database (their title names it)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres:") and f" {db_name} " in title:
                out.append(int(entry.name))
    return out


def _cpu_times() -> list[int]:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return [int(v) for v in fields]


def _cpu_split(a: list[int], b: list[int]) -> dict:
    """Share of machine CPU by kind during the throughput run (user, system, idle, iowait)."""
    d = [y - x for x, y in zip(a, b)]
    total = sum(d) or 1
    return {"user": round(100 * (d[0] + d[1]) / total, 1), "system": round(100 * d[2] / total, 1),
            "idle": round(100 * d[3] / total, 1), "iowait": round(100 * d[4] / total, 1)}

