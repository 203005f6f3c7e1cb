"""Campaign templates: unique, recurring (one run per schedule date) or periodic (a new
campaign per schedule date), and the schedule lines the campaign-jobs workflow creates."""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, Timestamped, enum_column

if TYPE_CHECKING:
    from core.models.campaigns import Campaign


class TemplateKind(enum.StrEnum):
    UNIQUE = "unique"
    """Copied by hand into new campaigns; no schedule."""
    RECURRING = "recurring"
    """One campaign whose run is repeated at every schedule date ("Name #n")."""
    PERIODIC = "periodic"
    """A whole new campaign created from the template at every schedule date."""


class Frequency(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    """Same day of the month; the 31st falls on the last day of shorter months."""


class OccurrenceState(enum.StrEnum):
    PLANNED = "planned"
    STARTED = "started"
    SKIPPED = "skipped"
    """Its date passed without the approval it needed, or an operator skipped it."""
    CANCELLED = "cancelled"


_SCHEDULED = "kind = 'unique' OR (frequency IS NOT NULL AND first_at IS NOT NULL)"


class CampaignTemplate(Timestamped, Base):
    """A campaign used as a model. Its configuration, deliveries and tasks are what each
    occurrence copies (periodic) or runs (recurring)."""

    __tablename__ = "campaign_templates"
    __table_args__ = (
        CheckConstraint(_SCHEDULED, name="schedule"),
        CheckConstraint("every >= 1", name="every"),
        CheckConstraint("create_in_advance_days >= 0", name="create_in_advance_days"),
        CheckConstraint("until IS NULL OR first_at IS NULL OR until >= first_at", name="until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[TemplateKind] = mapped_column(enum_column(TemplateKind, "template_kind"))
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), unique=True
    )
    """The model campaign (recurring: the campaign whose runs repeat)."""
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id", ondelete="SET NULL"))
    """Where periodic campaigns are created; None: the model campaign's program."""
    active: Mapped[bool] = mapped_column(default=True)
    frequency: Mapped[Frequency | None] = mapped_column(enum_column(Frequency, "frequency"))
    every: Mapped[int] = mapped_column(default=1)
    """Every n days, weeks or months."""
    first_at: Mapped[datetime | None]
    until: Mapped[datetime | None]
    create_in_advance_days: Mapped[int] = mapped_column(default=0)
    """The horizon: schedule lines are created this many days before their date."""
    to_be_approved: Mapped[bool] = mapped_column(default=False)
    """New schedule lines need an approval before they may start."""
    to_be_started: Mapped[bool] = mapped_column(default=True)
    """New schedule lines start by themselves at their date (else an operator starts them)."""

    campaign: Mapped[Campaign] = relationship(foreign_keys=[campaign_id])
    occurrences: Mapped[list[TemplateOccurrence]] = relationship(
        back_populates="template",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TemplateOccurrence.number",
    )

    def planned_dates(self, through: datetime, since: datetime | None = None) -> Iterator[datetime]:
        """The schedule's dates from ``first_at`` (or ``since``) up to ``through`` (and
        ``until``). The dates before ``since`` are skipped by arithmetic, not walked: a daily
        schedule that began decades ago costs no more than one that began yesterday."""
        if self.kind is TemplateKind.UNIQUE or self.frequency is None or self.first_at is None:
            return
        frequency = Frequency(self.frequency)
        end = through if self.until is None else min(through, self.until)
        step = 0 if since is None else _steps_before(self.first_at, frequency, since) // self.every
        while True:
            planned = _nth_date(self.first_at, frequency, self.every * step)
            if planned > end:
                return
            if since is None or planned >= since:
                yield planned
            step += 1

    def horizon(self, now: datetime) -> datetime:
        """The last date for which a schedule line exists already at ``now``."""
        return now + timedelta(days=self.create_in_advance_days)


def _steps_before(first: datetime, frequency: Frequency, moment: datetime) -> int:
    """Days, weeks or months from ``first`` that end before ``moment`` (0 if it comes first)."""
    if moment <= first:
        return 0
    if frequency is Frequency.DAILY:
        return (moment - first).days
    if frequency is Frequency.WEEKLY:
        return (moment - first).days // 7
    return max(0, (moment.year - first.year) * 12 + moment.month - first.month - 1)


def _nth_date(first: datetime, frequency: Frequency, steps: int) -> datetime:
    if frequency is Frequency.DAILY:
        return first + timedelta(days=steps)
    if frequency is Frequency.WEEKLY:
        return first + timedelta(weeks=steps)
    months = first.month - 1 + steps
    year, month = first.year + months // 12, months % 12 + 1
    day = min(first.day, calendar.monthrange(year, month)[1])
    return first.replace(year=year, month=month, day=day)


class TemplateOccurrence(Timestamped, Base):
    """A schedule line: the n-th date of a template, labelled "Name #n", with its approval
    and what it created (a run of the recurring campaign, or a periodic campaign)."""

    __tablename__ = "template_occurrences"
    __table_args__ = (
        UniqueConstraint("template_id", "number"),
        UniqueConstraint("template_id", "planned_at"),
        CheckConstraint("number >= 1", name="number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_templates.id", ondelete="CASCADE")
    )
    number: Mapped[int]
    label: Mapped[str] = mapped_column(String(220))
    planned_at: Mapped[datetime]
    state: Mapped[OccurrenceState] = mapped_column(
        enum_column(OccurrenceState, "occurrence_state"), default=OccurrenceState.PLANNED
    )
    to_be_approved: Mapped[bool] = mapped_column(default=False)
    to_be_started: Mapped[bool] = mapped_column(default=True)
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime | None]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    """Recurring: the run of the template's campaign for this date."""
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    """Periodic: the campaign created for this date."""

    template: Mapped[CampaignTemplate] = relationship(back_populates="occurrences")

    @classmethod
    def for_template(
        cls, template: CampaignTemplate, number: int, planned_at: datetime
    ) -> TemplateOccurrence:
        """The n-th schedule line, with the template's defaults for approval and start."""
        return cls(
            template_id=template.id,
            number=number,
            label=f"{template.name} #{number}",
            planned_at=planned_at,
            to_be_approved=template.to_be_approved,
            to_be_started=template.to_be_started,
        )
