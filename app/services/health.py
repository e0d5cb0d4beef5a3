"""Is this node fit to serve? Answers for load balancers (/readyz) and the figures /metrics reads from the database."""
from __future__ import annotations

import logging
from functools import cache

from flask import current_app
from sqlalchemy import func, inspect, select, text

from app.clock import clock
from app.extensions import db
from app.models import OutboxEmail, OutboxStatus, Timer, TimerStatus
from app.storage import check_writable, storage

log = logging.getLogger("hazardloop.health")


@cache
def _expected_heads(directory: str) -> frozenset[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def readiness() -> dict[str, str]:
    """{"database": ..., "migrations": ..., "storage": ...}, each "ok" or what is wrong; reads only (the storage check
    writes and removes a probe file in the file store, never a row)."""
    checks: dict[str, str] = {}
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            current = set(conn.scalars(text("SELECT version_num FROM alembic_version"))) if inspect(
                conn).has_table("alembic_version") else set()
        expected = _expected_heads(current_app.extensions["migrate"].directory)
        checks["migrations"] = "ok" if current == expected else (
            f"database at {', '.join(sorted(current)) or 'nothing'}, code expects {', '.join(sorted(expected))}: "
            "run flask db upgrade")
    except Exception as exc:  # noqa: BLE001 — any failure means: not ready, and says which
        log.warning("readiness: database unreachable: %s", exc)
        checks.setdefault("database", f"unreachable: {type(exc).__name__}")
        checks.setdefault("migrations", "unknown (no database)")
    try:
        check_writable(storage())
        checks["storage"] = "ok"
    except Exception as exc:  # noqa: BLE001
        log.warning("readiness: file store not writable: %s", exc)
        checks["storage"] = f"not writable: {type(exc).__name__}"
    return checks


def database_figures() -> dict[str, float]:
    """Scheduler lag (now − the oldest due pending timer), due timers and the outbox backlog, for /metrics."""
    now = clock.now()
    due = (Timer.status == TimerStatus.pending) & (Timer.due_at <= now)
    oldest, count = db.session.execute(select(func.min(Timer.due_at), func.count()).where(due)).one()
    backlog = db.session.scalar(select(func.count()).select_from(OutboxEmail)
                                .where(OutboxEmail.status == OutboxStatus.pending)) or 0
    if oldest is not None and oldest.tzinfo is None:  # SQLite hands back naive UTC
        oldest = oldest.replace(tzinfo=now.tzinfo)
    db.session.rollback()  # a read: end the transaction, hold nothing
    return {"hazardloop_scheduler_lag_seconds": (now - oldest).total_seconds() if oldest is not None else 0.0,
            "hazardloop_timers_due": float(count), "hazardloop_outbox_backlog": float(backlog)}
