"""Several nodes, as a city runs it: two gunicorn web nodes (each its own instance folder, so nothing is shared
through a local disk) and two scheduler processes on one PostgreSQL database, one Redis (rate limits and login
throttling) and one S3-compatible object store (moto's server).

- a photo uploaded through node A is downloaded through node B;
- the login throttle holds across both nodes;
- node A killed with SIGKILL in the middle of a burst of task completions loses no completed work: every 2xx it
  answered is in the database, `flask audit verify` passes, node B keeps serving and finishes the rest;
- due timers fire exactly once with two schedulers running (counted from the audit trail and their metrics).

PostgreSQL only (it is what several nodes share); with REQUIRE_POSTGRES=1 (CI) a missing server fails the run.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import urllib3
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from app.bench.server import Gunicorn, free_port
from app.extensions import db
from app.models import AuditEvent, HumanTask, TaskStatus, User
from app.services import hazards
from app.services.demo import tiny_png
from config import TestConfig
from tests.conftest import seeded_app
from tests.helpers import REPORT, in_days
from tests.test_scheduler_processes import due_hazards, fired_counts, without_overdue_notices

ROOT = Path(__file__).resolve().parent.parent
DUE = 30        # hazards with a due deadline timer, for the two schedulers
BURST = 36      # assessments completed in a burst through node A, killed in the middle
HTTP = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=60))


@pytest.fixture
def cluster_app(pg_url, tmp_path):
    with seeded_app(pg_url, tmp_path / "test") as app:
        yield app


def node(tmp_path: Path, name: str, pg_url: str, env: dict[str, str]) -> Gunicorn:
    instance = tmp_path / name
    instance.mkdir()
    return Gunicorn(pg_url, 2, TestConfig.SECRET_KEY, tmp_path / f"{name}.log", env={
        **env, "HAZARDLOOP_INSTANCE_DIR": str(instance), "UPLOAD_DIR": str(instance / "uploads"),
        "AUDIT_KEY": TestConfig.AUDIT_KEY, "REPORTER_KEY": TestConfig.REPORTER_KEY, "SESSION_COOKIE_SECURE": "0", "RATELIMIT_ENABLED": "1",
        "LOG_FORMAT": "json"})


def call(base: str, method: str, path: str, token: str | None = None, **kw) -> tuple[int | None, dict | bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if "json" in kw:
        kw["body"] = json.dumps(kw.pop("json")).encode()
        headers["Content-Type"] = "application/json"
    try:
        resp = HTTP.request(method, f"{base}/api/v1{path}", headers={**headers, **kw.pop("headers", {})}, **kw)
    except urllib3.exceptions.HTTPError:
        return None, b""  # the node is gone (refused, reset)
    if resp.headers.get("Content-Type", "").startswith("application/json"):
        return resp.status, json.loads(resp.data)
    return resp.status, resp.data


def scheduler(tmp_path: Path, name: str, pg_url: str, metrics_port: int) -> subprocess.Popen:
    """`flask scheduler run` as its own process, its log in a file (a pipe nobody reads would stop it when full)."""
    env = {**os.environ, "FLASK_APP": "wsgi.py", "DATABASE_URL": pg_url, "HAZARDLOOP_INSTANCE_DIR": str(tmp_path),
           "SCHEDULER_IN_PROCESS": "0", "MAIL_ENABLED": "0", "SECRET_KEY": TestConfig.SECRET_KEY,
           "AUDIT_KEY": TestConfig.AUDIT_KEY, "REPORTER_KEY": TestConfig.REPORTER_KEY}
    with open(tmp_path / f"{name}.log", "ab") as log:
        return subprocess.Popen([str(Path(sys.executable).parent / "flask"), "scheduler", "run", "--interval", "0.5",
                                 "--metrics-port", str(metrics_port)], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)


def kill_node(gunicorn: Gunicorn) -> None:
    """SIGKILL the master and its workers at once, like a machine that loses power."""
    for pid in [*gunicorn.workers(), gunicorn.proc.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    gunicorn.proc.wait(timeout=10)


def scraped(port: int) -> float:
    resp = HTTP.request("GET", f"http://127.0.0.1:{port}/metrics")
    return sum(s.value for f in text_string_to_metric_families(resp.data.decode()) for s in f.samples
               if s.name == "hazardloop_timers_fired_total")


def open_assessments(app) -> list[int]:
    with app.app_context():
        ids = list(db.session.scalars(select(HumanTask.id).where(HumanTask.spec_name == "assess",
                                                                  HumanTask.status == TaskStatus.open)))
        db.session.remove()
    return ids


def test_two_web_nodes_and_two_schedulers_share_one_database_redis_and_object_store(
        cluster_app, pg_url, tmp_path, redis_url, s3_bucket):
    app = cluster_app
    started = time.monotonic()
    without_overdue_notices(app)
    due_hazards(app, DUE)
    with app.test_request_context():
        officer = db.session.scalar(select(User).where(User.username == "officer_a"))
        for i in range(BURST):
            hazards.report_hazard(officer, {**REPORT, "title": f"隐患 {i}"})
        db.session.remove()
    assessments = open_assessments(app)
    assert len(assessments) == BURST

    shared = {"STORAGE_URL": f"s3://{s3_bucket}/files", "REDIS_URL": redis_url,
              "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
              **{k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                            "AWS_DEFAULT_REGION")}}
    a, b = node(tmp_path, "node-a", pg_url, shared), node(tmp_path, "node-b", pg_url, shared)
    metrics_ports = [free_port(), free_port()]
    schedulers = [scheduler(tmp_path, f"scheduler-{i}", pg_url, port) for i, port in enumerate(metrics_ports)]
    try:
        a.wait_ready()
        b.wait_ready()

        # A photo uploaded through A is shown through B (neither node's disk has it).
        status, body = call(a.base, "POST", "/auth/token", json={"username": "officer_a", "password": "hazardloop"})
        assert status == 200, body
        token = body["token"]
        png = tiny_png((200, 10, 10))
        status, body = call(a.base, "POST", "/attachments", token, fields={"file": ("p.png", png, "image/png")})
        assert status == 201, body
        status, data = call(b.base, "GET", f"/attachments/{body['id']}", token)
        assert status == 200 and data == png
        assert not any(p.is_file() for p in tmp_path.glob("node-*/uploads/**/*"))

        # The login throttle holds across both nodes: two wrong passwords on each, then the right one is refused
        # on both (each node alone saw fewer than the free failures).
        for base in (a.base, b.base, a.base, b.base):
            call(base, "POST", "/auth/token", json={"username": "principal_a", "password": "wrong"})
        for base in (a.base, b.base):
            status, body = call(base, "POST", "/auth/token",
                                json={"username": "principal_a", "password": "hazardloop"})
            assert status == 429, body

        # A burst of completions through A; A is killed once it has answered some of them.
        answers: dict[int, int | None] = {}
        done_on_a = threading.Event()
        data = {"grade": "general", "responsible_person": "张安全", "measures": "加锁",
                "rectification_deadline": in_days(5)}

        def complete_on_a(task_id: int) -> None:
            status, _body = call(a.base, "POST", f"/tasks/{task_id}/complete", token, json={"data": data})
            answers[task_id] = status
            if sum(1 for s in answers.values() if s is not None and 200 <= s < 300) >= BURST // 4:
                done_on_a.set()

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(complete_on_a, t) for t in assessments]
            assert done_on_a.wait(60), answers
            kill_node(a)
            for future in futures:
                future.result()
        succeeded = {t for t, s in answers.items() if s is not None and 200 <= s < 300}
        lost_connection = {t for t, s in answers.items() if s is None}
        assert succeeded and lost_connection, f"A was killed in the middle of the burst: {answers}"
        assert all(s is None or 200 <= s < 300 for s in answers.values()), answers

        with app.app_context():
            completed = set(db.session.scalars(select(HumanTask.id).where(
                HumanTask.id.in_(assessments), HumanTask.status == TaskStatus.completed)))
            audited = {json.loads(d).get("task") for d in db.session.scalars(select(AuditEvent.data).where(
                AuditEvent.action == "task_completed"))}
            db.session.remove()
        assert succeeded <= completed, "every 2xx node A answered is in the database"
        assert len(audited) >= 1

        # Node B keeps serving and finishes what A did not (or tells that A did it just before it died).
        for task_id in sorted(set(assessments) - completed):
            status, body = call(b.base, "POST", f"/tasks/{task_id}/complete", token, json={"data": data})
            assert status in (200, 409), body
        assert set(open_assessments(app)).isdisjoint(assessments)
        assert HTTP.request("GET", f"{b.base}/readyz").status == 200

        # The schedulers have fired every due timer exactly once between them.
        deadline = time.monotonic() + 60
        while sum(fired_counts(app).values()) < DUE and time.monotonic() < deadline:
            time.sleep(0.3)
        fired = fired_counts(app)
        assert len(fired) == DUE and set(fired.values()) == {1}, fired
        assert sum(scraped(port) for port in metrics_ports) == DUE, "their own figures agree"
    finally:
        for process in schedulers:
            process.send_signal(signal.SIGTERM)
        for process in schedulers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for gunicorn in (a, b):
            if gunicorn.proc.poll() is None:
                gunicorn.stop()

    verify = subprocess.run([str(Path(sys.executable).parent / "flask"), "audit", "verify"], cwd=ROOT, check=False,
                            env={**os.environ, "FLASK_APP": "wsgi.py", "DATABASE_URL": pg_url,
                                 "SECRET_KEY": TestConfig.SECRET_KEY, "AUDIT_KEY": TestConfig.AUDIT_KEY, "REPORTER_KEY": TestConfig.REPORTER_KEY,
                                 "HAZARDLOOP_INSTANCE_DIR": str(tmp_path), "LOG_FORMAT": "text"},
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and "Audit trail intact" in verify.stdout, verify.stderr[-3000:]
    assert time.monotonic() - started < 120
