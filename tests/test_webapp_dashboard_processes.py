"""The dashboard's campaign-process panels, on SQLite and PostgreSQL: pending approvals for
reviewers, open stock alerts, budgets over their allocation, recently failed workflow runs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from core.models import Role, WorkflowRun, WorkflowRunStatus, WorkflowTrigger
from plugins.processes.approvals import Reviewers, configure, submit
from plugins.processes.models import (
    ApprovalMode,
    ApprovalStep,
    Budget,
    Delivery,
    StockAlert,
    StockLine,
)

from panel_helpers import body
from process_panel_helpers import add_campaign, add_delivery, world


def test_a_quiet_installation_shows_no_process_panels_but_a_reviewers_inbox(panel):
    viewer = body(panel.client(Role.VIEWER).get("/"))
    assert 'id="dashboard-approvals"' not in viewer
    for panel_id in ("stock-alerts", "budget-overruns", "failed-workflows"):
        assert f'id="dashboard-{panel_id}"' not in viewer
    reviewer = body(panel.client(Role.REVIEWER).get("/"))
    assert "Keine Freigabe wartet auf Sie." in reviewer


def test_the_dashboard_gathers_approvals_alerts_overruns_and_failures(panel):
    ids = world(panel)
    delivery_id = add_delivery(panel, add_campaign(panel, "Herbst"), "Herbstbrief")
    now = panel.runtime.clock.now()
    with panel.runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        configure(
            session,
            delivery,
            ApprovalStep.TARGETING,
            ApprovalMode.MANUAL,
            now,
            Reviewers.of(roles=[Role.REVIEWER]),
        )
        submit(session, delivery, ApprovalStep.TARGETING, now - timedelta(days=4))
        line = session.get(StockLine, ids.envelope_line_id)
        line.in_stock = 60
        session.add(StockAlert(stock_line_id=line.id, alert_level=80, in_stock=60, raised_at=now))
        session.add(
            Budget(
                name="Plan 2026",
                plan_id=ids.plan_id,
                allocated=Decimal(1000),
                reserved=Decimal(1500),
                over_allocated=True,
                over_allocated_since=now,
            )
        )
        for age, workflow in ((timedelta(hours=2), "budgetMgt"), (timedelta(days=8), "stockMgt")):
            session.add(
                WorkflowRun(
                    workflow=workflow,
                    trigger=WorkflowTrigger.SCHEDULED,
                    status=WorkflowRunStatus.FAILED,
                    enqueued_at=now - age,
                    error="Traceback\nKeyError: 'porto'",
                )
            )
    reviewer = body(panel.client(Role.REVIEWER).get("/"))
    approvals = reviewer[reviewer.index('id="dashboard-approvals"') :]
    assert "Herbstbrief: Zielgruppe" in approvals
    assert 'class="is-overdue"' in approvals.split("</section>")[0]  # due a day ago
    assert "Lager Köln: Kuvert DL" in reviewer and "noch 60 (Meldebestand 80)" in reviewer
    assert "1.500,00 € gebucht bei 1.000,00 € Budget" in reviewer
    failed = reviewer[reviewer.index('id="dashboard-failed-workflows"') :].split("</section>")[0]
    assert "Kostenberechnung #" in failed and "KeyError: &#39;porto&#39;" in failed
    assert "stockMgt" not in failed and "Lager: Bestellungen" not in failed  # over a week ago
    viewer = body(panel.client(Role.VIEWER).get("/"))
    assert 'id="dashboard-approvals"' not in viewer and 'id="dashboard-stock-alerts"' in viewer
