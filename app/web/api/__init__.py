"""The JSON API under /api/v1: flask-smorest views whose schemas validate, serialize and document them.

Authentication is Flask-Login's: the request loader reads `Authorization: Bearer <token>` (app/web/login.py);
the API never reads or writes a session cookie, so it needs no CSRF token.
"""
from __future__ import annotations

from flask import Flask

from app.extensions import csrf
from app.web.api import (  # noqa: F401  (declare the views on `bp`)
    admin_orgs,
    admin_positions,
    admin_users,
    periodic,
    public,
    routes,
    statuses,
    triage,
)
from app.web.api.blueprint import DESCRIPTION, PREFIX, Api, bp, empty_means_absent

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    """Register the API and its generated document (/api/v1/openapi.json) on `app`."""
    app.config.update(API_TITLE="HazardLoop API", API_VERSION="1.0.0", OPENAPI_VERSION="3.0.3",
                      OPENAPI_URL_PREFIX=PREFIX, OPENAPI_JSON_PATH="openapi.json")
    api = Api(app, spec_kwargs={
        "info": {"description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
    })
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.ma_plugin.converter.add_parameter_attribute_function(empty_means_absent)
    api.register_blueprint(bp)
    csrf.exempt(bp)
