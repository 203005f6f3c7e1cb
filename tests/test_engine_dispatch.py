from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from core import Action, Channel, Outcome, hookimpl
from core.clock import FrozenClock
from core.engine import dispatch
from core.engine.campaigns import CampaignConfig, build_plugins
from core.engine.context import keep_claimed
from core.engine.dispatch import (
    CLAIM_WINDOW,
    LEDGER_FIELDS,
    MAX_CLAIM,
    STATE_CHECK,
    ClaimSize,
    Dispatcher,
    process_chunk,
    recover_runs,
    worker_identity,
)
from core.engine.runs import cancel_run, resume_run, retry_failed, start_run
from core.engine.targeting import target_run
from core.models import Contact, ItemStatus, Run, RunItem, RunState

from engine_plugins import tag_counts


def test_external_effects_happen_once_and_carry_the_ledger_reference(engine, tmp_path):
    engine.add_contacts(23, email="post@example.de")
    out = tmp_path / "sent.txt"
    run = start_run(
        engine.runtime,
        engine.campaign(action="test_notify", action_settings={"path": str(out)}),
        confirmed_by="test",
    )
    engine.work()
    run = engine.run(run.id)
    assert (run.state, run.done) == (RunState.COMPLETED, 23)
    lines = out.read_text().splitlines()
    assert sorted(lines) == sorted(f"contacts:{n}" for n in range(1, 24))
    assert {item.reference for item in engine.items(run.id)} == {
        f"line-contacts:{n}" for n in range(1, 24)
    }


def test_lifecycle_hooks_see_the_run_and_every_item(engine, tmp_path):
    seen = []

    class Listener:
        @staticmethod
        @hookimpl
        def run_started(run):
            seen.append(("started", run.state, run.counts["targeted"]))

        @staticmethod
        @hookimpl
        def item_processed(run, item):
            seen.append(("item", item.key, item.status))

        @staticmethod
        @hookimpl
        def run_finished(run):
            seen.append(("finished", run.state, run.counts["done"]))

    engine.runtime.plugins.add(Listener, "listener", "test")
    engine.add_contacts(2)
    run = start_run(engine.runtime, engine.campaign(), confirmed_by="test")
    target_run(run.id)
    from core.engine.dispatch import finish_run

    process_chunk(run.id, 0)
    finish_run(run.id)
    assert seen == [
        ("started", "running", 2),
        ("item", "contacts:1", "done"),
        ("item", "contacts:2", "done"),
        ("finished", "completed", 2),
    ]


def claim_as_dead_worker(engine, run_id, keys, when):
    with engine.runtime.database.session() as session:
        session.execute(
            update(RunItem)
            .where(RunItem.run_id == run_id, RunItem.key.in_(keys))
            .values(status=ItemStatus.CLAIMED, claimed_by="dead:1", claimed_at=when)
        )


def test_rows_a_dead_worker_claimed_become_unclear_not_repeated(engine, tmp_path):
    engine.add_contacts(5, email="post@example.de")
    out = tmp_path / "sent.txt"
    run = start_run(
        engine.runtime,
        engine.campaign(action="test_notify", action_settings={"path": str(out)}),
        confirmed_by="test",
    )
    target_run(run.id)
    now = datetime.now(UTC)
    claim_as_dead_worker(engine, run.id, ["contacts:2"], now)
    engine.work()
    assert engine.run(run.id).state == RunState.RUNNING  # waits for the claimed row
    engine.runtime.clock = FrozenClock(now + timedelta(minutes=3))
    assert recover_runs(engine.runtime) == [
        f"run {run.id}: 1 rows unclear",
        f"run {run.id}: finishing",
    ]
    engine.work()
    run = engine.run(run.id)
    assert (run.state, run.done, run.unclear) == (RunState.COMPLETED_WITH_ERRORS, 4, 1)
    assert "contacts:2" not in out.read_text().splitlines()
    unclear = [item for item in engine.items(run.id) if item.status == ItemStatus.UNCLEAR]
    assert unclear[0].detail.startswith("the worker stopped after claiming this row")
    assert retry_failed(engine.runtime, run.id) == 0  # unclear rows are not silently redone
    assert retry_failed(engine.runtime, run.id, include_unclear=True) == 1
    engine.work()
    assert engine.run(run.id).state == RunState.COMPLETED
    assert out.read_text().splitlines().count("contacts:2") == 1


def test_a_recent_claim_is_left_to_its_worker(engine):
    engine.add_contacts(3)
    run = start_run(
        engine.runtime,
        engine.campaign(action="test_notify", action_settings={"path": "/dev/null"}),
        confirmed_by="test",
    )
    target_run(run.id)
    now = datetime.now(UTC)
    claim_as_dead_worker(engine, run.id, ["contacts:1"], now)
    engine.runtime.clock = FrozenClock(now + timedelta(seconds=30))
    assert recover_runs(engine.runtime) == []


def test_a_stalled_run_gets_its_open_chunks_back(engine):
    engine.add_contacts(25)
    run = start_run(engine.runtime, engine.campaign(), confirmed_by="test")
    target_run(run.id)
    engine.runtime.redis.flushdb()  # every queued chunk job is lost
    engine.work()
    assert engine.run(run.id).done == 0
    engine.runtime.clock = FrozenClock(datetime.now(UTC) + timedelta(seconds=10))
    assert recover_runs(engine.runtime) == []  # a new job may take a moment to show
    engine.runtime.clock = FrozenClock(datetime.now(UTC) + timedelta(seconds=40))
    assert recover_runs(engine.runtime) == [
        f"run {run.id} chunk {chunk}: enqueued again" for chunk in range(3)
    ]
    engine.work()
    run = engine.run(run.id)
    assert (run.state, run.done) == (RunState.COMPLETED, 25)
    with engine.runtime.database.session() as session:
        assert set(tag_counts(session).values()) == {1}
        assert session.get(Run, run.id).heartbeat_at is not None


def test_held_out_members_are_not_members_of_their_group(engine, tmp_path):
    engine.add_contacts(9)
    out = tmp_path / "cities.txt"
    campaign = engine.campaign(
        action="test_city_count",
        action_settings={"path": str(out)},
        filters=[{"name": "test_even_held_out"}],
    )
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    engine.work()

    # ids 1-9 by city (index % 3): Berlin 1, 4, 7; Köln 3, 6, 9; München 2, 5, 8.
    assert out.read_text().splitlines() == ["Berlin=2", "Köln=2", "München=1", "finished"]
    held_out = [item for item in engine.items(run.id) if item.status == ItemStatus.HELD_OUT]
    assert len(held_out) == 4


def test_a_kept_claim_is_not_taken_for_a_dead_workers(engine):
    engine.add_contacts(2)
    run = start_run(
        engine.runtime,
        engine.campaign(action="test_notify", action_settings={"path": "/dev/null"}),
        confirmed_by="test",
    )
    target_run(run.id)
    claimed_at = datetime.now(UTC)
    claim_as_dead_worker(engine, run.id, ["contacts:2"], claimed_at)
    with engine.runtime.database.session() as session:
        session.execute(
            update(RunItem)
            .where(RunItem.run_id == run.id, RunItem.key == "contacts:1")
            .values(status=ItemStatus.CLAIMED, claimed_by=worker_identity(), claimed_at=claimed_at)
        )
    engine.runtime.clock = FrozenClock(claimed_at + timedelta(minutes=3))

    keep_claimed(engine.runtime, run.id, "contacts:1")
    keep_claimed(engine.runtime, run.id, "contacts:2")  # another worker's claim stays as it was

    assert recover_runs(engine.runtime) == [f"run {run.id}: 1 rows unclear"]
    statuses = {item.key: item.status for item in engine.items(run.id)}
    assert statuses == {"contacts:1": ItemStatus.CLAIMED, "contacts:2": ItemStatus.UNCLEAR}


def ledger_as_seen_by_another_session(context) -> list[str]:
    with context.runtime.database.session() as session:
        return list(
            session.scalars(
                select(RunItem.status).where(RunItem.run_id == context.run_id).order_by(RunItem.id)
            )
        )


class LedgerProbe(Action):
    """An outside effect that looks at the ledger, as another process would, while it acts."""

    name = "test_ledger_probe"
    title = "Note what the ledger says at each effect"
    external_effects = True
    chunk_size = 10
    seen: list[list[str]] = []
    cancel_at: int | None = None

    def process(self, recipient, context):
        LedgerProbe.seen.append(ledger_as_seen_by_another_session(context))
        if len(LedgerProbe.seen) == LedgerProbe.cancel_at:
            cancel_run(context.runtime, context.run_id)
        return Outcome.done(reference=f"probe-{recipient.key}")


class OtherWorker(Action):
    """An effect inside the database, during which another worker finishes row 4 first."""

    name = "test_other_worker"
    title = "Race another worker for a row"
    chunk_size = 10
    calls: list[str] = []

    def process(self, recipient, context):
        if not OtherWorker.calls:
            with context.runtime.database.session() as session:
                session.execute(
                    update(RunItem)
                    .where(RunItem.run_id == context.run_id, RunItem.key == "contacts:4")
                    .values(status=ItemStatus.DONE, claimed_by="other:1")
                )
        OtherWorker.calls.append(recipient.key)
        return Outcome.done()


class Grouped(Action):
    """An outside effect that sends several claimed rows at once; row 5 is refused by the
    receiver, and with ``broken`` the group that holds row 7 raises halfway."""

    name = "test_grouped"
    title = "Send claimed rows in groups"
    external_effects = True
    chunk_size = 10
    groups: list[list[str]] = []
    broken = False

    def process(self, recipient, context):
        return self.process_many([recipient], context)[0]

    def process_many(self, recipients, context):
        keys = [recipient.key for recipient in recipients]
        Grouped.groups.append(keys)
        if Grouped.broken and "contacts:7" in keys:
            raise ConnectionError("the receiver went away")
        return [
            Outcome.failed("refused") if key == "contacts:5" else Outcome.done(reference=key)
            for key in keys
        ]


class BlockWhileSending(Action):
    """An e-mail per recipient; while the first goes out, a person sets a dispatch block on
    the third recipient's contact (in a session of their own, committed at once)."""

    name = "test_block_while_sending"
    title = "Send while a contact is blocked"
    channel = Channel.EMAIL
    external_effects = True
    chunk_size = 10
    sent: list[str] = []

    def process(self, recipient, context):
        if not BlockWhileSending.sent:
            with context.runtime.database.session() as session:
                third = session.scalars(select(Contact.id).order_by(Contact.id)).all()[2]
                session.execute(update(Contact).where(Contact.id == third).values(
                    dispatch_block=True))  # fmt: skip
        BlockWhileSending.sent.append(recipient.key)
        return Outcome.done()


class ProbePlugin:
    @staticmethod
    @hookimpl
    def register_actions(register):
        register(LedgerProbe)
        register(OtherWorker)
        register(Grouped)
        register(BlockWhileSending)


def probe_run(engine, contacts: int, cancel_at: int | None = None) -> int:
    LedgerProbe.seen, LedgerProbe.cancel_at = [], cancel_at
    engine.runtime.plugins.add(ProbePlugin, "probe", "test")
    engine.add_contacts(contacts)
    run = start_run(
        engine.runtime, engine.campaign(action="test_ledger_probe"), confirmed_by="test"
    )
    target_run(run.id)
    return run.id


def test_an_outside_effect_happens_only_for_rows_claimed_in_an_earlier_commit(engine, monkeypatch):
    monkeypatch.setattr(dispatch, "CLAIM_WINDOW", 60.0)  # claims grow fourfold: 1, then 4
    run_id = probe_run(engine, 4)
    assert process_chunk(run_id, 0).endswith("4 processed")
    pending, claimed, done = ItemStatus.PENDING, ItemStatus.CLAIMED, ItemStatus.DONE
    # The first row is claimed alone; once it was quick, the next claim takes the other three,
    # and their outcomes are recorded together after the three effects.
    assert LedgerProbe.seen == [
        [claimed, pending, pending, pending],
        [done, claimed, claimed, claimed],
        [done, claimed, claimed, claimed],
        [done, claimed, claimed, claimed],
    ]
    assert [(item.status, item.reference) for item in engine.items(run_id)] == [
        (done, f"probe-contacts:{n}") for n in range(1, 5)
    ]
    assert engine.run(run_id).done == 4


def test_cancel_stops_outside_effects_after_the_current_recipient(engine, monkeypatch):
    monkeypatch.setattr(dispatch, "STATE_CHECK", 0.0)  # the run's state is read before each row
    run_id = probe_run(engine, 6, cancel_at=2)
    assert process_chunk(run_id, 0).endswith("2 processed")
    statuses = [item.status for item in engine.items(run_id)]
    assert statuses == [ItemStatus.DONE] * 2 + [ItemStatus.PENDING] * 4  # nothing left claimed
    assert (engine.run(run_id).state, engine.run(run_id).done) == (RunState.CANCELLED, 2)

    LedgerProbe.cancel_at = None
    resume_run(engine.runtime, run_id)
    process_chunk(run_id, 0)
    assert len(LedgerProbe.seen) == 6  # each recipient once
    assert {item.status for item in engine.items(run_id)} == {ItemStatus.DONE}


def test_a_block_set_while_the_chunk_sends_stops_the_rows_not_begun(engine, monkeypatch):
    """The block and opt-outs are read again for every claim, not once for the rows loaded
    together: a contact blocked while the chunk is sending gets nothing once it is set."""
    monkeypatch.setattr(dispatch, "CLAIM_WINDOW", 60.0)  # claims grow fourfold: 1, then 4
    BlockWhileSending.sent = []
    engine.runtime.plugins.add(ProbePlugin, "probe", "test")
    ids = engine.add_contacts(5, email="kunde@example.de")
    campaign = engine.campaign(action="test_block_while_sending")
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    target_run(run.id)
    assert process_chunk(run.id, 0).endswith("5 processed")
    assert BlockWhileSending.sent == [f"contacts:{n}" for n in ids if n != ids[2]]
    assert [(item.status, item.detail) for item in engine.items(run.id)][2] == (
        ItemStatus.SKIPPED,
        "reach.dispatch_block",
    )
    assert (engine.run(run.id).done, engine.run(run.id).skipped) == (4, 1)


def test_a_quick_channel_reads_the_runs_state_once_per_state_check_not_per_row(engine, monkeypatch):
    monkeypatch.setattr(dispatch, "CLAIM_WINDOW", 60.0)  # claims grow fourfold: 1, then 4
    monkeypatch.setattr(dispatch, "STATE_CHECK", 3600.0)  # not read again within a claim
    run_id = probe_run(engine, 6, cancel_at=2)
    # The cancel came during the second claim (rows 2-5): its rows go on, the next is not claimed.
    assert process_chunk(run_id, 0).endswith("5 processed")
    statuses = [item.status for item in engine.items(run_id)]
    assert statuses == [ItemStatus.DONE] * 5 + [ItemStatus.PENDING]
    assert (engine.run(run_id).state, engine.run(run_id).done) == (RunState.CANCELLED, 5)


def test_a_batch_another_worker_raced_is_read_again_and_done_once(engine):
    OtherWorker.calls = []
    engine.runtime.plugins.add(ProbePlugin, "probe", "test")
    engine.add_contacts(6)
    run = start_run(
        engine.runtime, engine.campaign(action="test_other_worker"), confirmed_by="test"
    )
    target_run(run.id)
    assert process_chunk(run.id, 0).endswith("5 processed")
    # The first pass was rolled back when row 4 turned out taken; the second left it out.
    assert OtherWorker.calls == [f"contacts:{n}" for n in (1, 2, 3, 4, 5, 6, 1, 2, 3, 5, 6)]
    items = engine.items(run.id)
    assert {item.status for item in items} == {ItemStatus.DONE}
    assert [item.claimed_by for item in items].count("other:1") == 1
    assert engine.run(run.id).done == 5


def test_recovery_discards_an_analysis_nobody_confirmed_within_a_day(engine):
    engine.add_contacts(4)
    fresh = start_run(engine.runtime, engine.campaign(name="Frisch"))
    stale = start_run(engine.runtime, engine.campaign(name="Vergessen"))
    engine.work()
    with engine.runtime.database.session() as session:
        session.execute(
            update(Run)
            .where(Run.id == stale.id)
            .values(targeted_at=engine.runtime.clock.now() - timedelta(hours=25))
        )
    assert recover_runs(engine.runtime) == [f"run {stale.id}: #1 not confirmed in time, discarded"]
    engine.work()
    stale, fresh = engine.run(stale.id), engine.run(fresh.id)
    assert (stale.state, stale.done) == (RunState.CANCELLED, 0)
    assert stale.error == "not confirmed within 24 hours; nothing was sent"
    assert fresh.state == RunState.AWAITING_CONFIRMATION
    with engine.runtime.database.session() as session:
        assert set(tag_counts(session).values()) == {0}


def grouped_run(engine, broken: bool) -> int:
    Grouped.groups, Grouped.broken = [], broken
    engine.runtime.plugins.add(ProbePlugin, "probe", "test")
    engine.add_contacts(8)
    run = start_run(engine.runtime, engine.campaign(action="test_grouped"), confirmed_by="test")
    target_run(run.id)
    return run.id


def test_an_action_sends_claimed_rows_in_groups_with_an_outcome_each(engine, monkeypatch):
    monkeypatch.setattr(dispatch, "CLAIM_WINDOW", 60.0)  # claims grow fourfold: 1, then 4
    monkeypatch.setattr(dispatch, "STATE_CHECK", 60.0)  # a group is a whole claim
    run_id = grouped_run(engine, broken=False)
    assert process_chunk(run_id, 0).endswith("8 processed")
    assert Grouped.groups == [
        ["contacts:1"],
        ["contacts:2", "contacts:3", "contacts:4", "contacts:5"],
        ["contacts:6", "contacts:7", "contacts:8"],
    ]
    outcomes = {item.key: (item.status, item.reference) for item in engine.items(run_id)}
    assert outcomes["contacts:5"] == (ItemStatus.FAILED, None)
    assert outcomes["contacts:8"] == (ItemStatus.DONE, "contacts:8")
    run = engine.run(run_id)
    assert (run.done, run.failed) == (7, 1)


def test_a_group_that_raises_is_unclear_not_failed_and_not_sent_again(engine, monkeypatch):
    monkeypatch.setattr(dispatch, "CLAIM_WINDOW", 60.0)
    monkeypatch.setattr(dispatch, "STATE_CHECK", 60.0)
    run_id = grouped_run(engine, broken=True)
    process_chunk(run_id, 0)
    statuses = {item.key: item.status for item in engine.items(run_id)}
    # some of the group may have been sent before it raised
    assert [statuses[f"contacts:{n}"] for n in (6, 7, 8)] == [ItemStatus.UNCLEAR] * 3
    assert statuses["contacts:4"] == ItemStatus.DONE
    assert engine.run(run_id).unclear == 3
    recover_runs(engine.runtime)
    engine.work()
    assert [key for group in Grouped.groups for key in group].count("contacts:7") == 1
    assert engine.run(run_id).state == RunState.COMPLETED_WITH_ERRORS


def test_the_claim_follows_the_actions_pace():
    size = ClaimSize()
    assert (size.rows, size.group) == (1, 1)  # the first row of a chunk is claimed alone
    size.took(0.001, 1)
    assert size.rows == 4  # grows at most fourfold a claim
    assert size.group == 4  # a group is what the action does in STATE_CHECK, within the claim
    for _ in range(5):
        size.took(0.001 * size.rows, size.rows)
    assert size.rows == MAX_CLAIM
    size.took(CLAIM_WINDOW * 3, MAX_CLAIM // 2)  # the receiver slowed down
    assert size.rows == MAX_CLAIM // 6
    assert size.group == int(MAX_CLAIM / 2 / (CLAIM_WINDOW * 3) * STATE_CHECK)
    size.took(2.0, 1)  # one row slower than the window (an upload): claimed alone
    assert (size.rows, size.group) == (1, 1)


def test_quick_outside_effects_are_claimed_many_rows_per_commit_and_happen_once(engine, tmp_path):
    engine.add_contacts(10, email="post@example.de")
    out = tmp_path / "notified.txt"
    run = start_run(
        engine.runtime,
        engine.campaign(action="test_notify", action_settings={"path": str(out)}),
        confirmed_by="test",
    )
    engine.work()
    items = engine.items(run.id)
    assert {item.status for item in items} == {ItemStatus.DONE}
    assert sorted(out.read_text().splitlines()) == sorted(item.key for item in items)
    claims = {item.claimed_at for item in items}  # rows claimed by one statement share it
    assert len(claims) < len(items)


def test_a_stopping_worker_gives_back_the_rows_it_had_not_begun(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(dispatch, "CLAIM_WINDOW", 60.0)  # claims grow fourfold: 1, then 4
    engine.add_contacts(10, email="post@example.de")
    out = tmp_path / "notified.txt"
    run = start_run(
        engine.runtime,
        engine.campaign(action="test_notify", action_settings={"path": str(out)}),
        confirmed_by="test",
    )
    target_run(run.id)
    sent = lambda: len(out.read_text().splitlines()) if out.exists() else 0  # noqa: E731
    with engine.runtime.database.pinned_session() as session:
        with session.begin():
            row = session.get(Run, run.id)
            session.expunge(row)
            items = session.execute(
                select(*LEDGER_FIELDS).where(RunItem.run_id == run.id).order_by(RunItem.id)
            ).all()
        built = build_plugins(engine.runtime.plugins, CampaignConfig.from_snapshot(row.config))
        dispatcher = Dispatcher(engine.runtime, row, "c", built, False, lambda: sent() >= 3)
        dispatcher.run_claimed_in_batches(session, items)
    statuses = [item.status for item in engine.items(run.id)]
    assert statuses.count(ItemStatus.DONE) == sent() == 3
    assert statuses.count(ItemStatus.PENDING) == 7  # given back, not unclear
    assert engine.run(run.id).done == 3
    engine.work()
    assert engine.run(run.id).state == RunState.COMPLETED
    assert sorted(out.read_text().splitlines()) == sorted(i.key for i in engine.items(run.id))


class ColdAction(Action):
    name = "test_cold"
    title = "Fail to warm up, then work all the same"

    def warm_up(self, recipient, context):
        raise RuntimeError("no fonts today")

    def process(self, recipient, context):
        return Outcome.done()


class ColdPlugin:
    @staticmethod
    @hookimpl
    def register_actions(register):
        register(ColdAction)


def test_a_failed_warm_up_is_logged_and_the_chunks_run_without_it(engine, caplog):
    engine.runtime.plugins.add(ColdPlugin, "cold", "test")
    engine.add_contacts(3)
    run = start_run(engine.runtime, engine.campaign(action="test_cold"), confirmed_by="test")
    target_run(run.id)
    dispatch.warm_up(run.id)
    dispatch.warm_up(run.id)  # once per run
    assert [record.message for record in caplog.records if record.levelname == "ERROR"] == [
        f"run {run.id}: the action's warm-up failed; its work horses do without"
    ]
    engine.work()
    assert (engine.run(run.id).state, engine.run(run.id).done) == (RunState.COMPLETED, 3)
