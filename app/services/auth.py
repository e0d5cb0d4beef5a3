"""Passwords, throttling of wrong passwords (services/login_throttle.py), signed-in sessions and API bearer tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.clock import clock
from app.extensions import db
from app.models import ApiToken, LoginSession, User
from app.services.errors import Locked, NotFound, Unauthorized
from app.services.login_throttle import Throttle, normalise
from app.services.login_throttle import unlock as unlock_throttle


@cache
def _dummy_hash(method: str) -> str:
    """Checked against when the user does not exist: both paths cost one hash of the same kind."""
    return generate_password_hash(secrets.token_hex(16), method=method)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def authenticate(username: str, password: str, source: str | None) -> User:
    """The user for these credentials, tried from address `source`.

    Unknown names, inactive accounts and wrong passwords get the same answer after the same work; repeated
    failures slow down that name from that address only (Locked, 429).
    """
    throttle = Throttle(username, source)
    wait = throttle.wait_seconds()
    if wait:
        raise Locked(_("Too many failed attempts: wait %(s)d seconds, then try again. If you forgot your "
                       "password, ask your administrator.", s=wait))
    user = db.session.scalar(select(User).where(func.lower(User.username) == normalise(username)))
    usable = user is not None and user.active
    stored = user.password_hash if usable else _dummy_hash(current_app.config["PASSWORD_HASH_METHOD"])
    if not check_password_hash(stored, password or "") or not usable:
        throttle.failed()
        raise Unauthorized(_("Wrong user name or password."))
    throttle.succeeded()
    return user


def unlock(username: str) -> User:
    """An administrator lifts the throttling of an account (every address)."""
    user = db.session.scalar(select(User).where(func.lower(User.username) == normalise(username)))
    if user is None:
        raise NotFound(_("There is no user %(name)s.", name=username))
    unlock_throttle(user.username)
    return user


def _wall_clock() -> datetime:
    """Sessions end by the real clock: tests move the application's clock (app/clock.py) by days to fire deadlines,
    and a person's sign-in is not part of that simulated time."""
    return datetime.now(UTC)


def start_session(user: User, remember: bool) -> None:
    """A new signed-in session for this user: its token goes into the cookies (User.get_id), its hash into a row."""
    token = secrets.token_urlsafe(32)
    now = _wall_clock()
    lifetime = (timedelta(days=current_app.config["REMEMBER_DAYS"]) if remember
                else timedelta(hours=current_app.config["LOGIN_SESSION_HOURS"]))
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at <= now))
    db.session.add(LoginSession(token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=now + lifetime))
    db.session.commit()
    user.session_token = token


def session_user(cookie_id: str) -> User | None:
    """The user of a session cookie's id ("<user id>:<token>"), if that session is still open."""
    user_id, _sep, token = cookie_id.partition(":")
    if not token or not user_id.isdigit():
        return None
    found = db.session.execute(select(LoginSession.expires_at, User).join(User, User.id == LoginSession.user_id)
                               .where(LoginSession.token_hash == _digest(token))).first()
    if found is None or found.User.id != int(user_id) or found.expires_at <= _wall_clock() or not found.User.active:
        return None
    found.User.session_token = token
    return found.User


def end_session(user: User) -> None:
    """Log out: the session's row goes, so its cookies (and any copy of them) no longer sign anyone in."""
    if user.session_token:
        db.session.execute(delete(LoginSession).where(LoginSession.token_hash == _digest(user.session_token)))
        db.session.commit()
    user.session_token = None


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


def end_sessions(user_id: int, *, keep_session: str | None = None, keep_token: str | None = None) -> None:
    """End the user's signed-in sessions and API tokens at once (in the caller's transaction), except the
    session and the bearer token given (the ones a person changing their own password is using)."""
    sessions = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep_session:
        sessions = sessions.where(LoginSession.token_hash != _digest(keep_session))
    tokens = delete(ApiToken).where(ApiToken.user_id == user_id)
    if keep_token:
        tokens = tokens.where(ApiToken.token_hash != _digest(keep_token))
    db.session.execute(sessions)
    db.session.execute(tokens)


def password_matches(user: User, password: str) -> bool:
    """Whether `password` is the user's current password."""
    return check_password_hash(user.password_hash, password or "")
