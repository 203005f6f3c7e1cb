"""A campaign's hourly limit: at most so many sends in any hour, over all its chunks and runs."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, text, update
from test_engine_leases import lease_of

from core.clock import FrozenClock
from core.engine import hourly_limit
from core.engine.dispatch import process_chunk, recover_runs
from core.engine.hourly_limit import MOST_PER_HOUR, HourlyLimitError, checked
from core.engine.runs import start_run
from core.engine.targeting import target_run
from core.models import Campaign, Contact, ItemStatus, RunState

from waiting import wait_for

NOON = datetime(2027, 1, 13, 12, tzinfo=UTC)


@pytest.mark.parametrize("limit", [0, -5, MOST_PER_HOUR + 1])
def test_a_limit_below_one_or_beyond_the_most_is_refused(limit):
    with pytest.raises(HourlyLimitError, match="hourly_limit: must be a number from 1 to"):
        checked(limit)


def test_no_limit_or_a_whole_number_of_sends_holds():
    assert checked(None) is None
    assert checked(500) == 500


def limited_campaign(engine, tmp_path, contacts: int, limit: int):
    engine.add_contacts(contacts, email="post@example.de")
    out = tmp_path / "sent.txt"
    campaign_id = engine.campaign(action="test_notify", action_settings={"path": str(out)})
    with engine.runtime.database.session() as session:
        session.execute(
            update(Campaign).where(Campaign.id == campaign_id).values(hourly_limit=limit)
        )
    return campaign_id, out


def targeted_run(engine, campaign_id: int):
    run = start_run(engine.runtime, campaign_id, confirmed_by="test")
    target_run(run.id)
    return run


def sent(out) -> list[str]:
    return out.read_text().splitlines() if out.exists() else []


def test_a_run_sends_its_hourly_limit_then_waits_for_the_hour_to_pass(engine, tmp_path):
    clock = FrozenClock(NOON)
    engine.runtime.clock = clock
    campaign_id, out = limited_campaign(engine, tmp_path, 25, limit=8)  # chunks of 10
    run = targeted_run(engine, campaign_id)

    results = [process_chunk(run.id, chunk, 1) for chunk in range(3)]
    assert len(sent(out)) == 8
    assert results == [
        f"run {run.id} chunk 0: 8 processed, stopped early",
        f"run {run.id} chunk 1: 0 processed, stopped early",
        f"run {run.id} chunk 2: 0 processed, stopped early",
    ]
    assert {lease_of(engine, run.id, chunk).expires_at for chunk in range(3)} == {
        NOON + timedelta(hours=1)
    }
    assert engine.run(run.id).state == RunState.RUNNING

    clock.advance(timedelta(minutes=59))
    assert recover_runs(engine.runtime) == []  # the hour's sends still count
    clock.advance(timedelta(minutes=1, seconds=1))
    assert len(recover_runs(engine.runtime)) == 3
    engine.work()
    assert len(sent(out)) == 16

    clock.advance(timedelta(hours=1, seconds=1))
    recover_runs(engine.runtime)
    engine.work()
    clock.advance(timedelta(hours=1, seconds=1))
    recover_runs(engine.runtime)
    engine.work()
    final = engine.run(run.id)
    assert (final.state, final.done) == (RunState.COMPLETED, 25)
    assert len(sent(out)) == len(set(sent(out))) == 25


def test_recipients_skipped_at_dispatch_leave_the_allowance_to_the_others(engine, tmp_path):
    engine.runtime.clock = FrozenClock(NOON)
    campaign_id, _ = limited_campaign(engine, tmp_path, 6, limit=4)
    run = targeted_run(engine, campaign_id)
    with engine.runtime.database.session() as session:
        first_two = [int(item.entity_id) for item in engine.items(run.id)[:2]]
        session.execute(delete(Contact).where(Contact.id.in_(first_two)))

    process_chunk(run.id, 0, 1)
    statuses = [item.status for item in engine.items(run.id)]
    assert statuses == [ItemStatus.SKIPPED] * 2 + [ItemStatus.DONE] * 4


def test_a_chunk_that_uses_up_the_hour_with_its_last_row_is_done_not_paused(engine, tmp_path):
    engine.runtime.clock = FrozenClock(NOON)
    campaign_id, out = limited_campaign(engine, tmp_path, 4, limit=4)
    run = targeted_run(engine, campaign_id)
    assert process_chunk(run.id, 0, 1) == f"run {run.id} chunk 0: 4 processed"
    assert engine.run(run.id).state == RunState.FINISHING
    assert len(sent(out)) == 4


def test_the_next_run_of_the_campaign_shares_the_hour(engine, tmp_path):
    clock = FrozenClock(NOON)
    engine.runtime.clock = clock
    campaign_id, out = limited_campaign(engine, tmp_path, 3, limit=5)
    targeted_run(engine, campaign_id)
    engine.work()
    assert len(sent(out)) == 3

    clock.advance(timedelta(minutes=10))
    second = targeted_run(engine, campaign_id)
    process_chunk(second.id, 0, 1)
    assert [item.status for item in engine.items(second.id)].count(ItemStatus.DONE) == 2
    assert lease_of(engine, second.id, 0).expires_at == NOON + timedelta(hours=1)


def test_a_second_worker_waits_for_the_first_ones_claim_before_it_takes_its_share(engine):
    campaign_id = engine.campaign()
    database = engine.runtime.database
    granted: list[int] = []

    def second_worker():
        with database.session() as session:
            granted.append(hourly_limit.take(session, campaign_id, 15, 10, NOON).rows)

    with database.session() as first:
        assert hourly_limit.take(first, campaign_id, 15, 10, NOON).rows == 10
        second = threading.Thread(target=second_worker)
        second.start()
        wait_for(lambda: not second.is_alive() or waits_for_a_lock(database), "a worker to wait")
    second.join()
    assert granted == [5]


def waits_for_a_lock(database) -> bool:
    """Whether a connection waits for a row lock (SQLite: its write lock serializes)."""
    if database.engine.dialect.name == "sqlite":
        return True
    waiting = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    with database.engine.connect() as connection:
        return bool(connection.scalar(text(waiting)))


def test_a_dry_run_is_not_held_to_the_limit(engine, tmp_path):
    engine.runtime.clock = FrozenClock(NOON)
    campaign_id, _ = limited_campaign(engine, tmp_path, 6, limit=2)
    run = start_run(engine.runtime, campaign_id, confirmed_by="test", dry_run=True)
    target_run(run.id)
    engine.work()
    assert engine.run(run.id).state == RunState.COMPLETED
    assert ItemStatus.PENDING not in {item.status for item in engine.items(run.id)}
