"""Scheduled checks: one standard per enterprise, one checklist per post (一企一标准、一岗一清单)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, enum_type
from app.models.org import Role


class CheckStatus(str, enum.Enum):
    open = "open"
    completed = "completed"
    missed = "missed"


class Checklist(Base):
    """What one post checks, and when (a cron rule in China time); the next run is kept in SQL."""

    __tablename__ = "checklist"
    __table_args__ = (Index("ix_checklist_due", "active", "next_due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    post: Mapped[str] = mapped_column(String(100))           # 岗位, e.g. 一车间班组长
    level: Mapped[str] = mapped_column(String(20))           # team | workshop | plant | custom
    schedule: Mapped[str] = mapped_column(String(100))       # crontab: minute hour day month weekday
    location: Mapped[str] = mapped_column(String(300))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))  # who does the check
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # the post holder
    active: Mapped[bool] = mapped_column(default=True)
    next_due_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    # The items checked now; an item taken off the list is retired, not deleted (past results name it).
    items: Mapped[list[ChecklistItem]] = relationship(
        primaryjoin="and_(Checklist.id == ChecklistItem.checklist_id, ChecklistItem.retired.is_(False))",
        order_by="ChecklistItem.position", viewonly=True)
    enterprise = relationship("Organisation")
    assignee = relationship("User", foreign_keys=[assignee_id])


class ChecklistItem(Base):
    __tablename__ = "checklist_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklist.id"), index=True)
    position: Mapped[int]
    text: Mapped[str] = mapped_column(String(500))
    standard: Mapped[str | None] = mapped_column(String(300))  # the clause a failure breaches
    hazard_type: Mapped[str] = mapped_column(String(40), default="unsafe_condition")
    retired: Mapped[bool] = mapped_column(default=False)


class CheckTask(Base):
    """One scheduled run of a checklist: open until done, missed when its window closes."""

    __tablename__ = "check_task"
    __table_args__ = (
        UniqueConstraint("checklist_id", "scheduled_for"),
        Index("ix_check_task_due", "status", "due_at"),
        Index("ix_check_task_queue", "organisation_id", "role", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklist.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    scheduled_for: Mapped[datetime]
    due_at: Mapped[datetime]
    status: Mapped[CheckStatus] = mapped_column(enum_type(CheckStatus, "check_status"))
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(Text)
    checklist: Mapped[Checklist] = relationship()
    results: Mapped[list[CheckResult]] = relationship(order_by="CheckResult.id")
    completed_by = relationship("User", foreign_keys=[completed_by_id])


class CheckResult(Base):
    """The answer to one item; a failed item links to the hazard it became."""

    __tablename__ = "check_result"
    id: Mapped[int] = mapped_column(primary_key=True)
    check_task_id: Mapped[int] = mapped_column(ForeignKey("check_task.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_item.id"))
    ok: Mapped[bool]
    note: Mapped[str | None] = mapped_column(Text)
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazard.id"))
    item: Mapped[ChecklistItem] = relationship()
