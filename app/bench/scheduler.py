"""The scheduler measurement, run as its own process so that its peak RSS is the scheduler's alone.

`python -m app.bench.scheduler DB_URL DUE OUT.json [WORKERS]`:
1. a tick with every open hazard holding a pending timer and nothing due (repeated; percentiles);
2. the clock moves until DUE timers are due; the time one scheduler process takes to fire them all
   (`fire`, with the SQL statements it sent per timer);
3. the clock moves until the next DUE timers are due; the time WORKERS scheduler processes (default: one
   per core; real processes, each with its own application and connection pool, as `flask scheduler run`)
   take to fire them together (`fire_parallel`).  Their claims use SKIP LOCKED, so they share the work.

What runs is the scheduler service itself (app.services.timers.tick).
"""
from __future__ import annotations

import json
import multiprocessing
import os
import resource
import sys
import time
from datetime import timedelta

from sqlalchemy import select, text

CLAIM = text("""SELECT id, instance_id FROM timer WHERE status = 'pending' AND due_at <= :now
                ORDER BY due_at LIMIT :n FOR UPDATE SKIP LOCKED""")


def _service():
    from app.services import timers

    return timers


def _idle_tick(db, now, service) -> float:
    t0 = time.perf_counter()
    if service is not None:
        service.tick()
    else:
        rows = db.session.execute(CLAIM, {"now": now, "n": 100}).all()
        assert not rows, "a timer was due during the idle tick"
        db.session.commit()
    return time.perf_counter() - t0


def measure(db_url: str, due: int, workers: int | None = None) -> dict:
    from app import create_app
    from app.bench import city
    from app.bench.client import percentile
    from app.clock import clock
    from app.extensions import db
    from config import Config

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=db_url, SCHEDULER_IN_PROCESS=False, **city.BENCH_KEYS)
    service = _service()
    workers = workers or os.cpu_count() or 1
    out: dict = {"implementation": "app.services.timers.tick" if service else
                 "benchmark claim query + lifecycle.apply_snapshot (no scheduler service yet)"}
    with app.app_context():
        now = clock.now()
        pending = db.session.scalar(text("SELECT count(*) FROM timer WHERE status = 'pending'"))
        overdue = db.session.scalar(text("SELECT count(*) FROM timer WHERE status = 'pending' AND due_at <= :now"),
                                    {"now": now})
        out.update(pending=pending, due_at_start=overdue)
        if overdue:
            # Catch up first (timers that fell due before the measurement): the idle tick needs none due.
            t0 = time.perf_counter()
            caught = _fire_all(db, service, clock)
            out["catch_up"] = {"timers": caught, "seconds": round(time.perf_counter() - t0, 2)}
        _idle_tick(db, clock.now(), service)  # warm-up
        ticks = [_idle_tick(db, clock.now(), service) for _ in range(50)]
        out["idle_tick_ms"] = {f"p{p}": round(1000 * percentile(ticks, p), 2) for p in (50, 95, 99)}
        plan = db.session.execute(text("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + CLAIM.text),
                                  {"now": clock.now(), "n": 100}).scalars().all()
        db.session.rollback()
        out["idle_tick_plan"] = plan[:6]
        # Let time pass until `due` timers are due, by the engine's clock and the table's alike.
        nth = db.session.scalar(text("SELECT due_at FROM timer WHERE status = 'pending' ORDER BY due_at "
                                     "OFFSET :k LIMIT 1"), {"k": max(due - 1, 0)})
        db.session.rollback()
        if nth is None:
            out["fire"] = {"timers": 0, "note": "no pending timers"}
            return out
        clock.advance(seconds=(nth - clock.now()).total_seconds() + 0.001)
        made_due = db.session.scalar(text("SELECT count(*) FROM timer WHERE status = 'pending' AND due_at <= :now"),
                                     {"now": clock.now()})
        db.session.rollback()
        statements = _StatementCounter(db.engine)
        t0 = time.perf_counter()
        fired = _fire_all(db, service, clock)
        seconds = time.perf_counter() - t0
        statements.stop()
        out["fire"] = {"due": made_due, "timers": fired, "seconds": round(seconds, 2),
                       "per_second": round(fired / seconds, 1) if seconds else None,
                       "seconds_for_10000": round(10_000 * seconds / fired, 1) if fired else None,
                       "ms_per_timer": round(1000 * seconds / fired, 2) if fired else None,
                       "statements_per_timer": round(statements.count / fired, 2) if fired else None,
                       "processes": 1, "batch": getattr(service, "BATCH", 1)}
        if service is not None and workers > 1:
            out["fire_parallel"] = _fire_parallel(db, clock, db_url, due, workers)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


class _StatementCounter:
    """Counts the SQL statements sent on an engine until stop() (the scheduler's own, in this process)."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.engine, self.count = engine, 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args) -> None:
        self.count += 1

    def stop(self) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._count)


def _fire_parallel(db, clock, db_url: str, due: int, workers: int) -> dict:
    """Move the clock until the next `due` timers are due and fire them with `workers` scheduler processes."""
    nth = db.session.scalar(text("SELECT due_at FROM timer WHERE status = 'pending' ORDER BY due_at "
                                 "OFFSET :k LIMIT 1"), {"k": max(due - 1, 0)})
    db.session.rollback()
    if nth is None:
        return {"timers": 0, "note": "no pending timers left"}
    clock.advance(seconds=max((nth - clock.now()).total_seconds(), 0) + 0.001)
    made_due = db.session.scalar(text("SELECT count(*) FROM timer WHERE status = 'pending' AND due_at <= :now"),
                                 {"now": clock.now()})
    before = db.session.scalar(text("SELECT count(*) FROM timer WHERE status <> 'pending'"))
    db.session.rollback()
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(workers + 1)
    results = context.Queue()
    offset = clock.offset.total_seconds()
    procs = [context.Process(target=_worker, args=(db_url, offset, ready, results), daemon=True)
             for _ in range(workers)]
    for proc in procs:
        proc.start()
    ready.wait(timeout=300)  # every process has its application, connection and parsed diagram
    t0 = time.perf_counter()
    shares = [results.get(timeout=3600) for _ in procs]
    seconds = time.perf_counter() - t0
    for proc in procs:
        proc.join(timeout=60)
    after = db.session.scalar(text("SELECT count(*) FROM timer WHERE status <> 'pending'"))
    left = db.session.scalar(text("SELECT count(*) FROM timer WHERE status = 'pending' AND due_at <= :now"),
                             {"now": clock.now()})
    db.session.rollback()
    fired = after - before
    return {"due": made_due, "timers": fired, "seconds": round(seconds, 2), "processes": workers,
            "per_second": round(fired / seconds, 1) if seconds else None,
            "seconds_for_10000": round(10_000 * seconds / fired, 1) if fired else None,
            "ms_per_timer": round(1000 * seconds / fired, 2) if fired else None,
            "shares": [s["handled"] for s in shares], "left_due": left,
            "errors": sum(s["errors"] for s in shares)}


def _worker(db_url: str, clock_offset: float, ready, results) -> None:
    """One scheduler process: its own application and pool, ticking until nothing is due for it."""
    from app import create_app
    from app.bench import city
    from app.clock import clock
    from app.extensions import db
    from app.models import ProcessVersion
    from app.services import processes, timers
    from config import Config

    clock.offset = timedelta(seconds=clock_offset)
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=db_url, SCHEDULER_IN_PROCESS=False, **city.BENCH_KEYS)
    handled = errors = 0
    with app.app_context():
        for version_id in db.session.scalars(select(ProcessVersion.id)).all():
            processes.runtime_for_version(version_id)  # parsed before the clock starts, as in a running scheduler
        db.session.remove()
        ready.wait(timeout=300)
        try:
            while True:
                result = timers.tick()
                db.session.remove()
                handled += result.fired + result.alerts + result.cancelled + result.failed
                errors += len(result.errors)
                if not result:
                    break
        except Exception:  # noqa: BLE001 — counted; the parent must not wait for a dead worker
            errors += 1
        finally:
            results.put({"pid": os.getpid(), "handled": handled, "errors": errors})


def peak_rss_mb() -> float:
    """VmHWM of this process. Not getrusage's ru_maxrss: Linux carries that over exec from the parent
    that forked us (the benchmark runner, over a gigabyte after generating the city)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _fire_all(db, service, clock) -> int:
    from sqlalchemy import text as sql

    before = db.session.scalar(sql("SELECT count(*) FROM timer WHERE status <> 'pending'"))
    db.session.rollback()
    if service is not None:
        while True:
            result = service.tick()
            db.session.remove()
            left = db.session.scalar(sql("SELECT count(*) FROM timer WHERE status = 'pending' AND due_at <= :now"),
                                     {"now": clock.now()})
            db.session.rollback()
            if not left or not result:
                break
    after = db.session.scalar(sql("SELECT count(*) FROM timer WHERE status <> 'pending'"))
    db.session.rollback()
    return after - before


def main(argv: list[str]) -> int:
    result = measure(argv[1], int(argv[2]), int(argv[4]) if len(argv) > 4 else None)
    with open(argv[3], "w", encoding="utf-8") as fh:
        json.dump(result, fh, ensure_ascii=False, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
