"""People pages: administrators and principals manage accounts; everybody has a profile and changes their
password there. A person holding a one-time password is sent to the change-password page from every other page
until they have replaced it."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.models import Role
from app.services import positions, users
from app.services.errors import ValidationFailed
from app.services.policy import manageable_roles, peer_manager
from app.web.inputs import int_arg
from app.web.pages.enterprises import SEARCH_LIMIT, EnterprisePicker

bp = Blueprint("people", __name__)

PER_PAGE = 25
# What a person with a one-time password may still open: the page that replaces it, logging out, the language.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"people.change_password", "auth.logout", "auth.login", "main.language",
                                       "static"})
FORM_FIELDS = ("username", "display_name", "email", "mobile", "role", "bureau_head", "locale")


@bp.before_app_request
def require_new_password():
    """Every page but the change-password page sends a person holding a one-time password there."""
    if request.blueprint == "api" or request.endpoint in PASSWORD_CHANGE_ENDPOINTS or request.endpoint is None:
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        flash(_("Choose a new password before you go on: the one you signed in with was for one use only."),
              "warning")
        return redirect(url_for("people.change_password"))
    return None


def _no_store(response):
    """A page showing a one-time password is kept by no cache (nor the browser's back button)."""
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------- organisation picker
def organisation_picker(organisation_id: int | None, typed: str | None) -> tuple[EnterprisePicker, int | None]:
    """The organisation field: a list when the person manages a few organisations, else a search field."""
    limit = max(int(current_app.config.get("ENTERPRISE_SELECT_MAX", 50)), 0)
    rows = users.manageable_organisations(current_user, limit=limit + 1)
    found = EnterprisePicker(rows if len(rows) <= limit else None)
    if organisation_id:
        chosen = users.manageable_organisations(current_user, organisation_id=organisation_id, limit=1)
        found.chosen = chosen[0] if chosen else None
        found.typed = found.chosen.name if found.chosen else ""
        return found, organisation_id
    typed = " ".join((typed or "").split())[:200]
    if not typed:
        return found, None
    found.typed = typed
    candidates = users.manageable_organisations(current_user, typed, limit=SEARCH_LIMIT + 1)
    exact = [o for o in candidates if o.name.lower() == typed.lower()]
    if len(exact) == 1 or len(candidates) == 1:
        found.chosen = (exact or candidates)[0]
        found.typed = found.chosen.name
        return found, found.chosen.id
    found.matches = candidates[:SEARCH_LIMIT]
    found.error = (_("No organisation you manage has “%(text)s” in its name.", text=typed) if not candidates else
                   _("Several organisations have “%(text)s” in their name; choose one from the suggestions.",
                     text=typed))
    return found, None


@bp.get("/admin/users/organisations")
@login_required
def organisations():
    """Up to 20 organisations whose people the user manages, by name (the type-ahead's suggestions)."""
    text = " ".join((request.args.get("q") or "").split())[:200]
    rows = users.manageable_organisations(current_user, text, limit=SEARCH_LIMIT + 1) if text else []
    return jsonify({"items": [{"id": o.id, "name": o.name, "address": o.address} for o in rows[:SEARCH_LIMIT]],
                    "more": len(rows) > SEARCH_LIMIT})


# ------------------------------------------------------------------------------------------------ the list
@bp.get("/admin/users")
@login_required
def index():
    picker, organisation_id = organisation_picker(int_arg("organisation"), request.args.get("organisation_name"))
    active = {"1": True, "0": False}.get(request.args.get("active", ""))
    filters = users.UserFilters(organisation_id=organisation_id, role=request.args.get("role") or None,
                                active=active, text=(request.args.get("q") or "")[:100])
    page = users.list_users(current_user, filters, int_arg("page") or 1, PER_PAGE)
    return render_template("admin/users_list.html", page=page, filters=filters, picker=picker,
                           roles=_roles(), filtered=any(request.args.get(k) for k in
                                                        ("q", "role", "active", "organisation", "organisation_name")))


def _roles() -> list[Role]:
    return [role for role in Role if role in manageable_roles(current_user)]


# ------------------------------------------------------------------------------------------ create and edit
def _form_values() -> dict[str, Any]:
    values = {name: request.form.get(name, "") for name in FORM_FIELDS}
    values["bureau_head"] = "1" if request.form.get("bureau_head") else "0"
    if request.form.get("positions_shown"):  # the form listed positions: the boxes ticked are the ones held
        values["positions"] = request.form.getlist("positions")
    return values


def _render_form(user, values: dict[str, Any], errors: dict[str, str], picker: EnterprisePicker, status: int = 200):
    held = [p.id for p in user.positions] if user is not None else []
    chosen = {str(v) for v in values.get("positions", held)}
    offered = positions.offered_to(user)
    return render_template("admin/users_form.html", user=user, values=values, errors=errors, picker=picker,
                           roles=_roles(), languages=current_app.config["LANGUAGES"], positions=offered,
                           chosen_positions=chosen,
                           peer=user is not None and peer_manager(current_user, user)), status


def _submitted_organisation(errors: dict[str, str]) -> tuple[EnterprisePicker, int | None, bool]:
    """The organisation chosen in the form: (picker, id, whether a typed name could not be resolved)."""
    try:
        picker, organisation_id = organisation_picker(int_arg("organisation_id", request.form),
                                                      request.form.get("organisation_name"))
    except ValidationFailed as exc:
        errors.update(exc.fields)
        return organisation_picker(None, None)[0], None, True
    return picker, organisation_id, picker.error is not None


@bp.get("/admin/users/new")
@login_required
def new():
    users.require_manager(current_user)
    picker, _id = organisation_picker(None, None)
    if picker.options is not None and len(picker.options) == 1:
        picker.chosen = picker.options[0]
    role = Role.officer.value if current_user.role == Role.principal else ""
    return _render_form(None, {"role": role, "bureau_head": "0"}, {}, picker)


@bp.post("/admin/users/new")
@login_required
def create():
    values, errors = _form_values(), {}
    picker, organisation_id, unresolved = _submitted_organisation(errors)
    try:
        if unresolved:
            raise ValidationFailed(picker.error or "", fields={"organisation_id": picker.error or ""})
        user, one_time = users.create_user(current_user, {**values, "organisation_id": organisation_id})
    except ValidationFailed as exc:
        return _render_form(None, values, {**errors, **exc.fields}, picker, 422)
    return _no_store(current_app.make_response(render_template(
        "admin/users_password.html", user=user, one_time_password=one_time, created=True)))


@bp.get("/admin/users/<int:user_id>")
@login_required
def edit(user_id: int):
    user = users.get_user(current_user, user_id)
    picker, _id = organisation_picker(user.organisation_id, None)
    values = {name: getattr(user, name) for name in FORM_FIELDS}
    values["positions"] = [p.id for p in user.positions]
    values["role"] = user.role.value
    values["bureau_head"] = "1" if user.bureau_head else "0"
    return _render_form(user, values, {}, picker)


@bp.post("/admin/users/<int:user_id>")
@login_required
def update(user_id: int):
    user = users.get_user(current_user, user_id)
    values, errors = _form_values(), {}
    values.pop("username")
    picker, organisation_id, unresolved = _submitted_organisation(errors)
    try:
        if unresolved:
            raise ValidationFailed(picker.error or "", fields={"organisation_id": picker.error or ""})
        users.update_user(current_user, user_id, {**values, "organisation_id": organisation_id})
    except ValidationFailed as exc:
        return _render_form(user, {**values, "username": user.username}, {**errors, **exc.fields}, picker, 422)
    flash(_("The account of %(name)s was saved.", name=user.display_name), "success")
    return redirect(url_for("people.edit", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/deactivate")
@login_required
def deactivate(user_id: int):
    user = users.deactivate_user(current_user, user_id)
    flash(_("%(name)s can no longer sign in; their sessions and API tokens have ended.", name=user.display_name),
          "success")
    return redirect(url_for("people.edit", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/reactivate")
@login_required
def reactivate(user_id: int):
    user = users.reactivate_user(current_user, user_id)
    flash(_("%(name)s may sign in again.", name=user.display_name), "success")
    return redirect(url_for("people.edit", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/reset-password")
@login_required
def reset_password(user_id: int):
    user, one_time = users.reset_password(current_user, user_id)
    return _no_store(current_app.make_response(render_template(
        "admin/users_password.html", user=user, one_time_password=one_time, created=False)))


# ------------------------------------------------------------------------------------------- own profile
@bp.get("/profile")
@login_required
def profile():
    return render_template("admin/profile.html")


@bp.route("/profile/details", methods=["GET", "POST"])
@login_required
def change_details():
    values = {name: getattr(current_user, name) for name in users.OWN_FIELDS}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in users.OWN_FIELDS}
        try:
            users.change_own_details(current_user, {k: (v or None) for k, v in values.items()})
        except ValidationFailed as exc:
            errors, status = exc.fields or {"_form": exc.message}, 422
        else:
            flash(_("Your contact details were saved."), "success")
            return redirect(url_for("people.profile"))
    return render_template("admin/profile_details.html", values=values, errors=errors,
                           languages=current_app.config["LANGUAGES"]), status


@bp.route("/profile/password", methods=["GET", "POST"])
@login_required
def change_password():
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        new, again = request.form.get("new_password", ""), request.form.get("new_password_again", "")
        if new != again:
            errors["new_password_again"] = _("The two new passwords differ; type the same one twice.")
            status = 422
        else:
            try:
                users.change_own_password(current_user, request.form.get("current_password", ""), new,
                                          request.remote_addr, keep_session=current_user.session_token)
            except ValidationFailed as exc:
                errors, status = exc.fields or {"new_password": exc.message}, 422
            else:
                flash(_("Your password was changed; your other sessions have ended."), "success")
                return redirect(url_for("people.profile"))
    return render_template("admin/password.html", errors=errors), status


# ------------------------------------------------------------------------------------------------ positions
@bp.get("/admin/positions")
@login_required
def position_list():
    return _positions_page({}, {})


def _positions_page(values: dict[str, Any], errors: dict[str, str], status: int = 200):
    return render_template("admin/positions.html", positions=positions.list_positions(current_user),
                           values=values, errors=errors), status


@bp.post("/admin/positions")
@login_required
def position_create():
    values = {"name": request.form.get("name", ""), "kind": request.form.get("kind", "")}
    try:
        position = positions.create_position(current_user, values)
    except ValidationFailed as exc:
        return _positions_page(values, exc.fields, 422)
    flash(_("The position “%(name)s” was added; a lane of that name is now done by its holders.",
            name=position.name), "success")
    return redirect(url_for("people.position_list"))


@bp.post("/admin/positions/<int:position_id>")
@login_required
def position_update(position_id: int):
    action = request.form.get("action")
    values: dict[str, Any] = {"name": request.form.get("name", "")} if action == "rename" else {
        "active": action == "reactivate"}
    try:
        position = positions.update_position(current_user, position_id, values)
    except ValidationFailed as exc:
        return _positions_page({}, {f"{position_id}-{k}": v for k, v in exc.fields.items()}, 422)
    flash(_("The position “%(name)s” was saved.", name=position.name), "success")
    return redirect(url_for("people.position_list"))
