"""Bulk onboarding from Excel: one row per uploaded workbook, whose progress the upload page polls."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, enum_type


class ImportStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ImportJob(Base):
    """An import of a workbook (services/org_import.py): who started it, how far it is, what it found.

    `counts` and `problems` are JSON: the records created/updated/unchanged per sheet, and the bad rows (sheet,
    row, column, reason in the importer's language; the first few thousand)."""

    __tablename__ = "import_job"
    __table_args__ = (Index("ix_import_job_created_by", "created_by", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Written while the job runs: a running job whose heartbeat stopped was interrupted (nothing of it stayed).
    heartbeat_at: Mapped[datetime | None]
    status: Mapped[ImportStatus] = mapped_column(enum_type(ImportStatus, "import_status", 10))
    dry_run: Mapped[bool] = mapped_column(default=False)
    filename: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(5))
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    bad_rows: Mapped[int] = mapped_column(default=0)
    counts: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
