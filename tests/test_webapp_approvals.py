"""The approvals inbox through the Flask test client, on SQLite and PostgreSQL: what waits
for whom, deadlines, warnings, answers (the first wins, a rejection needs a reason) and the
log."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

from sqlalchemy import select

from core.engine.confirmation import DRY_RUN_DETAIL
from core.models import (
    ItemKind,
    ItemStatus,
    Notification,
    Role,
    Run,
    RunItem,
    RunState,
    User,
    UserGroup,
)
from plugins.processes.approvals import Reviewers, configure, submit
from plugins.processes.models import (
    Approval,
    ApprovalMode,
    ApprovalState,
    ApprovalStep,
    Budget,
    CostType,
    Delivery,
    DeliveryChannel,
)

from panel_helpers import body, field_errors, post
from process_panel_helpers import (
    add_campaign,
    add_delivery,
    audit_actions,
    audit_summaries,
    user_id,
    world,
)


def waiting(panel, label="Brief", reviewers=None, deadline_in=timedelta(days=3), **fields) -> int:
    """A delivery whose content step waits for an answer; returns the approval's id."""
    delivery_id = add_delivery(panel, add_campaign(panel, f"Kampagne {label}", **fields), label)
    runtime = panel.runtime
    with runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        now = runtime.clock.now()
        manager = session.get(User, user_id(panel, Role.CAMPAIGN_MANAGER))
        configure(
            session,
            delivery,
            ApprovalStep.CONTENT,
            ApprovalMode.MANUAL,
            now,
            reviewers or Reviewers.of(roles=[Role.REVIEWER]),
            by=manager,
        )
        return submit(
            session, delivery, ApprovalStep.CONTENT, now, by=manager, deadline=now + deadline_in
        ).id


def test_the_inbox_lists_what_waits_for_the_user_with_deadlines_and_warnings(panel):
    ids = world(panel)
    for_role = waiting(panel, "Brief", deadline_in=timedelta(days=2), program_id=ids.program_id)
    with panel.runtime.database.session() as session:
        session.add(
            Budget(
                name="Plan",
                plan_id=ids.plan_id,
                allocated=Decimal(10),
                reserved=Decimal(20),
                over_allocated=True,
            )
        )
        group = UserGroup(name="Druckfreigabe", members=[session.get(User, ids.reviewer_id)])
        session.add(group)
        session.flush()
        group_id = group.id
    for_group = waiting(panel, "Flyer", Reviewers.of(groups=[group_id]))
    for_someone_else = waiting(panel, "SMS", Reviewers.of(users=[ids.reviewer_id]))
    with panel.runtime.database.session() as session:
        session.get(Approval, for_role).deadline_at = panel.runtime.clock.now() - timedelta(hours=1)
    html = body(panel.client(Role.REVIEWER).get("/approvals/"))
    assert f'data-approval="{for_role}" class="is-overdue-row"' in html
    assert "überfällig" in html
    assert "Warnungen: 1" in html  # the plan's budget is over its allocation
    assert (
        f'data-approval="{for_group}"' not in html
        and f'data-approval="{for_someone_else}"' not in html
    )
    assert "1 offen" in html
    admin = body(panel.client(Role.ADMIN).get("/approvals/"))  # holds the reviewer role too
    assert f'data-approval="{for_role}"' in admin
    assert panel.client(Role.VIEWER).get("/approvals/").status_code == 403
    assert "Freigaben" not in body(panel.client(Role.VIEWER).get("/")).split("</nav>")[0]


def test_the_inbox_names_the_system_as_submitter_of_what_a_workflow_submitted(panel):
    """A letter's file and proof are submitted by the workflows: 'System', as in the log."""
    world(panel)
    by_manager = waiting(panel, "Brief")
    by_workflow = waiting(panel, "Datei")
    with panel.runtime.database.session() as session:
        session.get(Approval, by_workflow).submitted_by_id = None
    html = body(panel.client(Role.REVIEWER).get("/approvals/"))
    rows = {
        int(match[1]): match[2]
        for match in re.finditer(r'data-approval="(\d+)"[^>]*>(.*?)</tr>', html, re.S)
    }
    assert "<td>System<br>" in rows[by_workflow]
    assert "System" not in rows[by_manager]


def test_a_reviewer_approves_and_a_second_answer_is_refused_clearly(panel):
    world(panel)
    approval_id = waiting(panel)
    page = body(panel.client(Role.REVIEWER).get(f"/approvals/{approval_id}"))
    assert 'name="seen_round" value="1"' in page
    assert "Keine Lager- oder Budgetwarnungen." in page
    approved = post(
        panel.client(Role.REVIEWER),
        f"/approvals/{approval_id}/answer",
        {"answer": "approve", "comment": "Passt.", "seen_round": "1"},
    )
    assert approved.status_code == 302 and approved.headers["Location"] == "/approvals/"
    late = post(
        panel.client(Role.ADMIN),
        f"/approvals/{approval_id}/answer",
        {"answer": "reject", "comment": "Zu spät?", "seen_round": "1"},
    )
    assert late.status_code == 409
    html = body(late)
    assert "Diese Freigabe wurde bereits von rita am" in html
    assert "beantwortet (Freigegeben). Ihre Antwort wurde nicht gespeichert." in html
    with panel.runtime.database.session() as session:
        approval = session.get(Approval, approval_id)
        assert approval.state is ApprovalState.APPROVED
        assert (approval.comment, approval.answered_by_id) == (
            "Passt.",
            user_id(panel, Role.REVIEWER),
        )
        answered = session.scalars(
            select(Notification.user_id).where(Notification.kind == "approval_answer")
        ).all()
        assert answered == [user_id(panel, Role.CAMPAIGN_MANAGER)]
    assert audit_actions(panel) == ["approval.approve"]
    assert audit_summaries(panel, "de") == ["Brief: Inhalt"]
    assert audit_summaries(panel, "en") == ["Brief: content"]


def test_a_rejection_needs_a_reason_and_an_old_round_is_not_answered(panel):
    world(panel)
    approval_id = waiting(panel)
    reviewer = panel.client(Role.REVIEWER)
    bare = post(
        reviewer,
        f"/approvals/{approval_id}/answer",
        {"answer": "reject", "comment": " ", "seen_round": "1"},
    )
    assert bare.status_code == 422
    assert field_errors(body(bare), "comment") == ["Bitte begründen Sie die Ablehnung."]
    assert (
        post(
            reviewer,
            f"/approvals/{approval_id}/answer",
            {"answer": "reject", "comment": "Anrede fehlt.", "seen_round": "1"},
        ).status_code
        == 302
    )
    with panel.runtime.database.session() as session:
        approval = session.get(Approval, approval_id)
        assert (approval.state, approval.comment) == (ApprovalState.REJECTED, "Anrede fehlt.")
        submit(session, approval.delivery, ApprovalStep.CONTENT, panel.runtime.clock.now())
    stale = post(
        reviewer, f"/approvals/{approval_id}/answer", {"answer": "approve", "seen_round": "1"}
    )
    assert stale.status_code == 409
    assert "erneut eingereicht (Runde 2)" in body(stale)
    assert 'name="seen_round" value="2"' in body(stale)
    log = body(reviewer.get(f"/approvals/{approval_id}"))
    assert "Anrede fehlt." in log and "Runde 2" in log


def test_only_named_reviewers_answer(panel):
    ids = world(panel)
    approval_id = waiting(panel, reviewers=Reviewers.of(users=[ids.reviewer_id]))
    page = body(panel.client(Role.REVIEWER).get(f"/approvals/{approval_id}"))
    assert "wartet auf eine Antwort anderer Prüfer" in page
    refused = post(
        panel.client(Role.REVIEWER),
        f"/approvals/{approval_id}/answer",
        {"answer": "approve", "seen_round": "1"},
    )
    assert refused.status_code == 403
    assert "Sie gehören nicht zu den Prüfern dieser Freigabe." in body(refused)
    viewer = panel.client(Role.VIEWER)
    assert viewer.get(f"/approvals/{approval_id}").status_code == 403
    answer = post(
        viewer, f"/approvals/{approval_id}/answer", {"answer": "approve", "seen_round": "1"}
    )
    assert answer.status_code == 403


def test_the_log_lists_every_event_newest_first_page_by_page(panel):
    world(panel)
    for number in range(30):
        waiting(panel, f"Brief {number:02d}")
    client = panel.client(Role.REVIEWER)
    first = body(client.get("/approvals/log"))
    assert "1 bis 50 von 60" in first  # configured and submitted, for each of 30
    assert first.index("Brief 29") < first.index("Brief 28")
    assert "Brief 00" in body(client.get("/approvals/log?page=2"))


def test_the_log_says_who_decides_in_the_readers_language_and_a_comment_as_written(panel):
    ids = world(panel)
    with panel.runtime.database.session() as session:
        group = UserGroup(name="Druckfreigabe", members=[session.get(User, ids.reviewer_id)])
        session.add(group)
        session.flush()
        group_id = group.id
    reviewers = Reviewers.of(users=[ids.reviewer_id], roles=[Role.REVIEWER], groups=[group_id])
    approval_id = waiting(panel, "Brief", reviewers)
    delivery_id = add_delivery(panel, add_campaign(panel, "Kampagne Flyer"), "Flyer")
    with panel.runtime.database.session() as session:
        now, delivery = panel.runtime.clock.now(), session.get(Delivery, delivery_id)
        configure(session, delivery, ApprovalStep.CONTENT, ApprovalMode.AUTOMATIC, now)
        submit(session, delivery, ApprovalStep.CONTENT, now)
    answer = {"answer": "approve", "comment": "manual", "seen_round": "1"}
    assert post(panel.client(Role.REVIEWER), f"/approvals/{approval_id}/answer", answer)

    def comments(html: str) -> list[str]:
        return re.findall(r"<td>([^<]*)</td>\s*</tr>", html)

    manual = "Manuell; Prüfer: Benutzer „reviewer“, Rolle Prüfer, Gruppe „Druckfreigabe“"
    german = comments(body(panel.client(Role.REVIEWER).get("/approvals/log")))
    assert german == [
        "manual",
        "Automatisch",
        "",
        "Automatisch; Prüfer: die/der Kampagnenverantwortliche",
        "",
        manual,
    ]
    delivery_log = body(panel.client(Role.VIEWER).get(f"/deliveries/{delivery_id}"))
    comment = "Automatisch; Prüfer: die/der Kampagnenverantwortliche"
    assert f'<p class="event-comment">{comment}</p>' in delivery_log
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "rita")).language = "en"
    english = comments(body(panel.client(Role.REVIEWER).get("/approvals/log")))
    assert english[:4] == ["manual", "automatic", "", "automatic; reviewers: the campaign manager"]
    assert unescape(english[5]) == (
        "manual; reviewers: user 'reviewer', role reviewer, group 'Druckfreigabe'"
    )


def test_the_delivery_page_and_inbox_speak_english(panel):
    world(panel)
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "rita")).language = "en"
    approval_id = waiting(panel)
    reviewer = panel.client(Role.REVIEWER)
    html = body(reviewer.get(f"/approvals/{approval_id}"))
    assert "Approval: Content" in html and "Approve" in html and "Reject" in html
    answer = {"answer": "reject", "comment": "Anrede fehlt.", "seen_round": "1"}
    assert post(reviewer, f"/approvals/{approval_id}/answer", answer).status_code == 302
    with panel.runtime.database.session() as session:
        delivery_page = f"/deliveries/{session.get(Approval, approval_id).delivery_id}"
    assert '<span class="muted">“Anrede fehlt.”</span>' in body(reviewer.get(delivery_page))
    german = body(panel.client(Role.VIEWER).get(delivery_page))
    assert '<span class="muted">„Anrede fehlt.“</span>' in german


def test_a_reviewer_of_the_content_sees_it_rendered_for_sample_recipients(panel):
    from core.models import ItemStatus, Run, RunItem, RunState

    world(panel)
    approval_id = waiting(panel)
    client = panel.client(Role.REVIEWER)
    page = f"/approvals/{approval_id}"
    # the workflow by the title its page gives it
    assert "Die Vorschau wird vorbereitet: Der Workflow „Kampagnen-Jobs“" in body(client.get(page))

    with panel.runtime.database.session() as session:
        approval = session.get(Approval, approval_id)
        run = Run(
            campaign_id=approval.delivery.campaign_id,
            delivery_id=approval.delivery_id,
            number=1,
            dry_run=True,
            exclusive=False,
            config={},
            state=RunState.COMPLETED,
            targeted=3,  # one of them blocked: the preview counts whom a real run reaches
            created_at=approval.submitted_at,
            finished_at=approval.submitted_at,
        )
        session.add(run)
        session.flush()
        letter = panel.runtime.settings.data_dir / "runs" / str(run.id) / "preview-K-1.pdf"
        letter.parent.mkdir(parents=True, exist_ok=True)
        letter.write_bytes(b"%PDF-1.4 sample")
        session.add_all(
            [
                RunItem(
                    run_id=run.id,
                    key="K-1",
                    action="print_reports",
                    entity="contacts",
                    status=ItemStatus.SKIPPED,
                    detail=f"preview: {letter}",
                ),
                RunItem(
                    run_id=run.id,
                    key="K-2",
                    action="sms",
                    entity="contacts",
                    status=ItemStatus.SKIPPED,
                    detail="preview: SMS to: +4917012345; gateway: outbox; GSM-7, "
                    "1 segment; text: Hallo Änne, Ihr Schreiben ist unterwegs.",
                ),
                RunItem(
                    run_id=run.id,
                    key="K-3",
                    action="sms",
                    entity="contacts",
                    status=ItemStatus.SKIPPED,
                    detail="reach.dispatch_block",
                ),
            ]
        )
        run_id, campaign_id = run.id, run.campaign_id

    html = body(client.get(page))
    assert "Aus dem Probelauf #1 (2 Empfänger); er versendet nichts." in html
    assert (
        "SMS an: +4917012345; Gateway: outbox; GSM-7, 1 Teil; "
        "Text: Hallo Änne, Ihr Schreiben ist unterwegs." in html
    )
    link = f"/campaigns/{campaign_id}/runs/{run_id}/files/preview-K-1.pdf"
    assert f'href="{link}"' in html
    assert client.get(link).get_data() == b"%PDF-1.4 sample"


def test_the_reviewer_of_a_letters_file_sees_how_many_letters_it_holds(panel):
    delivery_id = add_delivery(panel, add_campaign(panel, "Brief"), "Brief")
    runtime = panel.runtime
    with runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        now = runtime.clock.now()
        session.add_all(
            [  # the extraction run, and an earlier one voided with its rejected file
                Run(
                    campaign_id=delivery.campaign_id,
                    delivery_id=delivery_id,
                    number=number,
                    config={},
                    dry_run=False,
                    exclusive=False,
                    state=RunState.COMPLETED,
                    targeted=done,
                    done=done,
                    targeted_at=now,
                    superseded_at=voided,
                )
                for number, done, voided in ((1, 1200, now), (2, 1234, None))
            ]
        )
        approval_id = submit(session, delivery, ApprovalStep.EXTRACTION, now).id

    html = body(panel.client(Role.CAMPAIGN_MANAGER).get(f"/approvals/{approval_id}"))

    assert "Briefe in der Datei" in html and '<dd data-count="letters">1.234</dd>' in html


def analysed_run(
    panel, delivery_id: int, number: int, recipients: int, done: int = 0, **counts: int
) -> int:
    """A finished run of the delivery that counted ``recipients``: a dry run with its
    ledger (the rows it left unsent for being one, then ``skipped`` rows the reach rule
    skipped and ``held_out`` ones, all counted in ``recipients``), or a real one with
    ``done`` rows."""
    runtime = panel.runtime
    skipped, held_out = counts.get("skipped", 0), counts.get("held_out", 0)
    with runtime.database.session() as session:
        run = Run(
            campaign_id=session.get(Delivery, delivery_id).campaign_id,
            delivery_id=delivery_id,
            number=number,
            config={},
            exclusive=False,
            dry_run=not done,
            state=RunState.COMPLETED,
            targeted=recipients,
            held_out=held_out,
            skipped=recipients - held_out if not done else skipped,
            done=done,
            targeted_at=runtime.clock.now(),
        )
        session.add(run)
        session.flush()
        if not done:
            reached = recipients - skipped - held_out
            rows = [(ItemStatus.SKIPPED, DRY_RUN_DETAIL)] * reached
            rows += [(ItemStatus.SKIPPED, "reach.dispatch_block")] * skipped
            rows += [(ItemStatus.HELD_OUT, None)] * held_out
            session.add_all(
                RunItem(
                    run_id=run.id,
                    key=f"K-{n}",
                    action="print_reports",
                    entity="contacts",
                    status=status,
                    detail=detail,
                )
                for n, (status, detail) in enumerate(rows)
            )
        return run.id


def cost_tile(html: str) -> tuple[str, str]:
    """The approval page's cost tile: its label and amount."""
    label, amount = re.search(r'<dt>([^<]*)</dt><dd data-field="cost">(.*?)</dd>', html).groups()
    return label, re.sub(r"<[^>]+>", "", amount)


def priced_letter(panel, campaign: str) -> int:
    """A letter delivery the print shop prices (DL envelopes, a surcharge of 10 €)."""
    ids = world(panel)
    delivery_id = add_delivery(
        panel,
        add_campaign(panel, campaign),
        "Brief",
        provider_service_id=ids.print_service_id,
        surcharge=Decimal(10),
    )
    with panel.runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.cost_types = [session.get(CostType, ids.envelope_dl_id)]
    return delivery_id


def test_the_reviewer_of_a_letters_file_sees_the_price_of_its_letters_and_pages(panel):
    delivery_id = priced_letter(panel, "Gruppiert")
    runtime = panel.runtime
    with runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        approval_id = submit(session, delivery, ApprovalStep.EXTRACTION, runtime.clock.now()).id
    analysed_run(panel, delivery_id, 1, 6)
    client = panel.client(Role.REVIEWER)
    page = f"/approvals/{approval_id}"
    html = body(client.get(page))  # before the extraction: the analysed count, one unit each
    assert "Preis der Datei" not in html
    assert "6 Empfänger laut Analyse (Lauf #1" in html
    assert cost_tile(html) == ("Kosten für die analysierte Zielgruppe", "61,56 €")
    assert "61,56 €" in html[html.index('id="analysed-cost"') :]

    # the extraction: 6 recipients in 2 letters (one per household) of 3 and 4 pages
    run_id = analysed_run(panel, delivery_id, 2, 6, done=2)
    with runtime.database.session() as session:
        session.add_all(
            [
                RunItem(
                    run_id=run_id,
                    key=f"H-{letter}",
                    action="print_reports",
                    entity="contacts",
                    kind=ItemKind.GROUP,
                    status=ItemStatus.DONE,
                    units=pages,
                )
                for letter, pages in ((1, 3), (2, 4))
            ]
            + [
                RunItem(
                    run_id=run_id,
                    key=f"K-{n}",
                    action="print_reports",
                    entity="contacts",
                    kind=ItemKind.MEMBER,
                    group_key=f"H-{1 + n % 2}",
                    status=ItemStatus.DONE,
                )
                for n in range(6)
            ]
        )

    html = body(client.get(page))
    assert 'id="analysed-cost"' not in html and "Empfänger laut Analyse" not in html
    file = html[html.index('id="file-cost"') :]
    assert "Preis der Datei" in file
    assert "2 Briefe mit 7 Seiten in der Datei" in file
    assert cost_tile(html) == ("Preis der Datei", "60,92 €")  # not the delivery's estimate
    # Druck 50 + 7 pages x 0.08, Porto 2 x 0.13, Kuvert DL 2 x 0.05, surcharge 10
    for name, amount in (
        ("Druck", "50,56 €"),
        ("Porto", "0,26 €"),
        ("Kuvert", "0,10 €"),
        ("Aufschlag", "10,00 €"),
        ("Summe", "60,92 €"),
    ):
        assert file.index(name) < file.index(amount)
    with runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "rita")).language = "en"
    english = body(client.get(page))
    assert "Price of the file" in english
    assert "2 letters with 7 pages in the file that goes to the provider once approved" in english


def test_an_online_deliverys_approval_keeps_the_cost_for_the_analysed_count(panel):
    ids = world(panel)
    delivery_id = add_delivery(
        panel,
        add_campaign(panel, "SMS"),
        "SMS",
        channel=DeliveryChannel.SMS,
        provider_service_id=ids.sms_service_id,
    )
    runtime = panel.runtime
    with runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        reviewers = Reviewers.of(roles=[Role.REVIEWER])
        now = runtime.clock.now()
        for step in (ApprovalStep.TARGETING, ApprovalStep.BUDGET):
            approval = configure(session, delivery, step, ApprovalMode.MANUAL, now, reviewers)
        budget_id = approval.id
    analysed_run(panel, delivery_id, 1, 5)
    run_id = analysed_run(panel, delivery_id, 2, 5, done=2)
    with runtime.database.session() as session:  # 2 texts sent, 3 segments each
        session.add_all(
            [
                RunItem(
                    run_id=run_id,
                    key=f"K-{n}",
                    action="sms",
                    entity="contacts",
                    status=ItemStatus.DONE,
                    units=3,
                )
                for n in range(2)
            ]
        )

    html = body(panel.client(Role.REVIEWER).get(f"/approvals/{budget_id}"))

    assert "Preis der Datei" not in html
    analysed = html[html.index('id="analysed-cost"') :]
    assert "5 Empfänger laut Analyse (Lauf #2" in analysed
    assert "0,45 €" in analysed and "0,54 €" not in html  # 5 x 0.09, not 6 segments sent


def test_the_budget_approval_shows_the_cost_for_the_analysed_count(panel):
    delivery_id = priced_letter(panel, "Analysiert")
    runtime = panel.runtime
    with runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        now = runtime.clock.now()
        for step in (ApprovalStep.TARGETING, ApprovalStep.BUDGET):
            configure(
                session,
                delivery,
                step,
                ApprovalMode.MANUAL,
                now,
                Reviewers.of(roles=[Role.REVIEWER]),
            )
        budget_id = session.scalar(select(Approval.id).where(Approval.step == "budget"))
    client = panel.client(Role.REVIEWER)
    html = body(client.get(f"/approvals/{budget_id}"))
    assert "Die Zielgruppe ist noch nicht analysiert" in html
    assert cost_tile(html) == ("Geschätzte Kosten", "0,00 €")

    # the targeting dry run finished: 100 it would reach, 30 blocked, 20 held out
    analysed_run(panel, delivery_id, 1, 150, skipped=30, held_out=20)
    html = body(client.get(f"/approvals/{budget_id}"))
    analysed = html[html.index('id="analysed-cost"') :]
    assert "100 Empfänger laut Analyse (Lauf #1" in analysed
    # Druck 50 + 100 x 0.08, Porto 100 x 0.13, Kuvert DL 100 x 0.05, surcharge 10
    for name, amount in (
        ("Druck", "58,00 €"),
        ("Porto", "13,00 €"),
        ("Kuvert", "5,00 €"),
        ("Aufschlag", "10,00 €"),
        ("Summe", "86,00 €"),
    ):
        assert analysed.index(name) < analysed.index(amount)

    with runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.cost_types, delivery.calculated_cost = [], Decimal("80.50")
    html = body(client.get(f"/approvals/{budget_id}"))
    assert cost_tile(html) == ("Berechnete Kosten", "80,50 €")  # unpriceable: the books' figure
    assert (
        "Nicht berechenbar: Kostenkategorie „Kuvert“ der Dienstleistung „Brief A4“ verlangt eine "
        "Kostenart: Wählen Sie eine von &#39;C5&#39;, &#39;DL&#39;." in html
    )
    with runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "rita")).language = "en"
    html = body(client.get(f"/approvals/{budget_id}"))
    assert (
        "cost category &#39;Kuvert&#39; of service &#39;Brief A4&#39; requires a cost type: "
        "choose one of &#39;C5&#39;, &#39;DL&#39;" in html
    )
