"""Budgets and what the cost calculation books into them: expense lines per delivery or task,
one cost line per cost category, and the amounts per commitment level."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, Money, Timestamped, enum_column, period_check

LEVEL_FIELDS = ("planned", "reserved", "committed")
AMOUNT_FIELDS = (*LEVEL_FIELDS, "spent", "invoiced")


def _exactly_one(*columns: str) -> str:
    return " + ".join(f"(CASE WHEN {column} IS NULL THEN 0 ELSE 1 END)" for column in columns) + (
        " = 1"
    )


class ExpenseCategory(Timestamped, Base):
    """A heading a budget is broken down by (print, postage, agency days ...); cost categories
    of provider services name the one their costs go to."""

    __tablename__ = "expense_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class BudgetAmounts:
    """The five amounts a budget and each of its expense categories carry.

    planned, reserved and committed partition the booked costs by commitment level; spent
    is the part already performed (sent, finished) and invoiced the part with a real cost.
    """

    planned: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    committed: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    spent: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    invoiced: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))

    @property
    def booked(self) -> Decimal:
        """Everything booked, whatever its level: what is compared with the allocation."""
        return self.planned + self.reserved + self.committed


class Budget(BudgetAmounts, Timestamped, Base):
    """Money allocated to a plan, a program or a campaign for a period.

    The budget receives the costs of every campaign under its owner whose budget status is
    specified: a plan's budget those of all its programs' campaigns.
    """

    __tablename__ = "budgets"
    __table_args__ = (
        period_check(),
        CheckConstraint(_exactly_one("plan_id", "program_id", "campaign_id"), name="one_owner"),
        CheckConstraint("allocated >= 0", name="allocated"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("plans.id", ondelete="CASCADE"), index=True
    )
    program_id: Mapped[int | None] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), index=True
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    allocated: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    over_allocated: Mapped[bool] = mapped_column(default=False)
    over_allocated_since: Mapped[datetime | None]

    expenses: Mapped[list[BudgetExpense]] = relationship(
        back_populates="budget",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="BudgetExpense.expense_category_id",
    )

    @property
    def available(self) -> Decimal:
        return self.allocated - self.booked


class BudgetExpense(BudgetAmounts, Base):
    """A budget's allocation and amounts for one expense category."""

    __tablename__ = "budget_expenses"
    __table_args__ = (
        UniqueConstraint("budget_id", "expense_category_id"),
        CheckConstraint("allocated >= 0", name="allocated"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets.id", ondelete="CASCADE"))
    expense_category_id: Mapped[int] = mapped_column(
        ForeignKey("expense_categories.id", ondelete="RESTRICT"), index=True
    )
    allocated: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))

    budget: Mapped[Budget] = relationship(back_populates="expenses")
    expense_category: Mapped[ExpenseCategory] = relationship()


class ExpenseBasis(enum.StrEnum):
    """What an expense line's amount was calculated from."""

    TARGETED = "targeted"
    """An analysed delivery: the recipients targeted."""
    SENT = "sent"
    """A delivery or a direct run that has sent: only what was actually sent."""
    DAYS = "days"
    """A finished task: the days worked."""


class ExpenseLine(Timestamped, Base):
    """The calculated cost of one delivery (once analysed), one task (once finished) or one
    direct run (a Start without a delivery, once it reached recipients).

    The unique source columns make each of them booked exactly once, whoever computes it; a
    voided run's line stays as its trace (``voided_at``) and leaves every sum."""

    __tablename__ = "expense_lines"
    __table_args__ = (
        CheckConstraint(_exactly_one("delivery_id", "task_id", "run_id"), name="one_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), unique=True
    )
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), unique=True
    )
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), unique=True
    )
    voided_at: Mapped[datetime | None]
    """When its run was voided: the line no longer counts anywhere."""
    basis: Mapped[ExpenseBasis] = mapped_column(enum_column(ExpenseBasis, "expense_basis"))
    messages: Mapped[int] = mapped_column(default=0)
    units: Mapped[int] = mapped_column(default=0)
    days: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(0))
    calculated: Mapped[Decimal] = mapped_column(Money)
    """The cost lines plus the delivery's amount to surcharge."""
    surcharge: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    real_cost: Mapped[Decimal | None] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    """What counts: the real cost if there is one, else the calculated amount."""

    cost_lines: Mapped[list[CostLine]] = relationship(
        back_populates="expense_line",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CostLine.id",
    )


class CostLine(Base):
    """The part of an expense line that one cost category of the provider service charges."""

    __tablename__ = "cost_lines"
    __table_args__ = (UniqueConstraint("expense_line_id", "cost_category_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expense_line_id: Mapped[int] = mapped_column(ForeignKey("expense_lines.id", ondelete="CASCADE"))
    cost_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("cost_categories.id", ondelete="SET NULL"), index=True
    )
    expense_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("expense_categories.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(200))
    """The cost category's name when the line was calculated."""
    amount: Mapped[Decimal] = mapped_column(Money)
    detail: Mapped[str] = mapped_column(Text, default="")

    expense_line: Mapped[ExpenseLine] = relationship(back_populates="cost_lines")
