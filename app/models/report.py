"""The enterprise's statutory quarterly and annual report (企业隐患排查治理情况季报/年报): its read model.

A report is a process instance that is not a hazard: this row is what pages and the bureau's overview read
(never the serialized workflow), updated in the same unit of work as the instance (services/lifecycle.py).
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, enum_type


class ReportStatus(enum.StrEnum):
    preparing = "preparing"    # the safety officer prepares it (or prepares it again after a send-back)
    signing = "signing"        # the principal signs it or sends it back
    submitted = "submitted"    # signed and submitted to the supervising unit


class PeriodicReport(Base):
    __tablename__ = "periodic_report"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "period"),  # one report per enterprise and period: opening is idempotent
        Index("ix_periodic_report_unit_period", "supervising_unit_id", "period", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7))          # "2026Q4" (quarterly) or "2026" (annual)
    period_start: Mapped[date]
    period_end: Mapped[date]
    due_date: Mapped[date]                                   # 15th day of the next quarter, or 31 January
    # The same scope columns, by the same names, as a hazard's (services/access.hazard_scope(on=...)).
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    supervising_unit_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    status: Mapped[ReportStatus] = mapped_column(
        enum_type(ReportStatus, "report_status", 20, validate_strings=False), index=True)
    figures: Mapped[str | None] = mapped_column(Text)        # JSON: the figures as prepared (and signed)
    remarks: Mapped[str | None] = mapped_column(Text)
    return_reason: Mapped[str | None] = mapped_column(Text)  # the principal's reason for the last send-back
    late: Mapped[bool] = mapped_column(default=False)        # its due date passed before it was submitted
    submitted_at: Mapped[datetime | None]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    last_reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    enterprise = relationship("Organisation", foreign_keys=[enterprise_id])

    @property
    def number(self) -> str:
        """How messages and the audit trail name it: the period and the enterprise."""
        return f"{self.period}-{self.enterprise_id}"
    # Orders a step's writes like a hazard's: the instance's row (its version check) first.
    instance = relationship("ProcessInstance", foreign_keys=[instance_id])
