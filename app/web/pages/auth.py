"""Logging in and out (Flask-Login session), with the lockout and messages of services/auth."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.extensions import limiter
from app.services import auth
from app.services.errors import Locked, Unauthorized
from app.web.pages.view import safe_next

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[
        DataRequired(message=_l("Enter your user name.")), Length(max=60, message=_l("The user name is too long."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(message=_l("Enter your password."))])
    remember = BooleanField(_l("Keep me signed in on this device"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("tasks.worklist")))
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            user = auth.authenticate(form.username.data, form.password.data, request.remote_addr)
        except Locked as exc:
            error, status = exc.message, 429
        except Unauthorized as exc:
            error, status = exc.message, 401
        else:
            auth.start_session(user, remember=form.remember.data)
            login_user(user, remember=form.remember.data,
                       duration=timedelta(days=current_app.config["REMEMBER_DAYS"]))
            if user.locale in current_app.config["LANGUAGES"]:
                session["lang"] = user.locale  # the language they chose last time, on any device
                refresh()  # this request's messages too
            flash(_("Welcome, %(name)s.", name=user.display_name), "success")
            return redirect(safe_next(request.args.get("next"), url_for("tasks.worklist")))
    elif form.errors:
        status = 422
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout():
    auth.end_session(current_user)
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))
