"""HTTP in, HTML/JSON out: blueprints that parse input, call one service and render."""
from __future__ import annotations

from flask import Flask

from app.extensions import db, login_manager


def register_pages(app: Flask) -> None:
    """Register the server-rendered pages and the login loader."""
    from app.models import User

    @login_manager.user_loader
    def load_user(user_id: str):
        return db.session.get(User, int(user_id)) if user_id.isdigit() else None

    from app.web.pages import register

    register(app)
