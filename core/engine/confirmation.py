"""What a person has in front of them before a run reaches anyone: the recipients it would
reach, the skips by reason, the action's channel and the cost estimate.

Everything is read from the run as targeting left it (its ledger and snapshot), so the
numbers shown are exactly what ``core.engine.runs.confirm_run`` dispatches.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.events import CostEstimate
from core.models import Campaign, ItemKind, ItemStatus, Run, RunItem
from core.models.base import round_money
from core.plugin_base import Channel, Scope
from core.plugins import PluginHost, UnknownPluginError

DRY_RUN_DETAIL = "dry run"
"""The detail of a dry run's row that it left unsent only for being a dry run."""
PREVIEW_PREFIX = "preview: "
"""Starts the detail of a dry run's row rendered as a preview (what the action made of it)."""


def would_reach(session: Session, run: Run) -> int:
    """The rows (groups, for a group-scoped action) the run reaches, or a dry run would:
    without the held-out rows and those the reach rule skips. A dry run leaves every row
    unsent; the ones it left unsent only for being a dry run are its count."""
    if not run.dry_run:
        return run.targeted - run.held_out - run.skipped
    return session.scalar(
        select(func.count()).where(
            RunItem.run_id == run.id,
            RunItem.kind != ItemKind.MEMBER,
            RunItem.status == ItemStatus.SKIPPED,
            or_(RunItem.detail == DRY_RUN_DETAIL, RunItem.detail.startswith(PREVIEW_PREFIX)),
        )
    )


@dataclass(frozen=True)
class ConfirmationSummary:
    """The counts of a run's ledger after targeting."""

    reached: int
    """Pending rows (groups, for a group-scoped action): exactly what confirming sends."""
    members: int
    """Recipients in those groups, for a group-scoped action; 0 otherwise."""
    skipped: dict[str, int]
    """Skipped rows by their detail (the reason), largest first."""
    held_out: int


def confirmation_summary(session: Session, run_id: int) -> ConfirmationSummary:
    """The counts a person confirms: one grouped query over the run's ledger."""
    rows = session.execute(
        select(RunItem.status, RunItem.kind, RunItem.detail, func.count())
        .where(
            RunItem.run_id == run_id,
            RunItem.status.in_([ItemStatus.PENDING, ItemStatus.SKIPPED, ItemStatus.HELD_OUT]),
        )
        .group_by(RunItem.status, RunItem.kind, RunItem.detail)
    ).all()
    group_scoped = any(kind == ItemKind.GROUP for _, kind, _, _ in rows)
    counts, skipped = Counter(), Counter()
    for status, kind, detail, count in rows:
        if status == ItemStatus.PENDING:
            counts["members" if kind == ItemKind.MEMBER else "reached"] += count
        elif group_scoped and kind == ItemKind.GROUP:
            continue  # a group is skipped with its members, which are counted
        elif status == ItemStatus.HELD_OUT:
            counts["held_out"] += count
        else:
            skipped[detail or ""] += count
    ordered = dict(sorted(skipped.items(), key=lambda entry: (-entry[1], entry[0])))
    return ConfirmationSummary(counts["reached"], counts["members"], ordered, counts["held_out"])


@dataclass(frozen=True)
class Confirmation:
    """Everything the confirmation shows, for the panel and the command line alike."""

    run_id: int
    number: int
    summary: ConfirmationSummary
    action: str
    action_title: str
    channel: Channel
    group_scoped: bool
    cost: CostEstimate

    @property
    def reached(self) -> int:
        return self.summary.reached


def confirmation(session: Session, plugins: PluginHost, run: Run) -> Confirmation:
    """The facts of ``run`` a person confirms (any state; meaningful once targeted). The cost
    is a plugin's price (the campaign processes price by the provider service's
    structures), else the campaign's own estimated cost, else none."""
    summary = confirmation_summary(session, run.id)
    action = run.config.get("action", "")
    try:
        cls = plugins.actions.get(action)
        title, group_scoped = cls.title, cls.scope is Scope.GROUP
    except UnknownPluginError:
        title, group_scoped = action, False
    channel = plugins.run_channel(run.config) or Channel.NONE  # as targeting used it
    cost = plugins.hook.run_cost_estimate(
        session=session, run=run, reached=summary.reached, plugins=plugins
    )
    if cost is None:
        campaign = session.get(Campaign, run.campaign_id)
        if campaign is not None and campaign.estimated_cost is not None:
            cost = CostEstimate(round_money(campaign.estimated_cost), "estimate")
        else:
            cost = CostEstimate(None, "none")
    return Confirmation(run.id, run.number, summary, action, title, channel, group_scoped, cost)
