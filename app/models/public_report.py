"""A report from the public (举报): what was seen, where, when; followed by a tracking code and a PIN."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, enum_type


class PublicReportStatus(enum.StrEnum):
    """What the reporter reads on the status page (the bureau's answer: accepted, merged, referred, rejected)."""
    received = "received"      # waiting for the supervising unit's first answer
    duplicate = "duplicate"    # the same enterprise and description were reported days before: linked to that one
    accepted = "accepted"      # a hazard was opened for it (hazard_id)
    merged = "merged"          # merged with an existing hazard (hazard_id)
    referred = "referred"      # handed to another unit
    rejected = "rejected"      # not followed up; the reason is in `outcome`


class PublicReport(Base):
    """No account: the reporter holds the tracking code and the PIN (only its keyed hash is stored). The name and
    contact are encrypted with REPORTER_KEY, which lives outside the database (services/reporter_secrets.py)."""

    __tablename__ = "public_report"
    __table_args__ = (
        # Duplicate detection reads the recent reports of one enterprise.
        Index("ix_public_report_enterprise_created", "enterprise_id", "created_at"),
        Index("ix_public_report_unit_status", "supervising_unit_id", "status"),
        # The scheduler's look for unanswered reports past their due day (services/public_reports.py).
        Index("ix_public_report_status_created", "status", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(10), unique=True)
    pin_hash: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    address: Mapped[str | None] = mapped_column(String(300))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    # The government unit whose inspectors answer it (the enterprise's, else the region's).
    supervising_unit_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    seen_on: Mapped[date]
    status: Mapped[PublicReportStatus] = mapped_column(
        enum_type(PublicReportStatus, "public_report_status", 20, validate_strings=False))
    outcome: Mapped[str | None] = mapped_column(Text)  # what the reporter reads (a rejection's reason...)
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazard.id"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("public_report.id"))
    # Fernet tokens (encrypted at rest); None when the reporter stayed anonymous.
    reporter_name: Mapped[str | None] = mapped_column(Text)
    reporter_contact: Mapped[str | None] = mapped_column(Text)
    # The signature of the solved challenge: one solution, one report (a replayed solution is refused).
    challenge_signature: Mapped[str] = mapped_column(String(128), unique=True)
    # When the first answer's deadline (the triage diagram's deadline timer) passed unanswered: marked once.
    overdue_told_at: Mapped[datetime | None]
    # The triage's process instance (bpmn/public_report_triage.bpmn; services/public_answers.py).
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    enterprise = relationship("Organisation", foreign_keys=[enterprise_id])
    # Orders a step's writes like a hazard's: the instance's row (its version check) first.
    instance = relationship("ProcessInstance", foreign_keys=[instance_id])

    @property
    def number(self) -> str:
        """How messages and the audit trail name it: its tracking code."""
        return self.tracking_code


class RewardStatus(enum.StrEnum):
    proposed = "proposed"   # an inspector proposed it; the head of the bureau decides
    approved = "approved"
    refused = "refused"


class PublicReward(Base):
    """A reward for a valid public report (有奖举报): proposed by an inspector, decided by the head of the bureau.
    The bureau's ledger lists these rows; it never names the reporter."""

    __tablename__ = "public_reward"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_report_id: Mapped[int] = mapped_column(ForeignKey("public_report.id"), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen (0.01 yuan), like the hazard's funds
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[RewardStatus] = mapped_column(enum_type(RewardStatus, "reward_status", 10, validate_strings=False))
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    proposed_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    report = relationship("PublicReport")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
