"""Declarative base and column types shared by every model."""
from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, registry

NAMING = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_type(cls: type[enum.Enum], name: str, length: int = 20, *, validate_strings: bool = True) -> Enum:
    """A column type for an enumeration, stored as its values in a VARCHAR (no database enum type to migrate).

    `validate_strings=False`: a string that is no value binds as itself instead of raising, for a column that
    lists filter by what a client sends (an unknown value then simply matches nothing).
    """
    return Enum(cls, name=name, native_enum=False, length=length, validate_strings=validate_strings)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    registry = registry(type_annotation_map={datetime: UTCDateTime()})
