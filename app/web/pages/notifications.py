"""The notification inbox and opening a notification from an e-mail (the header's badges: view.header_counts)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.services import notifications
from app.web.pages.view import safe_next

bp = Blueprint("notifications", __name__)


@bp.get("/notifications")
@login_required
def inbox():
    unread_only = request.args.get("unread") == "1"
    items = notifications.inbox(current_user, unread_only=unread_only, limit=100)
    return render_template("notifications/inbox.html", items=items, unread_only=unread_only)


@bp.get("/notifications/<int:notification_id>")
@login_required
def open_one(notification_id: int):
    """Mark read and go to the page to act on (the link every e-mail carries)."""
    row = notifications.open_notification(current_user, notification_id)
    return redirect(safe_next(row.link, url_for("notifications.inbox")))


@bp.post("/notifications/read")
@login_required
def read_all():
    count = notifications.mark_all_read(current_user)
    flash(_("%(n)s notifications marked as read.", n=count), "success")
    return redirect(url_for("notifications.inbox"))
