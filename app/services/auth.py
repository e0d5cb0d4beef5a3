"""Passwords, lockout after repeated failures, and API bearer tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.clock import clock
from app.extensions import db
from app.models import ApiToken, User
from app.services.errors import Locked, Unauthorized

# Checked against when the user does not exist, so both paths cost the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def authenticate(username: str, password: str) -> User:
    """The user for these credentials; repeated failures lock the account for a while."""
    user = db.session.scalar(select(User).where(func.lower(User.username) == (username or "").strip().lower()))
    now = clock.now()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise Locked(_("Too many failed attempts: this account is locked for %(m)d more minute(s).", m=minutes))
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password or "")
        raise Unauthorized(_("Wrong user name or password."))
    if not check_password_hash(user.password_hash, password or ""):
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
            user.failed_logins = 0
        db.session.commit()
        raise Unauthorized(_("Wrong user name or password."))
    if user.failed_logins or user.locked_until:
        user.failed_logins, user.locked_until = 0, None
        db.session.commit()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    """A new bearer token; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    row = ApiToken(user_id=user.id, token_hash=_digest(token), created_at=now,
                   expires_at=now + timedelta(hours=current_app.config["API_TOKEN_TTL_HOURS"]))
    db.session.add(row)
    db.session.commit()
    return token, row


_TOKEN_USER = (select(ApiToken.expires_at, User).join(User, User.id == ApiToken.user_id)
               .where(ApiToken.token_hash == bindparam("token_hash")))


def user_for_token(token: str) -> User | None:
    found = db.session.execute(_TOKEN_USER, {"token_hash": _digest(token)}).first()
    if found is None or found.expires_at <= clock.now() or not found.User.active:
        return None
    return found.User
