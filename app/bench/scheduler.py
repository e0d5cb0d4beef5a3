"""The scheduler measurement, run as its own process so that its peak RSS is the scheduler's alone.

`python -m app.bench.scheduler DB_URL DUE OUT.json`:
1. a tick with every open hazard holding a pending timer and nothing due (repeated; percentiles);
2. the clock moves until DUE timers are due; the time to fire them all, one transaction per timer.

When the scheduler service of issue #5 exists (app.services.timers with a `tick` function), it is what
runs; otherwise the benchmark runs the documented claim query itself — `SELECT … FROM timer WHERE
status='pending' AND due_at <= now ORDER BY due_at LIMIT n FOR UPDATE SKIP LOCKED` — plus the per-timer
engine refresh through the real services (lock_instance, ProcessRuntime.refresh, apply_snapshot).
"""
from __future__ import annotations

import json
import resource
import sys
import time

from sqlalchemy import select, text

CLAIM = text("""SELECT id, instance_id FROM timer WHERE status = 'pending' AND due_at <= :now
                ORDER BY due_at LIMIT :n FOR UPDATE SKIP LOCKED""")


def _service():
    try:
        from app.services import timers
    except ImportError:
        return None
    return timers if callable(getattr(timers, "tick", None)) else None


def _fire_one(db, now) -> bool:
    """Claim the most overdue timer, run its instance on and persist it; False when nothing is due."""
    from app.models import Hazard
    from app.services import lifecycle, processes

    row = db.session.execute(CLAIM, {"now": now, "n": 1}).first()
    if row is None:
        db.session.rollback()
        return False
    instance = lifecycle.lock_instance(row.instance_id)
    hazard = db.session.scalar(select(Hazard).where(Hazard.instance_id == instance.id))
    snapshot = processes.runtime(instance.version).refresh(instance.state)
    lifecycle.apply_snapshot(instance, hazard, snapshot)
    # A timer the engine does not know (a synthetic one) is closed here, so it is handled once.
    db.session.execute(text("UPDATE timer SET status = 'fired', fired_at = :now WHERE id = :id "
                            "AND status = 'pending'"), {"now": now, "id": row.id})
    db.session.commit()
    return True


def _idle_tick(db, now, service) -> float:
    t0 = time.perf_counter()
    if service is not None:
        service.tick()
    else:
        rows = db.session.execute(CLAIM, {"now": now, "n": 100}).all()
        assert not rows, "a timer was due during the idle tick"
        db.session.commit()
    return time.perf_counter() - t0


def measure(db_url: str, due: int) -> dict:
    from app import create_app
    from app.bench.client import percentile
    from app.clock import clock
    from app.extensions import db
    from config import Config

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=db_url, SCHEDULER_IN_PROCESS=False)
    service = _service()
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
        t0 = time.perf_counter()
        fired = _fire_all(db, service, clock)
        seconds = time.perf_counter() - t0
        out["fire"] = {"due": made_due, "timers": fired, "seconds": round(seconds, 2),
                       "per_second": round(fired / seconds, 1) if seconds else None,
                       "seconds_for_10000": round(10_000 * seconds / fired, 1) if fired else None}
    out["peak_rss_mb"] = peak_rss_mb()
    return out


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
    else:
        while _fire_one(db, clock.now()):
            pass
    after = db.session.scalar(sql("SELECT count(*) FROM timer WHERE status <> 'pending'"))
    db.session.rollback()
    return after - before


def main(argv: list[str]) -> int:
    result = measure(argv[1], int(argv[2]))
    with open(argv[3], "w", encoding="utf-8") as fh:
        json.dump(result, fh, ensure_ascii=False, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
