"""Runs the campaign-process workflows start: found again after a crash, never started twice,
waiting while another run of the campaign is active; on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from core.clock import FrozenClock
from core.models import Delivery, DeliveryChannel, Run
from plugins.processes.process_runs import active_runs_started_by, find_run, start_once

from process_helpers import campaign

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def owner(engine) -> tuple[int, int]:
    engine.runtime.clock = FrozenClock(NOW)
    engine.add_contacts(2)
    with engine.runtime.database.session() as session:
        row = campaign(session)
        delivery = Delivery(campaign_id=row.id, label="SMS", channel=DeliveryChannel.SMS)
        session.add(delivery)
        session.flush()
        return row.id, delivery.id


def runs(engine) -> int:
    with engine.runtime.database.session() as session:
        return session.scalar(select(func.count()).select_from(Run))


def test_a_run_is_started_once_and_found_again_since_its_owner_asked(engine):
    campaign_id, delivery_id = owner(engine)

    first = start_once(
        engine.runtime,
        campaign_id,
        NOW,
        "deliveryMgt",
        delivery_id=delivery_id,
        confirmed_by="test",
    )
    again = start_once(
        engine.runtime,
        campaign_id,
        NOW,
        "deliveryMgt",
        delivery_id=delivery_id,
        confirmed_by="test",
    )

    assert (first.new, again.new, first.run_id == again.run_id) == (True, False, True)
    assert runs(engine) == 1
    engine.work()
    later = NOW + timedelta(hours=1)
    with engine.runtime.database.session() as session:
        assert find_run(session, campaign_id, later, delivery_id=delivery_id) is None
    engine.runtime.clock.advance(timedelta(hours=1))
    assert start_once(engine.runtime, campaign_id, later, "deliveryMgt", confirmed_by="test").new
    assert runs(engine) == 2


def test_another_active_run_of_the_campaign_makes_the_start_wait(engine):
    campaign_id, delivery_id = owner(engine)
    start_once(engine.runtime, campaign_id, NOW, "someone", confirmed_by="test")

    waiting = start_once(
        engine.runtime,
        campaign_id,
        NOW,
        "deliveryMgt",
        delivery_id=delivery_id,
        confirmed_by="test",
    )

    assert (waiting.run_id, waiting.waiting) == (
        None,
        "run #1 of this campaign is still queued; wait for it, cancel it, or start with "
        "allow_parallel",
    )


def test_owners_known_by_name_find_only_their_own_runs(engine):
    campaign_id, _ = owner(engine)
    first = start_once(
        engine.runtime,
        campaign_id,
        NOW,
        "operationMgt #1",
        match_started_by=True,
        confirmed_by="test",
    )
    engine.work()
    second = start_once(
        engine.runtime,
        campaign_id,
        NOW,
        "operationMgt #2",
        match_started_by=True,
        confirmed_by="test",
    )
    assert (first.new, second.new) == (True, True)
    with engine.runtime.database.session() as session:
        assert active_runs_started_by(session, "operationMgt") == 1
        assert active_runs_started_by(session, "deliveryMgt") == 0
