"""Service providers (print shops, routers), their service templates with cost categories,
cost types and cost structures, and the processes a provider's deliveries go through."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.messages import stored_for
from core.models.base import Base, Price, Timestamped, enum_column
from plugins.processes.costs import KIND_NAMES, Basis, Structure, StructureKind

if TYPE_CHECKING:
    from core.models.campaigns import Campaign
    from plugins.processes.models.budgets import ExpenseCategory
    from plugins.processes.models.stocks import StockLine

stored = stored_for(__name__)


class ProviderKind(enum.StrEnum):
    PRINT_SHOP = "print_shop"
    ROUTER = "router"
    """Delivers messages for us: a letter shop, an SMS or e-mail router."""
    OTHER = "other"


class CostCategoryKind(enum.StrEnum):
    """The message type a cost category prices; a delivery uses the categories of its channel."""

    DIRECT_MAIL = "direct_mail"
    EMAIL = "email"
    MOBILE = "mobile"
    TELEPHONE = "telephone"
    TASK = "task"


class Provider(Timestamped, Base):
    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[ProviderKind] = mapped_column(
        enum_column(ProviderKind, "provider_kind"), default=ProviderKind.OTHER
    )
    email: Mapped[str | None] = mapped_column(String(254))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)

    services: Mapped[list[ProviderService]] = relationship(
        back_populates="provider",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ProviderService.id",
    )


class ProviderService(Timestamped, Base):
    """A service template of a provider ("Briefdruck DIN A4", "SMS Versand") with its costs."""

    __tablename__ = "provider_services"
    __table_args__ = (UniqueConstraint("provider_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    provider: Mapped[Provider] = relationship(back_populates="services")
    campaigns: Mapped[list[Campaign]] = relationship(backref="provider_service")
    """Adds ``Campaign.provider_service``, the service that prices a campaign's direct runs."""
    cost_categories: Mapped[list[CostCategory]] = relationship(
        back_populates="service",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CostCategory.id",
    )
    process: Mapped[ServiceProcess | None] = relationship(
        back_populates="service", cascade="all, delete-orphan", passive_deletes=True
    )


class CostCategory(Timestamped, Base):
    """What a service charges for one kind of thing (printing, postage, envelopes ...).

    When a delivery chooses none of the category's cost types, its ``default_cost_type``
    applies; without one, ``cost_type_required`` makes the missing choice an error (e.g.
    envelope C5 or DL), and otherwise the category charges nothing. A category without cost
    types has nothing to choose: its structures always apply.
    """

    __tablename__ = "cost_categories"
    __table_args__ = (UniqueConstraint("service_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("provider_services.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[CostCategoryKind] = mapped_column(
        enum_column(CostCategoryKind, "cost_category_kind")
    )
    expense_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("expense_categories.id", ondelete="SET NULL")
    )
    cost_type_required: Mapped[bool] = mapped_column(default=False)
    default_cost_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("cost_types.id", ondelete="SET NULL", use_alter=True)
    )

    service: Mapped[ProviderService] = relationship(back_populates="cost_categories")
    expense_category: Mapped[ExpenseCategory | None] = relationship()
    default_cost_type: Mapped[CostType | None] = relationship(
        foreign_keys=[default_cost_type_id], post_update=True
    )
    cost_types: Mapped[list[CostType]] = relationship(
        back_populates="cost_category",
        foreign_keys="CostType.cost_category_id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CostType.id",
    )
    structures: Mapped[list[CostStructure]] = relationship(
        back_populates="cost_category",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CostStructure.position, CostStructure.id",
    )


class CostType(Timestamped, Base):
    """A variant within a cost category ("Kuvert C5", "Porto Standardbrief"), optionally
    taken from a stock line: one per message or one per unit (page) sent."""

    __tablename__ = "cost_types"
    __table_args__ = (
        UniqueConstraint("cost_category_id", "name"),
        CheckConstraint("stock_basis IN ('messages', 'units')", name="stock_basis"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cost_category_id: Mapped[int] = mapped_column(
        ForeignKey("cost_categories.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    stock_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("stock_lines.id", ondelete="SET NULL"), index=True
    )
    stock_basis: Mapped[Basis] = mapped_column(
        enum_column(Basis, "cost_basis"), default=Basis.MESSAGES
    )

    cost_category: Mapped[CostCategory] = relationship(
        back_populates="cost_types", foreign_keys=[cost_category_id]
    )
    stock_line: Mapped[StockLine | None] = relationship()


class CostStructure(Timestamped, Base):
    """How a cost category (or one of its cost types) is priced; see ``processes.costs``.

    The columns mirror ``processes.costs.Structure``; ``spec()`` validates them, so a row
    edited by hand into something incomplete is reported with its id and the field at fault.
    """

    __tablename__ = "cost_structures"
    __table_args__ = (
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount"),
        CheckConstraint("batch_size IS NULL OR batch_size >= 1", name="batch_size"),
        CheckConstraint("percent IS NULL OR percent >= 0", name="percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cost_category_id: Mapped[int] = mapped_column(
        ForeignKey("cost_categories.id", ondelete="CASCADE"), index=True
    )
    cost_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("cost_types.id", ondelete="CASCADE"), index=True
    )
    """Only for deliveries that use this cost type; None: for every use of the category."""
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[StructureKind] = mapped_column(enum_column(StructureKind, "structure_kind"))
    basis: Mapped[Basis] = mapped_column(enum_column(Basis, "cost_basis"), default=Basis.MESSAGES)
    amount: Mapped[Decimal | None] = mapped_column(Price)
    batch_size: Mapped[int | None]
    brackets: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    percent: Mapped[Decimal | None] = mapped_column(Price)

    cost_category: Mapped[CostCategory] = relationship(back_populates="structures")
    cost_type: Mapped[CostType | None] = relationship()

    @classmethod
    def of(cls, structure: Structure, **columns: Any) -> CostStructure:
        """A row for a validated structure; ``columns`` sets the category, type, position."""
        return cls(
            kind=structure.kind,
            basis=structure.basis,
            amount=structure.amount,
            batch_size=structure.batch_size,
            brackets=[bracket.model_dump(mode="json") for bracket in structure.brackets],
            percent=structure.percent,
            label=structure.label,
            **columns,
        )

    def spec(self) -> Structure:
        """The validated structure, or CostError naming this structure and the bad field."""
        where = stored(
            "cost structure {id} ({name}) of cost category {category}",
            id=str(self.id),
            name=self.label or KIND_NAMES[StructureKind(self.kind)],
            category=str(self.cost_category_id),
        )
        return Structure.parse(
            {
                "kind": self.kind,
                "basis": self.basis,
                "amount": self.amount,
                "batch_size": self.batch_size,
                "brackets": self.brackets or [],
                "percent": self.percent,
                "label": self.label,
            },
            where,
        )


class ServiceProcess(Timestamped, Base):
    """What happens with a service's deliveries at the provider, for the supplier workflow:
    the extraction file, the notification e-mail to the router, the upload and the result
    file that reports each message as sent or failed."""

    __tablename__ = "service_processes"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("provider_services.id", ondelete="CASCADE"), unique=True
    )
    export_columns: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    """The extraction file's columns: ``{"header": "PLZ", "field": "postcode"}`` each."""
    file_name_pattern: Mapped[str] = mapped_column(
        String(200), default="{campaign}-{delivery}-{date}.csv"
    )
    raw_values: Mapped[bool] = mapped_column(default=False, server_default=false())
    """The provider's machine reads the extraction file: cells beginning with ``=``, ``+``,
    ``-``, ``@`` are written as they are instead of neutralised with a quote."""
    notification_subject: Mapped[str] = mapped_column(String(300), default="")
    notification_template: Mapped[str] = mapped_column(Text, default="")
    """Jinja2 text of the e-mail to the router (sandboxed like every template)."""
    notification_recipients: Mapped[list[str]] = mapped_column(default=list)
    upload_target: Mapped[str | None] = mapped_column(String(63))
    """Name of the upload target plugin the file goes to; None: the file is only e-mailed."""
    upload_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result_format: Mapped[dict[str, Any] | None]
    """How to read the provider's result file (``{"delimiter": ";", "key_column": ...,
    "status_column": ..., "sent_values": [...]}``); None: messages count as sent on
    confirmation."""

    service: Mapped[ProviderService] = relationship(back_populates="process")
