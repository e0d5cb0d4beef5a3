"""Idempotency keys: a client's retry of a creating API request gets the first request's answer."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class IdempotencyKey(Base):
    """The `Idempotency-Key` a user sent with a creating request, written in that request's own transaction:
    what it created (`result_id`) and with which status it answered."""

    __tablename__ = "idempotency_key"
    __table_args__ = (Index("ix_idempotency_key_user_key", "user_id", "key", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    key: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(100))
    result_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(index=True)
