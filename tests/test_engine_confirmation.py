"""What a person sees before confirming a run: reached, skips by reason, channel, cost (the
process bundle's prices: tests/test_consumption.py)."""

from decimal import Decimal

from sqlalchemy import select, update

from core import CostEstimate, hookimpl
from core.engine.confirmation import confirmation, would_reach
from core.engine.runs import start_run
from core.models import Campaign, Contact, ItemStatus, Run, RunItem
from core.plugin_base import Channel


def _analysed(engine, campaign_id: int, **options) -> int:
    run = start_run(engine.runtime, campaign_id, **options)
    engine.work()
    return run.id


def _skip(engine, run_id: int, reasons: list[str]) -> None:
    """Skipped rows with their reasons, as targeting writes the recipients it leaves out."""
    with engine.runtime.database.session() as session:
        ids = session.scalars(
            select(RunItem.id).where(RunItem.run_id == run_id).order_by(RunItem.id)
        ).all()
        for item_id, reason in zip(ids, reasons, strict=False):
            session.execute(
                update(RunItem)
                .where(RunItem.id == item_id)
                .values(status=ItemStatus.SKIPPED, detail=reason)
            )


def _confirmation(engine, run_id: int):
    with engine.runtime.database.session() as session:
        return confirmation(session, engine.runtime.plugins, session.get(Run, run_id))


def test_the_counts_are_the_pending_rows_and_the_skips_by_reason(engine, tmp_path):
    engine.add_contacts(10, email="post@example.de")
    campaign = engine.campaign(action="test_notify", action_settings={"path": str(tmp_path)})
    run_id = _analysed(engine, campaign)
    _skip(engine, run_id, ["reach.opt_out_post", "reach.dispatch_block", "reach.dispatch_block"])

    shown = _confirmation(engine, run_id)
    assert shown.reached == 7
    assert shown.summary.skipped == {"reach.dispatch_block": 2, "reach.opt_out_post": 1}
    assert (shown.channel, shown.action, shown.group_scoped) == (
        Channel.EMAIL,
        "test_notify",
        False,
    )
    assert (shown.cost.source, shown.cost.amount) == ("none", None)


def test_a_dry_run_would_reach_whom_a_real_run_reaches(engine, tmp_path):
    """A dry run leaves every row unsent; the reach rule's skips still do not count."""
    blocked = engine.add_contacts(10, email="post@example.de")[:3]
    with engine.runtime.database.session() as session:
        session.execute(update(Contact).where(Contact.id.in_(blocked)).values(dispatch_block=True))
    campaign = engine.campaign(action="test_notify", action_settings={"path": str(tmp_path)})
    dry_run = _analysed(engine, campaign, dry_run=True)
    real = _analysed(engine, campaign)
    with engine.runtime.database.session() as session:
        runs = [session.get(Run, run_id) for run_id in (dry_run, real)]
        assert [(run.targeted, run.skipped) for run in runs] == [(10, 10), (10, 3)]
        assert [would_reach(session, run) for run in runs] == [7, 7]


def test_a_group_action_counts_groups_and_their_members(engine, tmp_path):
    engine.add_contacts(6)  # two each in Köln, Berlin, München
    campaign = engine.campaign(
        action="test_city_count", action_settings={"path": str(tmp_path / "c.txt")}
    )
    shown = _confirmation(engine, _analysed(engine, campaign))
    assert (shown.reached, shown.summary.members, shown.group_scoped) == (3, 6, True)


class FlatRatePricing:
    @staticmethod
    @hookimpl
    def run_cost_estimate(run, reached):
        if run.config.get("action") == "test_letter":
            return CostEstimate(Decimal("0.50") * reached, "service", "Pauschale")
        return None


def test_a_plugin_prices_the_run_else_the_campaigns_estimate_is_shown(engine, tmp_path):
    engine.add_contacts(4, email="post@example.de")
    engine.runtime.plugins.add(FlatRatePricing, "flat", "test")
    letters = engine.campaign(action="test_letter")
    shown = _confirmation(engine, _analysed(engine, letters))
    assert (shown.cost.amount, shown.cost.source, shown.cost.service) == (
        Decimal("2.00"),
        "service",
        "Pauschale",
    )
    mails = engine.campaign(action="test_notify", action_settings={"path": str(tmp_path)})
    assert _confirmation(engine, _analysed(engine, mails)).cost.source == "none"
    with engine.runtime.database.session() as session:
        session.get(Campaign, mails).estimated_cost = Decimal("12.34")
    shown = _confirmation(engine, _analysed(engine, mails, allow_parallel=True))
    assert (shown.cost.amount, shown.cost.source) == (Decimal("12.34"), "estimate")
