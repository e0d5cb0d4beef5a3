"""Requests for more time to rectify a hazard (延期申请)."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, enum_type
from app.models.org import Role


class ExtensionStatus(str, enum.Enum):
    pending = "pending"
    approved = "approved"
    refused = "refused"


class ExtensionRequest(Base):
    """An officer asks for a later deadline; the principal or (listed hazards) the inspector decides."""

    __tablename__ = "extension_request"
    __table_args__ = (Index("ix_extension_request_hazard", "hazard_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard.id"))
    deadlines: Mapped[str] = mapped_column(String(60))  # which deadlines move, e.g. "rectification,supervision"
    current_deadline: Mapped[date]
    requested_deadline: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    approver_role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    status: Mapped[ExtensionStatus] = mapped_column(enum_type(ExtensionStatus, "extension_status"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    hazard = relationship("Hazard")
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
