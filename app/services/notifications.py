"""Notifications: the in-app inbox and e-mail, written with the change that causes them, sent after commit.

A notification row stores a kind and its parameters; the text is rendered when it is read, in the
reader's language.  When mail is enabled (MAIL_ENABLED) each notification to a user with an address
also puts one e-mail into the outbox table in the same transaction; `drain_outbox` (run by the
scheduler after its own commits) sends them over SMTP.  SMTP never runs inside an instance
transaction, and a crash between sending and recording "sent" sends that one e-mail again: e-mail
is at-least-once, the inbox exactly-once.
"""
from __future__ import annotations

import json
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, insert, literal, null, select, update
from sqlalchemy.orm import joinedload

from app.chinatime import china_date
from app.clock import clock
from app.extensions import db
from app.models import Hazard, HumanTask, Notification, OutboxEmail, OutboxStatus, User
from app.services.errors import NotFound
from app.services.policy import task_candidates

MAX_SEND_ATTEMPTS = 5


def deadline_label(kind: str | None) -> str:
    """The name of a deadline kind (the `deadline` property of a timer event) in the current language."""
    labels = {"rectification": _("rectification deadline"), "supervision": _("supervision deadline"),
              "verification": _("10-day verification limit"), "report": _("report due date"),
              "first_answer": _("first-answer deadline")}
    return labels.get(kind or "", kind or _("deadline"))


def render(kind: str, params: dict[str, Any]) -> tuple[str, str]:
    """(title, body) of a notification in the current language."""
    p = dict(params)
    if "deadline" in p:
        p["deadline"] = deadline_label(p["deadline"])
    p.setdefault("title", "")
    if kind == "deadline_reminder":
        return (_("Reminder: %(deadline)s of %(number)s in %(days)s days", **p),
                _("The %(deadline)s of hazard %(number)s (%(title)s, %(enterprise)s) is %(due)s, "
                  "%(days)s days from now. Please finish the step in time or ask for an extension.", **p))
    if kind == "deadline_overdue":
        return (_("Overdue: %(deadline)s of %(number)s has passed", **p),
                _("The %(deadline)s of hazard %(number)s (%(title)s, %(enterprise)s) was %(due)s and the step "
                  "“%(step)s” is not done. The hazard is now marked overdue.", **p))
    if kind == "deadline_escalated":
        return (_("Escalated: %(number)s is %(days)s days past its %(deadline)s", **p),
                _("Hazard %(number)s (%(title)s, %(enterprise)s) is still not through “%(step)s”: its "
                  "%(deadline)s was %(due)s, %(days)s days ago. This is brought to your attention "
                  "as the next level of supervision.", **p))
    if kind == "extension_requested":
        return (_("Extension requested for %(number)s", **p),
                _("%(requester)s asks to move the deadline of hazard %(number)s (%(title)s) from %(current)s "
                  "to %(requested)s. Reason: %(reason)s", **p))
    if kind == "extension_approved":
        return (_("Extension approved for %(number)s: new deadline %(requested)s", **p),
                _("%(decider)s approved moving the deadline of hazard %(number)s (%(title)s) to %(requested)s.",
                  **p))
    if kind == "extension_refused":
        return (_("Extension refused for %(number)s", **p),
                _("%(decider)s refused to move the deadline of hazard %(number)s (%(title)s); it stays "
                  "%(current)s. %(note)s", **p))
    if kind == "task_arrived":
        return (_("New task: %(step)s of %(number)s", **p),
                _("Hazard %(number)s (%(title)s, %(enterprise)s) has reached the step “%(step)s”, which is yours "
                  "or your group's to do.", **p) + _due(p))
    if kind == "task_returned":
        return (_("Sent back: %(step)s of %(number)s", **p),
                _("The step “%(step)s” of hazard %(number)s (%(title)s, %(enterprise)s) was sent back at "
                  "“%(by_step)s” and must be done again; the task page shows the reason.", **p) + _due(p))
    if kind == "report_task":
        return (_("Hazard report %(period)s: %(step)s", **p),
                _("The hazard report of %(enterprise)s for %(period)s has reached the step “%(step)s”, which is "
                  "yours or your group's to do. It is due by %(due)s.", **p))
    if kind == "report_returned":
        return (_("Hazard report %(period)s sent back", **p),
                _("The principal sent the hazard report of %(enterprise)s for %(period)s back to “%(step)s”; the "
                  "report page shows the reason. It is due by %(due)s.", **p))
    if kind == "report_due_soon":
        return (ngettext("Hazard report %(period)s is due in %(num)s day", "Hazard report %(period)s is due in "
                         "%(num)s days", int(p.get("days") or 0), **p),
                _("The hazard report of %(enterprise)s for %(period)s is due by %(due)s and has not been submitted "
                  "yet: prepare it, have it signed and submit it in time.", **p))
    if kind == "report_overdue":
        return (_("Hazard report %(period)s is late", **p),
                _("The hazard report of %(enterprise)s for %(period)s was due by %(due)s and has not been "
                  "submitted. It is now marked late; prepare, sign and submit it as soon as possible.", **p))
    if kind == "report_reminder":
        return (_("Reminder from the supervising unit: hazard report %(period)s", **p),
                _("%(by)s reminds %(enterprise)s to submit its hazard report for %(period)s (due by %(due)s).",
                  **p))
    if kind == "check_due":
        return (_("Check due: %(checklist)s", **p),
                _("The scheduled check “%(checklist)s” (%(post)s, %(location)s) is due; finish it by %(due)s.",
                  **p))
    if kind == "check_missed":
        return (_("Check missed: %(checklist)s", **p),
                _("The scheduled check “%(checklist)s” (%(post)s) planned for %(scheduled)s was not done by "
                  "%(due)s. It has been recorded as missed.", **p))
    if kind == "public_report_received":
        return (_("New public report %(code)s", **p),
                _("A member of the public reported a hazard (%(code)s); it has reached the step “%(step)s”, which "
                  "is yours or your group's to do.", **p) + _due(p)
                if p.get("step") else
                _("A member of the public reported a hazard (%(code)s); your unit is to answer it by %(due)s.",
                  **p))
    if kind == "public_report_overdue":
        return (_("Overdue: the answer to public report %(code)s", **p),
                _("Public report %(code)s was to be answered by %(due)s and is not answered yet.", **p))
    if kind == "public_report_due_soon":
        return (ngettext("Public report %(code)s is to be answered in %(num)s day",
                         "Public report %(code)s is to be answered in %(num)s days", int(p.get("days") or 0), **p),
                _("Public report %(code)s is to be answered by %(due)s and is not answered yet.", **p))
    if kind == "public_triage_task":
        return (_("Public report %(code)s: %(step)s", **p),
                _("Public report %(code)s has reached the step “%(step)s”, which is yours or your group's to do.",
                  **p) + _due(p))
    if kind == "public_reward_proposed":
        return (_("Reward to decide for public report %(code)s", **p),
                _("%(proposer)s proposes a reward of %(amount)s yuan for public report %(code)s.", **p))
    return kind, json.dumps(params, ensure_ascii=False)


def _due(p: dict[str, Any]) -> str:
    return " " + _("Deadline: %(due)s.", due=p["due"]) if p.get("due") else ""


@dataclass
class InboxItem:
    notification: Notification
    title: str
    body: str


def notify(users: Iterable[User], kind: str, params: dict[str, Any], *, hazard_id: int | None = None,
           task_id: int | None = None, link: str | None = None,
           link_for: dict[int, str] | None = None) -> list[Notification]:
    """Add one notification per user (and one outbox e-mail when mail is on), in the caller's transaction.

    `link` is the path of the page to act on; `link_for` may give a different path per user id.
    """
    now = clock.now()
    created: list[tuple[Notification, User]] = []
    seen: set[int] = set()
    for user in users:
        if user.id in seen or not user.active:
            continue
        seen.add(user.id)
        row = Notification(user_id=user.id, kind=kind, params=json.dumps(params, ensure_ascii=False, default=str),
                           hazard_id=hazard_id, task_id=task_id, link=(link_for or {}).get(user.id, link),
                           created_at=now)
        db.session.add(row)
        created.append((row, user))
    if created and current_app.config.get("MAIL_ENABLED"):
        db.session.flush()  # the e-mail links to the notification by id
        for row, user in created:
            if user.email:
                _queue_email(row, user)
    return [row for row, _user in created]


# ------------------------------------------------------------------------------------------- arrivals
ARRIVALS = ("task_arrived", "task_returned")


def announce_arrivals(hazard: Hazard, opened: Iterable[HumanTask], by: HumanTask | None,
                      user_tasks: dict[str, Any]) -> None:
    """Tell the people who may do each newly opened task, in the caller's transaction (the tasks are flushed).

    One INSERT … SELECT per task writes every candidate's notification at once (the completion path stays one
    statement longer, whatever the group's size); a task that `by` sent back (its way here closes a loop of the
    diagram: `user_tasks`, the parsed process's UserTaskMeta by name) is "returned". Their
    e-mails are written later by `queue_arrival_emails`: one each, or — when more than NOTIFY_GROUP_EMAIL_MAX
    people may take the task — a digest, so a large group is not mailed once per task.
    """
    config = current_app.config
    now = clock.now()
    for task in opened:
        candidates = task_candidates(task).subquery()
        meta = user_tasks.get(task.spec_name)
        returned = by is not None and meta is not None and by.spec_name in meta.returns_from
        params = {"number": hazard.number, "title": hazard.title, "enterprise": hazard.enterprise.name,
                  "step": task.title, "by_step": by.title if by is not None else "",
                  "due": china_date(task.due_at).isoformat() if task.due_at else ""}
        email = null()
        if config.get("MAIL_ENABLED"):
            email = case((and_(User.email.is_not(None), User.email != ""),
                          case((func.count().over() > int(config["NOTIFY_GROUP_EMAIL_MAX"]), "digest"),
                               else_="each")))
        rows = (select(User.id, literal("task_returned" if returned else "task_arrived"),
                       literal(json.dumps(params, ensure_ascii=False)), literal(hazard.id), literal(task.id),
                       literal(f"/tasks/{task.id}"), literal(now, Notification.__table__.c.created_at.type), email)
                .where(User.id.in_(select(candidates.c.id))))
        db.session.execute(insert(Notification).from_select(
            ["user_id", "kind", "params", "hazard_id", "task_id", "link", "created_at", "email"], rows))


def queue_arrival_emails(limit: int = 500) -> int:
    """Write the e-mails of arrivals into the outbox (the scheduler, before draining it); returns how many.

    "each" notifications get their own e-mail; a user's "digest" ones are collected into one e-mail once the
    oldest is NOTIFY_DIGEST_MINUTES old.
    """
    if not current_app.config.get("MAIL_ENABLED"):
        return 0
    due = clock.now() - timedelta(minutes=float(current_app.config["NOTIFY_DIGEST_MINUTES"]))
    try:
        rows = list(db.session.scalars(select(Notification).where(Notification.email.is_not(None))
                                       .order_by(Notification.id).limit(limit)
                                       .options(joinedload(Notification.user))))
        digests: dict[int, list[Notification]] = {}
        queued = 0
        for row in rows:
            if row.email == "each":
                row.email = None
                if row.user.email:
                    _queue_email(row, row.user)
                    queued += 1
            else:
                digests.setdefault(row.user_id, []).append(row)
        for items in digests.values():
            if items[0].created_at > due:
                continue  # collect more first
            for item in items:
                item.email = None
            if items[0].user.email:
                _queue_digest(items[0].user, items)
                queued += 1
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return queued


def _queue_digest(user: User, items: list[Notification]) -> None:
    with force_locale(user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")):
        subject = ngettext("%(num)s task arrived for your group", "%(num)s tasks arrived for your group",
                           len(items))
        lines = [f"- {render(n.kind, json.loads(n.params))[0]}\n  {open_url(n)}" for n in items]
        intro = _("These tasks arrived for you and your colleagues; whoever takes one first claims it.")
    db.session.add(OutboxEmail(notification_id=items[-1].id, to_address=user.email, subject=subject[:300],
                               body=intro + "\n\n" + "\n".join(lines) + "\n", status=OutboxStatus.pending,
                               created_at=clock.now()))


def open_url(notification: Notification) -> str:
    """The absolute link an e-mail carries: it marks the notification read and leads to the page to act on."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/notifications/{notification.id}"


def _queue_email(notification: Notification, user: User) -> None:
    with force_locale(user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")):
        title, body = render(notification.kind, json.loads(notification.params))
        footer = _("Open: %(url)s", url=open_url(notification))
    db.session.add(OutboxEmail(notification_id=notification.id, to_address=user.email, subject=title[:300],
                               body=f"{body}\n\n{footer}\n", status=OutboxStatus.pending,
                               created_at=clock.now()))


def unread_count_query(user: User):
    """SELECT how many notifications the user has not opened yet (the header reads it with its other counts)."""
    return select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))


def inbox(user: User, *, unread_only: bool = False, limit: int = 50, offset: int = 0) -> list[InboxItem]:
    """The user's notifications, newest first, rendered in the current language."""
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    rows = db.session.scalars(stmt.order_by(Notification.id.desc()).limit(limit).offset(offset))
    return [InboxItem(n, *render(n.kind, json.loads(n.params))) for n in rows]


def open_notification(user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read and return it (NotFound for anyone else's)."""
    row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != user.id:
        raise NotFound(_("Notification %(id)s was not found.", id=notification_id))
    if row.read_at is None:
        row.read_at = clock.now()
        db.session.commit()
    return row


def mark_all_read(user: User) -> int:
    """Mark every unread notification of the user read; returns how many."""
    result = db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=clock.now()))
    db.session.commit()
    return result.rowcount or 0


# ------------------------------------------------------------------------------------------- e-mail
def _claim_email():
    stmt = (select(OutboxEmail).where(OutboxEmail.status == OutboxStatus.pending)
            .order_by(OutboxEmail.id).limit(1))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)  # several schedulers share the outbox
    return db.session.scalars(stmt).first()


def send_email(to_address: str, subject: str, body: str) -> None:
    """Send one plain-text e-mail with the MAIL_* settings."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = to_address
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(config["MAIL_HOST"], config["MAIL_PORT"], timeout=config.get("MAIL_TIMEOUT", 10)) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)


def drain_outbox(limit: int = 200) -> int:
    """Send pending e-mails, one transaction each; returns how many were sent."""
    if not current_app.config.get("MAIL_ENABLED"):
        return 0
    sent = 0
    for _i in range(limit):
        row = _claim_email()
        if row is None:
            db.session.rollback()
            break
        try:
            send_email(row.to_address, row.subject, row.body)
        except (OSError, smtplib.SMTPException) as exc:
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if row.attempts >= MAX_SEND_ATTEMPTS:
                row.status = OutboxStatus.failed
            db.session.commit()
            current_app.logger.warning("e-mail %s to %s not sent: %s", row.id, row.to_address, row.last_error)
            if row.status == OutboxStatus.pending:
                break  # the server is probably down: try again on the next tick, in order
            continue
        row.status, row.sent_at, row.attempts = OutboxStatus.sent, clock.now(), row.attempts + 1
        db.session.commit()
        sent += 1
    return sent
