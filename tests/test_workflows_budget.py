"""budgetMgt through the scheduler's job (``process_helpers.run_pass``) on a real runtime,
with deliveries performed by real runs of the engine."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.clock import FrozenClock
from core.engine.runs import start_run
from core.jobs.functions import install_runtime
from core.messages import StoredText
from core.models import BudgetStatus, Campaign, CampaignStatus, CommitmentLevel, Notification, Run
from core.workflows.context import WorkflowContext
from plugins.processes.costs import Structure, split_pro_rata
from plugins.processes.models import (
    Budget,
    BudgetExpense,
    CostCategory,
    CostCategoryKind,
    CostStructure,
    CostType,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    ExpenseBasis,
    ExpenseLine,
    Plan,
    Program,
    Task,
    TaskState,
)
from plugins.workflows import TRANSLATIONS
from plugins.workflows.budget import BudgetManagement
from webapp.i18n import render_stored

import engine_plugins
from conftest import EngineHarness
from panel_helpers import detail_in
from process_helpers import build_world, campaign, every_row, run_pass, start_delivery_run

D = Decimal
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
S = DeliveryState


@pytest.fixture
def harness(runtime_factory) -> EngineHarness:
    from plugins.workflows import budget, stock

    runtime = runtime_factory(
        ("engine_plugins", engine_plugins), ("budget", budget), ("stock", stock)
    )
    runtime.clock = FrozenClock(NOW)
    install_runtime(runtime)
    return EngineHarness(runtime)


def setup_letter_campaign(harness: EngineHarness, **campaign_fields):
    """A specified, reserved campaign with a 2-page letter (envelope DL, surcharge 10,
    estimate 400) and a concept task (estimate 1000); budgets on the plan (2000, Druck 500)
    and on the campaign (1500)."""
    with harness.runtime.database.session() as session:
        world = build_world(session)
        fields = {
            "program_id": world.program_id,
            "budget_status": BudgetStatus.SPECIFIED,
            "commitment_level": CommitmentLevel.RESERVED,
            "manager_id": world.manager_id,
            **campaign_fields,
        }
        infobrief = campaign(session, **fields)
        letter = Delivery(
            campaign_id=infobrief.id,
            label="Brief",
            channel=DeliveryChannel.PRINT,
            action="test_letter",
            action_settings={"pages": 2},
            provider_service_id=world.print_service_id,
            estimated_cost=D(400),
            surcharge=D(10),
        )
        letter.cost_types = [session.get(CostType, world.envelope_dl_id)]
        task = Task(
            campaign_id=infobrief.id,
            name="Konzept",
            provider_service_id=world.agency_service_id,
            estimated_cost=D(1000),
        )
        plan_budget = Budget(
            name="Plan 2026",
            plan_id=world.plan_id,
            allocated=D(2000),
            expenses=[BudgetExpense(expense_category_id=world.druck_id, allocated=D(500))],
        )
        campaign_budget = Budget(name="Infobrief", campaign_id=infobrief.id, allocated=D(1500))
        session.add_all([letter, task, plan_budget, campaign_budget])
    return world, infobrief.id, letter.id, task.id


def send(harness: EngineHarness, campaign_id: int, delivery_id: int, contacts: int = 12):
    harness.add_contacts(contacts, email="post@example.de")
    start_delivery_run(harness.runtime, campaign_id, delivery_id=delivery_id, confirmed_by="test")
    harness.work()


def move(harness: EngineHarness, model, row_id: int, *states) -> None:
    with harness.runtime.database.session() as session:
        row = session.get(model, row_id)
        for state in states:
            row.move_to(state, NOW)


def change(harness: EngineHarness, model, row_id: int, **values) -> None:
    with harness.runtime.database.session() as session:
        row = session.get(model, row_id)
        for name, value in values.items():
            setattr(row, name, value)


def budget(harness: EngineHarness, name: str) -> Budget:
    with harness.runtime.database.session() as session:
        row = session.scalars(select(Budget).where(Budget.name == name)).one()
        row.expenses  # noqa: B018 - loaded for the caller
        return row


def amounts(row) -> tuple:
    return (row.planned, row.reserved, row.committed, row.spent, row.invoiced)


def expense_line(harness: EngineHarness, delivery_id: int) -> ExpenseLine | None:
    with harness.runtime.database.session() as session:
        line = session.scalar(select(ExpenseLine).where(ExpenseLine.delivery_id == delivery_id))
        if line is not None:
            line.cost_lines  # noqa: B018 - loaded for the caller
        return line


def cost_of(harness: EngineHarness, model, row_id: int) -> Decimal | None:
    with harness.runtime.database.session() as session:
        return session.get(model, row_id).calculated_cost


def notifications(harness: EngineHarness, kind: str) -> list[Notification]:
    with harness.runtime.database.session() as session:
        return list(
            session.scalars(
                select(Notification).where(Notification.kind == kind).order_by(Notification.id)
            )
        )


def test_a_task_finished_by_its_dates_keeps_its_estimate_until_days_are_entered(harness):
    _world, _campaign_id, _letter_id, task_id = setup_letter_campaign(harness)
    move(harness, Task, task_id, TaskState.IN_PROGRESS, TaskState.FINISHED)

    run_pass("budgetMgt")
    assert cost_of(harness, Task, task_id) is None  # the estimate of 1000 counts
    assert amounts(budget(harness, "Infobrief"))[3] == D("1000.00")  # spent: the task

    change(harness, Task, task_id, days_worked=D(2))
    run_pass("budgetMgt")
    assert cost_of(harness, Task, task_id) == D("600.00")


def test_costs_go_from_estimate_to_targeted_to_sent_to_real(harness):
    world, campaign_id, letter_id, task_id = setup_letter_campaign(harness)

    # nothing analysed yet: the estimates count
    summary = run_pass("budgetMgt")
    assert summary.startswith("costed 1 delivery, 1 task, 0 direct runs, 1 campaign, 2 budgets")
    assert expense_line(harness, letter_id) is None
    assert cost_of(harness, Delivery, letter_id) is None
    assert cost_of(harness, Campaign, campaign_id) == D("1400.00")
    assert cost_of(harness, Program, world.program_id) == D("1400.00")
    assert cost_of(harness, Plan, world.plan_id) == D("1400.00")
    # one budget per cost: the campaign's; the plan shows it only as its roll-up
    assert amounts(budget(harness, "Infobrief")) == (0, D("1400.00"), 0, 0, 0)
    assert amounts(budget(harness, "Plan 2026")) == (0, 0, 0, 0, 0)

    # analysed (the extraction run targeted 12 letters of 2 pages): structures x targeted
    send(harness, campaign_id, letter_id)
    run_pass("budgetMgt")
    line = expense_line(harness, letter_id)
    assert (line.basis, line.messages, line.units) == (ExpenseBasis.TARGETED, 12, 24)
    assert {cost.name: cost.amount for cost in line.cost_lines} == {
        "Druck": D("51.92"),  # 50 setup + 24 pages x 0.08
        "Porto": D("1.56"),  # 12 x 0.13 (first bracket)
        "Kuvert": D("0.60"),  # 12 x 0.05 (DL)
    }
    assert (line.surcharge, line.calculated, line.amount) == (D(10), D("64.08"), D("64.08"))
    assert cost_of(harness, Delivery, letter_id) == D("64.08")
    assert cost_of(harness, Campaign, campaign_id) == D("1064.08")
    campaign_budget = budget(harness, "Infobrief")
    assert amounts(campaign_budget) == (0, D("1064.08"), 0, 0, 0)
    by_category = {row.expense_category_id: row for row in campaign_budget.expenses}
    assert by_category[world.druck_id].reserved == D("52.52")  # Druck + Kuvert
    assert (by_category[world.porto_id].allocated, by_category[world.porto_id].reserved) == (
        0,
        D("1.56"),
    )

    # the file went to the router: only what was sent counts, and it is spent
    move(harness, Delivery, letter_id, S.APPROVED, S.EXTRACTION_PENDING, S.FILE_TO_APPROVE,
         S.FILE_SENT)  # fmt: skip
    move(harness, Task, task_id, TaskState.IN_PROGRESS, TaskState.FINISHED)
    change(harness, Task, task_id, days_worked=D(5))
    run_pass("budgetMgt")
    assert expense_line(harness, letter_id).basis == ExpenseBasis.SENT
    assert cost_of(harness, Task, task_id) == D("1500.00")  # 300 x 5 days
    assert cost_of(harness, Campaign, campaign_id) == D("1564.08")
    assert amounts(budget(harness, "Infobrief")) == (0, D("1564.08"), 0, D("1564.08"), 0)

    # the provider's invoice: the real cost wins and is spread over the categories
    change(harness, Delivery, letter_id, real_cost=D(70))
    run_pass("budgetMgt")
    line = expense_line(harness, letter_id)
    assert (line.calculated, line.real_cost, line.amount) == (D("64.08"), D(70), D(70))
    campaign_budget = budget(harness, "Infobrief")
    assert amounts(campaign_budget) == (0, D("1570.00"), 0, D("1570.00"), D("70.00"))
    druck, porto, kuvert, surcharge = split_pro_rata(
        D(70), [D("51.92"), D("1.56"), D("0.60"), D(10)]
    )
    by_category = {row.expense_category_id: row for row in campaign_budget.expenses}
    assert by_category[world.druck_id].invoiced == druck + kuvert
    assert by_category[world.porto_id].invoiced == porto
    assert druck + porto + kuvert + surcharge == D(70)


def test_the_campaign_budget_is_flagged_once_per_crossing(harness):
    world, _, _, task_id = setup_letter_campaign(harness)
    move(harness, Task, task_id, TaskState.IN_PROGRESS, TaskState.FINISHED)
    change(harness, Task, task_id, days_worked=D(5))

    assert "over their allocation: Infobrief" in run_pass("budgetMgt")  # 400 + 1500 > 1500
    flagged = budget(harness, "Infobrief")
    assert (flagged.over_allocated, flagged.over_allocated_since) == (True, NOW)
    alerts = notifications(harness, "budget_over_allocated")
    assert [(n.user_id, n.object_type, n.object_id) for n in alerts] == [
        (world.manager_id, "budget", flagged.id)
    ]
    assert "Booked 1900.00 EUR" in alerts[0].body
    body = StoredText.from_json(alerts[0].body_message)
    catalogs = {"plugins.workflows": [TRANSLATIONS]}
    assert render_stored(body, "de", catalogs).startswith("Gebucht 1.900 € (geplant 0 €")
    assert render_stored(body, "en", catalogs).startswith("Booked €1,900 (planned €0")

    run_pass("budgetMgt")
    assert len(notifications(harness, "budget_over_allocated")) == 1  # still over: no news

    change(harness, Budget, flagged.id, allocated=D(5000))
    run_pass("budgetMgt")
    assert budget(harness, "Infobrief").over_allocated is False
    change(harness, Budget, flagged.id, allocated=D(1000))
    run_pass("budgetMgt")
    assert len(notifications(harness, "budget_over_allocated")) == 2  # crossed anew


def test_a_second_pass_changes_nothing(harness):
    _, campaign_id, letter_id, task_id = setup_letter_campaign(harness)
    send(harness, campaign_id, letter_id)
    move(harness, Task, task_id, TaskState.IN_PROGRESS, TaskState.FINISHED)
    change(harness, Task, task_id, days_worked=D("5.5"))
    change(harness, Delivery, letter_id, real_cost=D("66.10"))
    first = run_pass("budgetMgt")
    assert "over their allocation: Infobrief" in first
    before = every_row(harness.runtime.database)

    second = run_pass("budgetMgt")

    assert every_row(harness.runtime.database) == before
    assert "; 0 changes" in second


def test_only_specified_campaigns_are_booked_and_rolled_up(harness):
    world, *_ = setup_letter_campaign(harness)
    with harness.runtime.database.session() as session:
        draft = campaign(
            session,
            "Entwurf",
            program_id=world.program_id,
            status=CampaignStatus.EDITING,
            estimated_cost=D(800),
            commitment_level=CommitmentLevel.PLANNED,
        )
        session.add(
            Delivery(campaign=draft, label="SMS", channel=DeliveryChannel.SMS, estimated_cost=D(50))
        )
    run_pass("budgetMgt")
    assert cost_of(harness, Campaign, draft.id) == D("800.00")  # its own estimate
    assert cost_of(harness, Program, world.program_id) == D("1400.00")  # without the draft
    assert amounts(budget(harness, "Infobrief"))[:3] == (0, D("1400.00"), 0)
    assert amounts(budget(harness, "Plan 2026"))[:3] == (0, 0, 0)

    change(harness, Campaign, draft.id, budget_status=BudgetStatus.SPECIFIED)
    run_pass("budgetMgt")
    assert cost_of(harness, Program, world.program_id) == D("2200.00")  # the roll-up
    # the draft has no budget of its own, nor has the program: the plan's receives it
    assert amounts(budget(harness, "Plan 2026"))[:3] == (D("800.00"), 0, 0)
    assert amounts(budget(harness, "Infobrief"))[:3] == (0, D("1400.00"), 0)

    change(harness, Campaign, draft.id, status=CampaignStatus.IN_PROGRESS)
    run_pass("budgetMgt")
    assert cost_of(harness, Campaign, draft.id) == D("50.00")  # now the sum of its children


def test_a_missing_cost_type_is_reported_and_keeps_the_last_calculation(harness):
    _, campaign_id, letter_id, _ = setup_letter_campaign(harness)
    send(harness, campaign_id, letter_id)
    run_pass("budgetMgt")
    before = expense_line(harness, letter_id)
    with harness.runtime.database.session() as session:
        session.get(Delivery, letter_id).cost_types = []

    context = WorkflowContext.start(harness.runtime, "budgetMgt")
    summary = BudgetManagement().run(context)

    assert "1 problem (see the log)" in summary
    assert "; 1 Problem (siehe Protokoll)" in detail_in("de", summary, TRANSLATIONS)
    assert context.lines == [
        f"delivery {letter_id} 'Brief': cost category 'Kuvert' of service 'Brief A4' requires "
        "a cost type: choose one of 'C5', 'DL'"
    ]
    after = expense_line(harness, letter_id)
    assert (after.id, after.amount, len(after.cost_lines)) == (before.id, D("64.08"), 3)
    assert cost_of(harness, Campaign, campaign_id) == D("1064.08")


def test_an_online_delivery_counts_what_was_sent_and_a_cancelled_task_nothing(harness, tmp_path):
    with harness.runtime.database.session() as session:
        world = build_world(session)
        mailing = campaign(session, "Newsletter", budget_status=BudgetStatus.SPECIFIED)
        service = session.get(CostCategory, world.print_category_id).service
        email = CostCategory(service=service, name="E-Mail", kind=CostCategoryKind.EMAIL)
        session.add(
            CostStructure.of(Structure(kind="linear", amount=D("0.01")), cost_category=email)
        )
        newsletter = Delivery(
            campaign_id=mailing.id,
            label="Newsletter",
            channel=DeliveryChannel.EMAIL,
            action="test_notify",
            action_settings={"path": str(tmp_path / "sent.txt")},
            provider_service_id=world.print_service_id,
            estimated_cost=D(20),
        )
        dropped = Task(campaign_id=mailing.id, name="Fotos", estimated_cost=D(300))
        session.add_all([newsletter, dropped])
    move(harness, Task, dropped.id, TaskState.CANCELLED)
    send(harness, mailing.id, newsletter.id, contacts=7)

    run_pass("budgetMgt")

    line = expense_line(harness, newsletter.id)
    assert (line.basis, line.messages, line.amount) == (ExpenseBasis.SENT, 7, D("0.07"))
    assert cost_of(harness, Campaign, mailing.id) == D("0.07")
    with harness.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(ExpenseLine)) == 1


def test_the_workflow_is_registered_with_its_documented_name_and_title(harness):
    assert harness.runtime.plugins.workflows.get("budgetMgt").title == "Cost calculation"


def direct_campaign(harness: EngineHarness, **fields):
    """A specified campaign whose own action prints 2-page letters, priced by "Brief A4"
    (envelope DL as the Kuvert category's default), with a budget of its own."""
    with harness.runtime.database.session() as session:
        world = build_world(session)
        session.get(
            CostCategory, world.envelope_category_id
        ).default_cost_type_id = world.envelope_dl_id
        defaults = {
            "program_id": world.program_id,
            "budget_status": BudgetStatus.SPECIFIED,
            "commitment_level": CommitmentLevel.COMMITTED,
            "action": "test_letter",
            "action_settings": {"pages": 2},
            "provider_service_id": world.print_service_id,
        }
        owner = campaign(session, "Direkt", **(defaults | fields))
        session.add(Budget(name="Direkt", campaign_id=owner.id, allocated=D(1000)))
    return world, owner.id


def run_lines(harness: EngineHarness) -> list[ExpenseLine]:
    with harness.runtime.database.session() as session:
        lines = session.scalars(
            select(ExpenseLine).where(ExpenseLine.run_id.is_not(None)).order_by(ExpenseLine.id)
        ).all()
        for line in lines:
            line.cost_lines  # noqa: B018 - loaded for the caller
        return list(lines)


def test_a_direct_start_is_booked_once_and_a_dry_run_never(harness):
    world, campaign_id = direct_campaign(harness)
    harness.add_contacts(5)
    real = start_run(harness.runtime, campaign_id, confirmed_by="test")
    harness.work()
    start_run(harness.runtime, campaign_id, dry_run=True)
    harness.work()

    summary = run_pass("budgetMgt")

    assert "1 direct run," in summary
    [line] = run_lines(harness)
    assert (line.run_id, line.basis, line.messages, line.units) == (
        real.id,
        ExpenseBasis.SENT,
        5,
        10,
    )
    assert {cost.name: cost.amount for cost in line.cost_lines} == {
        "Druck": D("50.80"),  # 50 setup + 10 pages x 0.08
        "Porto": D("0.65"),  # 5 x 0.13
        "Kuvert": D("0.25"),  # 5 x 0.05 (DL, the default)
    }
    assert line.amount == D("51.70")
    assert cost_of(harness, Campaign, campaign_id) == D("51.70")
    assert cost_of(harness, Plan, world.plan_id) == D("51.70")  # the roll-up
    assert amounts(budget(harness, "Direkt")) == (0, 0, D("51.70"), D("51.70"), 0)

    # booked once: a later price change or a second pass books nothing again
    with harness.runtime.database.session() as session:
        porto = session.get(CostCategory, world.postage_category_id)
        porto.structures[0].brackets = [{"price": "0.50"}]
    run_pass("budgetMgt")
    assert [(line.amount, line.voided_at) for line in run_lines(harness)] == [(D("51.70"), None)]
    before = every_row(harness.runtime.database)
    assert "; 0 changes" in run_pass("budgetMgt")
    assert every_row(harness.runtime.database) == before


def test_a_voided_direct_run_leaves_the_books_and_keeps_its_line_as_trace(harness):
    _, campaign_id = direct_campaign(harness)
    harness.add_contacts(4)
    first = start_run(harness.runtime, campaign_id, confirmed_by="test")
    harness.work()
    second = start_run(harness.runtime, campaign_id, confirmed_by="test")
    harness.work()
    run_pass("budgetMgt")
    assert cost_of(harness, Campaign, campaign_id) == D("102.72")  # 2 x (50.64 + 0.52 + 0.20)

    with harness.runtime.database.session() as session:
        session.get(Run, first.id).superseded_at = NOW
    run_pass("budgetMgt")

    lines = run_lines(harness)
    assert [(line.run_id, line.voided_at) for line in lines] == [(first.id, NOW), (second.id, None)]
    assert cost_of(harness, Campaign, campaign_id) == D("51.36")
    assert amounts(budget(harness, "Direkt"))[2:4] == (D("51.36"), D("51.36"))


def test_a_direct_start_without_a_provider_service_books_the_campaigns_estimate(harness):
    _, campaign_id = direct_campaign(
        harness, provider_service_id=None, estimated_cost=D(120), status=CampaignStatus.EDITING
    )
    harness.add_contacts(3)
    start_run(harness.runtime, campaign_id, confirmed_by="test")
    harness.work()

    run_pass("budgetMgt")

    [line] = run_lines(harness)
    assert (line.messages, line.calculated, line.surcharge, line.amount, line.cost_lines) == (
        3,
        D(120),
        0,
        D(120),
        [],
    )
    assert cost_of(harness, Campaign, campaign_id) == D(120)  # not the estimate a second time


def test_a_cost_is_charged_to_its_deliverys_budget_only(harness):
    world, campaign_id, letter_id, _ = setup_letter_campaign(harness)
    with harness.runtime.database.session() as session:
        own = Budget(name="Brief extra", program_id=world.program_id, allocated=D(100))
        session.add(own)
        session.flush()
        session.get(Delivery, letter_id).budget_id = own.id
    send(harness, campaign_id, letter_id)

    run_pass("budgetMgt")

    assert amounts(budget(harness, "Brief extra"))[:3] == (0, D("64.08"), 0)
    assert amounts(budget(harness, "Infobrief"))[:3] == (0, D("1000.00"), 0)  # the task
    assert amounts(budget(harness, "Plan 2026"))[:3] == (0, 0, 0)
    assert cost_of(harness, Plan, world.plan_id) == D("1064.08")


def test_a_direct_run_resumed_after_it_was_booked_is_booked_with_all_it_sent(harness):
    """A cancelled run that sent part of its letters is booked for those; resumed, it sends
    the rest, and the same line then holds every letter, once."""
    from core.engine.dispatch import process_chunk
    from core.engine.runs import cancel_run, resume_run
    from core.engine.targeting import target_run

    _, campaign_id = direct_campaign(harness)
    harness.add_contacts(15)  # test_letter: chunks of 10
    run = start_run(harness.runtime, campaign_id, confirmed_by="test")
    target_run(run.id)
    process_chunk(run.id, 0)
    cancel_run(harness.runtime, run.id)
    harness.work()  # the other jobs find the run cancelled
    run_pass("budgetMgt")
    [line] = run_lines(harness)
    assert (line.messages, line.units, line.amount) == (10, 20, D("53.40"))  # 51.60+1.30+0.50

    resume_run(harness.runtime, run.id)
    run_pass("budgetMgt")  # running again: what it sent stays in the books meanwhile
    assert cost_of(harness, Campaign, campaign_id) == D("53.40")
    harness.work()
    with harness.runtime.database.session() as session:
        assert (session.get(Run, run.id).state.value, session.get(Run, run.id).done) == (
            "completed",
            15,
        )
    run_pass("budgetMgt")
    [line] = run_lines(harness)
    assert (line.run_id, line.messages, line.units) == (run.id, 15, 30)
    assert line.amount == D("55.10")  # 50 + 30 x 0.08, 15 x 0.13, 15 x 0.05
    assert cost_of(harness, Campaign, campaign_id) == D("55.10")
    assert amounts(budget(harness, "Direkt"))[2:4] == (D("55.10"), D("55.10"))
    assert "; 0 changes" in run_pass("budgetMgt")
