"""HTTP in, HTML/JSON out: blueprints that parse input, call one service and render."""
from __future__ import annotations

from flask import Flask


def register_pages(app: Flask) -> None:
    """Register the pages, the security headers and the checks every request's input passes first."""
    from app.web import headers, observe
    from app.web.inputs import BoundedInt, BoundedJSONProvider, refuse_unfit_text
    from app.web.pages import register

    observe.init_app(app)  # first: the request id exists before any other hook can refuse the request
    headers.init_app(app)
    app.json = BoundedJSONProvider(app)
    app.url_map.converters["int"] = BoundedInt
    app.before_request(refuse_unfit_text)

    register(app)
