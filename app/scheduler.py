"""APScheduler wiring: run `services.timers.tick` every SCHEDULER_INTERVAL_SECONDS.

Production runs the scheduler as its own process, `flask scheduler run` (as many as you like: due
work is claimed from SQL, never from APScheduler's in-memory job store, which processes cannot
share).  `make run` sets SCHEDULER_IN_PROCESS=1 and the application factory starts a background
scheduler in the web process — never under the reloader's watching parent and never in tests.
"""
from __future__ import annotations

import atexit
import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from werkzeug.serving import is_running_from_reloader

from app.clock import clock
from app.extensions import db

log = logging.getLogger("hazardloop.scheduler")
JOB_ID = "hazardloop-tick"


def run_tick(app: Flask):
    """One tick in its own application context; errors are logged, never raised into APScheduler."""
    from app.services import timers

    with app.app_context():
        try:
            result = timers.tick()
            if result:
                log.info("tick: %s", result)
            return result
        except Exception:
            log.exception("scheduler tick failed")
            db.session.rollback()
            return None
        finally:
            db.session.remove()


def _add_job(scheduler, app: Flask, interval: float) -> None:
    # coalesce + one instance: a slow tick is never run twice at once, missed runs collapse into one.
    scheduler.add_job(run_tick, "interval", args=[app], seconds=interval, id=JOB_ID, coalesce=True,
                      max_instances=1, next_run_time=clock.now(), misfire_grace_time=None)


def should_run_in_process(app: Flask) -> bool:
    if not app.config.get("SCHEDULER_IN_PROCESS") or app.testing:
        return False
    # With the reloader, the parent process only watches files; the child serves (and schedules).
    return not (app.debug and not is_running_from_reloader())


def start_in_process(app: Flask) -> BackgroundScheduler | None:
    """Start the background scheduler when SCHEDULER_IN_PROCESS is set (the demo server)."""
    if not should_run_in_process(app) or "hazardloop_scheduler" in app.extensions:
        return None
    scheduler = BackgroundScheduler(daemon=True)
    _add_job(scheduler, app, float(app.config["SCHEDULER_INTERVAL_SECONDS"]))
    scheduler.start()
    app.extensions["hazardloop_scheduler"] = scheduler
    atexit.register(lambda: scheduler.shutdown(wait=False))
    log.info("in-process scheduler started (every %ss)", app.config["SCHEDULER_INTERVAL_SECONDS"])
    return scheduler


def run_forever(app: Flask, interval: float) -> None:
    """The scheduler process: tick every `interval` seconds until stopped (Ctrl-C, SIGTERM)."""
    background = app.extensions.pop("hazardloop_scheduler", None)
    if background is not None:  # this process is the scheduler; no second one inside it
        background.shutdown(wait=False)
    scheduler = BlockingScheduler()
    _add_job(scheduler, app, interval)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
