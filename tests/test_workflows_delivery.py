"""deliveryMgt through the scheduler's job (``process_helpers.run_pass``) on a real runtime:
real runs on a real RQ worker, approvals, and the outbox sent to a real SMTP server on
loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

import plugins.processes.delivery_start as delivery_start
import plugins.processes.process_runs as process_runs
from core.clock import FrozenClock
from core.config import Settings
from core.engine.runs import cancel_run, confirm_run, discard_unconfirmed, resume_run
from core.jobs.functions import install_runtime
from core.models import CampaignStatus, Notification, Role, Run, RunState, User
from plugins.processes.approvals import (
    Reviewers,
    approve,
    configure,
    reject,
    submit,
    submit_for_approval,
)
from plugins.processes.delivery_start import (
    ConfirmationError,
    DeliveryStart,
    confirm_start,
    start_delivery,
)
from plugins.processes.models import (
    Approval,
    ApprovalMode,
    ApprovalStep,
    Delivery,
    DeliveryChannel,
    DeliveryState,
)
from plugins.processes.process_runs import start_once

import engine_plugins
from conftest import EngineHarness
from process_helpers import build_world, campaign, every_row, run_pass, user

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
S = DeliveryState
STEP = ApprovalStep


class Crash(BaseException):
    """The worker running the pass dies here."""


@pytest.fixture
def settings(settings_with_mail: Settings) -> Settings:
    return settings_with_mail


@pytest.fixture
def harness(runtime_factory) -> EngineHarness:
    import plugins.processes
    from plugins.workflows import delivery

    runtime = runtime_factory(
        ("engine_plugins", engine_plugins),
        ("plugins.processes", plugins.processes),  # its catalog: the mails' texts
        ("delivery", delivery),
    )
    runtime.clock = FrozenClock(NOW)
    install_runtime(runtime)
    return EngineHarness(runtime)


@dataclasses.dataclass
class Setup:
    campaign_id: int
    delivery_id: int
    manager_id: int
    reviewer_id: int


def setup(harness, tmp_path, channel=DeliveryChannel.EMAIL, datasource="test_contacts", **fields):
    """A campaign managed by "manager" with one delivery planned for NOW (unless told
    otherwise); the e-mail delivery writes a line per recipient to ``sent.txt`` (an effect
    outside the database)."""
    fields.setdefault("planned_start_at", NOW)
    with harness.runtime.database.session() as session:
        world = build_world(session)
        owner = campaign(session, manager_id=world.manager_id, datasource=datasource)
        action = (
            {"action": "test_notify", "action_settings": {"path": str(tmp_path / "sent.txt")}}
            if channel.online
            else {"action": "test_letter", "action_settings": {"pages": 1}}
        )
        delivery = Delivery(campaign_id=owner.id, label="Info", channel=channel, **action, **fields)
        session.add(delivery)
        session.flush()
        return Setup(owner.id, delivery.id, world.manager_id, world.reviewer_id)


def submit_all(harness, world: Setup, manual=(), by=None, deadline=None, at=None) -> None:
    """The panel's "submit for approval", with ``manual`` steps answered by "reviewer";
    ``at`` by default a minute before the clock's time, so that automatic steps are
    approved before a start planned for NOW and the delivery starts by itself."""
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        for step in manual:
            configure(
                session, delivery, step, ApprovalMode.MANUAL, NOW,
                Reviewers.of(users=[world.reviewer_id]),
            )  # fmt: skip
        submitter = session.get(User, by) if by else None
        now = at or harness.runtime.clock.now() - timedelta(minutes=1)
        submit_for_approval(session, delivery, now, by=submitter, deadline=deadline)


def answer(harness, world: Setup, step: ApprovalStep, approved=True) -> None:
    with harness.runtime.database.session() as session:
        approval = session.scalar(
            select(Approval).where(Approval.delivery_id == world.delivery_id, Approval.step == step)
        )
        reviewer = session.get(User, world.reviewer_id)
        now = harness.runtime.clock.now()
        if approved:
            approve(session, approval.id, reviewer, now)
        else:
            reject(session, approval.id, reviewer, now, "Zielgruppe zu groß")


def state(harness, world: Setup) -> DeliveryState:
    with harness.runtime.database.session() as session:
        return session.get(Delivery, world.delivery_id).state


def runs(harness, world: Setup) -> list[Run]:
    with harness.runtime.database.session() as session:
        return list(
            session.scalars(
                select(Run).where(Run.delivery_id == world.delivery_id).order_by(Run.id)
            )
        )


def kinds(harness) -> list[tuple[str, int]]:
    with harness.runtime.database.session() as session:
        return [
            (row.kind, row.user_id)
            for row in session.scalars(select(Notification).order_by(Notification.id))
        ]


def subjects(smtp, address: str) -> list[str]:
    """The subjects of the messages to ``address`` (unfolded: long ones are folded)."""
    return [str(received.message["Subject"]).strip() for received in smtp.to(address)]


def test_an_approved_delivery_starts_at_its_time_once_and_finishes_with_its_run(
    harness, tmp_path, smtp
):
    world = setup(harness, tmp_path, planned_start_at=NOW + timedelta(hours=2))
    harness.add_contacts(5, email="post@example.de")
    submit_all(harness, world, manual=[STEP.TARGETING])

    summary = run_pass("deliveryMgt")
    assert state(harness, world) is S.TO_VALIDATE
    assert summary.startswith("0 approved, 0 back to editing")
    assert summary.endswith("; 1 notification e-mail sent, 0 refused, 0 unclear")
    [request] = smtp.to("reviewer@example.de")
    assert request.message["Subject"] == (  # in the reviewer's language, German
        "Freigabe erforderlich: Zielgruppe von Versand „Info“ (Infobrief)"
    )

    answer(harness, world, STEP.TARGETING)
    run_pass("deliveryMgt")
    assert state(harness, world) is S.PENDING_CONFIRMATION  # approved, waiting for a person
    assert runs(harness, world) == []
    assert subjects(smtp, "manager@example.de") == [
        "Freigegeben von Reviewer: Zielgruppe von Versand „Info“ (Infobrief)",
        "Start bestätigen: Info (Infobrief)",
    ]
    assert confirm(harness, world, count=5) == DeliveryStart()  # ahead: it waits for its time
    assert "0 started" in run_pass("deliveryMgt")

    harness.runtime.clock.advance(timedelta(hours=2))
    assert "1 started" in run_pass("deliveryMgt")
    assert state(harness, world) is S.IN_PROGRESS
    [run] = runs(harness, world)
    assert (run.state, run.started_by, run.number) == (RunState.QUEUED, "deliveryMgt", 1)
    assert (run.confirmed_by, run.config["confirmed_up_to"]) == ("manager", 5)
    before = every_row(harness.runtime.database)

    assert "0 started" in run_pass("deliveryMgt")
    assert every_row(harness.runtime.database) == before

    harness.work()
    assert "1 finished" in run_pass("deliveryMgt")
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        assert (delivery.state, delivery.started_at, delivery.finished_at) == (
            S.FINISHED,
            NOW + timedelta(hours=2),
            NOW + timedelta(hours=2),
        )
        assert delivery.analysed_at == NOW + timedelta(hours=2)
    assert len((tmp_path / "sent.txt").read_text().splitlines()) == 5
    before = every_row(harness.runtime.database)
    summary = run_pass("deliveryMgt")
    assert every_row(harness.runtime.database) == before
    assert summary.startswith("0 approved, 0 back to editing, 0 to extraction, 0 started")
    assert len(runs(harness, world)) == 1


def test_a_rejected_step_sends_the_delivery_back_to_editing(harness, tmp_path, smtp):
    world = setup(harness, tmp_path)
    submit_all(harness, world, manual=[STEP.TARGETING, STEP.CONTENT])
    answer(harness, world, STEP.TARGETING)
    run_pass("deliveryMgt")
    assert state(harness, world) is S.TO_VALIDATE  # the content is still waiting

    answer(harness, world, STEP.CONTENT, approved=False)
    assert "1 back to editing" in run_pass("deliveryMgt")
    assert state(harness, world) is S.EDITING
    assert runs(harness, world) == []


def test_automatic_approvals_alone_start_nothing(harness, tmp_path, smtp):
    """Every step approved at its submission, by nobody: no person has seen a count yet."""
    world = setup(harness, tmp_path, planned_start_at=NOW + timedelta(hours=1))
    harness.add_contacts(3, email="post@example.de")
    submit_all(harness, world)

    assert "1 waiting for a person's confirmation" in run_pass("deliveryMgt")
    harness.runtime.clock.advance(timedelta(hours=1))
    run_pass("deliveryMgt")

    assert (state(harness, world), runs(harness, world)) == (S.PENDING_CONFIRMATION, [])
    assert subjects(smtp, "manager@example.de") == ["Start bestätigen: Info (Infobrief)"]


def test_a_start_that_is_not_approved_waits(harness, tmp_path, smtp):
    world = setup(harness, tmp_path, planned_start_at=NOW + timedelta(hours=1))
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        configure(
            session, delivery, STEP.START, ApprovalMode.MANUAL, NOW,
            Reviewers.of(users=[world.reviewer_id]),
        )  # fmt: skip
        for status in (S.APPROVED, S.PENDING_CONFIRMATION):
            delivery.move_to(status, NOW)

    run_pass("deliveryMgt")
    assert state(harness, world) is S.PENDING_CONFIRMATION

    with pytest.raises(ConfirmationError, match="the start of delivery 'Info' is not approved"):
        confirm(harness, world)
    with harness.runtime.database.session() as session:
        submit(session, session.get(Delivery, world.delivery_id), STEP.START, NOW)
    answer(harness, world, STEP.START)
    confirm(harness, world)
    harness.runtime.clock.advance(timedelta(hours=1))
    run_pass("deliveryMgt")
    assert state(harness, world) is S.IN_PROGRESS
    [run] = runs(harness, world)
    assert run.confirmed_by == "manager"  # the person's confirmation, not the approval


def confirm(harness, world: Setup, username: str = "manager", count: int = 5) -> DeliveryStart:
    """The panel's confirmation: noted (and claimed, when it starts now) in one commit, then
    started when it starts now."""
    with harness.runtime.database.session() as session:
        person = session.scalar(select(User).where(User.username == username))
        delivery = session.get(Delivery, world.delivery_id)
        starts_now = confirm_start(session, delivery, person, harness.runtime.clock.now(), count)
    if not starts_now:
        return DeliveryStart()
    return start_delivery(harness.runtime, world.delivery_id, username)


def confirmed_ahead(harness, world: Setup, count: int) -> None:
    """The approved delivery waits for its confirmation (a pass), the manager confirms its
    start for ``count`` recipients, and its planned start comes: the next pass starts it."""
    run_pass("deliveryMgt")
    assert confirm(harness, world, count=count) == DeliveryStart()
    with harness.runtime.database.session() as session:
        planned = session.get(Delivery, world.delivery_id).planned_start_at
    harness.runtime.clock.advance(planned - harness.runtime.clock.now())


def test_a_delivery_approved_after_its_planned_start_waits_for_a_persons_confirmation(
    harness, tmp_path, smtp
):
    """The reported case: a reviewer approving a step after the planned start had passed
    started a real send at once."""
    world = setup(harness, tmp_path, planned_start_at=NOW - timedelta(hours=1))
    harness.add_contacts(5, email="post@example.de")
    submit_all(harness, world, manual=[STEP.CONTENT], at=NOW - timedelta(hours=2))
    run_pass("deliveryMgt")
    answer(harness, world, STEP.CONTENT)  # at NOW, an hour after the planned start

    summary = run_pass("deliveryMgt")
    harness.runtime.clock.advance(timedelta(days=1))
    run_pass("deliveryMgt")

    assert "1 waiting for a person's confirmation" in summary
    assert state(harness, world) is S.PENDING_CONFIRMATION
    assert runs(harness, world) == []
    assert not (tmp_path / "sent.txt").exists()
    # mailed in the manager's language (German, the default)
    assert subjects(smtp, "manager@example.de")[-1] == "Start bestätigen: Info (Infobrief)"

    outcome = confirm(harness, world)

    assert (outcome.error, outcome.started.new) == (None, True)
    assert state(harness, world) is S.IN_PROGRESS
    [run] = runs(harness, world)
    assert run.started_by == "manager"
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        assert (delivery.confirmed_at, delivery.confirmed_by_id) == (
            NOW + timedelta(days=1), world.manager_id,
        )  # fmt: skip
    harness.work()  # the run counts whom it would reach and waits for a person's "send"
    run_pass("deliveryMgt")
    assert state(harness, world) is S.IN_PROGRESS
    assert not (tmp_path / "sent.txt").exists()
    [run] = runs(harness, world)
    assert (run.state, run.confirmed_by) == (RunState.AWAITING_CONFIRMATION, None)
    confirm_run(harness.runtime, run.id, "manager", 5)
    harness.work()
    run_pass("deliveryMgt")
    assert state(harness, world) is S.FINISHED
    assert len((tmp_path / "sent.txt").read_text().splitlines()) == 5


def test_an_analysis_nobody_confirmed_in_time_asks_for_the_start_again(harness, tmp_path, smtp):
    """A person confirmed the start, but nobody confirmed its run's count within a day:
    recovery discards the run, and the delivery waits for a confirmation again, which starts
    a new analysis (a paused delivery whose run was never confirmed could not resume)."""
    world = setup(harness, tmp_path, planned_start_at=None)
    harness.add_contacts(2, email="post@example.de")
    submit_all(harness, world)
    run_pass("deliveryMgt")
    confirm(harness, world)
    harness.work()
    [analysis] = runs(harness, world)
    assert analysis.state is RunState.AWAITING_CONFIRMATION

    harness.runtime.clock.advance(timedelta(hours=25))
    assert discard_unconfirmed(harness.runtime) == [
        f"run {analysis.id}: #{analysis.number} not confirmed in time, discarded"
    ]
    run_pass("deliveryMgt")

    assert state(harness, world) is S.PENDING_CONFIRMATION
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        assert (delivery.confirmed_by_id, delivery.started_at) == (None, None)
    assert subjects(smtp, "manager@example.de").count("Start bestätigen: Info (Infobrief)") == 2
    assert confirm(harness, world).started.new
    harness.work()
    [_, again] = runs(harness, world)
    confirm_run(harness.runtime, again.id, "manager", 2)
    harness.work()
    run_pass("deliveryMgt")
    assert state(harness, world) is S.FINISHED
    assert len((tmp_path / "sent.txt").read_text().splitlines()) == 2


def test_a_delivery_without_a_planned_start_waits_for_confirmation(harness, tmp_path, smtp):
    world = setup(harness, tmp_path, planned_start_at=None)
    submit_all(harness, world)

    run_pass("deliveryMgt")

    assert (state(harness, world), runs(harness, world)) == (S.PENDING_CONFIRMATION, [])


def test_a_delivery_confirmed_before_its_planned_start_starts_by_itself(harness, tmp_path, smtp):
    world = setup(harness, tmp_path, planned_start_at=NOW + timedelta(hours=1))
    harness.add_contacts(2, email="post@example.de")
    submit_all(harness, world, manual=[STEP.CONTENT], at=NOW)
    answer(harness, world, STEP.CONTENT)  # at NOW, before the start
    confirmed_ahead(harness, world, count=2)
    assert runs(harness, world) == []

    run_pass("deliveryMgt")
    harness.work()
    run_pass("deliveryMgt")

    assert state(harness, world) is S.FINISHED
    assert [run.started_by for run in runs(harness, world)] == ["deliveryMgt"]
    assert len((tmp_path / "sent.txt").read_text().splitlines()) == 2


def test_a_run_beyond_the_count_confirmed_ahead_waits_for_a_person(harness, tmp_path, smtp):
    """The manager confirmed 3 recipients, the run would reach 5 (records added since):
    nothing is sent on the old count."""
    world = setup(harness, tmp_path, planned_start_at=NOW + timedelta(hours=1))
    harness.add_contacts(5, email="post@example.de")
    submit_all(harness, world, at=NOW)
    confirmed_ahead(harness, world, count=3)

    run_pass("deliveryMgt")
    harness.work()
    summary = run_pass("deliveryMgt")

    [run] = runs(harness, world)
    assert (run.state, run.confirmed_by) == (RunState.AWAITING_CONFIRMATION, None)
    assert not (tmp_path / "sent.txt").exists()
    assert "1 waiting for a person's confirmation" in summary
    assert subjects(smtp, "manager@example.de")[-1] == (
        "Versand bestätigen: Info (Infobrief), Lauf #1"
    )
    assert (
        smtp.to("manager@example.de")[-1]
        .message.get_content()
        .startswith(
            "Der Lauf würde 5 Empfänger erreichen, mehr als die 3 vor dem Start bestätigten."
        )
    )
    with harness.runtime.database.session() as session:
        [note] = session.scalars(
            select(Notification).where(Notification.kind == "run_to_confirm")
        ).all()
        assert (note.object_type, note.object_id) == ("run", run.id)
    run_pass("deliveryMgt")  # told once
    assert (
        subjects(smtp, "manager@example.de").count("Versand bestätigen: Info (Infobrief), Lauf #1")
        == 1
    )

    with harness.runtime.database.session() as session:
        assert session.get(Notification, note.id).read_at is None
    confirm_run(harness.runtime, run.id, "manager", 5)
    with harness.runtime.database.session() as session:
        assert session.get(Notification, note.id).read_at is not None  # answered
    harness.work()
    run_pass("deliveryMgt")
    assert state(harness, world) is S.FINISHED
    assert len((tmp_path / "sent.txt").read_text().splitlines()) == 5


def test_a_start_confirmed_at_once_that_the_pass_takes_up_asks_for_its_count(
    harness, tmp_path, smtp
):
    """The panel's start found the queue down; deliveryMgt starts the run, whose count the
    manager is asked to confirm."""
    world = setup(harness, tmp_path, planned_start_at=None)
    harness.add_contacts(2, email="post@example.de")
    submit_all(harness, world)
    run_pass("deliveryMgt")
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        assert confirm_start(session, delivery, session.get(User, world.manager_id), NOW, 2)

    assert "1 started" in run_pass("deliveryMgt")
    harness.work()
    run_pass("deliveryMgt")

    [run] = runs(harness, world)
    assert (run.state, run.started_by) == (RunState.AWAITING_CONFIRMATION, "deliveryMgt")
    assert (
        smtp.to("manager@example.de")[-1]
        .message.get_content()
        .startswith("Der Lauf würde 2 Empfänger erreichen. Er sendet nichts, bis jemand diese Zahl")
    )


def test_only_the_campaigns_manager_or_an_admin_confirms_an_open_campaign(harness, tmp_path, smtp):
    world = setup(harness, tmp_path, planned_start_at=None)
    submit_all(harness, world)
    run_pass("deliveryMgt")
    with harness.runtime.database.session() as session:
        user(session, "other", Role.CAMPAIGN_MANAGER)
        user(session, "boss", Role.ADMIN)

    for refused in ("reviewer", "other"):
        with pytest.raises(ConfirmationError, match="only the campaign's manager or an admin"):
            confirm(harness, world, refused)
    with harness.runtime.database.session() as session:
        session.get(Delivery, world.delivery_id).campaign.status = CampaignStatus.CANCELLED
    with pytest.raises(ConfirmationError, match="is cancelled; reopen it before starting"):
        confirm(harness, world, "boss")
    with harness.runtime.database.session() as session:
        session.get(Delivery, world.delivery_id).campaign.status = CampaignStatus.IN_PROGRESS

    assert confirm(harness, world, "boss").started.new
    assert state(harness, world) is S.IN_PROGRESS
    with pytest.raises(ConfirmationError, match="is in progress, not waiting for confirmation"):
        confirm(harness, world, "boss")


def test_a_crash_after_starting_the_run_does_not_start_a_second_one(
    harness, tmp_path, smtp, monkeypatch
):
    world = setup(harness, tmp_path, planned_start_at=NOW + timedelta(hours=1))
    harness.add_contacts(4, email="post@example.de")
    submit_all(harness, world)
    confirmed_ahead(harness, world, count=4)

    def start_then_die(*args, **kwargs):
        start_once(*args, **kwargs)
        raise Crash

    monkeypatch.setattr(delivery_start, "start_once", start_then_die)
    with pytest.raises(Crash):
        run_pass("deliveryMgt")
    monkeypatch.undo()
    assert state(harness, world) is S.START_PENDING
    assert len(runs(harness, world)) == 1

    summary = run_pass("deliveryMgt")

    assert "1 started" in summary
    assert state(harness, world) is S.IN_PROGRESS
    assert len(runs(harness, world)) == 1
    harness.work()
    run_pass("deliveryMgt")
    assert state(harness, world) is S.FINISHED
    assert len((tmp_path / "sent.txt").read_text().splitlines()) == 4


def test_a_crash_before_starting_the_run_starts_it_in_the_next_pass(
    harness, tmp_path, smtp, monkeypatch
):
    world = setup(harness, tmp_path, planned_start_at=NOW + timedelta(hours=1))
    harness.add_contacts(2, email="post@example.de")
    submit_all(harness, world)
    confirmed_ahead(harness, world, count=2)

    def die(*args, **kwargs):
        raise Crash

    monkeypatch.setattr(delivery_start, "start_once", die)
    with pytest.raises(Crash):
        run_pass("deliveryMgt")
    monkeypatch.undo()
    assert (state(harness, world), runs(harness, world)) == (S.START_PENDING, [])

    run_pass("deliveryMgt")
    assert len(runs(harness, world)) == 1


def test_two_passes_that_miss_each_others_run_still_start_one(harness, tmp_path, smtp, monkeypatch):
    """Even if two schedulers' passes both looked before either run existed, the engine's one
    active run per campaign lets only one of them start."""
    world = setup(harness, tmp_path)
    monkeypatch.setattr(process_runs, "find_run", lambda *args, **kwargs: None)
    barrier = threading.Barrier(2)
    results = []

    def start():
        barrier.wait()
        results.append(
            start_once(harness.runtime, world.campaign_id, NOW, "deliveryMgt",
                       delivery_id=world.delivery_id)
        )  # fmt: skip

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(runs(harness, world)) == 1
    assert sorted(result.run_id is None for result in results) == [False, True]
    [waiting] = [result.waiting for result in results if result.run_id is None]
    assert waiting.english().startswith("run #1 of this campaign is still queued")


def test_a_failed_run_fails_the_delivery_and_tells_the_manager(harness, tmp_path, smtp):
    world = setup(
        harness, tmp_path, datasource="test_offline", planned_start_at=NOW + timedelta(hours=1)
    )
    submit_all(harness, world)
    confirmed_ahead(harness, world, count=4)
    run_pass("deliveryMgt")
    harness.work()

    assert "1 failed" in run_pass("deliveryMgt")

    assert state(harness, world) is S.FAILED
    message = smtp.to("manager@example.de")[-1]  # after the request to confirm the start
    assert message.message["Subject"] == "Versand fehlgeschlagen: Info (Infobrief)"
    assert message.message.get_content().startswith(
        "Lauf #1 fehlgeschlagen: Ermitteln der Zielgruppe fehlgeschlagen: ConnectionError: "
        "the CRM is offline"
    )
    before = every_row(harness.runtime.database)
    run_pass("deliveryMgt")
    assert every_row(harness.runtime.database) == before


def test_a_campaign_that_cannot_start_fails_its_delivery(harness, tmp_path, smtp):
    world = setup(
        harness, tmp_path, datasource="no_such_source", planned_start_at=NOW + timedelta(hours=1)
    )
    submit_all(harness, world)
    confirmed_ahead(harness, world, count=4)

    run_pass("deliveryMgt")

    assert state(harness, world) is S.FAILED
    assert runs(harness, world) == []
    assert ("delivery_failed", world.manager_id) in kinds(harness)


def test_a_cancelled_run_pauses_the_delivery_until_it_is_resumed(harness, tmp_path, smtp):
    world = setup(harness, tmp_path, planned_start_at=NOW + timedelta(hours=1))
    harness.add_contacts(3, email="post@example.de")
    submit_all(harness, world)
    confirmed_ahead(harness, world, count=3)
    run_pass("deliveryMgt")
    [run] = runs(harness, world)

    cancel_run(harness.runtime, run.id)
    assert "1 paused" in run_pass("deliveryMgt")
    assert state(harness, world) is S.PAUSED

    resume_run(harness.runtime, run.id)
    run_pass("deliveryMgt")
    assert state(harness, world) is S.IN_PROGRESS
    harness.work()
    run_pass("deliveryMgt")
    assert state(harness, world) is S.FINISHED


def test_stopping_a_delivery_cancels_its_run(harness, tmp_path, smtp):
    world = setup(harness, tmp_path, planned_start_at=NOW + timedelta(hours=1))
    harness.add_contacts(3, email="post@example.de")
    submit_all(harness, world)
    confirmed_ahead(harness, world, count=3)
    run_pass("deliveryMgt")
    with harness.runtime.database.session() as session:
        session.get(Delivery, world.delivery_id).move_to(S.STOPPED, NOW)

    assert "1 run of stopped deliveries cancelled" in run_pass("deliveryMgt")

    assert [run.state for run in runs(harness, world)] == [RunState.CANCELLED]
    assert "0 runs of stopped deliveries cancelled" in run_pass("deliveryMgt")


def test_reminders_once_before_the_deadline_and_overdue_once_after(harness, tmp_path, smtp):
    world = setup(harness, tmp_path)
    with harness.runtime.database.session() as session:
        submitter = user(session, "planner", Role.CAMPAIGN_MANAGER)
    submit_all(harness, world, manual=[STEP.TARGETING], by=submitter.id, at=NOW)
    deadline = NOW + timedelta(days=3)
    clock = harness.runtime.clock

    clock.advance(timedelta(days=1, hours=23))
    assert "0 reminders" in run_pass("deliveryMgt")
    clock.advance(timedelta(hours=1))  # one day before the deadline
    assert "1 reminder" in run_pass("deliveryMgt")
    assert "0 reminders" in run_pass("deliveryMgt")
    assert subjects(smtp, "reviewer@example.de") == [
        "Freigabe erforderlich: Zielgruppe von Versand „Info“ (Infobrief)",
        "Erinnerung: Freigabe erforderlich für Zielgruppe von Versand „Info“ (Infobrief)",
    ]

    clock.advance(timedelta(days=1))
    assert "1 overdue approval" in run_pass("deliveryMgt")
    with harness.runtime.database.session() as session:
        approval = session.scalar(select(Approval).where(Approval.step == STEP.TARGETING))
        assert (approval.overdue_at, approval.deadline_at) == (clock.now(), deadline)
    before = every_row(harness.runtime.database)
    assert "0 overdue approvals" in run_pass("deliveryMgt")
    assert every_row(harness.runtime.database) == before
    overdue = (
        "Überfällig: Freigabe für Schritt Zielgruppe von Versand %d „Info“ der Kampagne „Infobrief“"
    )
    for address in ("manager@example.de", "planner@example.de"):
        assert subjects(smtp, address)[-1] == overdue % world.delivery_id

    answer(harness, world, STEP.TARGETING)  # a late answer still counts, but
    run_pass("deliveryMgt")  # after the planned start: a person confirms the start
    assert state(harness, world) is S.PENDING_CONFIRMATION


def test_the_reminder_lead_time_is_a_setting(harness, tmp_path, smtp):
    harness.runtime.settings = dataclasses.replace(
        harness.runtime.settings, approval_reminder=timedelta(hours=6)
    )
    world = setup(harness, tmp_path)
    submit_all(harness, world, manual=[STEP.TARGETING], at=NOW)

    harness.runtime.clock.advance(timedelta(days=2, hours=17))
    assert "0 reminders" in run_pass("deliveryMgt")
    harness.runtime.clock.advance(timedelta(hours=1))
    assert "1 reminder" in run_pass("deliveryMgt")


def test_a_round_shorter_than_the_lead_time_gets_no_reminder(harness, tmp_path, smtp):
    world = setup(harness, tmp_path)
    submit_all(harness, world, manual=[STEP.TARGETING], deadline=NOW + timedelta(hours=12), at=NOW)

    harness.runtime.clock.advance(timedelta(hours=1))
    assert "0 reminders" in run_pass("deliveryMgt")


def test_letters_go_to_extraction_and_follow_their_file_and_proof_answers(harness, tmp_path, smtp):
    world = setup(
        harness, tmp_path, channel=DeliveryChannel.DIRECT_MAIL,
        planned_start_at=NOW + timedelta(days=1), proof_required=True,
    )  # fmt: skip
    submit_all(harness, world)
    run_pass("deliveryMgt")
    assert state(harness, world) is S.APPROVED  # its start time has not come
    harness.runtime.clock.advance(timedelta(days=1))
    assert "1 to extraction" in run_pass("deliveryMgt")
    assert state(harness, world) is S.EXTRACTION_PENDING

    def file_ready():
        with harness.runtime.database.session() as session:
            delivery = session.get(Delivery, world.delivery_id)
            configure(session, delivery, STEP.EXTRACTION, ApprovalMode.MANUAL, NOW,
                      Reviewers.of(users=[world.reviewer_id]))  # fmt: skip
            delivery.move_to(S.FILE_TO_APPROVE, harness.runtime.clock.now())
            submit(session, delivery, STEP.EXTRACTION, harness.runtime.clock.now())

    file_ready()
    run_pass("deliveryMgt")
    assert state(harness, world) is S.FILE_TO_APPROVE
    answer(harness, world, STEP.EXTRACTION, approved=False)
    run_pass("deliveryMgt")
    assert state(harness, world) is S.EXTRACTION_PENDING  # a new extraction

    file_ready()
    run_pass("deliveryMgt")
    assert state(harness, world) is S.FILE_TO_APPROVE  # a person approves every file
    answer(harness, world, STEP.EXTRACTION)
    assert "1 to proof" in run_pass("deliveryMgt")
    assert state(harness, world) is S.PROOF_TO_SUBMIT  # the supplier workflow's turn

    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        configure(session, delivery, STEP.PROOF, ApprovalMode.MANUAL, NOW,
                  Reviewers.of(users=[world.reviewer_id]))  # fmt: skip
        submit(session, delivery, STEP.PROOF, harness.runtime.clock.now())
        delivery.move_to(S.PROOF_TO_VALIDATE, harness.runtime.clock.now())
    answer(harness, world, STEP.PROOF, approved=False)
    run_pass("deliveryMgt")
    assert state(harness, world) is S.PROOF_TO_SUBMIT
    with harness.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 0


def test_the_workflow_is_registered_with_its_documented_name_title_and_interval(harness):
    workflow = harness.runtime.plugins.workflows.get("deliveryMgt")
    assert (workflow.title, workflow.default_interval) == (
        "Jobs on deliveries in campaigns",
        timedelta(minutes=15),
    )
