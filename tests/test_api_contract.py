"""The API keeps the contract its OpenAPI document states: Schemathesis generates requests from the document
(valid and invalid ones, boundary values included) and checks every answer against it.

Runs in-process (WSGI) as demo users, on SQLite and PostgreSQL (where ids beyond its integer and NUL
characters in text are the classic server errors), bounded to a few examples per operation.
"""
from __future__ import annotations

import tempfile

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from config import TestConfig
from tests.helpers import REPORT, report, upload

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
USERS = ("officer_a", "inspector")
CONFIG = {
    "seed": 20261201,  # the same requests on every run: a failure here is reproducible
    "generation": {"mode": "all", "max-examples": 4, "database": "none"},
    "phases": {"examples": {"enabled": False}, "coverage": {"enabled": True},
               "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
    "suppress-health-check": ["all"],
}


@pytest.fixture(params=["postgresql"])
def backend(request):
    """PostgreSQL only: where the classic server errors are (and a whole run on SQLite would double the time)."""
    return request.param


def _document() -> dict:
    """The document as the application serves it (it depends on no data: built here, once)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://", INSTANCE_DIR=tmp)
        return app.test_client().get("/api/v1/openapi.json").get_json()


schema = schemathesis.openapi.from_dict(_document(), config=SchemathesisConfig.from_dict(CONFIG))


@pytest.fixture
def served(app, api):
    """The app with something to find: ids 1 and 2 exist (the coverage phase tries the bounds, 1 among them)."""
    officer = api.as_("officer_a")
    report(officer, photos=[upload(officer)])
    report(officer, **{**REPORT, "title": "第二个隐患"})
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a server error is an answer to check, not a crash of the test
    return app


@schema.parametrize()
def test_every_answer_conforms_to_the_document(case, served, api):
    # The administration is refused to both (403); the district administrator exercises what it accepts too.
    for user in (*USERS, "admin") if case.path.startswith("/api/v1/admin/") else USERS:
        case.call_and_validate(app=served, headers={"Authorization": f"Bearer {api.token(user)}"},
                               checks=CHECKS)
