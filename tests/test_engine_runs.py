import contextlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import func, select, update

from core.clock import FrozenClock
from core.engine.campaigns import ActionOverride
from core.engine.dispatch import recover_runs
from core.engine.leases import LEASE
from core.engine.runs import (
    CampaignClosedError,
    ConfirmationCountError,
    QueueDeferredError,
    RunAlreadyActiveError,
    RunError,
    cancel_run,
    confirm_run,
    discard_run,
    finish_if_complete,
    resume_run,
    retry_failed,
    start_run,
)
from core.models import ItemStatus, Run, RunItem, RunState

from engine_plugins import tag_counts


def test_a_run_tags_every_contact_exactly_once(engine):
    engine.add_contacts(25)
    campaign = engine.campaign()
    run = start_run(engine.runtime, campaign, started_by="erika", confirmed_by="test")
    assert run.state == RunState.QUEUED and run.number == 1
    engine.work()
    run = engine.run(run.id)
    assert run.state == RunState.COMPLETED
    assert (run.targeted, run.done, run.failed, run.chunks) == (25, 25, 0, 3)
    assert run.started_by == "erika" and run.finished_at is not None
    with engine.runtime.database.session() as session:
        assert set(tag_counts(session).values()) == {1}


def test_the_run_keeps_the_configuration_it_started_with(engine):
    engine.add_contacts(3)
    campaign = engine.campaign(action_settings={"delay_ms": 0})
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    assert run.config["action"] == "test_tag"
    assert run.config["action_settings"] == {"delay_ms": 0, "fail_for": []}


def test_two_starts_never_overlap_unless_asked(engine):
    campaign = engine.campaign()
    first = start_run(engine.runtime, campaign, confirmed_by="test")
    with pytest.raises(RunAlreadyActiveError, match="run #1 of this campaign is still queued"):
        start_run(engine.runtime, campaign, confirmed_by="test")
    parallel = start_run(engine.runtime, campaign, allow_parallel=True, confirmed_by="test")
    assert (first.number, parallel.number) == (1, 2)
    engine.work()
    assert start_run(engine.runtime, campaign, confirmed_by="test").number == 3


def test_failed_recipients_are_reported_and_retry_reruns_only_them(engine):
    engine.add_contacts(12)
    campaign = engine.campaign(action_settings={"fail_for": ["Name3", "Name7"]})
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    engine.work()
    run = engine.run(run.id)
    assert run.state == RunState.COMPLETED_WITH_ERRORS
    assert (run.done, run.failed) == (10, 2)
    failed = [item for item in engine.items(run.id) if item.status == ItemStatus.FAILED]
    assert [item.detail for item in failed] == [
        "RuntimeError: no tag for Name3",
        "RuntimeError: no tag for Name7",
    ]
    with engine.runtime.database.session() as session:
        counts = tag_counts(session)
    assert sorted(counts.values()) == [0, 0] + [1] * 10  # a failed item leaves no effect

    with engine.runtime.database.session() as session:
        from core.models import Campaign

        session.get(Campaign, campaign).action_settings = {"fail_for": []}
    assert retry_failed(engine.runtime, run.id) == 2
    engine.work()
    run = engine.run(run.id)
    # The retry uses the run's own snapshot, so the two still fail: nothing else is redone.
    assert (run.state, run.done, run.failed) == (RunState.COMPLETED_WITH_ERRORS, 10, 2)
    assert {item.attempts for item in engine.items(run.id) if item.status == "failed"} == {1}


def test_cancel_stops_and_resume_finishes_the_rest(engine):
    engine.add_contacts(30)
    campaign = engine.campaign()
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    cancel_run(engine.runtime, run.id)
    engine.work()
    run = engine.run(run.id)
    assert run.state == RunState.CANCELLED and run.done == 0
    with pytest.raises(RunError, match="is cancelled and cannot be cancelled"):
        cancel_run(engine.runtime, run.id)
    resume_run(engine.runtime, run.id)
    engine.work()
    run = engine.run(run.id)
    assert (run.state, run.done) == (RunState.COMPLETED, 30)
    with engine.runtime.database.session() as session:
        assert set(tag_counts(session).values()) == {1}


def test_a_voided_run_is_neither_retried_nor_resumed(engine):
    """A voided run left the books: sending more of it would reach people unbooked."""
    engine.add_contacts(12)
    failing = engine.campaign(action_settings={"fail_for": ["Name3"]})
    cancelled = engine.campaign(name="cancelled")
    runs = [
        start_run(engine.runtime, campaign, confirmed_by="test")
        for campaign in (failing, cancelled)
    ]
    cancel_run(engine.runtime, runs[1].id)
    engine.work()
    with engine.runtime.database.session() as session:
        session.execute(
            update(Run).values(superseded_at=datetime.now(UTC), superseded_reason="file rejected")
        )
    with pytest.raises(RunError, match="run #1 was voided and cannot go on; start a new run"):
        retry_failed(engine.runtime, runs[0].id)
    with pytest.raises(RunError, match="run #1 was voided and cannot go on"):
        resume_run(engine.runtime, runs[1].id)
    assert [engine.run(run.id).state for run in runs] == [
        RunState.COMPLETED_WITH_ERRORS,
        RunState.CANCELLED,
    ]


def test_cancel_between_chunks_keeps_what_is_done(engine):
    engine.add_contacts(30)
    campaign = engine.campaign()
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    from core.engine.dispatch import process_chunk
    from core.engine.targeting import target_run

    target_run(run.id)
    process_chunk(run.id, 0)
    cancel_run(engine.runtime, run.id)
    engine.work()  # the queued chunk jobs find the run cancelled
    run = engine.run(run.id)
    assert (run.state, run.done) == (RunState.CANCELLED, 10)
    statuses = [item.status for item in engine.items(run.id)]
    assert statuses.count(ItemStatus.PENDING) == 20
    resume_run(engine.runtime, run.id)
    engine.work()
    assert engine.run(run.id).done == 30
    with engine.runtime.database.session() as session:
        assert set(tag_counts(session).values()) == {1}


def test_a_limit_runs_only_the_first_n(engine):
    engine.add_contacts(20)
    run = start_run(engine.runtime, engine.campaign(), limit=5, confirmed_by="test")
    engine.work()
    run = engine.run(run.id)
    assert (run.targeted, run.done) == (5, 5)
    with pytest.raises(RunError, match="limit: must be at least 1"):
        start_run(engine.runtime, engine.campaign(name="other"), limit=0, confirmed_by="test")


def test_a_dry_run_previews_without_side_effects(engine):
    engine.add_contacts(8)
    run = start_run(engine.runtime, engine.campaign(), dry_run=True, preview_count=2)
    engine.work()
    run = engine.run(run.id)
    assert (run.state, run.targeted, run.done, run.skipped) == (RunState.COMPLETED, 8, 0, 8)
    details = [item.detail for item in engine.items(run.id)]
    assert details[:2] == [
        "preview: Count a tag on the contact (an effect inside the database): contacts:1",
        "preview: Count a tag on the contact (an effect inside the database): contacts:2",
    ]
    assert set(details[2:]) == {"dry run"}
    with engine.runtime.database.session() as session:
        assert set(tag_counts(session).values()) == {0}


def test_a_campaign_whose_plugin_disappeared_cannot_start(engine):
    campaign = engine.campaign()
    with engine.runtime.database.session() as session:
        from core.models import Campaign

        session.get(Campaign, campaign).action = "print"
    with pytest.raises(RunError, match=r"cannot start: action: unknown action 'print'"):
        start_run(engine.runtime, campaign, confirmed_by="test")


@pytest.mark.parametrize("state", ["finished", "cancelled"])
def test_a_finished_or_cancelled_campaign_does_not_start_until_reopened(engine, state):
    from core.models import Campaign, CampaignStatus

    engine.add_contacts(2)
    campaign = engine.campaign(name="Test")
    stopped = start_run(engine.runtime, campaign, confirmed_by="test")
    cancel_run(engine.runtime, stopped.id)
    with engine.runtime.database.session() as session:
        session.get(Campaign, campaign).status = CampaignStatus(state)

    refused = f"campaign 'Test' is {state}; reopen it before starting a run"
    with pytest.raises(CampaignClosedError, match=refused):
        start_run(engine.runtime, campaign, confirmed_by="test")
    with pytest.raises(CampaignClosedError, match=refused):
        resume_run(engine.runtime, stopped.id)
    assert start_run(engine.runtime, campaign, dry_run=True).dry_run  # sends nothing

    with engine.runtime.database.session() as session:
        session.get(Campaign, campaign).status = CampaignStatus.IN_PROGRESS
    engine.work()
    assert start_run(engine.runtime, campaign, confirmed_by="test").number == 3


def test_a_run_with_another_action_takes_it_and_its_settings(engine):
    engine.add_contacts(4)
    campaign = engine.campaign()
    letter = ActionOverride("test_letter", {"pages": 3})
    run = start_run(engine.runtime, campaign, action=letter, confirmed_by="test")
    assert (run.config["action"], run.config["action_settings"]) == ("test_letter", {"pages": 3})
    engine.work()
    assert {item.units for item in engine.items(run.id)} == {3}
    with engine.runtime.database.session() as session:
        assert session.get(RunItem, engine.items(run.id)[0].id).action == "test_letter"
        assert tag_counts(session) == {contact: 0 for contact in tag_counts(session)}
    second = start_run(engine.runtime, campaign, confirmed_by="test")
    assert (second.delivery_id, second.config["action"]) == (None, "test_tag")


def test_another_action_with_bad_settings_cannot_start(engine):
    campaign = engine.campaign(name="Erste")
    broken = ActionOverride("test_letter", {"pages": "many"})
    with pytest.raises(RunError, match=r"action\.settings\.pages"):
        start_run(engine.runtime, campaign, action=broken, confirmed_by="test")


def test_retrying_a_failed_group_counts_the_group_not_its_members(engine, tmp_path):
    engine.add_contacts(6)
    out = tmp_path / "cities.txt"
    campaign = engine.campaign(
        action="test_city_count", action_settings={"path": str(out), "fail_for": ["Köln"]}
    )
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    engine.work()
    assert (engine.run(run.id).done, engine.run(run.id).failed) == (2, 1)

    assert retry_failed(engine.runtime, run.id) == 1
    engine.work()

    run = engine.run(run.id)  # the run's snapshot still fails Köln, and is counted once
    assert (run.state, run.done, run.failed) == (RunState.COMPLETED_WITH_ERRORS, 2, 1)
    koeln = [item for item in engine.items(run.id) if item.group_key == "Köln"]
    assert {item.status for item in koeln} == {ItemStatus.FAILED}
    assert {item.attempts for item in koeln} == {1}


# -- a failed enqueue never leaves a run claiming queued work ----------------------------------


@contextlib.contextmanager
def redis_down(runtime):
    """Redis refuses every connection while the block runs."""
    working = runtime.redis
    runtime.redis = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    try:
        yield
    finally:
        runtime.redis = working


def test_a_start_the_queue_refuses_leaves_no_run_behind(engine):
    campaign = engine.campaign()
    with redis_down(engine.runtime), pytest.raises(redis.RedisError):
        start_run(engine.runtime, campaign, confirmed_by="test")
    with engine.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 0
    assert (
        start_run(engine.runtime, campaign, confirmed_by="test").number == 1
    )  # nothing blocks the next start


def test_a_retry_the_queue_refuses_is_enqueued_by_recovery_once_redis_answers(engine):
    engine.add_contacts(12)
    run = start_run(
        engine.runtime,
        engine.campaign(action_settings={"fail_for": ["Name3"]}),
        confirmed_by="test",
    )
    engine.work()
    with redis_down(engine.runtime), pytest.raises(QueueDeferredError):
        retry_failed(engine.runtime, run.id)
    assert engine.run(run.id).state == RunState.RUNNING  # saved, and the leases say so
    engine.runtime.clock = FrozenClock(datetime.now(UTC) + LEASE + timedelta(seconds=1))
    assert recover_runs(engine.runtime) == [f"run {run.id} chunk 0: enqueued again"]
    engine.work()
    final = engine.run(run.id)
    assert (final.state, final.done, final.failed) == (RunState.COMPLETED_WITH_ERRORS, 11, 1)
    with engine.runtime.database.session() as session:
        assert sorted(tag_counts(session).values()) == [0] + [1] * 11  # Name3 never, no one twice


def test_a_resume_the_queue_refuses_is_enqueued_by_recovery_once_redis_answers(engine):
    engine.add_contacts(12)
    run = start_run(engine.runtime, engine.campaign(), confirmed_by="test")
    from core.engine.targeting import target_run

    target_run(run.id)
    cancel_run(engine.runtime, run.id)
    with redis_down(engine.runtime), pytest.raises(QueueDeferredError):
        resume_run(engine.runtime, run.id)
    engine.runtime.redis.flushdb()  # the first attempt's jobs
    engine.runtime.clock = FrozenClock(datetime.now(UTC) + LEASE + timedelta(seconds=1))
    assert len(recover_runs(engine.runtime)) == 2  # both chunks
    engine.work()
    assert (engine.run(run.id).state, engine.run(run.id).done) == (RunState.COMPLETED, 12)


def test_a_resume_that_must_target_again_stays_cancelled_when_the_queue_refuses(engine):
    run = start_run(engine.runtime, engine.campaign(), confirmed_by="test")
    cancel_run(engine.runtime, run.id)
    with redis_down(engine.runtime), pytest.raises(redis.RedisError):
        resume_run(engine.runtime, run.id)
    assert engine.run(run.id).state == RunState.CANCELLED


def test_a_finish_the_queue_refuses_leaves_the_run_to_the_next_tick(engine):
    engine.add_contacts(2)
    run = start_run(
        engine.runtime,
        engine.campaign(action_settings={"fail_for": ["Name1"]}),
        confirmed_by="test",
    )
    engine.work()
    retry_failed(engine.runtime, run.id)
    engine.runtime.redis.flushdb()
    with engine.runtime.database.session() as session:  # the retried row settled meanwhile
        session.execute(
            update(RunItem).where(RunItem.run_id == run.id).values(status=ItemStatus.DONE)
        )
    with redis_down(engine.runtime):
        assert finish_if_complete(engine.runtime, run.id)
    assert engine.run(run.id).state == RunState.FINISHING
    assert recover_runs(engine.runtime) == []  # the job may still be on its way
    engine.runtime.clock = FrozenClock(datetime.now(UTC) + LEASE + timedelta(seconds=1))
    assert recover_runs(engine.runtime) == [f"run {run.id} finishing: enqueued again"]
    engine.work()
    assert engine.run(run.id).state in (RunState.COMPLETED, RunState.COMPLETED_WITH_ERRORS)


def _skip_as_targeting_does(engine, run_id: int, count: int, reason: str) -> None:
    """Turn ``count`` pending rows into skipped ones with a reason, as targeting writes the
    recipients it leaves out (dispatch block, opt-out, no address)."""
    with engine.runtime.database.session() as session:
        ids = session.scalars(
            select(RunItem.id)
            .where(RunItem.run_id == run_id, RunItem.status == ItemStatus.PENDING)
            .order_by(RunItem.id)
            .limit(count)
        ).all()
        session.execute(
            update(RunItem)
            .where(RunItem.id.in_(ids))
            .values(status=ItemStatus.SKIPPED, detail=reason)
        )


def test_a_run_nobody_confirmed_targets_and_then_waits_without_sending(engine):
    engine.add_contacts(12)
    campaign = engine.campaign()
    run = start_run(engine.runtime, campaign, started_by="erika")
    engine.work()
    run = engine.run(run.id)
    assert (run.state, run.targeted, run.done, run.confirmed_by) == (
        RunState.AWAITING_CONFIRMATION,
        12,
        0,
        None,
    )
    with engine.runtime.database.session() as session:
        assert set(tag_counts(session).values()) == {0}
    with pytest.raises(RunAlreadyActiveError, match="still awaiting confirmation"):
        start_run(engine.runtime, campaign)


def test_confirming_sends_exactly_the_rows_counted_and_refuses_a_wrong_count(engine):
    engine.add_contacts(12)
    campaign = engine.campaign()
    run = start_run(engine.runtime, campaign, started_by="erika")
    engine.work()
    _skip_as_targeting_does(engine, run.id, 2, "Versandsperre")

    with pytest.raises(ConfirmationCountError, match="would reach 10 recipients, not the 12"):
        confirm_run(engine.runtime, run.id, "erika", 12)
    assert engine.run(run.id).state == RunState.AWAITING_CONFIRMATION

    confirmed = confirm_run(engine.runtime, run.id, "erika", 10)
    assert (confirmed.state, confirmed.confirmed_by) == (RunState.RUNNING, "erika")
    assert confirmed.confirmed_at is not None
    engine.work()
    run = engine.run(run.id)
    assert (run.state, run.done) == (RunState.COMPLETED, 10)
    with engine.runtime.database.session() as session:
        assert sorted(tag_counts(session).values()) == [0, 0] + [1] * 10  # skipped: untouched
    with pytest.raises(RunError, match="run #1 is completed and cannot be confirmed"):
        confirm_run(engine.runtime, run.id, "erika", 10)


def test_two_confirmations_at_once_send_once(engine):
    engine.add_contacts(8)
    run = start_run(engine.runtime, engine.campaign())
    engine.work()
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def confirm(who: str) -> None:
        barrier.wait()
        try:
            confirm_run(engine.runtime, run.id, who, 8)
            outcomes.append("sent")
        except RunError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=confirm, args=(who,)) for who in ("erika", "max")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["run #1 is running and cannot be confirmed", "sent"]
    engine.work()
    assert engine.run(run.id).done == 8
    with engine.runtime.database.session() as session:
        assert set(tag_counts(session).values()) == {1}


def test_a_discarded_analysis_sends_nothing_and_cannot_be_confirmed_or_resumed(engine):
    engine.add_contacts(6)
    campaign = engine.campaign()
    run = start_run(engine.runtime, campaign)
    engine.work()
    discard_run(engine.runtime, run.id)
    engine.work()
    run = engine.run(run.id)
    assert (run.state, run.done) == (RunState.CANCELLED, 0)
    with pytest.raises(RunError, match="is cancelled and cannot be confirmed"):
        confirm_run(engine.runtime, run.id, "erika", 6)
    with pytest.raises(RunError, match="never confirmed and cannot be resumed"):
        resume_run(engine.runtime, run.id)
    with pytest.raises(RunError, match="is cancelled and cannot be discarded"):
        discard_run(engine.runtime, run.id)
    engine.work()
    with engine.runtime.database.session() as session:
        assert set(tag_counts(session).values()) == {0}
    assert start_run(engine.runtime, campaign).number == 2  # no longer counts as active


def test_a_dry_run_needs_no_confirmation(engine):
    engine.add_contacts(3)
    run = start_run(engine.runtime, engine.campaign(), dry_run=True)
    engine.work()
    assert engine.run(run.id).state == RunState.COMPLETED
