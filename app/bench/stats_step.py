"""The statistics step (issue 14, "Speed"): the dashboard page and `GET /api/v1/statistics` for a district's
inspector and for the whole city (the city's administrator), for a month, a quarter and a year, grouped each way,
and the national table — one request at a time against gunicorn, p50/p95/p99 per scenario, the load average
printed. Part of `make bench`; on its own over a kept city: `python -m app.bench statistics --database <name>`.

Targets: dashboard and API p95 < 200 ms; the national table for the whole city < 2 s.
"""
from __future__ import annotations

import json
import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg

from app.bench import city
from app.bench.tools import _client, _pick, _session_cookie, _tokens

GROUPINGS = ("region", "industry", "grade", "hazard_type", "source")
TARGET_MS = 200
NATIONAL_TARGET_MS = 2000


def periods(today: date) -> dict[str, tuple[date, date]]:
    """The last whole month, the last whole quarter (whole months: the monthly rollup alone), the year up to
    today (two partial edge months), and ten months from a 16th to a 15th (half of each edge month: whole blocks
    from the weekly rollup and a day from the daily one — before the weekly rollup, the most
    statistics.rollup_parts read from the daily rollup)."""
    month_end = today.replace(day=1) - timedelta(days=1)
    quarter_first = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    quarter_end = quarter_first - timedelta(days=1)
    mid_first = date(today.year - 1, today.month, 16) if today.month < 12 else date(today.year, 1, 16)
    mid_last = date(mid_first.year + (mid_first.month + 9) // 12, (mid_first.month + 9) % 12 + 1, 15)
    return {"month": (month_end.replace(day=1), month_end),
            "quarter": (date(quarter_end.year, quarter_end.month - 2, 1), quarter_end),
            "year": (today - timedelta(days=364), today),
            # the worst case for the edges: two half months of daily rows (16th to the 15th, ten months on)
            "mid-month to mid-month": (mid_first, mid_last)}


def plan(conn, secret: str, now: datetime, samples: int) -> tuple[list[dict], dict]:
    """The requests (warm-up first, then interleaved) and what they are."""

    district = _pick(conn, """SELECT u.id, u.organisation_id FROM user_account u JOIN organisation o
                              ON o.id = u.organisation_id WHERE u.role = 'inspector' AND o.parent_id IS NULL
                              ORDER BY u.id LIMIT 1""")[0]
    sysadmin = _pick(conn, """SELECT id FROM user_account WHERE role = 'admin' AND organisation_id IS NULL
                              ORDER BY id LIMIT 1""")[0][0]
    who = {"district": district[0], "whole city": sysadmin}
    tokens = _tokens(conn, set(who.values()), now)
    cookies = {uid: f"session={_session_cookie(conn, secret, uid, now)}" for uid in who.values()}
    today = now.date()
    scenarios: dict[str, tuple[str, list[tuple[str, dict]]]] = {}
    for name, uid in who.items():
        api = {"Authorization": f"Bearer {tokens[uid]}"}
        page = {"Cookie": cookies[uid]}
        for label, (first, last) in periods(today).items():
            span = f"from={first}&to={last}"
            for group in GROUPINGS:
                scenarios[f"API {label} by {group} ({name})"] = (
                    f"GET /api/v1/statistics?group_by={group}&{span}",
                    [(f"/api/v1/statistics?group_by={group}&{span}", api)] * samples)
                scenarios[f"dashboard {label} by {group} ({name})"] = (
                    f"GET /statistics?group_by={group}&{span}",
                    [(f"/statistics?period=custom&group_by={group}&{span}", page)] * samples)
        quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
        scenarios[f"national table .xlsx, one year ({name})"] = (
            f"GET /api/v1/reports/statutory?period={today.year}&group_by=region",
            [(f"/api/v1/reports/statutory?period={today.year}&group_by=region", api)] * samples)
        scenarios[f"national table JSON by industry, one quarter ({name})"] = (
            f"GET /api/v1/reports/statutory?period={quarter}&group_by=industry&format=json",
            [(f"/api/v1/reports/statutory?period={quarter}&group_by=industry&format=json", api)] * samples)
    requests = [{"scenario": n, "path": p, "headers": h, "warmup": True}
                for n, (_r, reqs) in scenarios.items() for p, h in reqs[:2]]
    for i in range(samples):  # interleaved, so that a slow moment of the machine does not land on one scenario
        for n, (_r, reqs) in scenarios.items():
            requests.append({"scenario": n, "path": reqs[i][0], "headers": reqs[i][1]})
    meta = {"routes": {n: r for n, (r, _q) in scenarios.items()},
            "periods": {k: [a.isoformat(), b.isoformat()] for k, (a, b) in periods(today).items()},
            "samples": samples}
    return requests, meta


def rollup_rows(conn, today: date) -> dict:
    """How many rollup rows a city-year is (the year up to today)."""
    first = today - timedelta(days=364)
    daily = conn.execute("SELECT count(*) FROM hazard_stats_daily WHERE day BETWEEN %s AND %s",
                         (first, today)).fetchone()[0]
    monthly = conn.execute("SELECT count(*) FROM hazard_stats_monthly WHERE month BETWEEN %s AND %s",
                           (first.replace(day=1), today)).fetchone()[0]
    weekly = conn.execute("SELECT count(*) FROM hazard_stats_weekly WHERE week BETWEEN %s AND %s",
                          (first.replace(day=1), today)).fetchone()[0]
    hazards = conn.execute("SELECT coalesce(sum(found), 0) FROM hazard_stats_daily WHERE day BETWEEN %s AND %s",
                           (first, today)).fetchone()[0]
    return {"daily_year": daily, "weekly_year": weekly, "monthly_year": monthly, "hazards_year": int(hazards)}


def measure(url: str, base: str, tmp: Path, samples: int, now: datetime, log=print) -> dict:
    """Run the step against a running server at `base` over the database at `url`."""
    secret = city.BENCH_KEYS["SECRET_KEY"]
    with psycopg.connect(city.libpq_url(url)) as conn:
        requests, meta = plan(conn, secret, now, samples)
        meta["rollups"] = rollup_rows(conn, now.date())
    load_before = os.getloadavg()
    log(f"[bench] statistics: {len(requests)} sequential requests, load average before {load_before}")
    started = time.perf_counter()
    scenarios = _client({"base": base, "mode": "latency", "requests": requests}, tmp, "statistics")
    result = {"meta": meta, "scenarios": scenarios, "load_before": load_before, "load_after": os.getloadavg(),
              "seconds": round(time.perf_counter() - started, 1)}
    log(f"[bench] statistics: done in {result['seconds']} s, load average after {result['load_after']}")
    return result


def targets(step: dict) -> dict:
    """The worst p95 of the dashboard and API scenarios, and of the national table, against the targets."""
    worst = max(((n, s["p95"]) for n, s in step["scenarios"].items() if not n.startswith("national") and s.get("n")),
                key=lambda x: x[1], default=(None, None))
    national = max(((n, s["p95"]) for n, s in step["scenarios"].items()
                    if n.startswith("national") and "(whole city)" in n and s.get("n")),
                   key=lambda x: x[1], default=(None, None))
    failed = sum(s.get("failed", 0) for s in step["scenarios"].values())
    return {
        "statistics": {"target": f"dashboard and statistics API p95 < {TARGET_MS} ms (district and whole city, "
                                 "every period, every grouping)",
                       "measured": f"worst p95 {worst[1]} ms ({worst[0]})" + (f"; {failed} failed" if failed else ""),
                       "met": worst[1] is not None and worst[1] < TARGET_MS and not failed},
        "national_table_city": {"target": f"national table for the whole city < {NATIONAL_TARGET_MS / 1000:g} s",
                                "measured": f"worst p95 {national[1]} ms ({national[0]})",
                                "met": national[1] is not None and national[1] < NATIONAL_TARGET_MS}}


def write(preset: str, step: dict, out_dir: Path, note: str = "") -> Path:
    """bench-results/statistics-<preset>.json and .md."""
    step["note"] = note = note or step.get("note", "")
    (out_dir / f"statistics-{preset}.json").write_text(json.dumps(step, indent=1, ensure_ascii=False, default=str),
                                                       encoding="utf-8")
    meta, rows = step["meta"], step["meta"]["rollups"]
    lines = [f"# Statistics at `{preset}` scale (issue 14)", "",
             (f"Measured {step.get('started_at', '')} in {step['seconds']} s, one request at a time against gunicorn, "
             f"{meta['samples']} samples per scenario after 2 warm-up requests. Load average before "
             f"{', '.join(f'{x:.2f}' for x in step['load_before'])}, after "
             f"{', '.join(f'{x:.2f}' for x in step['load_after'])} (2 cores; other work on the machine disturbs "
             "the timings)."), "",
             f"Rollups for the year up to today: {rows['hazards_year']:,} hazards found, {rows['daily_year']:,} daily "
             f"rows, {rows.get('weekly_year', 0):,} weekly rows, {rows['monthly_year']:,} monthly rows. Periods: "
             + "; ".join(f"{k} {a} – {b}" for k, (a, b) in meta["periods"].items()) + ".", ""]
    if note:
        lines += [note, ""]
    lines += ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for item in targets(step).values():
        lines.append(f"| {item['target']} | {item['measured']} | {'yes' if item['met'] else '**no**'} |")
    lines += ["", "## Worst p95 per period, over the groupings, dashboard and API (ms)", "",
              "| period | district | whole city |", "|---|---:|---:|"]
    for period in meta["periods"]:
        worst = {who: max((s["p95"] for n, s in step["scenarios"].items()
                           if s.get("n") and n.split(" by ")[0].split(" ", 1)[-1] == period and f"({who})" in n),
                          default=None) for who in ("district", "whole city")}
        lines.append(f"| {period} | {worst['district']} | {worst['whole city']} |")
    lines += ["", "## Scenarios (ms)", "", "| scenario | p50 | p95 | p99 | max | n |", "|---|---:|---:|---:|---:|---:|"]
    for name, s in step["scenarios"].items():
        if not s.get("n"):
            lines.append(f"| {name} | – | – | – | – | 0 (failed: {s.get('failures')}) |")
            continue
        mark = "" if s["p95"] < (NATIONAL_TARGET_MS if name.startswith("national") else TARGET_MS) else " **miss**"
        lines.append(f"| {name} | {s['p50']} | {s['p95']}{mark} | {s['p99']} | {s['max']} | {s['n']} |")
    path = out_dir / f"statistics-{preset}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_on(url: str, out_dir: Path, preset: str, samples: int, workers: int | None = None, log=print,
           note: str = "") -> Path:
    """The step on its own over an existing benchmark database: start gunicorn, measure, write."""
    from datetime import UTC

    from app.bench.server import Gunicorn
    from app.clock import clock

    tmp = out_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    server = Gunicorn(url, workers or os.cpu_count() or 1, city.BENCH_KEYS["SECRET_KEY"], tmp / "gunicorn-stats.log")
    try:
        server.wait_ready()
        step = measure(url, server.base, tmp, samples, clock.now(), log=log)
    finally:
        server.stop()
    step["started_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return write(preset, step, out_dir, note)
