"""Marketing plans and their programs: the levels above campaigns that costs roll up to."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, Money, Timestamped, period_check

if TYPE_CHECKING:
    from core.models.campaigns import Campaign


class Plan(Timestamped, Base):
    """A calendar period of marketing (e.g. "Marketing 2026") with its programs."""

    __tablename__ = "plans"
    __table_args__ = (period_check(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    calculated_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    """Sum of its programs' costs, written by the cost calculation."""

    programs: Mapped[list[Program]] = relationship(back_populates="plan", order_by="Program.id")


class Program(Timestamped, Base):
    """Marketing actions of a plan for a period (e.g. "Kundenbindung Q1"); holds campaigns.

    A plan with programs cannot be deleted: move or delete its programs first.
    """

    __tablename__ = "programs"
    __table_args__ = (UniqueConstraint("plan_id", "name"), period_check())

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    calculated_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    """Sum of the costs of its campaigns whose budget status is specified."""

    plan: Mapped[Plan] = relationship(back_populates="programs")
    campaigns: Mapped[list[Campaign]] = relationship(backref="program", order_by="Campaign.id")
    """Adds ``Campaign.program``: the core's campaign knows nothing of programs."""
