"""The in-app inbox and the e-mail outbox (sent after commit, never inside an instance transaction)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, enum_type


class OutboxStatus(str, enum.Enum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class Notification(Base):
    """One message to one user; its text is rendered when shown, in the reader's language."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_inbox", "user_id", "read_at", "id"),
                      Index("ix_notification_email", "email", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[str] = mapped_column(Text)  # JSON: the values the message is rendered with
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazard.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    link: Mapped[str | None] = mapped_column(String(300))  # path of the page to act on
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    # An arrival's e-mail still to write (services/notifications.py): "each" (its own e-mail) or "digest" (one
    # e-mail collecting a user's arrivals); None when there is none to write.
    email: Mapped[str | None] = mapped_column(String(10))
    user = relationship("User")
    hazard = relationship("Hazard")


class OutboxEmail(Base):
    """An e-mail waiting to be sent; drained by the scheduler after the transaction that wrote it."""

    __tablename__ = "outbox_email"
    __table_args__ = (Index("ix_outbox_email_pending", "status", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id"), index=True)
    to_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(enum_type(OutboxStatus, "outbox_status"))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
