"""Approvals of a delivery's steps, who may give them, and the log of everything that
happened to them. The rules live in ``plugins.processes.approvals``."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, Timestamped, enum_column
from core.models.users import Role

if TYPE_CHECKING:
    from plugins.processes.models.deliveries import Delivery


class ApprovalStep(enum.StrEnum):
    TARGETING = "targeting"
    CONTENT = "content"
    BUDGET = "budget"
    """Only together with a manual targeting approval."""
    EXTRACTION = "extraction"
    """Direct mail and print: the extraction file (sample)."""
    PROOF = "proof"
    """Direct mail and print: the proof of the e-mail to the router."""
    START = "start"


DIRECT_MAIL_STEPS = frozenset({ApprovalStep.EXTRACTION, ApprovalStep.PROOF})


class ApprovalMode(enum.StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class ApprovalState(enum.StrEnum):
    NOT_SUBMITTED = "not_submitted"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ApprovalEventKind(enum.StrEnum):
    CONFIGURED = "configured"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    """Also written for an automatic approval, without a user."""
    REJECTED = "rejected"
    REMINDED = "reminded"


class Approval(Timestamped, Base):
    """One approvable step of one delivery and its current answer.

    ``round`` counts submissions: a resubmission after a rejection opens a new round, and an
    answer only lands on the round it was given for (first answer wins, enforced by a
    conditional update in ``plugins.processes.approvals``).
    """

    __tablename__ = "approvals"
    __table_args__ = (
        UniqueConstraint("delivery_id", "step"),
        Index("ix_approvals_state", "state"),  # what waits for an answer
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    step: Mapped[ApprovalStep] = mapped_column(enum_column(ApprovalStep, "approval_step"))
    mode: Mapped[ApprovalMode] = mapped_column(
        enum_column(ApprovalMode, "approval_mode"), default=ApprovalMode.AUTOMATIC
    )
    state: Mapped[ApprovalState] = mapped_column(
        enum_column(ApprovalState, "approval_state"), default=ApprovalState.NOT_SUBMITTED
    )
    round: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    deadline_at: Mapped[datetime | None]
    last_reminder_at: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(default=0)
    overdue_at: Mapped[datetime | None]
    """When the delivery workflow found the round past its deadline without an answer."""
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    comment: Mapped[str] = mapped_column(Text, default="")

    delivery: Mapped[Delivery] = relationship()
    reviewers: Mapped[list[ApprovalReviewer]] = relationship(
        back_populates="approval",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ApprovalReviewer.id",
    )
    events: Mapped[list[ApprovalEvent]] = relationship(
        back_populates="approval",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ApprovalEvent.id",
    )


class ApprovalReviewer(Base):
    """Who may answer an approval: one user, everyone holding a role (or a higher one), or
    the members of a group. An approval without reviewers goes to the campaign manager."""

    __tablename__ = "approval_reviewers"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN user_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN role IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN group_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_reviewer",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    approval_id: Mapped[int] = mapped_column(
        ForeignKey("approvals.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role | None] = mapped_column(enum_column(Role, "user_role"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("user_groups.id", ondelete="CASCADE"))

    approval: Mapped[Approval] = relationship(back_populates="reviewers")


class ApprovalEvent(Base):
    """The approval log: every configuration, submission, answer and reminder."""

    __tablename__ = "approval_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    approval_id: Mapped[int] = mapped_column(
        ForeignKey("approvals.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int]
    kind: Mapped[ApprovalEventKind] = mapped_column(
        enum_column(ApprovalEventKind, "approval_event_kind")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime]
    comment: Mapped[str] = mapped_column(Text, default="")

    approval: Mapped[Approval] = relationship(back_populates="events")

    @property
    def platform_comment(self) -> bool:
        """The comment is the platform's English (who decides, an automatic approval), which
        the panel shows in the reader's language; a reviewer's own comment is shown as is."""
        return self.kind is ApprovalEventKind.CONFIGURED or self.user_id is None
