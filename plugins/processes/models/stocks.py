"""Stocks of material (paper, envelopes, inserts): lines with their levels, order lines that
refill them, what each delivery consumed, and the alerts raised when a line runs low."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.models.base import Base, Timestamped


class Stock(Timestamped, Base):
    """A place material is kept (a warehouse, the print shop's store)."""

    __tablename__ = "stocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")

    lines: Mapped[list[StockLine]] = relationship(
        back_populates="stock",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="StockLine.id",
    )


class StockLine(Timestamped, Base):
    """One material in a stock. ``consumed`` and ``in_stock`` are computed by the stock
    workflow: in stock = initial + booked orders - consumed."""

    __tablename__ = "stock_lines"
    __table_args__ = (
        UniqueConstraint("stock_id", "name"),
        CheckConstraint("initial >= 0", name="initial"),
        CheckConstraint("alert_level IS NULL OR alert_level >= 0", name="alert_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stock_id: Mapped[int] = mapped_column(ForeignKey("stocks.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    initial: Mapped[int] = mapped_column(default=0)
    ordered_in: Mapped[int] = mapped_column(default=0)
    """Sum of the booked order lines."""
    consumed: Mapped[int] = mapped_column(default=0)
    in_stock: Mapped[int] = mapped_column(default=0)
    alert_level: Mapped[int | None]
    """At or below this level the line is in alert; None: never."""
    alert_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_groups.id", ondelete="SET NULL")
    )

    stock: Mapped[Stock] = relationship(back_populates="lines")
    orders: Mapped[list[StockOrder]] = relationship(
        back_populates="stock_line",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="StockOrder.delivery_date, StockOrder.id",
    )


class StockOrder(Base):
    """An order line: on its delivery date its quantity is booked into the stock, once."""

    __tablename__ = "stock_orders"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("booked = (booked_at IS NOT NULL)", name="booked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stock_line_id: Mapped[int] = mapped_column(
        ForeignKey("stock_lines.id", ondelete="CASCADE"), index=True
    )
    delivery_date: Mapped[date]
    quantity: Mapped[int]
    reference: Mapped[str] = mapped_column(String(200), default="")
    booked: Mapped[bool] = mapped_column(default=False)
    booked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    stock_line: Mapped[StockLine] = relationship(back_populates="orders")


class StockConsumption(Base):
    """How much of a stock line one delivery, or one direct run, of a campaign used;
    recomputed by the stock workflow from what was actually sent. The unique pairs make each
    delivery and run consume a line once."""

    __tablename__ = "stock_consumptions"
    __table_args__ = (
        UniqueConstraint("stock_line_id", "delivery_id"),
        UniqueConstraint("stock_line_id", "run_id"),
        CheckConstraint("quantity >= 0", name="quantity"),
        CheckConstraint("(delivery_id IS NULL) <> (run_id IS NULL)", name="one_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stock_line_id: Mapped[int] = mapped_column(ForeignKey("stock_lines.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    quantity: Mapped[int]


class StockAlert(Base):
    """One crossing of a stock line's alert level: raised when the level is reached, resolved
    when the stock is above it again. At most one alert per line is open (a partial unique
    index), so a line that stays low raises no second alert."""

    __tablename__ = "stock_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    stock_line_id: Mapped[int] = mapped_column(
        ForeignKey("stock_lines.id", ondelete="CASCADE"), index=True
    )
    alert_level: Mapped[int]
    in_stock: Mapped[int]
    """The level when the alert was raised."""
    raised_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]

    stock_line: Mapped[StockLine] = relationship()


Index(
    "ux_stock_alerts_one_open_per_line",
    StockAlert.stock_line_id,
    unique=True,
    sqlite_where=StockAlert.resolved_at.is_(None),
    postgresql_where=StockAlert.resolved_at.is_(None),
)
