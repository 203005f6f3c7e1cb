"""Campaigns, saved queries, static records, runs and the send-once ledger."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import and_, false, true

from core.clock import utcnow
from core.models.addressbook import ADDRESS_FIELDS
from core.models.base import Base, Money, Timestamped, enum_field


class BudgetStatus(enum.StrEnum):
    """Whether a campaign's costs are final enough to be booked into budgets."""

    EDITING = "editing"
    SPECIFIED = "specified"


class CommitmentLevel(enum.IntEnum):
    """How firmly a campaign's or task's costs are promised: the budget amount they book to."""

    PLANNED = 1
    RESERVED = 2
    COMMITTED = 3

    @property
    def amount_field(self) -> str:
        return self.name.lower()


class SavedQuery(Timestamped, Base):
    """A query from the query editor; flagged ones are offered as distribution lists."""

    __tablename__ = "saved_queries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    definition: Mapped[dict[str, Any]]
    is_distribution_list: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str | None] = mapped_column(String(80))


class CampaignStatus(enum.StrEnum):
    """Where a campaign is in its life: which of its costs counts and whether it may start."""

    EDITING = "editing"
    TO_VALIDATE = "to_validate"
    """A delivery was submitted and none has started yet."""
    IN_PROGRESS = "in_progress"
    FINISHED = "finished"
    """Every delivery and run ended and the end date passed."""
    CANCELLED = "cancelled"


CLOSED_CAMPAIGN_STATES = frozenset({CampaignStatus.FINISHED, CampaignStatus.CANCELLED})
"""A campaign in these states does not start without being reopened."""


class Campaign(Timestamped, Base):
    """What to select, how to filter it, and which action to run; validated by each plugin."""

    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint("commitment_level BETWEEN 1 AND 3", name="commitment_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    datasource: Mapped[str] = mapped_column(String(63))
    datasource_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    group_keys: Mapped[list[str]] = mapped_column(default=list)
    filters: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    action: Mapped[str] = mapped_column(String(63))
    action_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str | None] = mapped_column(String(80))
    program_id: Mapped[int | None] = mapped_column(index=True)
    """The process bundle's program (its foreign key comes with the bundle's tables)."""
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[CampaignStatus] = enum_field(
        "campaign_status", CampaignStatus.EDITING, server_default=CampaignStatus.EDITING.value
    )
    budget_status: Mapped[BudgetStatus] = enum_field(
        "budget_status", BudgetStatus.EDITING, server_default=BudgetStatus.EDITING.value
    )
    commitment_level: Mapped[int] = mapped_column(
        default=CommitmentLevel.PLANNED, server_default=str(int(CommitmentLevel.PLANNED))
    )
    estimated_cost: Mapped[Decimal | None] = mapped_column(Money)
    provider_service_id: Mapped[int | None] = mapped_column(index=True)
    """The process bundle's service that prices the campaign's runs without a delivery."""
    calculated_cost: Mapped[Decimal | None] = mapped_column(Money)
    """The campaign's cost by the rules of docs/processes.md, written by the cost calculation."""
    service_communication: Mapped[bool] = mapped_column(default=False, server_default=false())
    """A legally required notice: its runs pass opt-outs, never a block (``core.reach``)."""
    sending_window: Mapped[dict[str, Any] | None]
    """The days and hours its runs may reach people (``core.engine.sending_window``)."""
    hourly_limit: Mapped[int | None]
    """At most so many sends in any hour, over all its runs (``core.engine.hourly_limit``)."""

    runs: Mapped[list[Run]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True
    )
    records: Mapped[list[CampaignRecord]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True
    )


IMPORT_ENTITY = "import"
"""``CampaignRecord.entity`` of rows imported from a file, which reference no record."""
IMPORT_FIELDS = ADDRESS_FIELDS
"""The fields of an imported row's ``data``, named like a contact's."""


class CampaignRecord(Base):
    """A static recipient of one campaign: a reference to a record, or an imported row."""

    __tablename__ = "campaign_records"
    __table_args__ = (UniqueConstraint("campaign_id", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    data: Mapped[dict[str, Any] | None]
    source: Mapped[str] = mapped_column(String(40), default="manual")
    line_number: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="records")


class RunState(enum.StrEnum):
    QUEUED = "queued"
    TARGETING = "targeting"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    """Nothing is sent until a person confirms the count (``confirm_run``)."""
    RUNNING = "running"
    FINISHING = "finishing"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_RUN_STATES = (
    RunState.QUEUED,
    RunState.TARGETING,
    RunState.AWAITING_CONFIRMATION,
    RunState.RUNNING,
    RunState.FINISHING,
)
FINAL_RUN_STATES = (
    RunState.COMPLETED,
    RunState.COMPLETED_WITH_ERRORS,
    RunState.FAILED,
    RunState.CANCELLED,
)


class ItemStatus(enum.StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    HELD_OUT = "held_out"
    UNCLEAR = "unclear"


class ItemKind(enum.StrEnum):
    """A recipient processed on its own, a group processed as one, or a member of such a group."""

    RECIPIENT = "recipient"
    GROUP = "group"
    MEMBER = "member"


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    delivery_id: Mapped[int | None] = mapped_column(index=True)
    """The process bundle's delivery this run performs (its action is in ``config``)."""
    number: Mapped[int]
    state: Mapped[RunState] = enum_field("run_state", RunState.QUEUED)
    exclusive: Mapped[bool] = mapped_column(default=True)
    dry_run: Mapped[bool] = mapped_column(default=False)
    limit: Mapped[int | None]
    config: Mapped[dict[str, Any]]
    started_by: Mapped[str | None] = mapped_column(String(80))
    confirmed_by: Mapped[str | None] = mapped_column(String(80))
    """Who confirmed the count: a user, or ``approval:<id>`` for a workflow."""
    confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    targeted_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    targeted: Mapped[int] = mapped_column(default=0)
    held_out: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    unclear: Mapped[int] = mapped_column(default=0)
    chunks: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    superseded_at: Mapped[datetime | None]
    """When the run was voided: its letters left the archive, its counts costs and stock."""
    superseded_reason: Mapped[str | None] = mapped_column(Text)

    campaign: Mapped[Campaign] = relationship(back_populates="runs")


class RunItem(Base):
    """The send-once ledger: one row per (run, recipient or group, action)."""

    __tablename__ = "run_items"
    __table_args__ = (
        UniqueConstraint("run_id", "key", "action"),
        Index("ix_run_items_run_id_chunk", "run_id", "chunk"),
        Index("ix_run_items_run_id_status", "run_id", "status"),
        Index("ix_run_items_run_id_id", "run_id", "id"),  # a run's results, page by page
        Index("ix_run_items_entity_entity_id", "entity", "entity_id"),  # a contact's runs
        Index("ix_run_items_reference", "reference"),  # a provider's receipt names its message id
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(63))
    kind: Mapped[ItemKind] = enum_field("item_kind", ItemKind.RECIPIENT)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    group_key: Mapped[str | None] = mapped_column(String(200))
    chunk: Mapped[int | None]
    status: Mapped[ItemStatus] = enum_field("item_status", ItemStatus.PENDING)
    detail: Mapped[str | None] = mapped_column(Text)
    units: Mapped[int] = mapped_column(default=0)
    reference: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    delivery: Mapped[str | None] = mapped_column(String(20))
    """What the provider's receipt said (``ReceiptStatus``); none yet: pending."""
    delivery_at: Mapped[datetime | None]
    billed_on_delivery: Mapped[bool] = mapped_column(default=False, server_default=false())
    """The provider bills this message only once delivered."""


class ReceiptStatus(enum.StrEnum):
    """What a delivery receipt or a bounce says about a sent message (``RunItem.delivery``)."""

    DELIVERED = "delivered"
    UNDELIVERABLE = "undeliverable"


class ChunkLease(Base):
    """Who works on one chunk of a run, and until when (``core.engine.leases``)."""

    __tablename__ = "chunk_leases"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    chunk: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    attempt: Mapped[int] = mapped_column(default=1)
    """Counts the enqueues of the chunk; one attempt is one job."""
    enqueued_at: Mapped[datetime]
    holder: Mapped[str | None] = mapped_column(String(120))
    """The work horse running the chunk; none while its job waits in the queue."""
    expires_at: Mapped[datetime | None]
    """The holder renews this while it lives; once it passes, the chunk is abandoned."""


class HourlyClaim(Base):
    """Rows a chunk claimed for sending under its campaign's hourly limit, and when
    (``core.engine.hourly_limit``); kept for an hour."""

    __tablename__ = "hourly_claims"
    __table_args__ = (
        Index("ix_hourly_claims_campaign_id_claimed_at", "campaign_id", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    claimed_at: Mapped[datetime]
    rows: Mapped[int]


_one_active_run = and_(
    Run.exclusive == true(), Run.state.in_([state.value for state in ACTIVE_RUN_STATES])
)
Index(
    "ux_runs_one_active_per_campaign",
    Run.campaign_id,
    unique=True,
    sqlite_where=_one_active_run,
    postgresql_where=_one_active_run,
)
