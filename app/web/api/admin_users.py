"""People through the API: administrators and principals manage accounts (/admin/users), everybody reads
their profile and changes their password (/me). Views parse, call one service (services/users.py), answer."""
from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView

from app.services import users
from app.web.api import admin_user_schemas as s
from app.web.api.blueprint import bp
from app.web.api.routes import ID, caller, errors
from app.web.login import bearer_token


@bp.route("/admin/users", methods=["GET"])
@bp.arguments(s.UserQuery, location="query")
@bp.response(200, s.UserPage)
@errors(401, 403)
@bp.doc(summary="Accounts the caller manages (administrators; principals: their staff), one page")
def list_users(args: dict[str, Any]):
    filters = users.UserFilters(organisation_id=args.get("organisation"), role=args.get("role"),
                                active=args.get("active"), text=args.get("q"))
    return users.list_users(caller(), filters, args["page"], args["per_page"])


@bp.route("/admin/users", methods=["POST"])
@bp.arguments(s.UserCreate)
@bp.response(201, s.UserWithPassword)
@errors(400, 401, 403, 413)
@bp.doc(summary="Create an account; without a password a one-time password is made and returned once")
def create_user(body: dict[str, Any]):
    user, one_time = users.create_user(caller(), body)
    return {"user": user, "one_time_password": one_time}


@bp.route(f"/admin/users/<{ID}:user_id>")
class UserView(MethodView):
    """One rule for GET and PATCH, so an id outside the bounds is a 404 for both (two rules would make it a 405)."""

    @bp.response(200, s.User)
    @errors(401, 403, 404)
    @bp.doc(summary="An account the caller manages")
    def get(self, user_id: int):
        return users.get_user(caller(), user_id)

    @bp.arguments(s.UserChanges)
    @bp.response(200, s.User)
    @errors(400, 401, 403, 404, 413)
    @bp.doc(summary="Change an account's name, e-mail, mobile, role, organisation, bureau-head flag or language")
    def patch(self, body: dict[str, Any], user_id: int):
        return users.update_user(caller(), user_id, body)


@bp.route(f"/admin/users/<{ID}:user_id>/deactivate", methods=["POST"])
@bp.response(200, s.User)
@errors(401, 403, 404)
@bp.doc(summary="Deactivate an account: its sessions and API tokens end at once (it is never deleted)")
def deactivate_user(user_id: int):
    return users.deactivate_user(caller(), user_id)


@bp.route(f"/admin/users/<{ID}:user_id>/reactivate", methods=["POST"])
@bp.response(200, s.User)
@errors(401, 403, 404)
@bp.doc(summary="Let a deactivated account sign in again")
def reactivate_user(user_id: int):
    return users.reactivate_user(caller(), user_id)


@bp.route(f"/admin/users/<{ID}:user_id>/reset-password", methods=["POST"])
@bp.response(200, s.UserWithPassword)
@errors(401, 403, 404)
@bp.doc(summary="A new one-time password, returned once; the person's sessions and tokens end")
def reset_password(user_id: int):
    user, one_time = users.reset_password(caller(), user_id)
    return {"user": user, "one_time_password": one_time}


@bp.route("/me", methods=["GET"])
@bp.response(200, s.User)
@errors(401)
@bp.doc(summary="The caller's own profile (allowed while a one-time password must be changed)")
def me():
    return caller()


@bp.route("/me", methods=["PATCH"])
@bp.arguments(s.OwnChanges)
@bp.response(200, s.User)
@errors(400, 401, 403, 413)
@bp.doc(summary="Correct the caller's own e-mail, mobile number or language (name, role and organisation are "
                "changed by an administrator)")
def change_me(body: dict[str, Any]):
    user = caller()
    users.change_own_details(user, body)
    return user


@bp.route("/me/password", methods=["POST"])
@bp.arguments(s.PasswordChange)
@bp.response(200, s.User)
@errors(400, 401, 413, 429)
@bp.doc(summary="Change the caller's password (current and new); their other sessions and tokens end, "
                "this token stays valid")
def change_own_password(body: dict[str, str]):
    return users.change_own_password(caller(), body["current_password"], body["new_password"], request.remote_addr,
                                     keep_token=bearer_token())
