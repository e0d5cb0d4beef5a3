"""What administrators edit: diagram drafts and versioned form definitions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class ProcessDraft(Base):
    """A diagram being edited in the designer: saved, not deployed, never run."""

    __tablename__ = "process_draft"
    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    # The version the draft was started from, so the designer can show what it changes.
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_version.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime]


class FormVersion(Base):
    """One version of a form definition; a human task keeps the version it was created with."""

    __tablename__ = "form_version"
    __table_args__ = (
        UniqueConstraint("key", "number"),
        # At most one active version per form, even when two requests seed or save at once.
        Index("ix_form_version_active_key", "key", unique=True,
              postgresql_where=text("active"), sqlite_where=text("active")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    number: Mapped[int]
    definition: Mapped[str] = mapped_column(Text)  # canonical JSON
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))  # "file" (forms/<key>.json) or "editor"
    active: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(String(500))
