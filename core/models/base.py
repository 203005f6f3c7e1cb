"""The declarative base shared by the core's and the plugins' tables."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Enum, MetaData, Numeric, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, mapped_column

from core.clock import utcnow

JSONType = JSON().with_variant(JSONB(), "postgresql")
Money = Numeric(14, 2)
"""Amounts in euros and cents: budgets, costs, estimates."""
CENT = Decimal("0.01")
Price = Numeric(12, 4)
"""Prices per message, unit or day, which go below the cent (0.0450 per SMS)."""


def round_money(value: Decimal) -> Decimal:
    """To the cent, half up (0.005 → 0.01), as invoices round and a ``Money`` column holds."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def period_check() -> CheckConstraint:
    """A table's ``end_date`` may not come before its ``start_date``."""
    return CheckConstraint(
        "start_date IS NULL OR end_date IS NULL OR end_date >= start_date", name="period"
    )


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"refusing a datetime without a time zone: {value!r}")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(enum_class: type[enum.Enum], name: str) -> Enum:
    """Store an enum by value as a checked string, the same on SQLite and PostgreSQL."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum_class),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def enum_field(name: str, default: enum.Enum, **kwargs: Any) -> MappedColumn[Any]:
    """A column of ``default``'s enum (``enum_column``) that starts as ``default``."""
    return mapped_column(enum_column(type(default), name), default=default, **kwargs)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {
        dict[str, Any]: JSONType,
        list[str]: JSONType,
        list[dict[str, Any]]: JSONType,
        datetime: UTCDateTime(),
    }


class Timestamped:
    """Creation and last-change times, taken from the injectable clock."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
