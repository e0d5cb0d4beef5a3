"""Error pages in the user's language; paths under /api/ keep getting JSON."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.services.errors import ProcessBroken, ServiceError
from app.web.api import routes as api_routes

bp = Blueprint("errors", __name__)

TITLES = {
    400: _l("The request could not be handled"),
    401: _l("Please log in"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Not allowed here"),
    409: _l("Already handled"),
    413: _l("Too large"),
    422: _l("Please check your input"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
}
MESSAGES = {
    400: _l("The request was incomplete or malformed. Go back, reload the page and try again."),
    401: _l("Log in to continue."),
    403: _l("Your role or organisation does not allow this. Ask your administrator if you think it should."),
    404: _l("This page does not exist, or it is not yours to see. Check the address, or find the hazard "
            "in the register."),
    405: _l("This address cannot be used that way. Use the buttons and links on the pages."),
    409: _l("Someone else changed this first; nothing was changed. Reload the page to see where things stand."),
    413: _l("What you sent is too large in all: a very long text or too many large files. Go back: what you typed "
            "is still in the form in most browsers; shorten the text or send fewer files, then send it again."),
    422: _l("Some of what you entered cannot be accepted. Go back and correct the marked fields."),
    429: _l("Too many attempts in a short time. Wait a minute and try again."),
    500: _l("The server could not finish this request; nothing you see has been lost. Try again in a moment, "
            "and tell your administrator if it keeps happening."),
}


def _is_api() -> bool:
    return request.path.startswith("/api/")


def render_error(status: int, message: str | None = None, exc: ServiceError | None = None):
    title = TITLES.get(status, TITLES[500] if status >= 500 else TITLES[400])
    generic = MESSAGES.get(status) or MESSAGES[500 if status >= 500 else 400]
    hint = generic if message else None
    if isinstance(exc, ProcessBroken):  # not "someone else changed it": the diagram needs its administrator
        title, hint = _("The process needs its administrator"), None
    return render_template("errors/error.html", status=status, title=title, message=message or generic,
                           hint=hint), status


@bp.app_errorhandler(CSRFError)
def csrf_error(exc: CSRFError):
    if _is_api():
        return api_routes.http_error(exc)
    return render_error(400, _("This form has expired or did not come from this site, so nothing was saved. "
                               "Go back, reload the page and send it again."))


@bp.app_errorhandler(ServiceError)
def service_error(exc: ServiceError):
    if _is_api():
        return api_routes.service_error(exc)
    return render_error(exc.status, exc.message, exc)


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException):
    if _is_api():
        return api_routes.http_error(exc)
    code = exc.code or 500
    if code >= 500:
        # The failed transaction must not leak into the error page's own queries.
        db.session.rollback()
    return render_error(code)
