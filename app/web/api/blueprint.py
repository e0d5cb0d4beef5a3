"""The API blueprint and its flask-smorest Api: the error shape, the parser, the document's settings.

Authentication is Flask-Login's: the request loader reads `Authorization: Bearer <token>` (app/web/login.py);
the API never reads or writes a session cookie, so it needs no CSRF token.
"""
from __future__ import annotations

import http
import json

from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser, is_json_request

from app.web.api.schemas import Error
from app.web.inputs import load_json

PREFIX = "/api/v1"



class _Parser(FlaskParser):
    """webargs' parser, except that a JSON operation refuses a body that is not JSON (400) instead of reading
    it as an empty object."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            raise json.JSONDecodeError("not application/json", req.mimetype or "(none)", 0)  # answered like malformed JSON
        return load_json(super()._raw_load_json, req)


bp = Blueprint("api", __name__, url_prefix=PREFIX, description="Hazards, their tasks, forms and attachments")
bp.ARGUMENTS_PARSER = _Parser()

# The error responses an operation may document, each with the one error shape.
ERROR_DESCRIPTIONS = {
    400: "Malformed request: the body is not JSON, or a service refused the request as malformed",
    401: "Missing, expired or unknown bearer token (or wrong user name/password for /auth/token)",
    403: "Visible to you, but not yours to act on; or `code` password_change_required: replace the one-time "
         "password first (POST /me/password)",
    404: "Not found, or not visible to you (ids outside 1..2147483647 included)",
    409: "Already completed, claimed by someone else, or the hazard is busy: nothing was changed",
    413: "The request or file is too large",
    422: "Validation failed: `fields` names each field to fix",
    429: "Too many attempts: wait and try again",
    500: "Unexpected server error",
}

DESCRIPTION = """Closed-loop lifecycle of workplace safety hazards (隐患闭环).

Get a token with `POST /api/v1/auth/token {"username", "password"}` and send `Authorization: Bearer <token>`.

Every error is JSON `{"error": "...", "fields": {"field": "message"}}` (`fields` may be empty), in the
caller's language (`Accept-Language`, `?lang=en|zh`). An empty query parameter (`?grade=`) is the same as
leaving it out.
"""


class Api(SmorestApi):
    """flask-smorest's Api with HazardLoop's error shape, and no app-wide error handlers of its own.

    The pages own the application's error handlers (HTML); paths under /api/ are answered by this package's
    handlers (app/web/api/routes.py), which the pages' handlers defer to.
    """

    ERROR_SCHEMA = Error
    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists the errors it can return

    def _register_error_handlers(self) -> None:
        pass

    def _register_responses(self) -> None:
        for code, description in ERROR_DESCRIPTIONS.items():
            response = {"description": description, "schema": self.ERROR_SCHEMA}
            prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(http.HTTPStatus(code).name, response, lazy=True)


def empty_means_absent(_converter, _field, ret, **_kwargs) -> dict:
    return {"allowEmptyValue": True} if ret.get("in") == "query" else {}
