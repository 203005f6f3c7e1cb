"""A small campaign-process world the model, workflow and service tests share: a print shop
with priced categories, an agency with a daily rate, a plan with a program, a stock line and
users, created directly through the models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from core.db.database import Database
from core.engine.runs import start_run
from core.models import Base, Campaign, CampaignStatus, Role, Run, User, UserGroup
from core.runtime import Runtime
from plugins.processes.costs import Basis, Structure
from plugins.processes.models import (
    CostCategory,
    CostCategoryKind,
    CostStructure,
    CostType,
    Delivery,
    ExpenseCategory,
    Plan,
    Program,
    Provider,
    ProviderKind,
    ProviderService,
    Stock,
    StockLine,
)
from plugins.processes.process_runs import delivery_action

D = Decimal

UPLOAD_SETTINGS = {
    "content": "extraction",
    "extraction": {"columns": [{"field": "number", "header": "Kundennummer"}]},
    "target": "folder",
    "target_settings": {"path": "/srv/out"},
}
"""A file_upload's settings: an extraction to a folder, reaching the recipients by post."""


def user(session: Session, username: str, role: Role = Role.REVIEWER, **fields) -> User:
    defaults = {"display_name": username.title(), "email": f"{username}@example.de"}
    account = User(username=username, role=role, password_hash="-", **(defaults | fields))
    session.add(account)
    session.flush()
    return account


def structure(category: CostCategory, cost_type: CostType | None = None, **spec) -> CostStructure:
    return CostStructure.of(Structure(**spec), cost_category=category, cost_type=cost_type)


@dataclass
class World:
    manager_id: int
    reviewer_id: int
    storekeeper_id: int
    store_group_id: int
    print_category_id: int
    postage_category_id: int
    envelope_category_id: int
    envelope_c5_id: int
    envelope_dl_id: int
    print_service_id: int
    agency_service_id: int
    sms_service_id: int
    envelope_line_id: int
    paper_line_id: int
    plan_id: int
    program_id: int
    druck_id: int
    porto_id: int


def build_world(session: Session) -> World:
    """Prices (see docs/processes.md for the same kinds):

    - Brief A4 (print shop), direct mail: Druck 50 setup + 0.08 per page (its default cost
      type Papier A4); Porto 0.13/0.12/0.11
      by bracket (whole count); Kuvert (a type must be chosen): C5 0.12, DL 0.05 per letter,
      DL taken from the envelope stock, one per letter; paper from the paper stock, per page.
    - Konzeption (agency), task: 300 per day.
    - SMS Versand (router), mobile: 0.09 per segment.
    """
    manager = user(session, "manager", Role.CAMPAIGN_MANAGER)
    reviewer = user(session, "reviewer", Role.REVIEWER)
    storekeeper = user(session, "storekeeper", Role.VIEWER)
    store = UserGroup(name="Lager", members=[storekeeper, manager])
    druck = ExpenseCategory(name="Druck")
    porto = ExpenseCategory(name="Porto")
    stock = Stock(name="Lager Köln")
    envelopes = StockLine(stock=stock, name="Kuvert DL", initial=100, alert_level=80)
    paper = StockLine(stock=stock, name="Papier A4", initial=1000)
    session.add_all([store, druck, porto, stock, envelopes, paper])
    session.flush()
    envelopes.alert_group_id = store.id

    shop = Provider(name="Druckerei Nord", kind=ProviderKind.PRINT_SHOP)
    letter = ProviderService(provider=shop, name="Brief A4")
    printing = CostCategory(service=letter, name="Druck", kind=CostCategoryKind.DIRECT_MAIL,
                            expense_category=druck)  # fmt: skip
    postage = CostCategory(service=letter, name="Porto", kind=CostCategoryKind.DIRECT_MAIL,
                           expense_category=porto)  # fmt: skip
    envelope = CostCategory(service=letter, name="Kuvert", kind=CostCategoryKind.DIRECT_MAIL,
                            expense_category=druck, cost_type_required=True)  # fmt: skip
    paper_type = CostType(cost_category=printing, name="Papier A4", stock_line=paper,
                          stock_basis=Basis.UNITS)  # fmt: skip
    printing.default_cost_type = paper_type
    c5 = CostType(cost_category=envelope, name="C5")
    dl = CostType(cost_category=envelope, name="DL", stock_line=envelopes)
    session.add_all(
        [
            shop, letter, printing, postage, envelope, paper_type, c5, dl,
            structure(printing, kind="fixed", amount=D(50), label="Einrichtung"),
            structure(printing, kind="linear", amount=D("0.08"), basis="units", label="Seiten"),
            structure(postage, kind="linear_threshold", brackets=[
                {"up_to": 100, "price": "0.13"}, {"up_to": 1000, "price": "0.12"},
                {"price": "0.11"},
            ]),
            structure(envelope, c5, kind="linear", amount=D("0.12")),
            structure(envelope, dl, kind="linear", amount=D("0.05")),
        ]
    )  # fmt: skip

    agency = Provider(name="Agentur Süd")
    concept = ProviderService(provider=agency, name="Konzeption")
    days = CostCategory(service=concept, name="Tage", kind=CostCategoryKind.TASK)
    session.add_all(
        [agency, concept, days, structure(days, kind="daily", basis="days", amount=D(300))]
    )

    router = Provider(name="SMS Router", kind=ProviderKind.ROUTER)
    sms = ProviderService(provider=router, name="SMS Versand")
    texts = CostCategory(service=sms, name="SMS", kind=CostCategoryKind.MOBILE)
    session.add_all(
        [router, sms, texts, structure(texts, kind="linear", amount=D("0.09"), basis="units")]
    )

    plan = Plan(name="Marketing 2026", start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))
    program = Program(plan=plan, name="Kundenbindung", manager_id=manager.id)
    session.add_all([plan, program])
    session.flush()
    return World(
        manager_id=manager.id,
        reviewer_id=reviewer.id,
        storekeeper_id=storekeeper.id,
        store_group_id=store.id,
        print_category_id=printing.id,
        postage_category_id=postage.id,
        envelope_category_id=envelope.id,
        envelope_c5_id=c5.id,
        envelope_dl_id=dl.id,
        print_service_id=letter.id,
        agency_service_id=concept.id,
        sms_service_id=sms.id,
        envelope_line_id=envelopes.id,
        paper_line_id=paper.id,
        plan_id=plan.id,
        program_id=program.id,
        druck_id=druck.id,
        porto_id=porto.id,
    )


def campaign(session: Session, name: str = "Infobrief", **fields) -> Campaign:
    """A campaign over the engine test plugins' contacts, stored without plugin validation."""
    defaults = {
        "datasource": "test_contacts",
        "action": "test_tag",
        "status": CampaignStatus.IN_PROGRESS,
    }
    row = Campaign(name=name, **(defaults | fields))
    session.add(row)
    session.flush()
    return row


PASS_RECORDS = ("workflow_runs", "workflow_schedules")
"""Where each pass is recorded: the one change a second pass is allowed to make."""


def every_row(database: Database) -> dict[str, list[tuple]]:
    """Every row of every table but the pass records, ids and timestamps included: equal
    means the pass changed nothing."""
    with database.engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(table.select().order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
            if table.name not in PASS_RECORDS
        }


def run_pass(name: str) -> str:
    """One pass of a workflow, recorded and locked like every run (on the installed
    runtime), returning its summary; a failed pass raises with its error."""
    from core.jobs.functions import current_runtime
    from core.models import WorkflowRunStatus
    from core.workflows.operating import run_inline

    run = run_inline(current_runtime(), name, "test")
    assert run.status == WorkflowRunStatus.SUCCEEDED, run.error
    return run.summary


def start_delivery_run(runtime: Runtime, campaign_id: int, *, delivery_id: int, **options) -> Run:
    """A run of the delivery as the bundle starts it: with the delivery's own action, if it
    has one (``plugins.processes.process_runs.delivery_action``)."""
    with runtime.database.session() as session:
        action = delivery_action(session.get(Delivery, delivery_id))
    return start_run(runtime, campaign_id, delivery_id=delivery_id, action=action, **options)
