"""Printable documents: the administrator's versions of their templates."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class DocumentTemplate(Base):
    """One version of a document kind's template; the highest number is in force.

    `body` None means the shipped default (app/document_templates/<kind>.html) was restored by that version.
    """

    __tablename__ = "document_template"
    __table_args__ = (UniqueConstraint("kind", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    number: Mapped[int]
    body: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(String(500))
