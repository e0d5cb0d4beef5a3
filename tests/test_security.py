"""Issue 18: headers on pages and on users' files, sessions that end at logout, keys production must be given,
throttling of wrong passwords that strangers cannot turn against a user, a shared limiter and the limits on uploads
(the keyed audit chain: tests/test_audit.py)."""
from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.clock import clock
from app.extensions import db
from app.models import Attachment
from app.services import timers
from app.services.demo import tiny_png
from config import TestConfig
from tests.conftest import ROOT
from tests.helpers import report, stored_keys, upload
from tests.test_pages import Pages


@pytest.fixture
def pages(client):
    return Pages(client)


def stranger(address: str = "10.9.8.7") -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


# ------------------------------------------------------------------------------------------------ headers
def test_every_page_forbids_framing_sniffing_and_foreign_scripts(client):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "default-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"


def test_no_template_carries_inline_script():
    import re

    for path in (ROOT / "app" / "templates").rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+=\"", html), f"{path.name}: inline event handler"
        assert "javascript:" not in html, f"{path.name}: javascript: URL"
        for script in re.findall(r"<script([^>]*)>", html):
            assert "src=" in script or 'type="application/json"' in script, f"{path.name}: inline <script>"


def test_users_files_are_sandboxed_and_downloaded_unless_a_photo_shown_inline(api, pages):
    officer = api.as_("officer_a")
    photo = upload(officer)
    pdf = upload(officer, b"%PDF-1.4\n<script>alert(1)</script>\n%%EOF", "x.pdf")
    hazard = report(officer, photos=[photo])["id"]
    pages.login("officer_a")
    shown = pages.get(f"/attachments/{photo}")
    assert shown.status_code == 200
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert "sandbox" in shown.headers["Content-Security-Policy"] and shown.headers["X-Content-Type-Options"] == "nosniff"
    assert pages.get(f"/attachments/{photo}?download=1").headers["Content-Disposition"].startswith("attachment")
    document = officer.get(f"/attachments/{pdf}")
    assert document.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in document.headers["Content-Security-Policy"]
    diagram = pages.get(f"/hazards/{hazard}/diagram.bpmn")
    assert diagram.status_code == 200 and diagram.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in diagram.headers["Content-Security-Policy"]
    assert "script-src" not in diagram.headers["Content-Security-Policy"]  # default-src 'none' covers scripts
    assert diagram.headers["X-Content-Type-Options"] == "nosniff"


# ------------------------------------------------------------------------------------------------ sessions
def test_a_session_cookie_copied_before_logout_no_longer_works(pages, client):
    pages.login("officer_a")
    stolen = client.get_cookie("session").value
    assert pages.get("/tasks").status_code == 200
    pages.logout()
    client.set_cookie("session", stolen)
    resp = client.get("/tasks")
    assert resp.status_code == 302 and "/login" in resp.location


def test_remember_me_is_a_new_token_per_login_lax_httponly_and_bounded(app):
    cookies = []
    for _ in range(2):
        client = app.test_client()
        pages = Pages(client)
        pages.get("/login")
        resp = pages.post("/login", {"username": "officer_a", "password": "hazardloop", "remember": "y"})
        assert resp.status_code == 302
        header = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("remember_token="))
        assert "HttpOnly" in header and "SameSite=Lax" in header
        cookies.append(client.get_cookie("remember_token").value)
        expires = client.get_cookie("remember_token").expires
        assert expires is not None and (expires.timestamp() - time.time()) <= app.config["REMEMBER_DAYS"] * 86400 + 60
    assert cookies[0] != cookies[1]
    # The remembered sign-in alone (no session cookie) works until that device logs out.
    client = app.test_client()
    client.set_cookie("remember_token", cookies[0])
    assert client.get("/tasks").status_code == 200


def _start(env: dict, code: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"HAZARDLOOP_ENV", "SECRET_KEY", "AUDIT_KEY", "SECRET_KEY_FILE", "AUDIT_KEY_FILE",
                          "REPORTER_KEY", "REPORTER_KEY_FILE", "SESSION_COOKIE_SECURE"}}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True,
                          text=True, timeout=120, check=False)


def test_production_refuses_to_start_without_its_keys_and_sends_secure_cookies(tmp_path):
    instance = {"HAZARDLOOP_INSTANCE_DIR": str(tmp_path)}
    code = "from app import create_app; a = create_app(); print(a.config['SESSION_COOKIE_SECURE'])"
    refused = _start(instance, code)
    assert refused.returncode != 0 and "SECRET_KEY is not set" in refused.stderr
    assert "AUDIT_KEY is not set" in _start({**instance, "SECRET_KEY": "k" * 32}, code).stderr
    keys = {"SECRET_KEY": "k" * 32, "AUDIT_KEY": "a" * 32}
    assert "REPORTER_KEY is not set" in _start({**instance, **keys}, code).stderr
    started = _start({**instance, **keys, "REPORTER_KEY": "r" * 32}, code)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "True"


def test_development_keeps_generated_keys_in_the_instance_folder(tmp_path):
    env = {"HAZARDLOOP_INSTANCE_DIR": str(tmp_path), "HAZARDLOOP_ENV": "development"}
    code = "from app import create_app; a = create_app(); print(a.config['SECRET_KEY'], a.config['SESSION_COOKIE_SECURE'])"
    first, second = _start(env, code), _start(env, code)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout and first.stdout.split()[1] == "False"
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0 and (tmp_path / "audit_key").exists()


# ------------------------------------------------------------------------------------------------ login throttling
def test_a_stranger_cannot_lock_a_user_out(pages, app, client):
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 3):
        resp = client.post("/api/v1/auth/token", json={"username": "admin", "password": "guess"}, **stranger())
    assert resp.status_code == 429 and "等待" in resp.get_json()["error"]
    assert pages.login("admin").status_code == 302  # the administrator, from their own address


def test_known_and_unknown_names_get_the_same_answers(client, app):
    def answers(name: str) -> list[tuple[int, str]]:
        out = []
        for _ in range(app.config["LOGIN_FREE_FAILURES"] + 2):
            resp = client.post("/api/v1/auth/token", json={"username": name, "password": "guess"},
                               headers={"Accept-Language": "en"}, **stranger("10.1.1.1"))
            out.append((resp.status_code, resp.get_json()["error"]))
        return out

    known, unknown = answers("officer_b"), answers("no_such_user")
    assert known == unknown
    assert known[0] == (401, "Wrong user name or password.") and known[-1][0] == 429


def test_the_delay_grows_and_passes_and_an_administrator_can_lift_it(client, app, runner):
    free = app.config["LOGIN_FREE_FAILURES"]
    body = {"username": "officer_a", "password": "guess"}
    for _ in range(free + 1):
        client.post("/api/v1/auth/token", json=body, **stranger())
    good = {"username": "officer_a", "password": "hazardloop"}
    assert client.post("/api/v1/auth/token", json=good, **stranger()).status_code == 429  # even the right one
    time.sleep(1.1)  # the first delay is one second
    assert client.post("/api/v1/auth/token", json=body, **stranger()).status_code == 401
    resp = client.post("/api/v1/auth/token", json=body, **stranger())
    assert resp.status_code == 429  # now two seconds
    result = runner.invoke(args=["users", "unlock", "OFFICER_A"])
    assert result.exit_code == 0, result.output
    assert client.post("/api/v1/auth/token", json=good, **stranger()).status_code == 200
    assert runner.invoke(args=["users", "unlock", "nobody"]).exit_code == 1


def test_the_login_page_answers_a_throttled_address_with_429(pages, app):
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 1):
        pages.login("officer_a", "wrong", **stranger())
    resp = pages.login("officer_a", **stranger())
    assert resp.status_code == 429 and "秒" in resp.get_data(as_text=True)


# ------------------------------------------------------------------------------------------------ shared limiter
class Worker:
    """A gunicorn process of its own, as in production (Flask-Limiter's state is per process)."""

    def __init__(self, tmp_path, env: dict) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        full = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}", "SECRET_KEY": "k" * 32,
                "AUDIT_KEY": "a" * 32, "REPORTER_KEY": "r" * 32, "HAZARDLOOP_INSTANCE_DIR": str(tmp_path), **env}
        self.proc = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-w", "1", "-b",
                                      f"127.0.0.1:{self.port}", "wsgi:app"], cwd=ROOT, env=full,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login", timeout=30):
                    return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.2)

    def post_token(self) -> int:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v1/auth/token", data=b"x",
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def test_two_workers_share_one_rate_limit_on_redis(tmp_path, redis_url):
    env = {"RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex}
    workers = [Worker(tmp_path, env), Worker(tmp_path, env)]
    try:
        for worker in workers:
            worker.wait_ready()
        statuses = [workers[i % 2].post_token() for i in range(11)]
    finally:
        for worker in workers:
            worker.stop()
    assert statuses[:10] == [400] * 10 and statuses[10] == 429  # 10 per minute in all, not 10 per worker


def test_two_workers_share_the_throttling_of_wrong_passwords_on_redis(app, redis_url):
    prefix = uuid.uuid4().hex
    workers = [create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                          INSTANCE_DIR=app.instance_path, RATELIMIT_STORAGE_URI=redis_url,
                          RATELIMIT_KEY_PREFIX=prefix).test_client() for _ in range(2)]
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 1):
        workers[0].post("/api/v1/auth/token", json={"username": "officer_a", "password": "guess"})
    resp = workers[1].post("/api/v1/auth/token", json={"username": "officer_a", "password": "hazardloop"})
    assert resp.status_code == 429


# ------------------------------------------------------------------------------------------------ uploads
def _png_header(width: int, height: int) -> bytes:
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def test_an_image_with_too_many_pixels_is_refused_and_leaves_no_file(api, app):
    officer = api.as_("officer_a")
    for width, height in ((20000, 20000), (9000, 9000)):  # beyond Pillow's own bomb limit, and beyond ours
        resp = officer.post("/attachments", data={"file": (io.BytesIO(_png_header(width, height)), "bomb.png")},
                            content_type="multipart/form-data")
        assert resp.status_code == 422 and "file" in resp.get_json()["fields"], resp.get_json()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    assert not stored_keys(app)
    assert upload(officer, _png_header(4000, 3000)) > 0


def test_a_daily_upload_quota_per_user(api, app):
    app.config["UPLOAD_QUOTA_MB"] = 1
    pdf = b"%PDF-1.4\n" + b"0" * 700_000
    upload(api.as_("officer_a"), pdf, "a.pdf")
    resp = api.as_("officer_a").post("/attachments", data={"file": (io.BytesIO(pdf), "b.pdf")},
                                     content_type="multipart/form-data")
    assert resp.status_code == 413 and "24" in resp.get_json()["error"]
    upload(api.as_("officer_b"), pdf, "c.pdf")  # another user's own quota


def test_uploads_no_form_used_are_removed_after_a_while(api, app):
    officer = api.as_("officer_a")
    used = upload(officer)
    report(officer, photos=[used])
    orphan = upload(officer, tiny_png((1, 2, 3)))
    with app.app_context():
        keys = dict(db.session.execute(sa.select(Attachment.id, Attachment.storage_key)).all())
        clock.advance(hours=app.config["UPLOAD_UNLINKED_HOURS"] - 1)
        assert timers.tick().uploads_removed == 0
        clock.advance(hours=2)
        assert timers.tick().uploads_removed == 1
        assert db.session.get(Attachment, orphan) is None and db.session.get(Attachment, used) is not None
    assert keys[orphan] not in stored_keys(app)
    assert keys[used] in stored_keys(app)

