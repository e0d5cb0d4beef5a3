"""Logs as JSON lines (python-json-logger), one object per line, for a log shipper to read.

LOG_FORMAT=json (the default) replaces the root logger's handlers with one writing to stderr; LOG_FORMAT=text keeps
Python's plain lines; empty leaves logging alone (tests). Every record logged while a request is handled carries
that request's id (`request_id`), so an error's trace is found from the "request id" an error page shows.
"""
from __future__ import annotations

import logging
import sys

from flask import Flask, g, has_request_context
from pythonjsonlogger.json import JsonFormatter

_MARK = "_hazardloop_handler"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id") and has_request_context():
            record.request_id = g.get("request_id")
        return True


def json_formatter() -> JsonFormatter:
    return JsonFormatter("{levelname}{name}{message}", style="{", timestamp="time", json_ensure_ascii=False,
                         rename_fields={"levelname": "level", "name": "logger"})


def configure(app: Flask) -> None:
    kind = (app.config.get("LOG_FORMAT") or "").lower()
    if kind not in {"json", "text"}:
        return
    root = logging.getLogger()
    if any(getattr(h, _MARK, False) for h in root.handlers):
        return  # one handler per process, however many apps it makes
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter() if kind == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s", defaults={"request_id": "-"}))
    handler.addFilter(RequestIdFilter())
    setattr(handler, _MARK, True)
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    # Our own loggers at LOG_LEVEL; libraries only warnings and errors, as before: SpiffWorkflow logs every task
    # state change at INFO with the task's data (slow, and not for a log file), APScheduler every tick.
    root.setLevel(logging.WARNING)
    logging.getLogger("hazardloop").setLevel(app.config.get("LOG_LEVEL") or "INFO")
