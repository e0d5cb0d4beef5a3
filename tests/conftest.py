"""Fixtures in the flaskr style: `app`, `client`, `runner`, plus `api` for token-authenticated calls.

Every test that takes `app` runs once on SQLite and once on PostgreSQL (127.0.0.1:5432 or
DATABASE_URL_TEST). With REQUIRE_POSTGRES=1 (CI) an unreachable PostgreSQL fails the run.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.clock import clock
from app.extensions import db
from app.services import immutable
from config import TestConfig
from tests.helpers import MIGRATED

ROOT = Path(__file__).resolve().parent.parent


def pytest_sessionstart(session):
    """Compile the translation catalogs, so running pytest directly tests the current messages."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "compile", "-f",
                    "-d", str(ROOT / "app" / "translations")], check=True, capture_output=True)


PG_ADMIN_URL = os.environ.get("DATABASE_URL_TEST", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 — any failure means: no PostgreSQL here
        return False


@contextmanager
def empty_pg_database(prefix: str = "hazardloop_test"):
    """The URL of a new, empty PostgreSQL database, dropped when the block ends (skips, or fails in CI, without
    PostgreSQL)."""
    if not _pg_available():
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url():
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    with empty_pg_database() as url:
        yield url


# Shared through tests.helpers: modules that import from tests.conftest get a second copy of this module (pytest
# loads it as `conftest`), and each copy would otherwise migrate and seed again without emptying the database.
_migrated = MIGRATED


def make_app(db_url: str, tmp: Path, **overrides):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=db_url, INSTANCE_DIR=tmp, UPLOAD_DIR=tmp / "uploads",
                     **overrides)
    with app.app_context():
        if db_url not in _migrated:
            upgrade()
            _migrated.add(db_url)
        else:
            _truncate()
    return app


def _truncate() -> None:
    immutable.clear()  # the ids of version rows start again from 1
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    return request.param


@contextmanager
def seeded_app(db_url: str, tmp: Path, **overrides):
    """An application on a migrated, emptied database holding the demo world; the clock reset before and after."""
    app = make_app(db_url, tmp, **overrides)
    clock.reset()
    with app.app_context():
        from app.services.demo import seed_world

        seed_world()
    try:
        yield app
    finally:
        clock.reset()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(backend, request, tmp_path):
    url = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    with seeded_app(url, tmp_path) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Api:
    """Calls the JSON API as a named demo user: `api.as_("officer_a").post("/hazards", json=...)`."""

    def __init__(self, client):
        self.client = client
        self.tokens: dict[str, str] = {}
        self.user: str | None = None

    def token(self, username: str) -> str:
        if username not in self.tokens:
            resp = self.client.post("/api/v1/auth/token", json={"username": username, "password": "hazardloop"})
            assert resp.status_code == 200, resp.get_json()
            self.tokens[username] = resp.get_json()["token"]
        return self.tokens[username]

    def as_(self, username: str) -> Api:
        other = Api(self.client)
        other.tokens = self.tokens
        other.user = username
        return other

    def _headers(self, extra=None):
        headers = {"Authorization": f"Bearer {self.token(self.user)}"} if self.user else {}
        headers.update(extra or {})
        return headers

    def get(self, path, **kw):
        return self.client.get(f"/api/v1{path}", headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path, **kw):
        return self.client.post(f"/api/v1{path}", headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, path, **kw):
        return self.client.patch(f"/api/v1{path}", headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture(scope="session")
def redis_url():
    """A Redis server of this test session's own (Debian's redis-server on a free port, keeping nothing on disk)."""
    import shutil
    import socket
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("redis-server is required in CI (Debian package redis-server; `make test` installs it)")
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """An S3-compatible server of this test session's own: moto's standalone server (PyPI moto[server], a dev
    dependency) on a free port. Yields the environment boto3 reads (endpoint, credentials, region); a test makes its
    bucket with `s3_bucket`."""
    from app.bench.storage import moto_server

    try:
        with moto_server() as env:
            yield env
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def s3_bucket(s3_server, monkeypatch):
    """A new, empty bucket on the session's S3 server, with boto3's environment pointing at it: yields the bucket's
    name (STORAGE_URL=s3://NAME/prefix)."""
    import boto3

    for name, value in s3_server.items():
        monkeypatch.setenv(name, value)
    bucket = f"hazardloop-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return bucket


PG_BIN = Path("/usr/lib/postgresql/15/bin")
REPLICATION_RULE = "host replication all 127.0.0.1/32 trust"


def _allow_local_replication(admin) -> None:
    """The primary must accept replication connections from 127.0.0.1 (Debian's default pg_hba.conf does not):
    add the one rule and reload when it is missing. Needs write access to pg_hba.conf (root, as in CI)."""
    with admin.connect() as conn:
        hba = Path(conn.scalar(sa.text("SHOW hba_file")))
        rules = [line.split() for line in hba.read_text().splitlines() if line.strip() and not line.startswith("#")]
        if REPLICATION_RULE.split() not in rules:
            with hba.open("a") as out:
                out.write(f"\n# added by HazardLoop's tests (tests/conftest.py pg_replica)\n{REPLICATION_RULE}\n")
            conn.execute(sa.text("SELECT pg_reload_conf()"))


@pytest.fixture(scope="session")
def pg_replica(pg_url):
    """A streaming replica of the test PostgreSQL, made with pg_basebackup and started on a free port as the
    `postgres` OS user; yields the replica's URL of the session's database (pg_url). Stopped at the end."""
    import shutil
    import subprocess
    import tempfile
    import time

    if os.geteuid() != 0 or shutil.which("runuser") is None or not (PG_BIN / "pg_ctl").exists():
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("the replica test needs root, runuser and PostgreSQL 15's server binaries")
        pytest.skip("cannot start a PostgreSQL replica here")
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    _allow_local_replication(admin)
    admin.dispose()
    primary = sa.engine.make_url(PG_ADMIN_URL)
    root = Path(tempfile.mkdtemp(prefix="hazardloop-replica-"))  # not under pytest's root-only folders
    data = root / "data"
    shutil.chown(root, "postgres", "postgres")
    port = _free_port()

    def as_postgres(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=False, capture_output=True, text=True,
                              timeout=300)

    for attempt in range(4):  # a backup is cut short when another session's DROP DATABASE ... FORCE lands on it
        backup = as_postgres("pg_basebackup", "-h", primary.host or "127.0.0.1", "-p", str(primary.port or 5432),
                             "-U", primary.username or "postgres", "-D", str(data), "-R", "-X", "stream")
        if backup.returncode == 0:
            break
        shutil.rmtree(data, ignore_errors=True)
        if attempt == 3:
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail(f"pg_basebackup failed: {backup.stderr[-2000:]}")
        time.sleep(1)
    # Debian keeps the configuration in /etc: the copy gets its own, minimal one.
    (data / "postgresql.conf").write_text(
        f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\nhot_standby = on\n")
    (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    (data / "pg_ident.conf").write_text("")
    for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
        shutil.chown(data / name, "postgres", "postgres")
    url = sa.engine.make_url(pg_url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    try:
        started = as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "replica.log"), "-w", "-t",
                              "60", "start")
        assert started.returncode == 0, (root / "replica.log").read_text()[-3000:]
        engine = sa.create_engine(url)
        deadline = time.monotonic() + 60
        while True:
            try:
                with engine.connect() as conn:
                    assert conn.scalar(sa.text("SELECT pg_is_in_recovery()")) is True
                break
            except sa.exc.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        engine.dispose()
        yield url
    finally:
        as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
