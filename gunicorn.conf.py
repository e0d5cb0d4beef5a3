"""gunicorn settings read from the working directory (`gunicorn wsgi:app`); the command line overrides them.

With PROMETHEUS_MULTIPROC_DIR (an empty folder; the systemd unit / Procfile empties it before start) each worker
writes its metrics there and /metrics adds them up; a worker that exits is marked dead so its gauges go.
"""
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
accesslog = None  # the application writes one JSON line per request (app/web/observe.py)


def child_exit(server, worker):
    from app.metrics import mark_worker_dead

    mark_worker_dead(worker.pid)
