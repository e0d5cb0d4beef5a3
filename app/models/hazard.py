"""The hazard record and read model, its attachments and its audit trail."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, TypeDecorator, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base


class HazardStatus(enum.StrEnum):
    """Where a hazard stands: the `status` property of the diagram's steps and end events, plus two of the app's.

    Stored as these values (the read model's `hazard.status`); processes.check_diagram refuses a diagram
    step whose status is not one of them.
    """

    reported = "reported"                  # recorded, its process not yet at a step (the app's)
    assessing = "assessing"
    planning = "planning"
    approving = "approving"
    supervision_review = "supervision_review"
    rectifying = "rectifying"
    reviewing = "reviewing"
    accepting = "accepting"
    verifying = "verifying"
    writing_off = "writing_off"
    closed = "closed"
    written_off = "written_off"
    waiting = "waiting"                    # no step open, e.g. at a timer (the app's)


# A hazard in one of these is done: nothing is overdue, no reminder is sent (a custom final status is done too:
# services/statuses.is_final).
FINAL_STATUSES = frozenset({HazardStatus.closed, HazardStatus.written_off})


class HazardStatusType(TypeDecorator):
    """The read model's status: a built-in one reads back as its HazardStatus, one of the administrators' own
    statuses (the `hazard_status` vocabulary) as its key. Any string binds as itself (lists filter by what a
    client sends: an unknown one matches nothing)."""

    impl = String(30)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else str(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        try:
            return HazardStatus(value)
        except ValueError:
            return value


class StatusTerm(Base):
    """One word of the hazard status vocabulary (表 hazard_status): the built-ins (HazardStatus, seeded by
    migration 0021) and the ones administrators add in the designer for a step or an end event."""

    __tablename__ = "hazard_status"
    key: Mapped[str] = mapped_column(String(30), primary_key=True)
    label_zh: Mapped[str] = mapped_column(String(60))
    label_en: Mapped[str] = mapped_column(String(60))
    final: Mapped[bool] = mapped_column(default=False)
    builtin: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)


class Hazard(Base):
    """A hazard's record (登记建档) and the read model pages query: never a serialized workflow."""

    __tablename__ = "hazard"
    __table_args__ = (
        # The columns a filtered register counts by, so that the count reads the index only (migration 0007).
        Index("ix_hazard_enterprise_status", "enterprise_id", "status",
              postgresql_include=["grade", "overdue", "created_at"]),
        Index("ix_hazard_unit_status", "supervising_unit_id", "status",
              postgresql_include=["grade", "overdue", "created_at"]),
        Index("ix_hazard_overdue", "overdue", "rectification_deadline"),
        # Repeat hazards: an enterprise's earlier hazards at one location of one type (migration 0021).
        Index("ix_hazard_enterprise_location_type", "enterprise_id", "location", "hazard_type", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(300))
    hazard_type: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(40))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    supervising_unit_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    # Read model, updated in the same transaction as the instance.
    # Lists filter by a status a client sends: an unknown one matches nothing (see HazardStatusType).
    status: Mapped[HazardStatus | str] = mapped_column(HazardStatusType(), index=True)
    grade: Mapped[str | None] = mapped_column(String(10), index=True)
    current_step: Mapped[str | None] = mapped_column(String(200))
    responsible_person: Mapped[str | None] = mapped_column(String(100))
    rectification_deadline: Mapped[date | None]
    listed: Mapped[bool] = mapped_column(default=False)
    notice_number: Mapped[str | None] = mapped_column(String(100))
    supervision_deadline: Mapped[date | None]
    overdue: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # From the rectification plan and the rectification (services/statistics.py says what counts), for the
    # statistics: all five of 五落实 in the plan, the plan's funds and the funds spent, in fen (0.01 yuan).
    five_in_place: Mapped[bool] = mapped_column(default=False, server_default=false())
    fixed_on_time: Mapped[bool] = mapped_column(default=False, server_default=false())
    plan_funds: Mapped[int | None] = mapped_column(BigInteger)
    funds_spent: Mapped[int | None] = mapped_column(BigInteger)
    # The national table's plan columns (migration 0021, services/statistics.py PLAN_ITEMS): a governance plan
    # recorded, and each of its five (治理目标任务, 经费物资, 机构人员, 时间要求, 安全措施应急预案) in place;
    # and the tier a listed hazard is supervised at (the supervision decision's `supervision_tier`).
    planned: Mapped[bool] = mapped_column(default=False, server_default=false())
    plan_targets: Mapped[bool] = mapped_column(default=False, server_default=false())
    plan_funds_materials: Mapped[bool] = mapped_column(default=False, server_default=false())
    plan_organisation: Mapped[bool] = mapped_column(default=False, server_default=false())
    plan_time_limit: Mapped[bool] = mapped_column(default=False, server_default=false())
    plan_safety_emergency: Mapped[bool] = mapped_column(default=False, server_default=false())
    supervision_tier: Mapped[str | None] = mapped_column(String(20))
    # Repeat hazards (反复性隐患, services/repeats.py): the checklist item a check's failed item reported it from,
    # and, when the same fault was found at the same enterprise within the window, which occurrence this is
    # (2 for the second; None: not a repeat). Its earlier occurrences: HazardRepeat.
    checklist_item_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_item.id"), index=True)
    repeat_number: Mapped[int | None]
    # The head of the hazard's audit chain (services/audit.py), written under the instance lock.
    audit_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    audit_hash: Mapped[str | None] = mapped_column(String(64))
    enterprise = relationship("Organisation", foreign_keys=[enterprise_id])
    reporter = relationship("User", foreign_keys=[reporter_id])
    # Also orders the writes of a step: the instance's row (its version check) before the hazard's, and the
    # hazard's before its tasks' and audit events' (relationships decide the order of a flush).
    instance = relationship("ProcessInstance", foreign_keys=[instance_id])


class HazardRepeat(Base):
    """A repeat hazard's link to one of its earlier occurrences, and why they are the same fault."""

    __tablename__ = "hazard_repeat"
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard.id"), primary_key=True)
    earlier_id: Mapped[int] = mapped_column(ForeignKey("hazard.id"), primary_key=True, index=True)
    reason: Mapped[str] = mapped_column(String(20))  # checklist_item | location_type


class Attachment(Base):
    """A photo or document stored as a file; task data keeps only its id."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # image | document
    # What the file is evidence of (EVIDENCE_KINDS in services/forms.py), named by the form field that uploaded
    # it; None until a form files it (and for files filed before kinds existed: read from the field then).
    evidence_kind: Mapped[str | None] = mapped_column(String(30))
    original_name: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(300))
    # None for a photo a member of the public sent (no account): it belongs to its public report.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    public_report_id: Mapped[int | None] = mapped_column(ForeignKey("public_report.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazard.id"), index=True)
    created_at: Mapped[datetime]


class AuditEvent(Base):
    """Append-only evidence. Each event is hashed with its predecessor in the same chain.

    A hazard's events form one chain (serialized by the instance lock); events that concern no
    hazard (deployments, logins) form the `system` chain.
    """

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("chain", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int]
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazard.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(60))
    task_spec: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[str] = mapped_column(Text)  # canonical JSON
    created_at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    actor = relationship("User")
    hazard = relationship("Hazard")


class AuditHead(Base):
    """The head of the system chain (a hazard's chain keeps its head on the hazard row), so that a deleted
    tail is detected too."""

    __tablename__ = "audit_head"
    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
