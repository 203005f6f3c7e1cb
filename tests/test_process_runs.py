"""Runs the campaign-process workflows start: found again after a crash, never started twice,
waiting while another run of the campaign is active; on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.clock import FrozenClock
from core.engine.runs import RunError
from core.models import Run
from plugins.processes.models import Delivery, DeliveryChannel
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

    assert (waiting.run_id, waiting.waiting.english()) == (
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


def test_a_delivery_runs_with_its_own_action_and_is_linked_to_the_run(engine):
    engine.add_contacts(4)
    campaign_id = engine.campaign()
    with engine.runtime.database.session() as session:
        letter = Delivery(
            campaign_id=campaign_id,
            label="Brief",
            channel=DeliveryChannel.PRINT,
            action="test_letter",
            action_settings={"pages": 3},
        )
        own = Delivery(campaign_id=campaign_id, label="Eigene", channel=DeliveryChannel.EMAIL)
        session.add_all([letter, own])
    started = start_once(
        engine.runtime, campaign_id, None, "deliveryMgt", delivery_id=letter.id, confirmed_by="t"
    )
    engine.work()
    second = start_once(
        engine.runtime, campaign_id, None, "deliveryMgt", delivery_id=own.id, confirmed_by="t"
    )
    with engine.runtime.database.session() as session:
        run = session.get(Run, started.run_id)
        assert (run.delivery_id, run.config["action_settings"]) == (letter.id, {"pages": 3})
        assert [r.id for r in session.get(Delivery, letter.id).runs] == [run.id]
        assert session.get(Run, second.run_id).config["action"] == "test_tag"  # the campaign's


def test_a_delivery_of_another_campaign_cannot_start(engine):
    first, other = engine.campaign(name="Erste"), engine.campaign(name="Andere")
    with engine.runtime.database.session() as session:
        foreign = Delivery(campaign_id=other, label="Brief", channel=DeliveryChannel.PRINT)
        session.add(foreign)
    with pytest.raises(RunError, match=f"campaign 'Erste' has no delivery with id {foreign.id}"):
        start_once(engine.runtime, first, None, "deliveryMgt", delivery_id=foreign.id)
