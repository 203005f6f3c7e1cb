"""Chunk leases: a chunk nobody works on is enqueued again, once, and within a minute."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from core import hookimpl
from core.clock import FrozenClock
from core.engine.dispatch import process_chunk, recover_runs
from core.engine.leases import LEASE, TARGETING_STEP, chunk_job_id, recover_abandoned
from core.engine.runs import start_run
from core.engine.targeting import target_run
from core.jobs import functions as jobs
from core.jobs.queue import BULK, get_queue
from core.models import ChunkLease, ItemStatus, Run, RunItem, RunState

from engine_plugins import Tag, tag_counts


def lease_of(engine, run_id, chunk):
    with engine.runtime.database.session() as session:
        return session.scalar(
            select(ChunkLease).where(ChunkLease.run_id == run_id, ChunkLease.chunk == chunk)
        )


def hold_as_dead_horse(engine, run_id, chunk, expires_at):
    """What a work horse SIGKILLed in the middle of chunk ``chunk`` leaves in the ledger."""
    with engine.runtime.database.session() as session:
        session.execute(
            update(ChunkLease)
            .where(ChunkLease.run_id == run_id, ChunkLease.chunk == chunk)
            .values(holder="dead:1", expires_at=expires_at)
        )
        first = session.scalar(
            select(RunItem.id)
            .where(RunItem.run_id == run_id, RunItem.chunk == chunk)
            .order_by(RunItem.id)
            .limit(1)
        )
        session.execute(
            update(RunItem)
            .where(RunItem.id == first)
            .values(status=ItemStatus.CLAIMED, claimed_by="dead:1", claimed_at=expires_at)
        )
    get_queue(engine.runtime.redis, BULK).remove(chunk_job_id(run_id, chunk, 1))


def test_a_chunk_whose_horse_died_is_enqueued_again_once_its_lease_expires(engine, tmp_path):
    engine.add_contacts(25, email="post@example.de")
    out = tmp_path / "sent.txt"
    campaign = engine.campaign(action="test_notify", action_settings={"path": str(out)})
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    target_run(run.id)
    now = datetime.now(UTC)
    hold_as_dead_horse(engine, run.id, 1, now + LEASE)
    engine.work()  # the other chunks; chunk 1 waits for its holder
    assert engine.run(run.id).state == RunState.RUNNING

    engine.runtime.clock = FrozenClock(now + LEASE - timedelta(seconds=1))
    assert recover_runs(engine.runtime) == []  # the holder may still live
    engine.runtime.clock = FrozenClock(now + LEASE + timedelta(seconds=1))
    assert recover_runs(engine.runtime) == [
        f"run {run.id} chunk 1: 1 rows unclear",
        f"run {run.id} chunk 1: enqueued again",
    ]
    assert recover_runs(engine.runtime) == []  # a second tick or scheduler: not twice
    assert get_queue(engine.runtime.redis, BULK).job_ids == [chunk_job_id(run.id, 1, 2)]
    engine.work()

    final = engine.run(run.id)
    assert (final.state, final.done, final.unclear) == (RunState.COMPLETED_WITH_ERRORS, 24, 1)
    lines = out.read_text().splitlines()
    assert len(lines) == len(set(lines)) == 24  # the unclear row was not sent again
    assert lease_of(engine, run.id, 1) is None  # done chunks give their lease back


def test_two_schedulers_enqueue_an_abandoned_chunk_once(engine):
    engine.add_contacts(5, email="post@example.de")
    run = start_run(engine.runtime, engine.campaign(), confirmed_by="test")
    target_run(run.id)
    engine.runtime.redis.flushdb()  # Redis restarted and lost the queue
    engine.runtime.clock = FrozenClock(datetime.now(UTC) + LEASE + timedelta(seconds=1))
    first, _ = recover_abandoned(engine.runtime)
    second, _ = recover_abandoned(engine.runtime)
    assert (first, second) == ([(run.id, 0, 2)], [])


def test_a_replaced_attempt_does_nothing(engine):
    engine.add_contacts(5, email="post@example.de")
    run = start_run(engine.runtime, engine.campaign(), confirmed_by="test")
    target_run(run.id)
    engine.runtime.redis.flushdb()
    engine.runtime.clock = FrozenClock(datetime.now(UTC) + LEASE + timedelta(seconds=1))
    recover_runs(engine.runtime)
    assert process_chunk(run.id, 0, 1).endswith("attempt 1 was replaced; skipped")
    assert process_chunk(run.id, 0, 2).endswith("5 processed")
    with engine.runtime.database.session() as session:
        assert set(tag_counts(session).values()) == {1}


def test_a_targeting_whose_horse_died_is_enqueued_again_and_the_slow_attempt_stands_down(
    engine,
):
    engine.add_contacts(5)
    run = start_run(engine.runtime, engine.campaign(), confirmed_by="test")
    now = datetime.now(UTC)
    get_queue(engine.runtime.redis, BULK).remove(chunk_job_id(run.id, TARGETING_STEP, 1))
    with engine.runtime.database.session() as session:  # a work horse took it and was killed
        session.execute(update(Run).where(Run.id == run.id).values(state=RunState.TARGETING))
        session.execute(
            update(ChunkLease)
            .where(ChunkLease.run_id == run.id, ChunkLease.chunk == TARGETING_STEP)
            .values(holder="dead:1", expires_at=now + LEASE)
        )
    engine.runtime.clock = FrozenClock(now + LEASE + timedelta(seconds=1))
    assert recover_runs(engine.runtime) == [f"run {run.id} targeting: enqueued again"]
    assert recover_runs(engine.runtime) == []
    assert target_run(run.id, 1).endswith("targeting attempt 1 was replaced; skipped")
    engine.work()
    final = engine.run(run.id)
    assert (final.state, final.done) == (RunState.COMPLETED, 5)
    assert lease_of(engine, run.id, TARGETING_STEP) is None
    with engine.runtime.database.session() as session:
        assert set(tag_counts(session).values()) == {1}


def test_a_stopping_worker_hands_its_chunk_back_between_recipients(engine, tmp_path):
    engine.add_contacts(10, email="post@example.de")
    out = tmp_path / "sent.txt"
    campaign = engine.campaign(action="test_notify", action_settings={"path": str(out)})
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    target_run(run.id)

    class StopAfterTheFirst:  # the worker's SIGTERM reaches the work horse mid-chunk
        @staticmethod
        @hookimpl
        def item_processed(run, item):
            jobs.ask_to_stop()

    engine.runtime.plugins.add(StopAfterTheFirst, "stopper", "test")
    try:
        # The rows claimed with the first outcome are given back, not begun: none is left
        # claimed.
        assert process_chunk(run.id, 0, 1).endswith("1 processed, stopped early")
    finally:
        jobs._stopping = False
        engine.runtime.plugins.manager.unregister(name="stopper")
    statuses = [item.status for item in engine.items(run.id)]
    assert statuses == [ItemStatus.DONE] + [ItemStatus.PENDING] * 9
    lease = lease_of(engine, run.id, 0)
    assert lease.expires_at <= datetime.now(UTC)  # handed back: the next tick takes it
    assert recover_runs(engine.runtime) == [f"run {run.id} chunk 0: enqueued again"]
    engine.work()
    final = engine.run(run.id)
    assert (final.state, final.done) == (RunState.COMPLETED, 10)
    assert len(set(out.read_text().splitlines())) == 10 == len(out.read_text().splitlines())


def test_a_job_a_dying_worker_took_off_the_queue_is_enqueued_again(engine):
    engine.add_contacts(5, email="post@example.de")
    run = start_run(engine.runtime, engine.campaign(), confirmed_by="test")
    target_run(run.id)
    queue = get_queue(engine.runtime.redis, BULK)
    job_id = chunk_job_id(run.id, 0, 1)
    engine.runtime.redis.lrem(queue.key, 0, job_id)  # taken, and the worker killed at once
    assert queue.fetch_job(job_id).get_status() == "queued"  # what RQ still says
    engine.runtime.clock = FrozenClock(datetime.now(UTC) + LEASE + timedelta(seconds=1))
    assert recover_runs(engine.runtime) == [f"run {run.id} chunk 0: enqueued again"]
    engine.work()
    assert (engine.run(run.id).state, engine.run(run.id).done) == (RunState.COMPLETED, 5)


class StopAtThird(Tag):
    """Tags, and once asks the work horse to stop at the third recipient (as SIGTERM would)."""

    name = "test_stop_at_third"
    stopped = False

    def process(self, recipient, context):
        if recipient.data["last_name"] == "Name3" and not StopAtThird.stopped:
            StopAtThird.stopped = True
            jobs.ask_to_stop()
        return super().process(recipient, context)


class StopAtThirdPlugin:
    @staticmethod
    @hookimpl
    def register_actions(register):
        register(StopAtThird)


def test_a_stopping_worker_rolls_its_open_batch_back(engine):
    engine.runtime.plugins.add(StopAtThirdPlugin, "stop_at_third", "test")
    engine.add_contacts(10, email="post@example.de")  # one chunk, one batch
    run = start_run(
        engine.runtime, engine.campaign(action="test_stop_at_third"), confirmed_by="test"
    )
    target_run(run.id)
    StopAtThird.stopped = False
    try:
        assert process_chunk(run.id, 0, 1).endswith("0 processed, stopped early")
    finally:
        jobs._stopping = False
    assert {item.status for item in engine.items(run.id)} == {ItemStatus.PENDING}
    with engine.runtime.database.session() as session:
        assert set(tag_counts(session).values()) == {0}  # nothing half done
    assert recover_runs(engine.runtime) == [f"run {run.id} chunk 0: enqueued again"]
    engine.work()
    assert (engine.run(run.id).state, engine.run(run.id).done) == (RunState.COMPLETED, 10)
    with engine.runtime.database.session() as session:
        assert set(tag_counts(session).values()) == {1}
