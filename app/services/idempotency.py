"""Idempotent creating requests: the `Idempotency-Key` a client sends is stored in the same transaction as what
the request creates, so a retry (after a lost answer) finds what the first attempt made instead of making it
again. A key belongs to one user and one operation; what it created is kept by id and answered afresh."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import event, select

from app.clock import clock
from app.extensions import db
from app.models import IdempotencyKey, User
from app.services.errors import ValidationFailed

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


def check_key(key: str) -> str:
    """The key as sent, or ValidationFailed naming the header: 1 to 200 visible ASCII characters."""
    if not 0 < len(key) <= MAX_KEY_LENGTH or not all("!" <= c <= "~" for c in key):
        message = _("%(header)s: send 1 to %(n)d visible ASCII characters (a UUID is a good key).", header=HEADER,
                    n=MAX_KEY_LENGTH)
        raise ValidationFailed(message, fields={HEADER: message})
    return key


def begin(user: User, key: str, endpoint: str, *, creates: type | None = None,
          result_id: int | None = None) -> int | None:
    """The id the first request with this key created (answer it again), or None: then the key is added to the
    current transaction and commits with what this request creates (a row of `creates`, whose id is noted when
    it is flushed; or `result_id`, the existing row the request acts on)."""
    row = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user.id,
                                                         IdempotencyKey.key == check_key(key)))
    if row is not None and row.endpoint != endpoint:
        message = _("%(header)s: this key was already used for another request; send a new key for each request.",
                    header=HEADER)
        raise ValidationFailed(message, fields={HEADER: message})
    if row is not None and row.result_id is not None:
        return row.result_id
    if row is None:
        row = IdempotencyKey(user_id=user.id, key=key, endpoint=endpoint, created_at=clock.now())
        db.session.add(row)
    row.result_id = result_id
    if creates is not None:
        _note_created(row, creates)
    return None


def _note_created(row: IdempotencyKey, model: type) -> None:
    """Note the id of the first `model` row this transaction flushes, and write it on `row` when it commits."""
    session, created = db.session(), []

    def flushed(flushing, _context) -> None:
        created.extend(obj for obj in flushing.new if isinstance(obj, model))

    def committing(_session) -> None:
        if row.result_id is None and created:
            row.result_id = created[0].id  # flushed by the commit itself, in the same transaction

    event.listen(session, "after_flush", flushed)
    event.listen(session, "before_commit", committing)
