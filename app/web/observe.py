"""What operators and load balancers see of a node: a request id on every request (X-Request-ID), one JSON log line
per request, latency figures, and /healthz, /readyz and /metrics.

/metrics is answered only to a bearer of METRICS_TOKEN when one is set, otherwise only to this machine (a
Prometheus agent on the node scrapes 127.0.0.1); anyone else gets 404, as if it did not exist.
"""
from __future__ import annotations

import hmac
import logging
import re
import time
import uuid

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask_login import current_user

from app import metrics
from app.extensions import csrf, limiter
from app.services import health

bp = Blueprint("observe", __name__)
log = logging.getLogger("hazardloop.request")
# A caller's own id is kept when it looks like one (a proxy's or a client's trace id); anything else is replaced.
SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
LOOPBACK = {"127.0.0.1", "::1"}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    csrf.exempt(bp)
    limiter.exempt(bp)
    app.before_request(_start)
    app.after_request(_finish)


def _start() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if SANE_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    started = g.get("request_started")
    if started is None:  # a request refused before our first hook ran
        _start()
        started = g.request_started
    seconds = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
    response.headers["X-Request-ID"] = g.request_id
    if request.endpoint not in {"observe.metrics_view", "observe.healthz"}:
        metrics.REQUEST_SECONDS.labels(request.method, route, str(response.status_code)).observe(seconds)
    user_id = current_user.id if current_user and current_user.is_authenticated else None  # never get_id(): a token
    log.log(logging.ERROR if response.status_code >= 500 else logging.INFO,
            "%s %s %s", request.method, route, response.status_code,
            extra={"request_id": g.request_id, "method": request.method, "route": route, "path": request.path,
                   "status": response.status_code, "duration_ms": round(seconds * 1000, 2), "user_id": user_id})
    return response


@bp.get("/healthz")
def healthz():
    """Alive: the process answers (nothing else is asked, not even the database)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready for traffic: the database answers, its migrations are the code's, the file store takes a file."""
    checks = health.readiness()
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503


def _may_scrape() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "")
        return given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode())
    return request.remote_addr in LOOPBACK


@bp.get("/metrics")
def metrics_view():
    if not _may_scrape():
        return jsonify(error="Not found"), 404
    body, content_type = metrics.exposition(health.database_figures)
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
