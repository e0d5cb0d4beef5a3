"""Errors a service raises; the web layer turns each into one HTTP status and a clear message."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class BadRequest(ServiceError):
    status = 400


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class ProcessBroken(Conflict):
    """The engine refused a step because of the process diagram (a condition reading a missing key, a failing
    script, no way out of a gateway): only its administrator can fix it, and the user is told so, never the
    engine's words (those go to the administrator: services/unit_of_work.py records them)."""


class ValidationFailed(ServiceError):
    status = 422
    values: dict | None = None  # what was submitted, for showing the form again (attachments.submit_with_uploads)


class TooLarge(ServiceError):
    status = 413


class Locked(ServiceError):
    status = 429


class Unavailable(ServiceError):
    """The database could not be reached or dropped the connection: nothing was done; try again."""

    status = 503
