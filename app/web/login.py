"""Who is calling: pages sign in with a session cookie, the JSON API with a bearer token (both Flask-Login).

Under /api/ the session is neither read nor written (a token-authenticated request sets no cookie, and a
browser's cookie cannot act through the CSRF-exempt API): Flask-Login's request loader reads
`Authorization: Bearer <token>` (one query for the token and its user).
"""
from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from app.extensions import login_manager
from app.models import User
from app.services import auth

API_PATHS = "/api/"


def is_api_request() -> bool:
    return request.path.startswith(API_PATHS)


def bearer_token() -> str | None:
    """The request's bearer token as sent, or None."""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or "\x00" in token:
        return None
    return token


def bearer_user() -> User | None:
    """The user of the request's bearer token, or None (missing, unknown, expired, or inactive user)."""
    token = bearer_token()
    return auth.user_for_token(token) if token else None


class _ApiSession(SecureCookieSession):
    """The throw-away session of an API request: never loaded from a cookie, never saved into one."""


class SessionInterface(SecureCookieSessionInterface):
    def open_session(self, app, request):
        if request.path.startswith(API_PATHS):
            return _ApiSession()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if isinstance(session, _ApiSession):
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        if is_api_request():  # only a remember-me cookie gets here: the API accepts the bearer token alone
            return bearer_user()
        return auth.session_user(user_id)

    @login_manager.request_loader
    def load_user_from_request(_request) -> User | None:
        return bearer_user() if is_api_request() else None
