"""HTTP in, HTML/JSON out: blueprints that parse input, call one service and render."""
from __future__ import annotations

from flask import Flask

from app.extensions import login_manager


def register_pages(app: Flask) -> None:
    """Register the server-rendered pages and the login loader."""
    from app.services.auth import session_user

    @login_manager.user_loader
    def load_user(cookie_id: str):
        return session_user(cookie_id)

    from app.web import headers

    headers.init_app(app)

    from app.web.pages import register

    register(app)
