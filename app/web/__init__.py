"""HTTP in, HTML/JSON out: blueprints that parse input, call one service and render."""
from __future__ import annotations

from flask import Flask


def register_pages(app: Flask) -> None:
    """Register the pages, the security headers and the checks every request's input passes first."""
    from app.web import headers, observe
    from app.web.inputs import BoundedInt, BoundedJSONProvider, refuse_unfit_text
    from app.web.pages import register

    observe.init_app(app)  # first: the request id exists before any other hook can refuse the request
    app.after_request(_mark_writes)
    headers.init_app(app)
    app.json = BoundedJSONProvider(app)
    app.url_map.converters["int"] = BoundedInt
    app.before_request(refuse_unfit_text)

    register(app)


WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _mark_writes(response):
    """After a person's successful write, their reads use the primary for a while (app/services/replica.py)."""
    from flask import request
    from flask_login import current_user

    from app.services import replica

    if request.method in WRITES and response.status_code < 400 and current_user and current_user.is_authenticated:
        replica.wrote(current_user.id)
    return response
