"""Prometheus figures (prometheus_client), correct across gunicorn workers.

With PROMETHEUS_MULTIPROC_DIR set (an empty folder, cleared before the server starts, shared by the workers of one
machine; gunicorn.conf.py marks dead workers) every worker writes its counts there and /metrics adds them up.
Without it (one process: `make run`, tests) the figures live in the process.

What the database knows (scheduler lag, outbox backlog) is read when /metrics is scraped, so every node reports the
same figure, whichever process did the work.
"""
from __future__ import annotations

import os
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

REQUEST_SECONDS = Histogram("hazardloop_request_seconds", "Time to answer a request, by route (URL rule) and status.",
                            ["method", "route", "status"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
TASKS_COMPLETED = Counter("hazardloop_task_completions", "User tasks completed (committed).")
ENGINE_ERRORS = Counter("hazardloop_engine_errors", "Steps the workflow engine refused (a problem in a diagram).")
TIMERS_FIRED = Counter("hazardloop_timers_fired", "Timer events of diagrams fired by the scheduler.")


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


DATABASE_HELP = {
    "hazardloop_scheduler_lag_seconds": "Now minus the due time of the oldest due, pending timer (0: none due).",
    "hazardloop_outbox_backlog": "E-mails waiting in the outbox.",
    "hazardloop_timers_due": "Pending timers that are due now.",
}


class DatabaseFigures:
    """A collector reading figures from the database at scrape time: `read()` returns {name: value}."""

    def __init__(self, read: Callable[[], dict[str, float]]) -> None:
        self.read = read

    def collect(self):
        for name, value in self.read().items():
            family = GaugeMetricFamily(name, DATABASE_HELP.get(name, name))
            family.add_metric([], value)
            yield family


def exposition(read_database: Callable[[], dict[str, float]]) -> tuple[bytes, str]:
    """The text Prometheus scrapes: this process's (or all workers') counters plus the database's figures."""
    registry = CollectorRegistry()
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(REGISTRY)
    figures = CollectorRegistry()
    figures.register(DatabaseFigures(read_database))
    return body + generate_latest(figures), CONTENT_TYPE_LATEST


def serve(port: int, addr: str = "127.0.0.1") -> None:
    """A process without a web server (the scheduler) serves its own figures on addr:port."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=addr)


def mark_worker_dead(pid: int) -> None:
    """gunicorn's child_exit hook: a dead worker's live figures leave the sums (its counts stay)."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.mark_process_dead(pid)
