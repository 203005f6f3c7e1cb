"""The address book campaigns draw from: contacts, sales partners, products and contracts."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.models.base import Base, Timestamped, enum_field


class ContactKind(enum.StrEnum):
    PERSON = "person"
    COMPANY = "company"


class ContactStatus(enum.StrEnum):
    PROSPECT = "prospect"
    CUSTOMER = "customer"


class DispatchChannel(enum.StrEnum):
    """How a contact prefers to receive mail."""

    POST = "post"
    EMAIL = "email"
    WEB = "web"


class ContractStatus(enum.StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class SalesPartner(Timestamped, Base):
    """A broker who looks after contacts and earns commission on their contracts."""

    __tablename__ = "sales_partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    street: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    commission_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    active: Mapped[bool] = mapped_column(default=True)

    contacts: Mapped[list[Contact]] = relationship(back_populates="partner")
    contracts: Mapped[list[Contract]] = relationship(back_populates="partner")


class Contact(Timestamped, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        # the contact list's default order (by name, the id breaking ties) and name lookups
        Index("ix_contacts_last_name_first_name_id", "last_name", "first_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[ContactKind] = enum_field("contact_kind", ContactKind.PERSON)
    salutation: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(String(40))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    company_name: Mapped[str | None] = mapped_column(String(200), index=True)
    street: Mapped[str | None] = mapped_column(String(200))
    address_extra: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(10), index=True)
    city: Mapped[str | None] = mapped_column(String(100), index=True)
    country: Mapped[str] = mapped_column(String(2), default="DE")
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    mobile: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(5), default="de")
    birth_date: Mapped[date | None]
    status: Mapped[ContactStatus] = enum_field("contact_status", ContactStatus.PROSPECT, index=True)
    preferred_channel: Mapped[DispatchChannel] = enum_field(
        "dispatch_channel", DispatchChannel.POST
    )
    dispatch_block: Mapped[bool] = mapped_column(default=False)
    opt_out_post: Mapped[bool] = mapped_column(default=False)
    opt_out_email: Mapped[bool] = mapped_column(default=False)
    opt_out_sms: Mapped[bool] = mapped_column(default=False)
    opt_out_phone: Mapped[bool] = mapped_column(default=False)
    email_undeliverable: Mapped[str | None] = mapped_column(String(254))
    """The lower-cased address bounces showed undeliverable; while it is ``email``, no e-mail."""
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_partners.id", ondelete="SET NULL"), index=True
    )
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)

    partner: Mapped[SalesPartner | None] = relationship(back_populates="contacts")
    contracts: Mapped[list[Contract]] = relationship(back_populates="contact")

    @property
    def display_name(self) -> str:
        if self.kind is ContactKind.COMPANY and self.company_name:
            return self.company_name
        return " ".join(part for part in (self.title, self.first_name, self.last_name) if part)


ADDRESS_FIELDS = (
    "number",
    "salutation",
    "title",
    "first_name",
    "last_name",
    "company_name",
    "street",
    "address_extra",
    "postcode",
    "city",
    "country",
    "email",
    "phone",
    "mobile",
    "language",
)
"""A contact's name, address and channels: the fields every address import knows."""

CONSENT_FLAGS = ("dispatch_block", "opt_out_post", "opt_out_email", "opt_out_sms", "opt_out_phone")
"""The contact's flags whose every change is recorded as a ``ContactEvent``."""


class ContactEvent(Base):
    """A change of a contact's dispatch block or an opt-out: who, when, from what to what."""

    __tablename__ = "contact_events"
    __table_args__ = (
        Index("ix_contact_events_contact_id_at", "contact_id", "at"),
        Index("ix_contact_events_run_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(80))
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[bool | None]
    new_value: Mapped[bool]
    source: Mapped[str] = mapped_column(String(40), default="panel")
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    """The run whose message led to the change (an unsubscribe link), if any."""


class ChannelEventKind(enum.StrEnum):
    """What came back from a channel, besides consent changes (``ContactEvent``)."""

    REPLIED = "replied"
    BOUNCED = "bounced"
    UNSUBSCRIBED = "unsubscribed"
    """Only for an opt-out request that matched no contact; a matched one is a ContactEvent."""


class ChannelEvent(Base):
    """A reply, bounce or opt-out request; kept without ``contact_id`` when none matched."""

    __tablename__ = "channel_events"
    __table_args__ = (
        Index("ix_channel_events_contact_id_at", "contact_id", "at"),
        Index("ix_channel_events_run_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(80))
    """Where it came from, e.g. ``sms:http`` (the gateway whose webhook took it)."""
    address: Mapped[str | None] = mapped_column(String(254))
    detail: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    """The latest run sent to that address, if known."""


SEARCH_PREFIX_FIELDS = (
    "number",
    "last_name",
    "first_name",
    "company_name",
    "postcode",
    "city",
    "email",
)
"""Fields the panel's search matches by their start: indexed on ``lower(field)``, with
``text_pattern_ops`` on PostgreSQL so ``LIKE 'abc%'`` uses it whatever the collation."""
for _name in SEARCH_PREFIX_FIELDS:
    Index(
        f"ix_contacts_lower_{_name}",
        func.lower(getattr(Contact, _name)).label(f"lower_{_name}"),
        postgresql_ops={f"lower_{_name}": "text_pattern_ops"},
    )


class Product(Timestamped, Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(100))
    monthly_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    active: Mapped[bool] = mapped_column(default=True)

    contracts: Mapped[list[Contract]] = relationship(back_populates="product")


class Contract(Timestamped, Base):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_partners.id", ondelete="SET NULL"), index=True
    )
    signed_on: Mapped[date] = mapped_column(index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[ContractStatus] = enum_field("contract_status", ContractStatus.ACTIVE)
    cancelled_on: Mapped[date | None]

    contact: Mapped[Contact] = relationship(back_populates="contracts")
    product: Mapped[Product] = relationship(back_populates="contracts")
    partner: Mapped[SalesPartner | None] = relationship(back_populates="contracts")


class NumberSequence(Base):
    """Number sequences (``contact``: ``K-000001``), advanced by ``UPDATE … RETURNING``."""

    __tablename__ = "number_sequences"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger)
