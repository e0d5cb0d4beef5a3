"""Health, metrics and logs: /healthz, /readyz, /metrics (Prometheus, by route, correct across gunicorn workers),
one JSON log line per request and a request id that comes back in a header and on error pages."""
from __future__ import annotations

import io
import json
import logging
import urllib.request
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.logs import RequestIdFilter, json_formatter
from config import TestConfig
from tests.conftest import empty_pg_database
from tests.deadline_steps import deadline_of, general_hazard_rectifying, move_to
from tests.helpers import current_task, in_days, report, upload
from tests.test_page_submissions import deploy_refusing_assessment
from tests.test_pages import Pages


def figures(client, **kw) -> dict[tuple[str, tuple], float]:
    resp = client.get("/metrics", **kw)
    assert resp.status_code == 200, resp.data
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(resp.get_data(as_text=True)) for sample in family.samples}


def figure(values, name: str, **labels) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


# ----------------------------------------------------------------------------------------------- health
def test_healthz_answers_without_a_database_and_readyz_says_the_database_is_unreachable(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none",
                     INSTANCE_DIR=tmp_path, UPLOAD_DIR=tmp_path / "up")
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    resp = client.get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 503 and body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("unreachable") and body["checks"]["storage"] == "ok"


def test_readyz_is_ok_on_a_migrated_database_with_a_writable_store(client):
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok", "storage": "ok"}}


def test_readyz_names_missing_migrations_and_an_unwritable_store(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.db'}", INSTANCE_DIR=tmp_path,
                     UPLOAD_DIR=tmp_path / "a-file" / "uploads")
    resp = app.test_client().get("/readyz")
    checks = resp.get_json()["checks"]
    assert resp.status_code == 503
    assert checks["database"] == "ok"
    assert "database at nothing" in checks["migrations"] and "flask db upgrade" in checks["migrations"]
    assert checks["storage"].startswith("not writable")


# ------------------------------------------------------------------------------------------- request id
def test_a_request_id_is_kept_when_sane_made_otherwise_and_shown_on_error_pages(client, api):
    resp = client.get("/healthz", headers={"X-Request-ID": "lb-1234abcd"})
    assert resp.headers["X-Request-ID"] == "lb-1234abcd"
    for insane in ("x", "a b c d e f g h", "<script>alert(1)</script>", "a" * 200):
        made = client.get("/healthz", headers={"X-Request-ID": insane}).headers["X-Request-ID"]
        assert made != insane and len(made) == 32
    pages = Pages(client)
    pages.login("officer_a")
    missing = client.get("/hazards/999999", headers={"X-Request-ID": "trace-0001-zh"})
    html = missing.get_data(as_text=True)
    assert missing.status_code == 404 and "请求编号" in html and "trace-0001-zh" in html
    english = client.get("/hazards/999999?lang=en").get_data(as_text=True)
    assert "Request ID" in english
    resp = api.as_("officer_a").get("/hazards/999999", headers={"X-Request-ID": "api-trace-0002"})
    assert resp.status_code == 404 and resp.get_json()["request_id"] == "api-trace-0002"


def test_each_request_writes_one_json_line_with_its_id_route_status_duration_and_user(client, app):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("hazardloop.request")
    logger.addHandler(handler)
    old_level, old_disabled = logger.level, logger.disabled
    logger.setLevel(logging.INFO)
    logger.disabled = False  # alembic's fileConfig (the fixture's `upgrade`) disables the loggers that exist
    try:
        pages = Pages(client)
        pages.login("officer_a")
        stream.truncate(0)
        stream.seek(0)
        with app.app_context():
            from app.extensions import db
            from app.models import User
            officer = db.session.scalar(db.select(User).where(User.username == "officer_a"))
            officer_id = officer.id
        client.get("/hazards/424242", headers={"X-Request-ID": "log-line-0001"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.disabled = old_disabled
    [line] = [json.loads(raw) for raw in stream.getvalue().splitlines() if raw.strip()]
    assert line["request_id"] == "log-line-0001" and line["level"] == "INFO" and line["status"] == 404
    assert line["route"] == "/hazards/<int:hazard_id>" and line["path"] == "/hazards/424242"
    assert line["user_id"] == officer_id and line["duration_ms"] > 0 and line["time"].startswith("20")


# ---------------------------------------------------------------------------------------------- metrics
def test_metrics_are_only_for_this_machine_or_a_bearer_of_the_token(client, app):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 404
    app.config["METRICS_TOKEN"] = "s3cret-token"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    ok = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"},
                    headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200 and b"hazardloop_request_seconds" in ok.data


def test_latency_is_counted_by_route_not_by_path_and_by_status(client):
    pages = Pages(client)
    pages.login("officer_a")
    before = figures(client)
    for hazard_id in (900001, 900002, 900003):
        client.get(f"/hazards/{hazard_id}")
    after = figures(client)
    key = {"method": "GET", "route": "/hazards/<int:hazard_id>", "status": "404"}
    assert figure(after, "hazardloop_request_seconds_count", **key) - figure(
        before, "hazardloop_request_seconds_count", **key) == 3
    assert not any("900001" in str(labels) for _name, labels in after)


def test_task_completions_timers_fired_scheduler_lag_and_outbox_are_counted(api, app, client):
    before = figures(client)
    day = in_days(2)
    general_hazard_rectifying(api, day)  # reports, and completes the assessment
    mid = figures(client)
    assert figure(mid, "hazardloop_task_completions_total") - figure(before, "hazardloop_task_completions_total") == 1
    assert figure(mid, "hazardloop_scheduler_lag_seconds") == 0

    move_to(deadline_of(day) + timedelta(minutes=10))
    due = figures(client)
    assert 590 <= figure(due, "hazardloop_scheduler_lag_seconds") < 3 * 24 * 3600  # the oldest: a reminder
    assert figure(due, "hazardloop_timers_due") >= 1
    with app.app_context():
        from app.services import timers
        while timers.tick():
            pass
    fired = figures(client)
    assert figure(fired, "hazardloop_timers_fired_total") - figure(due, "hazardloop_timers_fired_total") >= 1
    assert figure(fired, "hazardloop_scheduler_lag_seconds") == 0 and figure(fired, "hazardloop_timers_due") == 0
    with app.app_context():
        from sqlalchemy import func, select

        from app.extensions import db
        from app.models import OutboxEmail, OutboxStatus
        pending = db.session.scalar(select(func.count()).select_from(OutboxEmail)
                                    .where(OutboxEmail.status == OutboxStatus.pending))
    assert figure(fired, "hazardloop_outbox_backlog") == pending


def test_engine_errors_are_counted(api, app, client):
    officer = api.as_("officer_a")
    before = figures(client)
    deploy_refusing_assessment(app)
    refused = report(officer)["id"]
    resp = officer.post(f"/tasks/{current_task(officer, refused, 'assess')}/complete", json={"data": {
        "measures_taken": "Locked the box", "completed_on": in_days(0), "after_photos": [upload(officer)]}})
    assert resp.status_code == 409, resp.get_json()
    broken = figures(client)
    assert figure(broken, "hazardloop_engine_errors_total") - figure(before, "hazardloop_engine_errors_total") == 1
    assert figure(broken, "hazardloop_task_completions_total") == figure(before, "hazardloop_task_completions_total")


@pytest.mark.postgres_only
def test_metrics_add_up_across_gunicorn_workers(tmp_path):
    from app.bench.server import Gunicorn

    with empty_pg_database("hazardloop_metrics") as url:
        prepare(url, tmp_path)
        multiproc = tmp_path / "prom"
        multiproc.mkdir()
        node = Gunicorn(url, 3, "metrics-secret", tmp_path / "gunicorn.log",
                        env=node_env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(multiproc)))
        try:
            node.wait_ready()
            for _ in range(30):
                with urllib.request.urlopen(f"{node.base}/readyz", timeout=10) as resp:
                    assert resp.status == 200
            with urllib.request.urlopen(f"{node.base}/metrics", timeout=10) as resp:
                text = resp.read().decode()
            pids = {p.name for p in multiproc.iterdir()}
        finally:
            node.stop()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    count = figure(samples, "hazardloop_request_seconds_count", method="GET", route="/readyz", status="200")
    assert count == 30, "every worker's requests are counted once"
    assert len(pids) > 1, "several workers answered"


def node_env(tmp_path, **extra) -> dict[str, str]:
    """The environment of a node started as a separate process (gunicorn, flask scheduler run)."""
    env = {"AUDIT_KEY": "node-audit-key", "SESSION_COOKIE_SECURE": "0", "HAZARDLOOP_INSTANCE_DIR": str(tmp_path),
           "UPLOAD_DIR": str(tmp_path / "uploads"), "LOG_FORMAT": "json", "RATELIMIT_ENABLED": "0"}
    env.update(extra)
    return env


def prepare(url: str, tmp_path) -> None:
    """Migrate, install the shipped diagrams and seed the demo world, as the README's set-up does."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=tmp_path, AUDIT_KEY="node-audit-key")
    runner = app.test_cli_runner()
    for command in (["db", "upgrade"], ["shipped", "install"], ["seed-demo"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, (command, result.output, result.exception)
    with app.app_context():
        from app.extensions import db
        db.engine.dispose()

