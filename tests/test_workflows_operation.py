"""operationMgt through the scheduler's job (``process_helpers.run_pass``) on a real runtime
with real runs on a real RQ worker, on SQLite and PostgreSQL: extraction runs, targeting dry
runs, the limit of concurrent jobs, recurring and periodic campaign templates."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

import plugins.workflows.operation as operation_workflow
from core.clock import FrozenClock
from core.engine.runs import confirm_run, discard_run
from core.jobs.functions import install_runtime
from core.messages import StoredText
from core.models import (
    Campaign,
    CampaignStatus,
    Contact,
    Notification,
    Run,
    RunItem,
    RunState,
    User,
    WorkflowRun,
)
from plugins.processes.approvals import (
    Reviewers,
    approval_for,
    approve,
    configure,
    reject,
    submit,
    submit_for_approval,
)
from plugins.processes.consumption import analysed_cost
from plugins.processes.models import (
    Approval,
    ApprovalMode,
    ApprovalState,
    ApprovalStep,
    Budget,
    CampaignTemplate,
    CostType,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    Frequency,
    OccurrenceState,
    Task,
    TaskState,
    TemplateKind,
    TemplateOccurrence,
)
from plugins.processes.process_runs import start_once
from plugins.workflows import TRANSLATIONS
from webapp.i18n import render_stored

import engine_plugins
from conftest import EngineHarness
from process_helpers import build_world, campaign, every_row, run_pass

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
S = DeliveryState
STEP = ApprovalStep


class Crash(BaseException):
    """The worker running the pass dies here."""


@pytest.fixture
def harness(runtime_factory) -> EngineHarness:
    from plugins.workflows import operation

    runtime = runtime_factory(("engine_plugins", engine_plugins), ("operation", operation))
    runtime.clock = FrozenClock(NOW)
    install_runtime(runtime)
    return EngineHarness(runtime)


def world_of(harness):
    with harness.runtime.database.session() as session:
        return build_world(session)


def letter(harness, name="Infobrief", datasource="test_contacts", state=S.EXTRACTION_PENDING):
    """A letter of a campaign of its own, moved on to ``state``."""
    with harness.runtime.database.session() as session:
        owner = campaign(session, name=name, datasource=datasource)
        delivery = Delivery(
            campaign_id=owner.id,
            label="Brief",
            channel=DeliveryChannel.DIRECT_MAIL,
            action="test_letter",
            action_settings={"pages": 2},
        )
        session.add(delivery)
        session.flush()
        path = {S.EDITING: (), S.TO_VALIDATE: (S.TO_VALIDATE,)}.get(
            state, (S.APPROVED, S.EXTRACTION_PENDING)
        )
        for step in path:
            delivery.move_to(step, NOW)
        return delivery.id


def delivery_of(harness, delivery_id) -> Delivery:
    with harness.runtime.database.session() as session:
        return session.get(Delivery, delivery_id)


def runs_of(harness, **where) -> list[Run]:
    with harness.runtime.database.session() as session:
        query = select(Run).order_by(Run.id)
        for name, value in where.items():
            query = query.where(getattr(Run, name) == value)
        return list(session.scalars(query))


# --- extraction ------------------------------------------------------------------------------


def test_a_letter_pending_extraction_gets_one_run_then_its_file_waits_for_approval(harness):
    world = world_of(harness)
    ids = harness.add_contacts(8)
    with harness.runtime.database.session() as session:  # no address: skipped by the letter
        session.execute(update(Contact).where(Contact.id.in_(ids[-2:])).values(city=None))
    delivery_id = letter(harness)
    with harness.runtime.database.session() as session:
        configure(
            session, session.get(Delivery, delivery_id), STEP.EXTRACTION, ApprovalMode.MANUAL,
            NOW, Reviewers.of(users=[world.reviewer_id]),
        )  # fmt: skip

    assert run_pass("operationMgt").startswith("1 extraction run started")
    [run] = runs_of(harness, delivery_id=delivery_id)
    assert (run.state, run.started_by, run.dry_run) == (RunState.QUEUED, "operationMgt", False)
    assert run.confirmed_by == f"operationMgt:approved delivery {delivery_id}"
    before = every_row(harness.runtime.database)
    assert run_pass("operationMgt").startswith("0 extraction runs started")
    assert every_row(harness.runtime.database) == before

    harness.work()
    summary = run_pass("operationMgt")
    assert "1 file to approve" in summary
    delivery = delivery_of(harness, delivery_id)
    assert (delivery.state, delivery.analysed_at) == (S.FILE_TO_APPROVE, NOW)
    with harness.runtime.database.session() as session:
        approval = session.scalar(select(Approval).where(Approval.step == STEP.EXTRACTION))
        assert (approval.state, approval.round) == (ApprovalState.PENDING, 1)
        requests = session.scalars(
            select(Notification.user_id).where(Notification.kind == "approval_request")
        ).all()
        assert requests == [world.reviewer_id]
    before = every_row(harness.runtime.database)
    run_pass("operationMgt")
    assert every_row(harness.runtime.database) == before
    assert runs_of(harness, delivery_id=delivery_id)[0].done == 6


def test_a_rejected_file_is_extracted_again_by_a_new_run(harness):
    world = world_of(harness)
    harness.add_contacts(3)
    delivery_id = letter(harness)
    run_pass("operationMgt")
    harness.work()
    run_pass("operationMgt")
    with harness.runtime.database.session() as session:  # a "no", and what deliveryMgt does
        approval = session.scalar(select(Approval).where(Approval.step == STEP.EXTRACTION))
        reject(session, approval.id, session.get(User, world.manager_id), NOW, "Falsche Anrede")
        session.get(Delivery, delivery_id).move_to(S.EXTRACTION_PENDING, NOW + timedelta(hours=1))
    harness.runtime.clock.advance(timedelta(hours=1))

    assert run_pass("operationMgt").startswith("1 extraction run started")
    harness.work()
    run_pass("operationMgt")

    assert [run.number for run in runs_of(harness, delivery_id=delivery_id)] == [1, 2]
    assert delivery_of(harness, delivery_id).state is S.FILE_TO_APPROVE
    with harness.runtime.database.session() as session:
        assert session.scalar(select(Approval.round).where(Approval.step == STEP.EXTRACTION)) == 2


def test_an_extraction_that_fails_or_finds_nobody_fails_the_delivery(harness):
    world_of(harness)
    offline = letter(harness, "Offline", datasource="test_offline")
    empty = letter(harness, "Leer")

    run_pass("operationMgt")
    harness.work()
    assert "2 failed" in run_pass("operationMgt")

    assert delivery_of(harness, offline).state is S.FAILED
    assert delivery_of(harness, empty).state is S.FAILED
    with harness.runtime.database.session() as session:
        told = session.execute(
            select(Notification.subject, Notification.body_message)
            .where(Notification.kind == "delivery_failed")
            .order_by(Notification.id)
        ).all()
    subjects = [subject for subject, _ in told]
    assert subjects == ["Delivery failed: Brief (Offline)", "Delivery failed: Brief (Leer)"]
    why = StoredText.from_json(told[0].body_message)
    german = render_stored(why, "de", {"plugins.workflows": [TRANSLATIONS]})
    assert german == (
        "sein Extraktionslauf #1 ist fehlgeschlagen: Ermitteln der Zielgruppe fehlgeschlagen: "
        "ConnectionError: the CRM is offline"
    )


def test_no_more_jobs_run_at_once_than_the_setting_allows(harness):
    harness.runtime.settings = dataclasses.replace(harness.runtime.settings, concurrent_jobs=1)
    harness.add_contacts(3)
    first, second = letter(harness, "Erster"), letter(harness, "Zweiter")

    summary = run_pass("operationMgt")

    assert summary.startswith("1 extraction run started")
    assert summary.endswith("1 job running, at most 1")
    assert [run.delivery_id for run in runs_of(harness)] == [first]
    with harness.runtime.database.session() as session:
        log = session.scalars(select(WorkflowRun.log).order_by(WorkflowRun.id.desc())).first()
    assert any(
        "waits: 1 campaign job is running, at most 1 at once (CAMPAIGN_CONCURRENT_JOBS)" in line
        for line in log
    )
    assert any(
        line.endswith("„Zweiter“ wartet: 1 Kampagnen-Job läuft, höchstens 1 gleichzeitig "
                      "(CAMPAIGN_CONCURRENT_JOBS)")
        for line in german_log(harness)
    )  # fmt: skip

    harness.work()
    run_pass("operationMgt")
    assert [run.delivery_id for run in runs_of(harness)] == [first, second]
    assert delivery_of(harness, first).state is S.FILE_TO_APPROVE


def test_a_run_waiting_for_a_persons_confirmation_does_not_hold_a_job(harness):
    """A recurring line's run waits up to a day for a person; counted as a running job, it
    held the letters' extractions back all that time while no worker had anything to do."""
    harness.runtime.settings = dataclasses.replace(harness.runtime.settings, concurrent_jobs=1)
    harness.add_contacts(3)
    _, campaign_id = recurring(harness)
    run_pass("operationMgt")
    harness.runtime.clock.advance(timedelta(days=1))
    run_pass("operationMgt")
    harness.work()
    [waiting] = runs_of(harness, campaign_id=campaign_id)
    assert waiting.state is RunState.AWAITING_CONFIRMATION
    extraction = letter(harness)

    summary = run_pass("operationMgt")

    assert summary.startswith("1 extraction run started")
    assert [run.delivery_id for run in runs_of(harness)] == [None, extraction]


def test_a_crash_after_starting_an_extraction_run_starts_no_second(harness, monkeypatch):
    harness.add_contacts(3)
    delivery_id = letter(harness)

    def start_then_die(*args, **kwargs):
        start_once(*args, **kwargs)
        raise Crash

    monkeypatch.setattr(operation_workflow, "start_once", start_then_die)
    with pytest.raises(Crash):
        run_pass("operationMgt")
    monkeypatch.undo()

    run_pass("operationMgt")
    harness.work()
    run_pass("operationMgt")
    assert len(runs_of(harness, delivery_id=delivery_id)) == 1
    assert delivery_of(harness, delivery_id).state is S.FILE_TO_APPROVE


def test_a_manual_targeting_approval_gets_one_dry_run_per_round(harness):
    world = world_of(harness)
    harness.add_contacts(4)
    delivery_id = letter(harness, state=S.TO_VALIDATE)
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        configure(session, delivery, STEP.TARGETING, ApprovalMode.MANUAL, NOW,
                  Reviewers.of(users=[world.reviewer_id]))  # fmt: skip
        submit(session, delivery, STEP.TARGETING, NOW)

    assert "1 targeting dry run started" in run_pass("operationMgt")
    assert "0 targeting dry runs started" in run_pass("operationMgt")
    harness.work()
    [dry] = runs_of(harness, delivery_id=delivery_id)
    assert (dry.dry_run, dry.state, dry.targeted, dry.exclusive) == (
        True, RunState.COMPLETED, 4, False
    )  # fmt: skip
    assert "0 targeting dry runs started" in run_pass("operationMgt")

    later = NOW + timedelta(hours=1)
    with harness.runtime.database.session() as session:
        approval = session.scalar(select(Approval))
        reject(session, approval.id, session.get(User, world.reviewer_id), later, "zu viele")
        submit(session, session.get(Delivery, delivery_id), STEP.TARGETING, later)
    harness.runtime.clock.advance(timedelta(hours=1))
    assert "1 targeting dry run started" in run_pass("operationMgt")
    assert len(runs_of(harness, delivery_id=delivery_id)) == 2


def test_a_manual_content_approval_gets_a_dry_run_that_renders_sample_recipients(harness):
    world = world_of(harness)
    harness.add_contacts(3)
    delivery_id = letter(harness, state=S.TO_VALIDATE)
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        configure(session, delivery, STEP.CONTENT, ApprovalMode.MANUAL, NOW,
                  Reviewers.of(users=[world.reviewer_id]))  # fmt: skip
        submit(session, delivery, STEP.CONTENT, NOW)

    assert "1 targeting dry run started" in run_pass("operationMgt")
    harness.work()
    [dry] = runs_of(harness, delivery_id=delivery_id)
    assert (dry.dry_run, dry.state) == (True, RunState.COMPLETED)
    with harness.runtime.database.session() as session:
        details = session.scalars(select(RunItem.detail).where(RunItem.run_id == dry.id)).all()
    assert all(detail.startswith("preview: ") for detail in details)


def test_the_pass_moves_tasks_by_their_dates_and_campaigns_by_what_happened(harness):
    with harness.runtime.database.session() as session:
        owner = campaign(session, status=CampaignStatus.EDITING)
        session.add(Task(campaign_id=owner.id, name="Text", start_date=NOW.date()))

    summary = run_pass("operationMgt")

    assert "1 task moved, 1 campaign moved" in summary
    with harness.runtime.database.session() as session:
        assert session.scalar(select(Task.state)) is TaskState.IN_PROGRESS
        assert session.scalar(select(Campaign.status)) is CampaignStatus.IN_PROGRESS
    assert "0 tasks moved, 0 campaigns moved" in run_pass("operationMgt")


def test_a_manual_budget_approval_is_asked_after_the_targeting_is_analysed(harness):
    world = world_of(harness)
    harness.add_contacts(4)
    delivery_id = letter(harness, state=S.EDITING)
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.provider_service_id = world.print_service_id
        delivery.cost_types = [session.get(CostType, world.envelope_dl_id)]
        delivery.surcharge = Decimal(10)
        reviewers = Reviewers.of(users=[world.reviewer_id])
        for step in (STEP.TARGETING, STEP.BUDGET):
            configure(session, delivery, step, ApprovalMode.MANUAL, NOW, reviewers)
        assert submit_for_approval(session, delivery, NOW) == [STEP.TARGETING, STEP.START]
        assert delivery.state is S.TO_VALIDATE
        assert approval_for(session, delivery_id, STEP.BUDGET).state is ApprovalState.NOT_SUBMITTED
        assert analysed_cost(session, delivery_id) is None

    assert "0 budget approvals asked" in run_pass("operationMgt")  # the dry run starts
    harness.work()
    assert "1 budget approval asked" in run_pass("operationMgt")
    assert "0 budget approvals asked" in run_pass("operationMgt")

    with harness.runtime.database.session() as session:
        budget = approval_for(session, delivery_id, STEP.BUDGET)
        assert (budget.state, budget.round) == (ApprovalState.PENDING, 1)
        cost = analysed_cost(session, delivery_id)
    # 4 letters, one unit each: Druck 50 + 4 x 0.08, Porto 4 x 0.13, Kuvert DL 4 x 0.05
    assert (cost.recipients, cost.price.lines, cost.price.surcharge) == (
        4,
        (("Druck", Decimal("50.32")), ("Porto", Decimal("0.52")), ("Kuvert", Decimal("0.20"))),
        Decimal(10),
    )
    assert cost.price.total == Decimal("61.04")


# --- campaign templates ----------------------------------------------------------------------


def recurring(harness, **fields) -> tuple[int, int]:
    with harness.runtime.database.session() as session:
        model = campaign(session, name="Newsletter")
        template = CampaignTemplate(
            name="Newsletter",
            kind=TemplateKind.RECURRING,
            campaign_id=model.id,
            frequency=Frequency.WEEKLY,
            first_at=NOW + timedelta(days=1),
            create_in_advance_days=10,
            **fields,
        )
        session.add(template)
        session.flush()
        return template.id, model.id


def lines(harness) -> list[TemplateOccurrence]:
    with harness.runtime.database.session() as session:
        return list(session.scalars(select(TemplateOccurrence).order_by(TemplateOccurrence.number)))


def test_a_recurring_template_gets_its_lines_up_to_the_horizon_and_a_run_at_each_date(harness):
    harness.add_contacts(3)
    _, campaign_id = recurring(harness)

    assert "2 schedule lines created" in run_pass("operationMgt")
    assert [(line.label, line.planned_at) for line in lines(harness)] == [
        ("Newsletter #1", NOW + timedelta(days=1)),
        ("Newsletter #2", NOW + timedelta(days=8)),
    ]
    before = every_row(harness.runtime.database)
    assert "0 schedule lines created" in run_pass("operationMgt")
    assert every_row(harness.runtime.database) == before

    harness.runtime.clock.advance(timedelta(days=1))
    summary = run_pass("operationMgt")
    assert "1 recurring run started" in summary
    assert "0 schedule lines created" in summary  # #3 is 14 days ahead, beyond ten
    first = lines(harness)[0]
    [run] = runs_of(harness, campaign_id=campaign_id)
    assert (first.state, first.run_id, first.started_at) == (
        OccurrenceState.STARTED, run.id, NOW + timedelta(days=1)
    )  # fmt: skip
    assert run.started_by == "operationMgt #1"
    before = every_row(harness.runtime.database)
    assert "0 recurring runs started" in run_pass("operationMgt")
    assert every_row(harness.runtime.database) == before

    harness.work()  # analysed: it waits for a person's confirmation of its count
    confirm_run(harness.runtime, run.id, "manager", 3)
    harness.work()
    harness.runtime.clock.advance(timedelta(days=7))
    assert "1 schedule line created" in run_pass("operationMgt")
    assert [run.started_by for run in runs_of(harness, campaign_id=campaign_id)] == [
        "operationMgt #1",
        "operationMgt #2",
    ]
    assert [line.number for line in lines(harness)] == [1, 2, 3]


def german_log(harness) -> list[str]:
    """The latest pass's log as the German panel shows it."""
    with harness.runtime.database.session() as session:
        messages = session.scalars(
            select(WorkflowRun.log_messages).order_by(WorkflowRun.id.desc())
        ).first()
    catalogs = harness.runtime.plugins.translations
    return [render_stored(StoredText.from_json(message), "de", catalogs) for message in messages]


def test_a_line_whose_campaign_still_has_a_run_waiting_says_why_in_the_readers_language(harness):
    """The next line's run waits while the previous one awaits its confirmation; the German
    panel's log said so in English, with the developer's "start with allow_parallel"."""
    harness.add_contacts(3)
    _, campaign_id = recurring(harness)
    run_pass("operationMgt")
    harness.runtime.clock.advance(timedelta(days=1))
    run_pass("operationMgt")
    harness.work()  # the first line's run awaits its confirmation
    harness.runtime.clock.advance(timedelta(days=7))

    assert "0 recurring runs started" in run_pass("operationMgt")

    assert "Terminzeile Newsletter #2 wartet: Lauf #1 dieser Kampagne ist noch nicht beendet " \
        "(Wartet auf Bestätigung); warten Sie auf ihn oder brechen Sie ihn ab." \
        in german_log(harness)  # fmt: skip
    assert len(runs_of(harness, campaign_id=campaign_id)) == 1


def test_a_line_of_a_cancelled_campaign_is_skipped_once_not_failed_at_every_pass(harness):
    """A cancelled campaign starts no run; its line used to stay "started" without one and
    count as failed at every pass (every quarter hour, and so every later line)."""
    harness.add_contacts(3)
    _, campaign_id = recurring(harness)
    run_pass("operationMgt")
    with harness.runtime.database.session() as session:
        session.get(Campaign, campaign_id).status = CampaignStatus.CANCELLED
    harness.runtime.clock.advance(timedelta(days=1))

    summary = run_pass("operationMgt")

    assert "1 line skipped, 0 failed" in summary
    assert "Newsletter #1: übersprungen: Kampagne „Newsletter“ ist nicht mehr offen " \
        "(Abgebrochen); öffnen Sie sie wieder, bevor Sie einen Lauf starten." \
        in german_log(harness)  # fmt: skip
    assert [line.state for line in lines(harness)] == [
        OccurrenceState.SKIPPED, OccurrenceState.PLANNED
    ]  # fmt: skip
    assert runs_of(harness, campaign_id=campaign_id) == []
    before = every_row(harness.runtime.database)
    assert "0 lines skipped, 0 failed" in run_pass("operationMgt")
    assert every_row(harness.runtime.database) == before


def test_a_periodic_line_that_cannot_create_its_campaign_is_named_by_its_label(harness):
    """The problem named "schedule line 10" (its row id), which no screen shows."""
    name = "M" * 199  # its lines' labels are longer than a campaign's name may be
    with harness.runtime.database.session() as session:
        model = campaign(session, name="Monatsinfo")
        session.add(
            CampaignTemplate(
                name=name, kind=TemplateKind.PERIODIC, campaign_id=model.id,
                frequency=Frequency.MONTHLY, first_at=NOW,
            )
        )  # fmt: skip

    assert "1 problem" in run_pass("operationMgt")

    assert any(f"{name} #1: Höchstens 200 Zeichen." in line for line in german_log(harness))


def test_a_periodic_line_a_person_skips_while_the_pass_copies_its_campaign_stays_skipped(
    harness, monkeypatch
):
    """The panel's skip lands between the pass reading the line and committing: the pass
    neither overwrites it nor keeps the campaign it was copying."""
    with harness.runtime.database.session() as session:
        model = campaign(session, name="Monatsinfo")
        session.add(
            CampaignTemplate(
                name="Monatsinfo", kind=TemplateKind.PERIODIC, campaign_id=model.id,
                frequency=Frequency.MONTHLY, first_at=NOW,
            )
        )  # fmt: skip
    copy = operation_workflow.copy_periodic_campaign

    def skipped_meanwhile(session, line, now):
        with harness.runtime.database.session() as other:
            other.get(TemplateOccurrence, line.id).state = OccurrenceState.SKIPPED
        return copy(session, line, now)

    monkeypatch.setattr(operation_workflow, "copy_periodic_campaign", skipped_meanwhile)

    run_pass("operationMgt")

    assert [line.state for line in lines(harness)] == [OccurrenceState.SKIPPED]
    with harness.runtime.database.session() as session:
        assert session.scalar(select(Campaign).where(Campaign.name == "Monatsinfo #1")) is None


def test_a_periodic_campaign_whose_name_is_taken_gets_a_number(harness):
    """A person named a campaign like the next line: the line's campaign is still created,
    numbered, where every pass failed on the name."""
    with harness.runtime.database.session() as session:
        model = campaign(session, name="Monatsinfo")
        campaign(session, name="Monatsinfo #1")
        session.add(
            CampaignTemplate(
                name="Monatsinfo", kind=TemplateKind.PERIODIC, campaign_id=model.id,
                frequency=Frequency.MONTHLY, first_at=NOW,
            )
        )  # fmt: skip

    summary = run_pass("operationMgt")

    assert "1 periodic campaign created" in summary and "problem" not in summary
    assert "0 campaigns moved" in summary  # without deliveries it is not put to approval
    with harness.runtime.database.session() as session:
        line = session.scalar(select(TemplateOccurrence))
        created = session.get(Campaign, line.campaign_id)
        assert (created.name, created.status) == ("Monatsinfo #1 2", CampaignStatus.EDITING)


def test_a_line_to_be_approved_waits_for_its_approval_and_is_skipped_without_one(harness):
    world = world_of(harness)
    _, campaign_id = recurring(harness, to_be_approved=True)
    run_pass("operationMgt")
    harness.runtime.clock.advance(timedelta(days=1))
    run_pass("operationMgt")
    assert runs_of(harness, campaign_id=campaign_id) == []

    harness.runtime.clock.advance(timedelta(days=1))
    assert "1 line skipped" in run_pass("operationMgt")
    assert lines(harness)[0].state is OccurrenceState.SKIPPED

    with harness.runtime.database.session() as session:
        second = session.scalar(select(TemplateOccurrence).where(TemplateOccurrence.number == 2))
        second.approved_at, second.approved_by_id = NOW, world.reviewer_id
    harness.runtime.clock.advance(timedelta(days=6))
    run_pass("operationMgt")
    assert [run.started_by for run in runs_of(harness, campaign_id=campaign_id)] == [
        "operationMgt #2"
    ]


def test_a_line_not_to_be_started_waits_for_an_operator(harness):
    _, campaign_id = recurring(harness, to_be_started=False)
    run_pass("operationMgt")
    harness.runtime.clock.advance(timedelta(days=1))
    run_pass("operationMgt")
    assert runs_of(harness, campaign_id=campaign_id) == []

    with harness.runtime.database.session() as session:
        session.scalar(select(TemplateOccurrence)).to_be_started = True
    run_pass("operationMgt")
    assert len(runs_of(harness, campaign_id=campaign_id)) == 1


@pytest.mark.parametrize("dies", ["before starting the run", "after starting the run"])
def test_a_crash_around_a_lines_run_starts_exactly_one(harness, monkeypatch, dies):
    _, campaign_id = recurring(harness)
    run_pass("operationMgt")
    harness.runtime.clock.advance(timedelta(days=1))

    def crash(*args, **kwargs):
        if dies == "after starting the run":
            start_once(*args, **kwargs)
        raise Crash

    monkeypatch.setattr(operation_workflow, "start_once", crash)
    with pytest.raises(Crash):
        run_pass("operationMgt")
    monkeypatch.undo()
    assert lines(harness)[0].state is OccurrenceState.STARTED

    run_pass("operationMgt")
    run_pass("operationMgt")
    [run] = runs_of(harness, campaign_id=campaign_id)
    assert lines(harness)[0].run_id == run.id


def test_a_periodic_template_creates_a_whole_campaign_at_each_date(harness):
    world = world_of(harness)
    first = NOW + timedelta(days=1)
    with harness.runtime.database.session() as session:
        model = campaign(
            session, name="Quartalsbrief", manager_id=world.manager_id,
            estimated_cost=Decimal(900), program_id=world.program_id,
        )  # fmt: skip
        model.start_date, model.end_date = first.date(), first.date() + timedelta(days=14)
        budget = Budget(name="Direktmarketing", program_id=world.program_id, allocated=900)
        session.add(budget)
        session.flush()
        letter_model = Delivery(
            campaign_id=model.id,
            label="Brief",
            channel=DeliveryChannel.DIRECT_MAIL,
            action="test_letter",
            provider_service_id=world.print_service_id,
            planned_start_at=first + timedelta(days=2),
            cost_types=[session.get(CostType, world.envelope_dl_id)],
            budget_id=budget.id,
        )
        text = Task(
            campaign_id=model.id, name="Text", estimated_cost=Decimal(300), budget_id=budget.id
        )
        session.add_all([letter_model, text])
        session.flush()
        configure(session, letter_model, STEP.TARGETING, ApprovalMode.MANUAL, NOW,
                  Reviewers.of(users=[world.reviewer_id]))  # fmt: skip
        session.add(
            CampaignTemplate(
                name="Quartalsbrief", kind=TemplateKind.PERIODIC, campaign_id=model.id,
                frequency=Frequency.MONTHLY, every=3, first_at=first,
            )
        )  # fmt: skip

    run_pass("operationMgt")
    harness.runtime.clock.advance(timedelta(days=1))
    assert "1 periodic campaign created" in run_pass("operationMgt")

    with harness.runtime.database.session() as session:
        copy = session.scalar(select(Campaign).where(Campaign.name == "Quartalsbrief #1"))
        assert (copy.manager_id, copy.program_id, copy.estimated_cost) == (
            world.manager_id, world.program_id, Decimal(900)
        )  # fmt: skip
        assert (copy.start_date, copy.end_date) == (model.start_date, model.end_date)
        [delivery] = copy.deliveries
        assert (delivery.label, delivery.planned_start_at, delivery.state) == (
            "Brief", first + timedelta(days=2), S.TO_VALIDATE
        )  # fmt: skip
        assert [t.id for t in delivery.cost_types] == [world.envelope_dl_id]
        assert [(task.name, task.budget_id) for task in copy.tasks] == [("Text", budget.id)]
        assert delivery.budget_id == budget.id  # the budget chosen on the model
        targeting = session.scalar(
            select(Approval).where(
                Approval.delivery_id == delivery.id, Approval.step == STEP.TARGETING
            )
        )
        assert (targeting.mode, targeting.state) == (ApprovalMode.MANUAL, ApprovalState.PENDING)
        line = session.scalar(select(TemplateOccurrence))
        assert (line.state, line.campaign_id) == (OccurrenceState.STARTED, copy.id)
        approve(session, targeting.id, session.get(User, world.reviewer_id), NOW)
    before = every_row(harness.runtime.database)
    assert "0 periodic campaigns created" in run_pass("operationMgt")
    assert every_row(harness.runtime.database) == before

    harness.runtime.clock.advance(timedelta(days=92))  # three months on: the next campaign
    run_pass("operationMgt")
    with harness.runtime.database.session() as session:
        second = session.scalar(select(Campaign).where(Campaign.name == "Quartalsbrief #2"))
        shift = datetime(2026, 6, 3, 8, 0, tzinfo=UTC) - first
        assert second.start_date == model.start_date + shift
        assert second.deliveries[0].planned_start_at == first + timedelta(days=2) + shift


def test_a_periodic_campaign_keeps_the_service_that_prices_its_direct_runs(harness):
    """The model's provider service prices a direct run (a Start of the campaign) and names
    the stock it takes; without it a periodic campaign's letters were booked at 0.00 and
    took no envelopes."""
    world = world_of(harness)
    with harness.runtime.database.session() as session:
        model = campaign(session, name="Monatsinfo")
        model.provider_service_id = world.print_service_id
        session.add(
            CampaignTemplate(
                name="Monatsinfo", kind=TemplateKind.PERIODIC, campaign_id=model.id,
                frequency=Frequency.MONTHLY, first_at=NOW,
            )
        )  # fmt: skip

    assert "1 periodic campaign created" in run_pass("operationMgt")

    with harness.runtime.database.session() as session:
        copy = session.scalar(select(Campaign).where(Campaign.name == "Monatsinfo #1"))
        assert copy.provider_service_id == world.print_service_id


def test_the_workflow_is_registered_with_its_documented_name_title_and_interval(harness):
    workflow = harness.runtime.plugins.workflows.get("operationMgt")
    assert (workflow.title, workflow.default_interval) == ("Campaign jobs", timedelta(minutes=15))


def managed_recurring(harness):
    """A weekly template of a campaign with a manager and three contacts, its first line
    due now: (the world, the campaign's id)."""
    world = world_of(harness)
    harness.add_contacts(3)
    _, campaign_id = recurring(harness)
    with harness.runtime.database.session() as session:
        session.get(Campaign, campaign_id).manager_id = world.manager_id
    run_pass("operationMgt")
    harness.runtime.clock.advance(timedelta(days=1))
    return world, campaign_id


def test_a_recurring_line_whose_run_nobody_confirmed_is_skipped_and_its_manager_told(harness):
    """The run was discarded a day after its analysis: nothing went out for that date, which
    the line and the manager are told, once, instead of the line reading 'started'."""
    from core.models import Notification

    world, campaign_id = managed_recurring(harness)
    run_pass("operationMgt")
    harness.work()
    [run] = runs_of(harness, campaign_id=campaign_id)
    discard_run(harness.runtime, run.id, "not confirmed within 24 hours; nothing was sent")

    summary = run_pass("operationMgt")

    assert "1 line skipped" in summary
    assert lines(harness)[0].state is OccurrenceState.SKIPPED
    assert any(
        line.endswith(": nicht gesendet, Lauf #1 endete, bevor jemand seine Empfängerzahl "
                      "bestätigte") for line in german_log(harness)
    )  # fmt: skip
    with harness.runtime.database.session() as session:
        [request] = session.scalars(
            select(Notification).where(Notification.kind == "run_to_confirm")
        ).all()
        assert request.read_at is not None  # its question is gone with the run
        [note] = session.scalars(
            select(Notification).where(Notification.kind == "line_not_sent")
        ).all()
        assert (note.user_id, note.object_type, note.object_id) == (
            world.manager_id, "run", run.id
        )  # fmt: skip
    assert "0 lines skipped" in run_pass("operationMgt")  # told once


def test_a_recurring_lines_run_sends_only_after_a_person_confirmed_its_count(harness):
    """A schedule line is planned (and approved) days ahead, when nobody knows whom its run
    will reach: the run is analysed at its date and waits until a person confirms the count
    in front of them; the campaign's manager is told."""
    from core.models import Notification, RunItem

    world, campaign_id = managed_recurring(harness)
    assert "1 recurring run started" in run_pass("operationMgt")
    harness.work()

    [run] = runs_of(harness, campaign_id=campaign_id)
    assert (run.state, run.confirmed_by, run.done) == (RunState.AWAITING_CONFIRMATION, None, 0)
    with harness.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(RunItem).where(
            RunItem.run_id == run.id, RunItem.status == "pending")) == 3  # fmt: skip
        kinds = session.scalars(select(Notification.kind)).all()
        [note] = session.scalars(
            select(Notification).where(Notification.kind == "run_to_confirm")
        ).all()
        assert (note.user_id, note.object_type, note.object_id) == (
            world.manager_id, "run", run.id
        )  # fmt: skip
        body = StoredText.from_json(note.body_message)
    german = render_stored(body, "de", harness.runtime.plugins.translations)
    assert german.startswith("Der Lauf der Terminzeile ")  # as the workflow's log calls it
    run_pass("operationMgt")  # a later pass neither starts another run nor notifies again
    with harness.runtime.database.session() as session:
        assert session.scalars(select(Notification.kind)).all() == kinds
    assert len(runs_of(harness, campaign_id=campaign_id)) == 1

    confirm_run(harness.runtime, run.id, "manager", 3)
    harness.work()
    [run] = runs_of(harness, campaign_id=campaign_id)
    assert (run.state, run.done, run.confirmed_by) == (RunState.COMPLETED, 3, "manager")
