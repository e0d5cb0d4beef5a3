"""Reads that may lag go to a streaming replica (DATABASE_REPLICA_URL); a person always sees their own writes.

The one home of replica routing. A service whose read may be a few seconds old (the register, statistics, exports)
runs its queries inside `reads(user)`: they go to the replica unless the user wrote within
REPLICA_STICKY_SECONDS (then to the primary, which has their write). The web layer calls `wrote(user_id)` after every
successful write request; the mark lives in the limiter's store (Redis when several nodes serve), so it holds on
whichever node the next request reaches. Without DATABASE_REPLICA_URL everything reads the primary.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app

from app.extensions import REPLICA_BIND, USE_REPLICA, db
from app.services.login_throttle import shared_store


def _key(user_id: int) -> str:
    return f"{current_app.config['RATELIMIT_KEY_PREFIX']}:wrote:{user_id}"


def configured() -> bool:
    return bool(current_app.config.get("DATABASE_REPLICA_URL"))


def wrote(user_id: int) -> None:
    """`user_id` has just written: their reads use the primary for REPLICA_STICKY_SECONDS from now."""
    if not configured():
        return
    store, key = shared_store(), _key(user_id)
    store.clear(key)  # a fresh key: the window starts again at this write
    store.incr(key, int(current_app.config["REPLICA_STICKY_SECONDS"]))


def recently_wrote(user_id: int) -> bool:
    return shared_store().get(_key(user_id)) > 0


@contextmanager
def reads(user) -> Iterator[None]:
    """Run the block's SELECTs on the replica when that is safe for `user` (see the module docstring)."""
    session = db.session()
    use = configured() and REPLICA_BIND in db.engines and not recently_wrote(user.id)
    before = session.info.get(USE_REPLICA)
    session.info[USE_REPLICA] = use
    try:
        yield
    finally:
        session.info[USE_REPLICA] = before
