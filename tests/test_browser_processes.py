"""The campaign-process screens in a real browser (Debian's chromium through Playwright), on
the real app with a real worker process: a reviewer approves a delivery in the inbox (and a
second answer is refused), and a workflow run started from the panel appears in its history.

With ``CAMPAIGN_SCREENSHOTS=<folder>`` the last test saves screenshots of the process screens
there (``docs/screenshots/`` in the README).
"""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.clock import utcnow
from core.models import (
    FINAL_RUN_STATES,
    Campaign,
    Role,
    Run,
    User,
    WorkflowRun,
    WorkflowRunStatus,
    WorkflowTrigger,
)
from core.workflows.operating import run_inline
from plugins.demo import install_demo
from plugins.processes.approvals import Reviewers, configure, submit
from plugins.processes.models import (
    Approval,
    ApprovalMode,
    ApprovalState,
    ApprovalStep,
    Budget,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    Plan,
    ProviderService,
    StockLine,
    StockOrder,
)

from browser_helpers import RUN_TIMEOUT_MS
from panel_helpers import ROLE_USERS
from process_helpers import build_world, campaign, start_delivery_run

SCREENSHOTS = os.environ.get("CAMPAIGN_SCREENSHOTS")


def user_named(session, role: Role) -> User:
    return session.scalar(select(User).where(User.username == ROLE_USERS[role]))


def pending_delivery(panel) -> tuple[int, int]:
    """A letter delivery whose content step waits for any reviewer: (delivery, approval)."""
    runtime = panel.runtime
    with runtime.database.session() as session:
        world = build_world(session)
        manager = user_named(session, Role.CAMPAIGN_MANAGER)
        row = campaign(session, "Frühjahrsmailing", program_id=world.program_id)
        delivery = Delivery(
            campaign_id=row.id,
            label="Brief Frühjahr",
            channel=DeliveryChannel.DIRECT_MAIL,
            provider_service_id=world.print_service_id,
        )
        session.add(delivery)
        session.flush()
        now = runtime.clock.now()
        configure(
            session,
            delivery,
            ApprovalStep.CONTENT,
            ApprovalMode.MANUAL,
            now,
            Reviewers.of(roles=[Role.REVIEWER]),
            by=manager,
        )
        approval = submit(session, delivery, ApprovalStep.CONTENT, now, by=manager)
        delivery.move_to(DeliveryState.TO_VALIDATE, now)
        return delivery.id, approval.id


def test_a_reviewer_approves_a_delivery_in_the_inbox(live_panel, page_as):
    panel = live_panel.panel
    delivery_id, approval_id = pending_delivery(panel)
    reviewer = page_as(Role.REVIEWER)
    second = page_as(Role.ADMIN)  # holds the reviewer role too, looks at the same round
    second.goto(live_panel.url(f"/approvals/{approval_id}"))

    reviewer.goto(live_panel.url("/"))
    expect(reviewer.locator("#dashboard-approvals")).to_contain_text("Brief Frühjahr")
    reviewer.click("nav.nav >> text=Freigaben")
    row = reviewer.locator(f'#inbox tr[data-approval="{approval_id}"]')
    expect(row).to_contain_text("Frühjahrsmailing")
    expect(row).to_contain_text("Inhalt")
    row.locator("text=Prüfen").click()
    expect(reviewer.locator("h1")).to_contain_text("Freigabe: Inhalt")
    reviewer.fill("#comment", "Text und Anrede passen.")
    reviewer.click('button[name="answer"][value="approve"]')
    expect(reviewer.locator(".alert-success")).to_contain_text("freigegeben")
    expect(reviewer.locator("#inbox")).to_have_count(0)

    second.fill("#comment", "Bitte Anrede prüfen.")
    second.click('button[name="answer"][value="reject"]')
    expect(second.locator("#answer-error")).to_contain_text("bereits von rita")
    expect(second.locator("[data-answer]")).to_contain_text("Freigegeben von rita")

    reviewer.goto(live_panel.url(f"/deliveries/{delivery_id}"))
    step = reviewer.locator('#approval-steps tr[data-step="content"]')
    expect(step.locator("[data-state]")).to_have_text("Freigegeben")
    expect(reviewer.locator('[data-log] li[data-event="approved"]')).to_contain_text("rita")
    with panel.runtime.database.session() as session:
        approval = session.get(Approval, approval_id)
        assert approval.state is ApprovalState.APPROVED
        assert approval.comment == "Text und Anrede passen."
        assert approval.answered_by_id == user_named(session, Role.REVIEWER).id


def test_run_a_workflow_now_and_see_its_run_in_the_history(live_panel, page_as):
    page = page_as(Role.CAMPAIGN_MANAGER)
    page.goto(live_panel.url("/workflows/"))
    card = page.locator("#workflow-stockMgt")
    expect(card.locator("[data-state]")).to_have_text("Gestartet")
    card.locator("text=Jetzt ausführen").click()
    expect(page.locator(".alert-success")).to_contain_text("wartet auf einen Worker")
    first_row = page.locator("#workflow-runs tbody tr").first
    expect(first_row.locator("[data-state]")).to_have_text("Erfolgreich", timeout=RUN_TIMEOUT_MS)
    expect(first_row).to_contain_text("Von Hand von mia")
    with live_panel.panel.runtime.database.session() as session:
        run = session.scalar(select(WorkflowRun).where(WorkflowRun.workflow == "stockMgt"))
        assert (run.status, run.requested_by) == (WorkflowRunStatus.SUCCEEDED, "mia")


def test_deleting_an_order_asks_once_and_a_no_keeps_it(live_panel, page_as):
    """The stock line page loads both the panel's confirm.js and form_redraw.js: each asked,
    so "Abbrechen" was followed by the same question again."""
    with live_panel.panel.runtime.database.session() as session:
        world = build_world(session)
        session.add(
            StockOrder(stock_line_id=world.paper_line_id, delivery_date=date(2030, 1, 1),
                       quantity=500)
        )  # fmt: skip
    page = page_as(Role.CAMPAIGN_MANAGER)
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.goto(live_panel.url(f"/stocks/lines/{world.paper_line_id}"))
    page.locator("#orders button[type=submit]").click()
    expect(page.locator("#orders tbody tr")).to_have_count(1)
    assert questions == ["Diese Bestellung löschen?"]


def wait_for_run(panel, run_id: int) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        with panel.runtime.database.session() as session:
            if session.get(Run, run_id).state in FINAL_RUN_STATES:
                return
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish")


def process_demo(panel) -> dict[str, int]:
    """The demo with its campaign processes, the letter delivery run, both workflows passed,
    a stock line low, an approval waiting and a failed workflow run: every screen has data."""
    runtime = panel.runtime
    with runtime.database.session() as session:
        install_demo(session, runtime.plugins, utcnow(), contacts=400)
    with runtime.database.session() as session:
        demo = session.scalar(select(Campaign).where(Campaign.name == "Informationskampagne"))
        letter, reminder = session.scalars(
            select(Delivery).where(Delivery.campaign_id == demo.id).order_by(Delivery.id)
        ).all()
        ids = {"campaign": demo.id, "letter": letter.id, "reminder": reminder.id}
        ids["plan"] = session.scalar(select(Plan.id))
        ids["budget"] = session.scalar(select(Budget.id).where(Budget.campaign_id == demo.id))
        ids["service"] = session.scalar(
            select(ProviderService.id).where(ProviderService.name == "Lettershop Brief DIN A4")
        )
        envelopes = session.scalar(select(StockLine).where(StockLine.name == "Kuvert DIN lang"))
        envelopes.alert_level = 12000
        ids["line"] = envelopes.id
        session.get(Budget, ids["budget"]).allocated = 1500
    run = start_delivery_run(
        runtime, ids["campaign"], started_by="mia", delivery_id=ids["letter"], confirmed_by="test"
    )
    wait_for_run(panel, run.id)
    now = runtime.clock.now()
    with runtime.database.session() as session:
        letter = session.get(Delivery, ids["letter"])
        for state in (
            DeliveryState.APPROVED,
            DeliveryState.EXTRACTION_PENDING,
            DeliveryState.FILE_TO_APPROVE,
            DeliveryState.FILE_SENT,
        ):
            letter.move_to(state, now)
        manager = user_named(session, Role.CAMPAIGN_MANAGER)
        reminder = session.get(Delivery, ids["reminder"])
        configure(
            session,
            reminder,
            ApprovalStep.CONTENT,
            ApprovalMode.MANUAL,
            now,
            Reviewers.of(roles=[Role.REVIEWER]),
            by=manager,
        )
        approval = submit(
            session,
            reminder,
            ApprovalStep.CONTENT,
            now,
            by=manager,
            deadline=now + timedelta(days=2),
        )
        reminder.move_to(DeliveryState.TO_VALIDATE, now)
        ids["approval"] = approval.id
    with runtime.database.session() as session:
        session.add(
            WorkflowRun(
                workflow="budgetMgt",
                trigger=WorkflowTrigger.SCHEDULED,
                status=WorkflowRunStatus.FAILED,
                enqueued_at=now - timedelta(hours=3),
                started_at=now - timedelta(hours=3),
                finished_at=now - timedelta(hours=3),
                error="Traceback (most recent call last):\n  ...\n"
                "OperationalError: could not connect to server: Connection refused",
            )
        )
    for name in ("stockMgt", "budgetMgt"):
        run_inline(runtime, name, "adam")
    return ids


@pytest.mark.skipif(not SCREENSHOTS, reason="set CAMPAIGN_SCREENSHOTS=<folder> to take them")
def test_screenshots_of_the_process_screens(live_panel, page_as, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("one set of screenshots is enough")
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    ids = process_demo(live_panel.panel)
    page = page_as(Role.ADMIN)
    shots = {
        "dashboard-processes": "/",
        "plan-timeline": f"/plans/{ids['plan']}",
        "campaign-process": f"/plans/campaigns/{ids['campaign']}",
        "delivery": f"/deliveries/{ids['letter']}",
        "budget": f"/budgets/{ids['budget']}",
        "provider-prices": f"/providers/services/{ids['service']}",
        "stock-line": f"/stocks/lines/{ids['line']}",
        "workflows": "/workflows/",
        "workflow-history": "/workflows/budgetMgt",
    }
    for name, path in shots.items():
        assert page.goto(live_panel.url(path)).ok, path
        page.screenshot(path=folder / f"{name}.png", full_page=True)
    reviewer = page_as(Role.REVIEWER)
    reviewer.goto(live_panel.url("/approvals/"))
    reviewer.screenshot(path=folder / "approvals-inbox.png")
    reviewer.goto(live_panel.url(f"/approvals/{ids['approval']}"))
    reviewer.screenshot(path=folder / "approval.png", full_page=True)
