"""HTTP in, HTML/JSON out: blueprints that parse input, call one service and render."""
from __future__ import annotations

from flask import Flask


def register_pages(app: Flask) -> None:
    """Register the server-rendered pages and the security headers."""
    from app.web import headers

    headers.init_app(app)

    from app.web.pages import register

    register(app)
