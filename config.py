"""Configuration, read from the environment. Every setting has a safe default for a first look."""
from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

BASE_DIR = Path(__file__).resolve().parent


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    # production (the default: fails closed) or development (`make run`: keys generated in the instance folder,
    # cookies also sent over plain http).
    ENVIRONMENT = os.environ.get("HAZARDLOOP_ENV", "production")
    # Signs sessions and remember-me cookies; must be the same in every worker. Production refuses to start without
    # SECRET_KEY or SECRET_KEY_FILE (app/security.py); development keeps a generated one in instance/secret_key.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SECRET_KEY_FILE = os.environ.get("SECRET_KEY_FILE")
    # Keys the audit trail's hash chain (HMAC-SHA256); lives outside the database. Same rules as SECRET_KEY
    # (instance/audit_key in development).
    AUDIT_KEY = os.environ.get("AUDIT_KEY")
    AUDIT_KEY_FILE = os.environ.get("AUDIT_KEY_FILE")
    # Encrypts the name and contact of people who report from the public (Fernet): outside the database, so that a
    # copy of the database (a backup, a replica) does not reveal who reported. Same rules as SECRET_KEY
    # (instance/reporter_key in development).
    REPORTER_KEY = os.environ.get("REPORTER_KEY")
    REPORTER_KEY_FILE = os.environ.get("REPORTER_KEY_FILE")
    INSTANCE_DIR = Path(os.environ.get("HAZARDLOOP_INSTANCE_DIR") or BASE_DIR / "instance")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'hazardloop.db'}"
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict] = {"pool_pre_ping": True}
    # A PostgreSQL streaming replica for reads that may lag (register, statistics, exports: app/services/replica.py);
    # a person who wrote reads the primary for REPLICA_STICKY_SECONDS afterwards (marked in the limiter's store).
    DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL") or None
    REPLICA_STICKY_SECONDS = int(os.environ.get("REPLICA_STICKY_SECONDS", "10"))
    BPMN_DIR = BASE_DIR / "bpmn"
    FORMS_DIR = BASE_DIR / "forms"
    UPLOAD_DIR = Path(os.environ.get("UPLOAD_DIR") or INSTANCE_DIR / "uploads")
    # Where uploaded files live (app/storage.py): unset or file:///path for a folder (UPLOAD_DIR when unset), or
    # s3://bucket/prefix for an S3-compatible object store (endpoint and credentials from AWS_ENDPOINT_URL,
    # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION) — needed once several machines serve.
    STORAGE_URL = os.environ.get("STORAGE_URL") or None
    MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
    # Whole-request cap: a few files per request at most.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(40 * 1024 * 1024)))
    # Text fields of one request (not files): Werkzeug's default of 500 kB turned a long paste into a bare 413
    # that lost the page; up to this size the form comes back with the field named and the text kept.
    MAX_FORM_MEMORY_SIZE = int(os.environ.get("MAX_FORM_MEMORY_SIZE", str(4 * 1024 * 1024)))
    API_TOKEN_TTL_HOURS = int(os.environ.get("API_TOKEN_TTL_HOURS", str(12)))
    LOCK_TIMEOUT_MS = int(os.environ.get("LOCK_TIMEOUT_MS", str(5000)))
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")
    # Wrong passwords for one account from one address: this many are free, then each further one makes that
    # pair wait twice as long as the last (1 s, 2 s, 4 s ... at most LOGIN_MAX_DELAY_SECONDS); forgotten after
    # LOGIN_FAILURE_WINDOW_HOURS without a failure. `flask users unlock NAME` clears it.
    LOGIN_FREE_FAILURES = int(os.environ.get("LOGIN_FREE_FAILURES", str(3)))
    LOGIN_FIRST_DELAY_SECONDS = int(os.environ.get("LOGIN_FIRST_DELAY_SECONDS", str(1)))
    LOGIN_MAX_DELAY_SECONDS = int(os.environ.get("LOGIN_MAX_DELAY_SECONDS", str(15 * 60)))
    LOGIN_FAILURE_WINDOW_HOURS = int(os.environ.get("LOGIN_FAILURE_WINDOW_HOURS", str(24)))
    # A signed-in session lasts this long (a server-side row: logging out ends it everywhere the cookie went);
    # "keep me signed in" makes it REMEMBER_DAYS.
    LOGIN_SESSION_HOURS = int(os.environ.get("LOGIN_SESSION_HOURS", str(12)))
    REMEMBER_DAYS = int(os.environ.get("REMEMBER_DAYS", str(14)))
    # Rate limits and login throttling: in each process's memory unless a shared store is set (Redis, needed as
    # soon as more than one worker or machine serves requests).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "hazardloop")  # several deployments, one Redis
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    BABEL_DEFAULT_LOCALE = os.environ.get("BABEL_DEFAULT_LOCALE", "zh")
    LANGUAGES = ("zh", "en")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Secure (https only) by default outside development; set SESSION_COOKIE_SECURE=0 to serve plain http.
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", ENVIRONMENT != "development")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None
    MAIL_ENABLED = _bool("MAIL_ENABLED", False)
    MAIL_HOST = os.environ.get("MAIL_HOST", "127.0.0.1")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", str(25)))
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "hazardloop@localhost")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "10"))
    # A group task with more candidates than this tells them by a digest e-mail instead of one e-mail each
    # (the inbox tells everyone at once); a digest goes out when its oldest item is NOTIFY_DIGEST_MINUTES old.
    NOTIFY_GROUP_EMAIL_MAX = int(os.environ.get("NOTIFY_GROUP_EMAIL_MAX", "10"))
    NOTIFY_DIGEST_MINUTES = float(os.environ.get("NOTIFY_DIGEST_MINUTES", "60"))
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    SCHEDULER_IN_PROCESS = _bool("SCHEDULER_IN_PROCESS", False)
    SCHEDULER_INTERVAL_SECONDS = float(os.environ.get("SCHEDULER_INTERVAL_SECONDS", "30"))
    # A timer fired more than this long after it was due is recorded as late (the scheduler was down).
    SCHEDULER_LATE_SECONDS = float(os.environ.get("SCHEDULER_LATE_SECONDS", "300"))
    # The scheduler opens each enterprise's quarterly/annual report the day after the period ends (README "Reports").
    REPORTS_OPEN_AUTOMATICALLY = os.environ.get("REPORTS_OPEN_AUTOMATICALLY", "1") == "1"
    # Lists (register, worklist, API) count at most this many rows and then show "10,000+":
    # an exact count(*) over a city's million hazards costs seconds and tells a person nothing more.
    LIST_COUNT_CAP = int(os.environ.get("LIST_COUNT_CAP", str(10_000)))
    # Repeat hazards (反复性隐患): the same fault at the same enterprise (same checklist item, or same location and
    # hazard type) reported again within this many days of an earlier one is linked to it and counted as a repeat
    # (0 turns recognition off).
    REPEAT_HAZARD_WINDOW_DAYS = int(os.environ.get("REPEAT_HAZARD_WINDOW_DAYS", str(365)))
    # Up to this many visible enterprises, filters and the report form offer a plain list;
    # beyond it, a search field asks the server for the matching names (type-ahead).
    ENTERPRISE_SELECT_MAX = int(os.environ.get("ENTERPRISE_SELECT_MAX", str(50)))
    # Uploads: images larger than this many pixels are refused (decompression bombs); files no form used are
    # deleted after UPLOAD_UNLINKED_HOURS; each user may upload UPLOAD_QUOTA_MB per day.
    MAX_IMAGE_PIXELS = int(os.environ.get("MAX_IMAGE_PIXELS", str(60_000_000)))
    UPLOAD_UNLINKED_HOURS = int(os.environ.get("UPLOAD_UNLINKED_HOURS", str(48)))
    UPLOAD_QUOTA_MB = int(os.environ.get("UPLOAD_QUOTA_MB", str(500)))
    # Reports from the public (no account): per client address on the shared limiter store; the challenge's
    # proof of work (ALTCHA, up to this many hashes: a second or so on a phone) and how long a challenge lasts;
    # a report of the same enterprise within this many days whose description is this similar is a duplicate.
    PUBLIC_REPORT_LIMIT = os.environ.get("PUBLIC_REPORT_LIMIT", "5 per hour")
    PUBLIC_UPLOAD_LIMIT = os.environ.get("PUBLIC_UPLOAD_LIMIT", "20 per hour")
    PUBLIC_LOOKUP_LIMIT = os.environ.get("PUBLIC_LOOKUP_LIMIT", "20 per hour")
    PUBLIC_SEARCH_LIMIT = os.environ.get("PUBLIC_SEARCH_LIMIT", "120 per minute")
    PUBLIC_CHALLENGE_MAX_NUMBER = int(os.environ.get("PUBLIC_CHALLENGE_MAX_NUMBER", str(100_000)))
    PUBLIC_CHALLENGE_MINUTES = int(os.environ.get("PUBLIC_CHALLENGE_MINUTES", str(30)))
    PUBLIC_PHOTOS_MAX = int(os.environ.get("PUBLIC_PHOTOS_MAX", str(6)))
    PUBLIC_DUPLICATE_DAYS = int(os.environ.get("PUBLIC_DUPLICATE_DAYS", str(14)))
    PUBLIC_DUPLICATE_SIMILARITY = float(os.environ.get("PUBLIC_DUPLICATE_SIMILARITY", "0.8"))


    # Logs: one JSON object per line on stderr ("json"), plain lines ("text"), or Python's defaults (empty).
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # /metrics (Prometheus): answered to `Authorization: Bearer METRICS_TOKEN` when set, else only to 127.0.0.1/::1.
    # Counts add up across gunicorn workers when PROMETHEUS_MULTIPROC_DIR names an empty folder (gunicorn.conf.py).
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None


class TestConfig(Config):
    TESTING = True
    ENVIRONMENT = "testing"
    SECRET_KEY = "test-secret"
    AUDIT_KEY = "test-audit-key"
    REPORTER_KEY = "test-reporter-key"
    PUBLIC_CHALLENGE_MAX_NUMBER = 2000  # tests solve challenges in Python
    SESSION_COOKIE_SECURE = REMEMBER_COOKIE_SECURE = False
    WTF_CSRF_ENABLED = True
    RATELIMIT_ENABLED = False
    LOG_FORMAT = ""  # pytest captures the records
    # Fast hashing for the many test users; production keeps scrypt.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    # Tests that move the clock past a quarter's end do not get reports opened; tests of the job turn it on.
    REPORTS_OPEN_AUTOMATICALLY = False
