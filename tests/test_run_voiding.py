"""Voiding superseded runs (``plugins.processes.run_voiding``), on SQLite and PostgreSQL with
real runs on a real RQ worker and the real workflows: after reject → re-extract → approve
every contact has one letter in the archive and the costs and the stock count one run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest
from sqlalchemy import func, select

from core.clock import FrozenClock
from core.documents.archive import open_store
from core.engine.runs import start_run
from core.jobs.functions import install_runtime
from core.models import ArchivedDocument, ArchiveDeletion, BudgetStatus, Campaign, Run, User
from plugins.processes.approvals import Reviewers, approve, configure, reject
from plugins.processes.models import (
    Approval,
    ApprovalMode,
    ApprovalStep,
    Budget,
    CostType,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    ExpenseLine,
    StockConsumption,
    StockLine,
)
from plugins.processes.run_voiding import VoidError, void_run

import engine_plugins
from conftest import EngineHarness
from process_helpers import build_world, campaign, run_pass

D = Decimal
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
S = DeliveryState


@pytest.fixture
def harness(runtime_factory) -> EngineHarness:
    import plugins.stores.filesystem as filesystem
    from plugins.workflows import budget, delivery, operation, stock

    runtime = runtime_factory(
        ("engine_plugins", engine_plugins),
        ("plugins.stores.filesystem", filesystem),
        ("budget", budget),
        ("stock", stock),
        ("delivery", delivery),
        ("operation", operation),
    )
    runtime.clock = FrozenClock(NOW)
    install_runtime(runtime)
    return EngineHarness(runtime)


def stores(harness: EngineHarness):
    return partial(open_store, harness.runtime.plugins, harness.runtime.settings)


def letters_per_contact(harness: EngineHarness) -> dict[int, int]:
    with harness.runtime.database.session() as session:
        return dict(
            session.execute(
                select(ArchivedDocument.contact_id, func.count()).group_by(
                    ArchivedDocument.contact_id
                )
            ).all()
        )


def answer_file(harness: EngineHarness, delivery_id: int, reviewer_id: int, approved: bool):
    with harness.runtime.database.session() as session:
        approval = session.scalar(
            select(Approval).where(
                Approval.delivery_id == delivery_id, Approval.step == ApprovalStep.EXTRACTION
            )
        )
        reviewer = session.get(User, reviewer_id)
        now = harness.runtime.clock.now()
        if approved:
            approve(session, approval.id, reviewer, now)
        else:
            reject(session, approval.id, reviewer, now, "Anrede falsch")


def test_reject_reextract_approve_counts_one_run_in_archive_costs_and_stock(harness):
    contacts = harness.add_contacts(3)
    with harness.runtime.database.session() as session:
        world = build_world(session)
        owner = campaign(session, program_id=world.program_id,
                         budget_status=BudgetStatus.SPECIFIED)  # fmt: skip
        letter = Delivery(
            campaign_id=owner.id,
            label="Brief",
            channel=DeliveryChannel.PRINT,
            action="test_filed_letter",
            action_settings={"pages": 2},
            provider_service_id=world.print_service_id,
            cost_types=[session.get(CostType, world.envelope_dl_id)],
        )
        session.add_all([letter, Budget(name="Kampagne", campaign_id=owner.id, allocated=D(500))])
        session.flush()
        configure(session, letter, ApprovalStep.EXTRACTION, ApprovalMode.MANUAL, NOW,
                  Reviewers.of(users=[world.reviewer_id]))  # fmt: skip
        letter.move_to(S.APPROVED, NOW)
        letter.move_to(S.EXTRACTION_PENDING, NOW)
    run_pass("operationMgt")
    harness.work()
    run_pass("operationMgt")
    assert letters_per_contact(harness) == {contact: 1 for contact in contacts}

    answer_file(harness, letter.id, world.reviewer_id, approved=False)
    harness.runtime.clock.advance(timedelta(minutes=15))
    run_pass("deliveryMgt")  # back to extraction, the rejected file's run voided
    with harness.runtime.database.session() as session:
        first = session.scalars(select(Run).where(Run.delivery_id == letter.id)).one()
        assert first.superseded_at == NOW + timedelta(minutes=15)
        assert first.superseded_reason == "extraction file rejected (round 1): Anrede falsch"
        deletion = session.scalars(select(ArchiveDeletion)).one()
        assert (deletion.run_id, deletion.count, deletion.deleted_by) == (
            first.id,
            3,
            "deliveryMgt",
        )
    assert letters_per_contact(harness) == {}

    harness.runtime.clock.advance(timedelta(minutes=15))
    run_pass("operationMgt")  # the second extraction
    harness.work()
    run_pass("operationMgt")
    answer_file(harness, letter.id, world.reviewer_id, approved=True)
    with harness.runtime.database.session() as session:  # supplierMgt's part: to the router
        session.get(Delivery, letter.id).move_to(S.FILE_SENT, harness.runtime.clock.now())
    run_pass("budgetMgt")
    run_pass("stockMgt")

    assert letters_per_contact(harness) == {contact: 1 for contact in contacts}
    with harness.runtime.database.session() as session:
        runs = session.scalars(select(Run).where(Run.delivery_id == letter.id)).all()
        assert [(run.number, run.done, run.superseded_at is None) for run in runs] == [
            (1, 3, False),
            (2, 3, True),
        ]
        line = session.scalar(select(ExpenseLine).where(ExpenseLine.delivery_id == letter.id))
        assert (line.messages, line.units) == (3, 6)  # one run, not two
        # Druck 50 + 6 pages x 0.08, Porto 3 x 0.13, Kuvert DL 3 x 0.05
        assert line.amount == D("50.48") + D("0.39") + D("0.15")
        assert session.get(Campaign, owner.id).calculated_cost == line.amount
        assert session.scalars(select(Budget)).one().booked == line.amount
        consumed = {
            row.stock_line_id: row.quantity for row in session.scalars(select(StockConsumption))
        }
        assert consumed == {world.envelope_line_id: 3, world.paper_line_id: 6}
        assert session.get(StockLine, world.envelope_line_id).in_stock == 97


def test_a_run_is_voided_once_and_only_when_finished(harness):
    harness.add_contacts(2)
    with harness.runtime.database.session() as session:
        owner = campaign(session, action="test_filed_letter", action_settings={"pages": 1})
    run = start_run(harness.runtime, owner.id, confirmed_by="test")
    with (
        harness.runtime.database.session() as session,
        pytest.raises(VoidError, match="only a finished run can be voided"),
    ):
        void_run(
            session,
            stores(harness),
            run.id,
            now=NOW,
            by="anna",
            reason="zu früh",
            plugins=harness.runtime.plugins,
        )
    harness.work()
    with (
        harness.runtime.database.session() as session,
        pytest.raises(VoidError, match="a reason is needed"),
    ):
        void_run(
            session,
            stores(harness),
            run.id,
            now=NOW,
            by="anna",
            reason="  ",
            plugins=harness.runtime.plugins,
        )

    with harness.runtime.database.session() as session:
        assert void_run(
            session,
            stores(harness),
            run.id,
            now=NOW,
            by="anna",
            reason="ersetzt",
            plugins=harness.runtime.plugins,
        )
    with harness.runtime.database.session() as session:
        later = NOW + timedelta(hours=1)
        assert not void_run(
            session,
            stores(harness),
            run.id,
            now=later,
            by="bert",
            reason="x",
            plugins=harness.runtime.plugins,
        )
        voided = session.get(Run, run.id)
        assert (voided.superseded_at, voided.superseded_reason) == (NOW, "ersetzt")
        entries = session.scalars(select(ArchiveDeletion)).all()
        assert [(e.count, e.deleted_by, e.reason) for e in entries] == [
            (2, "anna", "run voided: ersetzt")
        ]
        with pytest.raises(VoidError, match="no run with id 999999"):
            void_run(
                session,
                stores(harness),
                999_999,
                now=NOW,
                by="anna",
                reason="x",
                plugins=harness.runtime.plugins,
            )
    assert letters_per_contact(harness) == {}


def test_a_dry_run_is_not_voided(harness):
    """A dry run reached nobody and counts nowhere: voiding it would only mark it voided."""
    harness.add_contacts(2)
    with harness.runtime.database.session() as session:
        owner = campaign(session, action="test_filed_letter", action_settings={"pages": 1})
    run = start_run(harness.runtime, owner.id, dry_run=True)
    harness.work()
    with (
        harness.runtime.database.session() as session,
        pytest.raises(VoidError, match="run #1 is a dry run: it reached nobody"),
    ):
        void_run(
            session,
            stores(harness),
            run.id,
            now=NOW,
            by="anna",
            reason="x",
            plugins=harness.runtime.plugins,
        )
    with harness.runtime.database.session() as session:
        assert session.get(Run, run.id).superseded_at is None


def test_a_run_whose_messages_went_out_is_not_voided(harness, tmp_path):
    """E-mails and SMS that went out cannot be taken back: voiding their run would take
    what reached people out of the costs, the stock and the archive."""
    harness.add_contacts(2)
    with harness.runtime.database.session() as session:
        owner = campaign(
            session, action="test_notify", action_settings={"path": str(tmp_path / "out.txt")}
        )
    run = start_run(harness.runtime, owner.id, confirmed_by="test")
    harness.work()
    assert harness.run(run.id).done == 2
    with (
        harness.runtime.database.session() as session,
        pytest.raises(VoidError, match="run #1 reached 2 recipients"),
    ):
        void_run(
            session, stores(harness), run.id, now=NOW, by="anna", reason="x",
            plugins=harness.runtime.plugins,
        )  # fmt: skip
    with harness.runtime.database.session() as session:
        assert session.get(Run, run.id).superseded_at is None
