"""The home page (straight to the user's work) and the language switch."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, session, url_for
from flask_login import current_user

from app.extensions import db
from app.web.pages.view import safe_next

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    return redirect(url_for("tasks.worklist" if current_user.is_authenticated else "auth.login"))


@bp.get("/language/<code>")
def language(code: str):
    # select_locale() in app/__init__.py reads the choice from the session on every request.
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    if current_user.is_authenticated and current_user.locale != code:
        # Kept with the user too: the next sign-in (another device, after logging out) and their e-mails
        # come in the language they chose. A preference, so a plain link may set it.
        current_user.locale = code
        db.session.commit()
    return redirect(safe_next(request.args.get("next"), url_for("main.home")))
