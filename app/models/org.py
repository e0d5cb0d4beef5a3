"""Regions, organisations (government units and enterprises), users and API tokens."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, enum_type


class RegionKind(str, enum.Enum):
    """District (区) → township, street or park (乡镇/街道/园区, one tier) → safety grid (网格)."""
    district = "district"
    township = "township"
    street = "street"
    park = "park"
    grid = "grid"


# The tier of each kind: a region's parent is one tier above it (a district has none).
REGION_TIER = {RegionKind.district: 1, RegionKind.township: 2, RegionKind.street: 2, RegionKind.park: 2,
               RegionKind.grid: 3}


class OrgKind(str, enum.Enum):
    government = "government"
    enterprise = "enterprise"


class OrgStatus(str, enum.Enum):
    """An organisation is closed, never deleted: its hazards and audit trail keep pointing to it."""
    active = "active"
    closed = "closed"


class EnterpriseScale(str, enum.Enum):
    """大型/中型/小型/微型 (the statistical size classes of enterprises)."""
    large = "large"
    medium = "medium"
    small = "small"
    micro = "micro"


class Role(str, enum.Enum):
    officer = "officer"          # 企业安全员
    principal = "principal"      # 企业主要负责人
    inspector = "inspector"      # 监管人员
    admin = "admin"              # 管理员



class Region(Base):
    """A district, a township/park, or a safety grid; a tree."""

    __tablename__ = "region"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[RegionKind] = mapped_column(enum_type(RegionKind, "region_kind"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    # A closed region (merged into another) is not offered in pickers; it stays in filters and history.
    status: Mapped[OrgStatus] = mapped_column(enum_type(OrgStatus, "region_status", 10, validate_strings=False),
                                              default=OrgStatus.active, server_default="active")
    parent: Mapped[Region | None] = relationship(remote_side=[id])


class Organisation(Base):
    """A government unit (district bureau, township office) or an enterprise."""

    __tablename__ = "organisation"
    __table_args__ = (
        # The administrator's lists, by name: the whole city (kind) and one district's (its units), migration 0013.
        Index("ix_organisation_kind_name", "kind", "name", "id"),
        Index("ix_organisation_unit_name", "supervising_unit_id", "name", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrgKind] = mapped_column(enum_type(OrgKind, "org_kind"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    # Enterprises sit in a region; government units cover regions (see Jurisdiction).
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    # A GB/T 4754-2017 code as stored by services/org_codes.py ("C26", "C2614").
    industry: Mapped[str | None] = mapped_column(String(60))
    address: Mapped[str | None] = mapped_column(String(300))
    # 统一社会信用代码 (GB 32100-2015), checked by services/org_codes.py.
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    scale: Mapped[EnterpriseScale | None] = mapped_column(enum_type(EnterpriseScale, "enterprise_scale", 10))
    legal_representative: Mapped[str | None] = mapped_column(String(100))
    principal_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    # Lists filter by a status a client sends: an unknown one matches nothing (see enum_type).
    status: Mapped[OrgStatus] = mapped_column(enum_type(OrgStatus, "org_status", 10, validate_strings=False),
                                              default=OrgStatus.active, server_default="active")
    # For an enterprise: the lowest-tier government unit whose jurisdiction covers it.
    supervising_unit_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    parent: Mapped[Organisation | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    region: Mapped[Region | None] = relationship()


class Jurisdiction(Base):
    """A government unit supervises a region and every region below it."""

    __tablename__ = "jurisdiction"
    __table_args__ = (UniqueConstraint("unit_id", "region_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)


class User(UserMixin, Base):
    __tablename__ = "user_account"
    # The people lists by organisation, role and state, counted from the index alone (migration 0026).
    __table_args__ = (Index("ix_user_account_org_role_active", "organisation_id", "role", "active"),
                      # validate_user looks user names up case-blind (migration 0018).
                      Index("ix_user_account_username_lower", func.lower(text("username"))))
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200))
    # A mainland mobile number, 11 digits (services/users.py normalises and checks it).
    mobile: Mapped[str | None] = mapped_column(String(11))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    # Accounts are deactivated, never deleted: the audit trail keeps their name.
    active: Mapped[bool] = mapped_column(default=True)
    deactivated_at: Mapped[datetime | None]
    # Set by a one-time password (a new account, a reset): every page and API call but changing it is refused.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[datetime | None]
    locale: Mapped[str | None] = mapped_column(String(5))
    # An inspector who heads a bureau: the last tier of deadline escalation (局领导).
    bureau_head: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    organisation: Mapped[Organisation | None] = relationship()
    positions: Mapped[list[Position]] = relationship(secondary="user_position", order_by="Position.name",
                                                     viewonly=True)
    # The signed-in session this object was loaded for (services/auth.py); not a column.
    session_token = None

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: what the session and remember-me cookies carry
        return f"{self.id}:{self.session_token}"


class Position(Base):
    """A post an administrator defines (车间主任 workshop head in an enterprise, 科长 in a government unit): a lane
    named after an active one is done by the people holding it in the hazard's enterprise or supervising unit."""

    __tablename__ = "position"
    __table_args__ = (UniqueConstraint("kind", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[OrgKind] = mapped_column(enum_type(OrgKind, "org_kind"))
    # Retired, never deleted: tasks and the audit trail keep pointing to it.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class UserPosition(Base):
    """A person holds a position (in their own organisation)."""

    __tablename__ = "user_position"
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id"), primary_key=True, index=True)


class LoginSession(Base):
    """One sign-in on one device: the cookies carry its token, only its sha256 is stored. Logging out deletes it,
    so a copied cookie stops working; every sign-in makes a new one (the remember-me token rotates)."""

    __tablename__ = "login_session"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token; only its sha256 is stored."""

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_hash", "token_hash", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    user: Mapped[User] = relationship()
