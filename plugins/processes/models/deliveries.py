"""Deliveries: what a campaign sends through one channel, and the states it goes through.

Every change of ``Delivery.state`` passes ``check_transition`` (an attribute validator, so
no code path can skip it), and a version column makes two processes that change the same
delivery at once fail instead of overwriting each other.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, ForeignKey, Index, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship, validates

from core.models.base import Base, Money, Timestamped, enum_column
from plugins.processes.models.providers import CostCategoryKind
from plugins.processes.models.transitions import check_transition

if TYPE_CHECKING:
    from core.models.campaigns import Campaign, Run
    from plugins.processes.models.providers import CostType, ProviderService


class DeliveryChannel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    DIRECT_MAIL = "direct_mail"
    """Letters produced and posted by a provider (a letter shop) from an extraction file."""
    PRINT = "print"
    """Letters printed in-house from the collection file (mass print)."""

    @property
    def online(self) -> bool:
        return self in (DeliveryChannel.EMAIL, DeliveryChannel.SMS)

    @property
    def cost_kind(self) -> CostCategoryKind:
        """The cost categories of a provider service that price this channel."""
        return {
            DeliveryChannel.EMAIL: CostCategoryKind.EMAIL,
            DeliveryChannel.SMS: CostCategoryKind.MOBILE,
            DeliveryChannel.DIRECT_MAIL: CostCategoryKind.DIRECT_MAIL,
            DeliveryChannel.PRINT: CostCategoryKind.DIRECT_MAIL,
        }[self]


class DeliveryState(enum.StrEnum):
    EDITING = "editing"
    TO_VALIDATE = "to_validate"
    """Waiting for a manual approval of targeting, content, budget or start."""
    APPROVED = "approved"
    # online path
    PENDING_CONFIRMATION = "pending_confirmation"
    START_PENDING = "start_pending"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    # direct-mail path
    EXTRACTION_PENDING = "extraction_pending"
    FILE_TO_APPROVE = "file_to_approve"
    PROOF_TO_SUBMIT = "proof_to_submit"
    PROOF_TO_VALIDATE = "proof_to_validate"
    FILE_SENT = "file_sent"
    # final
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"


S = DeliveryState
FINAL_DELIVERY_STATES = frozenset({S.FINISHED, S.STOPPED, S.FAILED})
SENDING_STATES = frozenset({S.IN_PROGRESS, S.PAUSED, S.FILE_SENT, *FINAL_DELIVERY_STATES})
"""States in which a delivery has (or may have) sent messages."""

_BEFORE_SENDING = {
    None: frozenset({S.EDITING}),
    S.EDITING: frozenset({S.TO_VALIDATE, S.APPROVED, S.STOPPED}),
    S.TO_VALIDATE: frozenset({S.APPROVED, S.EDITING, S.STOPPED}),
}
ONLINE_TRANSITIONS: dict[DeliveryState | None, frozenset[DeliveryState]] = {
    **_BEFORE_SENDING,
    S.APPROVED: frozenset({S.PENDING_CONFIRMATION, S.TO_VALIDATE, S.EDITING, S.STOPPED}),
    S.PENDING_CONFIRMATION: frozenset({S.START_PENDING, S.EDITING, S.STOPPED}),
    S.START_PENDING: frozenset({S.IN_PROGRESS, S.STOPPED, S.FAILED}),
    S.IN_PROGRESS: frozenset({S.FINISHED, S.PAUSED, S.STOPPED, S.FAILED, S.PENDING_CONFIRMATION}),
    S.PAUSED: frozenset({S.IN_PROGRESS, S.STOPPED, S.FAILED, S.PENDING_CONFIRMATION}),
}
"""E-mail and SMS: approvals granted → pending confirmation → start pending → in progress →
finished, or paused, stopped, failed; back to pending confirmation when its run's analysis
ended unconfirmed (nothing was sent)."""
DIRECT_MAIL_TRANSITIONS: dict[DeliveryState | None, frozenset[DeliveryState]] = {
    **_BEFORE_SENDING,
    S.APPROVED: frozenset({S.EXTRACTION_PENDING, S.TO_VALIDATE, S.EDITING, S.STOPPED}),
    S.EXTRACTION_PENDING: frozenset({S.FILE_TO_APPROVE, S.STOPPED, S.FAILED}),
    S.FILE_TO_APPROVE: frozenset(
        {S.PROOF_TO_SUBMIT, S.FILE_SENT, S.EXTRACTION_PENDING, S.STOPPED, S.FAILED}
    ),
    S.PROOF_TO_SUBMIT: frozenset({S.PROOF_TO_VALIDATE, S.EXTRACTION_PENDING, S.STOPPED}),
    S.PROOF_TO_VALIDATE: frozenset(
        {S.FILE_SENT, S.PROOF_TO_SUBMIT, S.EXTRACTION_PENDING, S.STOPPED}
    ),
    S.FILE_SENT: frozenset({S.FINISHED, S.FAILED}),
}
"""Direct mail and print: approvals → extraction pending → file to approve (sample) →
optionally proof to submit → proof to validate → file sent to the router → finished. A
rejected file goes back to extraction, a rejected proof back to submission; a file whose
letters were refused since its extraction, back to extraction before it reaches anyone."""


class SentCounting(enum.StrEnum):
    """When a direct-mail message counts as sent."""

    ON_CONFIRMATION = "on_confirmation"
    """When the file is confirmed and sent to the router (the default)."""
    RESULT_FILE = "result_file"
    """When the provider's result file marks it sent (or failed)."""


delivery_cost_types = Table(
    "delivery_cost_types",
    Base.metadata,
    Column("delivery_id", ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True),
    Column("cost_type_id", ForeignKey("cost_types.id", ondelete="CASCADE"), primary_key=True),
)
"""The cost types a delivery chose (e.g. envelope C5), for categories that offer several."""


class Delivery(Timestamped, Base):
    """One sending of a campaign through one channel (a letter, an SMS, an e-mail), with its
    provider service, costs, approvals and the runs that performed it."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("campaign_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(200))
    channel: Mapped[DeliveryChannel] = mapped_column(
        enum_column(DeliveryChannel, "delivery_channel")
    )
    action: Mapped[str | None] = mapped_column(String(63))
    """The action plugin that performs it; None: the campaign's own action."""
    action_settings: Mapped[dict[str, Any] | None]
    provider_service_id: Mapped[int | None] = mapped_column(
        ForeignKey("provider_services.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[DeliveryState] = mapped_column(
        enum_column(DeliveryState, "delivery_state"), default=DeliveryState.EDITING
    )
    state_changed_at: Mapped[datetime | None]
    planned_start_at: Mapped[datetime | None]
    estimated_cost: Mapped[Decimal | None] = mapped_column(Money)
    surcharge: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    """Amount to surcharge: added to the calculated cost."""
    real_cost: Mapped[Decimal | None] = mapped_column(Money)
    calculated_cost: Mapped[Decimal | None] = mapped_column(Money)
    """Structure-based cost written by the cost calculation; None before analysis."""
    budget_id: Mapped[int | None] = mapped_column(
        ForeignKey("budgets.id", ondelete="SET NULL"), index=True
    )
    """The budget its cost is charged to; None: its campaign's, else program's, else plan's."""
    sent_counting: Mapped[SentCounting] = mapped_column(
        enum_column(SentCounting, "sent_counting"), default=SentCounting.ON_CONFIRMATION
    )
    proof_required: Mapped[bool] = mapped_column(default=False)
    analysed_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    """When a person confirmed its start with the count in front of them: ahead of its
    planned start, or to start it at once (``plugins.processes.delivery_start``)."""
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_count: Mapped[int | None]
    """The count confirmed: a start confirmed ahead sends to at most this many by itself."""
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    campaign: Mapped[Campaign] = relationship(
        backref=backref(
            "deliveries",
            cascade="all, delete-orphan",
            passive_deletes=True,
            order_by="Delivery.id",
        )
    )
    """Adds ``Campaign.deliveries``: the core's campaign knows nothing of deliveries."""
    provider_service: Mapped[ProviderService | None] = relationship()
    cost_types: Mapped[list[CostType]] = relationship(
        secondary=delivery_cost_types, order_by="CostType.id"
    )
    runs: Mapped[list[Run]] = relationship(
        primaryjoin="Delivery.id == foreign(Run.delivery_id)",
        order_by="Run.id",
        viewonly=True,
    )

    def __init__(self, **fields: Any):
        state = fields.pop("state", DeliveryState.EDITING)
        super().__init__(**fields)
        self.state = state

    @property
    def transitions(self) -> dict[DeliveryState | None, frozenset[DeliveryState]]:
        return (
            ONLINE_TRANSITIONS if DeliveryChannel(self.channel).online else DIRECT_MAIL_TRANSITIONS
        )

    @validates("state")
    def _check_state(self, _key: str, state: DeliveryState | str) -> DeliveryState:
        state = DeliveryState(state)
        if self.channel is None:
            raise ValueError(f"delivery {self.label!r}: set its channel before its state")
        what = f"{DeliveryChannel(self.channel)} delivery {self.label!r}"
        check_transition(what, self.transitions, self.state, state)
        return state

    def move_to(self, state: DeliveryState, now: datetime) -> None:
        """Change the state (checked) and note when; starting and ending set their times."""
        self.state = state
        self.state_changed_at = now
        if state in (S.IN_PROGRESS, S.FILE_SENT) and self.started_at is None:
            self.started_at = now
        if state in FINAL_DELIVERY_STATES:
            self.finished_at = now


Index("ix_deliveries_state_id", Delivery.state, Delivery.id)
"""The panel's delivery list filtered by state, newest first."""
