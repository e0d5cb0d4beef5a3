"""Notifications: the in-app inbox with its unread count in the header, and e-mail over SMTP sent after commit,
received here by a real local SMTP server (aiosmtpd) whose links lead to the task after logging in."""
from __future__ import annotations

import email
import re
import socket
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller

from tests.deadline_steps import Person, deadline_of, general_hazard_rectifying, move_to, tick, told, view
from tests.helpers import in_days


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """What the local SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp():
    port = free_port()
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.port = port
    yield mailbox
    controller.stop()


def mail_on(app, port: int) -> None:
    app.config.update(MAIL_ENABLED=True, MAIL_HOST="127.0.0.1", MAIL_PORT=port, MAIL_SENDER="hazardloop@test.local",
                      BASE_URL="http://hazardloop.test:8000")


def test_a_reminder_e_mail_arrives_with_a_link_that_leads_to_the_task_after_logging_in(api, app, client, smtp):
    day = in_days(6)
    hazard_id = general_hazard_rectifying(api, day)
    mail_on(app, smtp.port)  # after the arrivals: only the reminder's e-mail counts here
    number = view(api, "officer_a", hazard_id)["number"]
    move_to(deadline_of(day) - timedelta(days=3, minutes=-1))
    sent = tick(app)
    assert sent["emails_sent"] == 1
    [message] = smtp.to("officer_a@demo.hazardloop.local")
    assert message["From"] == "hazardloop@test.local"
    body = message.get_content()
    assert number in message["Subject"] and number in body
    link = re.search(r"http://hazardloop\.test:8000(/notifications/\d+)", body)
    assert link, body

    assert client.get(link.group(1)).status_code == 302, "the link asks a stranger to log in first"
    officer = Person(client, "officer_a")
    opened = officer.get(link.group(1))
    assert opened.status_code == 302 and opened.location.startswith("/tasks/")
    task_page = officer.get(opened.location)
    assert task_page.status_code == 200 and number in task_page.get_data(as_text=True)
    assert told(app, "officer_a")[0]["link"] == opened.location


def test_e_mail_waits_in_the_outbox_until_after_commit_and_survives_a_mail_server_outage(api, app, smtp):
    from app.extensions import db
    from app.models import OutboxEmail, OutboxStatus
    from app.services import notifications, timers

    down = free_port()
    day = in_days(2)
    general_hazard_rectifying(api, day)
    mail_on(app, down)  # nothing listens there yet
    move_to(deadline_of(day) + timedelta(minutes=1))
    with app.app_context():
        result = timers.fire_due()
        assert result.fired == 1 and result.alerts == 1
        queued = db.session.query(OutboxEmail).all()
        assert {m.to_address for m in queued} == {"officer_a@demo.hazardloop.local",
                                                   "principal_a@demo.hazardloop.local"}
        assert all(m.status == OutboxStatus.pending for m in queued), "fired and committed, not sent yet"
        assert notifications.drain_outbox() == 0  # the mail server is down
        first = db.session.query(OutboxEmail).order_by(OutboxEmail.id).first()
        assert first.attempts == 1 and "ConnectionRefused" in first.last_error
        db.session.remove()
    assert smtp.messages == []

    app.config["MAIL_PORT"] = smtp.port  # the server is back
    assert tick(app)["emails_sent"] == 2
    assert len(smtp.messages) == 2 and tick(app)["emails_sent"] == 0, "each e-mail is sent once"


def test_without_mail_enabled_only_the_inbox_is_used(api, app):
    from app.extensions import db
    from app.models import OutboxEmail

    day = in_days(2)
    general_hazard_rectifying(api, day)
    move_to(deadline_of(day) + timedelta(minutes=1))
    assert tick(app)["emails_sent"] == 0
    assert len(told(app, "officer_a", "deadline_overdue")) == 1
    with app.app_context():
        assert db.session.query(OutboxEmail).count() == 0
        db.session.remove()


def test_the_header_shows_the_unread_count_and_opening_a_notification_marks_it_read(api, app, client):
    day = in_days(2)
    hazard_id = general_hazard_rectifying(api, day)
    move_to(deadline_of(day) + timedelta(minutes=1))
    tick(app)
    principal = Person(client, "principal_a")
    page = principal.get("/notifications").get_data(as_text=True)
    assert 'id="hl-unread-count" data-unread="1"' in page
    assert 'data-kind="deadline_overdue"' in page
    [notice] = told(app, "principal_a")
    opened = principal.get(f"/notifications/{notice['id']}")
    assert opened.status_code == 302 and opened.location == f"/hazards/{hazard_id}"
    assert 'id="hl-unread-count"' not in principal.get("/notifications").get_data(as_text=True)


def test_marking_all_read_and_nobody_opens_another_persons_notification(api, app, client):
    day = in_days(2)
    general_hazard_rectifying(api, day)
    move_to(deadline_of(day) + timedelta(minutes=1))
    tick(app)
    [officers] = told(app, "officer_a")
    principal = Person(client, "principal_a")
    assert principal.get(f"/notifications/{officers['id']}").status_code == 404
    principal.get("/notifications")
    assert principal.post("/notifications/read").status_code == 302
    assert 'id="hl-unread-count"' not in principal.get("/notifications").get_data(as_text=True)


def test_messages_are_shown_in_the_readers_language(api, app, client):
    day = in_days(2)
    general_hazard_rectifying(api, day)
    move_to(deadline_of(day) + timedelta(minutes=1))
    tick(app)
    principal = Person(client, "principal_a")
    english = principal.get("/notifications?lang=en").get_data(as_text=True)
    assert "Overdue: rectification deadline of" in english
    chinese = principal.get("/notifications?lang=zh").get_data(as_text=True)
    assert "逾期" in chinese and "Overdue: rectification deadline" not in chinese
