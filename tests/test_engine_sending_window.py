"""A campaign's sending window: its runs reach people only on its days and hours."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from test_engine_leases import lease_of

from core import hookimpl
from core.clock import FrozenClock
from core.engine.dispatch import process_chunk, recover_runs
from core.engine.runs import start_run
from core.engine.sending_window import SendingWindow, SendingWindowError
from core.engine.targeting import target_run
from core.models import Campaign, ItemStatus, RunState

BERLIN = ZoneInfo("Europe/Berlin")
WORKDAYS = SendingWindow.of(range(5), time(8), time(20))
"""Monday to Friday, 08:00 to 20:00."""


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


def test_a_window_opens_on_its_next_day_and_closes_at_its_end():
    saturday = berlin(2027, 1, 16, 10)
    assert WORKDAYS.closes_at(saturday, BERLIN) is None
    assert WORKDAYS.opens_at(saturday, BERLIN) == berlin(2027, 1, 18, 8)

    wednesday = berlin(2027, 1, 13, 19, 59, 30)
    assert WORKDAYS.closes_at(wednesday, BERLIN) == berlin(2027, 1, 13, 20)
    assert WORKDAYS.opens_at(wednesday, BERLIN) == wednesday
    assert WORKDAYS.opens_at(berlin(2027, 1, 13, 20), BERLIN) == berlin(2027, 1, 14, 8)
    assert WORKDAYS.opens_at(berlin(2027, 1, 15, 6), BERLIN) == berlin(2027, 1, 15, 8)


def test_a_window_keeps_local_hours_across_the_change_to_summer_time():
    # the clocks went forward on Sunday, 28 March 2027: Monday opens at 08:00 summer time
    monday = WORKDAYS.opens_at(berlin(2027, 3, 27, 12), BERLIN)
    assert monday == berlin(2027, 3, 29, 8)
    assert monday.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    "days, start, end, problem",
    [
        ([], time(8), time(20), "choose at least one day"),
        ([7], time(8), time(20), "choose at least one day"),
        ([0], time(20), time(8), "must be later in the day than the start"),
        ([0], time(8), time(8), "must be later in the day than the start"),
    ],
)
def test_a_window_without_a_day_or_with_its_end_first_is_refused(days, start, end, problem):
    with pytest.raises(SendingWindowError, match=problem):
        SendingWindow.of(days, start, end)


def test_a_window_is_stored_as_days_and_hours():
    stored = WORKDAYS.to_json()
    assert stored == {"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "20:00"}
    assert SendingWindow.from_json(stored) == WORKDAYS
    assert SendingWindow.from_json(None) is None


def windowed_run(engine, tmp_path, count: int):
    """A confirmed, targeted run of a campaign that sends on workdays from 08:00 to 20:00."""
    engine.add_contacts(count, email="post@example.de")
    out = tmp_path / "sent.txt"
    campaign_id = engine.campaign(action="test_notify", action_settings={"path": str(out)})
    with engine.runtime.database.session() as session:
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(sending_window=WORKDAYS.to_json())
        )
    run = start_run(engine.runtime, campaign_id, confirmed_by="test")
    target_run(run.id)
    return run, out


def test_a_run_confirmed_outside_its_window_waits_for_it_to_open(engine, tmp_path):
    engine.runtime.clock = FrozenClock(berlin(2027, 1, 16, 10))  # a Saturday
    run, out = windowed_run(engine, tmp_path, 5)

    assert "waits for its window" in process_chunk(run.id, 0, 1)
    assert {item.status for item in engine.items(run.id)} == {ItemStatus.PENDING}
    assert not out.exists()
    assert lease_of(engine, run.id, 0).expires_at == berlin(2027, 1, 18, 8)
    assert engine.run(run.id).state == RunState.RUNNING

    engine.runtime.clock = FrozenClock(berlin(2027, 1, 18, 7, 59))
    assert recover_runs(engine.runtime) == []  # still closed: nobody takes the chunk
    engine.runtime.clock = FrozenClock(berlin(2027, 1, 18, 8, 0, 1))
    assert recover_runs(engine.runtime) == [f"run {run.id} chunk 0: enqueued again"]
    engine.work()
    final = engine.run(run.id)
    assert (final.state, final.done) == (RunState.COMPLETED, 5)
    assert len(out.read_text().splitlines()) == 5


def test_a_chunk_stops_where_its_window_closes_and_goes_on_when_it_opens(engine, tmp_path):
    clock = FrozenClock(berlin(2027, 1, 15, 19, 58))  # a Friday, two minutes before 20:00
    engine.runtime.clock = clock
    run, out = windowed_run(engine, tmp_path, 6)

    class CloseAfterTheFirst:  # 20:00 strikes while the first letter goes out
        @staticmethod
        @hookimpl
        def item_processed(run, item):
            clock.advance(timedelta(minutes=2))

    engine.runtime.plugins.add(CloseAfterTheFirst, "closer", "test")
    try:
        assert process_chunk(run.id, 0, 1).endswith("1 processed, stopped early")
    finally:
        engine.runtime.plugins.manager.unregister(name="closer")
    statuses = [item.status for item in engine.items(run.id)]
    assert statuses == [ItemStatus.DONE] + [ItemStatus.PENDING] * 5
    assert lease_of(engine, run.id, 0).expires_at == berlin(2027, 1, 18, 8)  # Monday

    engine.runtime.clock = FrozenClock(berlin(2027, 1, 18, 8, 0, 1))
    assert recover_runs(engine.runtime) == [f"run {run.id} chunk 0: enqueued again"]
    engine.work()
    assert engine.run(run.id).done == 6
    assert len(set(out.read_text().splitlines())) == 6 == len(out.read_text().splitlines())
