"""Deliveries through the Flask test client, on SQLite and PostgreSQL: the list with its
filters, a delivery's page (approvals, runs, counts, costs, warnings), the delivery form with
an action of its own, setting up approvals and submitting for approval."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from core.engine.confirmation import DRY_RUN_DETAIL
from core.models import (
    Campaign,
    CampaignStatus,
    Contact,
    ItemStatus,
    Notification,
    Role,
    Run,
    RunItem,
    RunState,
    User,
)
from plugins.processes.costs import Quantities, Structure, category_cost
from plugins.processes.models import (
    Approval,
    ApprovalMode,
    ApprovalState,
    ApprovalStep,
    Budget,
    CostLine,
    CostType,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    ExpenseBasis,
    ExpenseLine,
    ProviderStep,
    ProviderStepKind,
    ProviderStepStatus,
    StockAlert,
    StockLine,
)

from panel_helpers import body, field_errors, post
from process_panel_helpers import (
    add_campaign,
    add_delivery,
    audit_actions,
    audit_summaries,
    confirmable,
    user_id,
    world,
)

SMS_SETTINGS = {
    "act.__plugin": "sms",
    "act.gateway": "outbox",
    "act.template": "Hallo {{ first_name }}!",
    "act.sender": "VersInfo",
    "act.region": "DE",
    "act.max_segments": "2",
}


def test_the_list_filters_by_state_channel_and_name_and_pages(panel):
    world(panel)
    first = add_campaign(panel, "Frühjahr")
    second = add_campaign(panel, "Herbst")
    for number in range(30):
        add_delivery(panel, first, f"Brief {number:02d}")
    add_delivery(
        panel, second, "SMS Herbst", channel=DeliveryChannel.SMS, state=DeliveryState.EDITING
    )
    with panel.runtime.database.session() as session:
        session.get(Delivery, 1).move_to(DeliveryState.TO_VALIDATE, panel.runtime.clock.now())
    client = panel.client(Role.VIEWER)
    html = body(client.get("/deliveries/"))
    assert len(re.findall(r'href="/deliveries/\d+"', html)) == 25
    assert "1 bis 25 von 31" in html
    assert "SMS Herbst" in html  # newest first
    assert "Brief 00" in body(client.get("/deliveries/?page=2"))
    sms = body(client.get("/deliveries/?channel=sms"))
    assert "SMS Herbst" in sms and "Brief 01" not in sms
    waiting = body(client.get("/deliveries/?state=to_validate"))
    assert "Brief 00" in waiting and "Brief 01" not in waiting
    found = body(client.get("/deliveries/?q=herbst"))
    assert "SMS Herbst" in found and "Brief" not in found.split('id="deliveries"')[1]
    assert "Keine Versände gefunden." in body(client.get("/deliveries/?q=nichts"))
    with panel.runtime.database.session() as session:
        session.get(Campaign, second).status = CampaignStatus.CANCELLED
    cancelled = body(client.get("/deliveries/?campaign_state=cancelled"))
    assert "SMS Herbst" in cancelled and "Brief 00" not in cancelled
    assert 'data-campaign-state="cancelled">Abgebrochen</span>' in cancelled


def test_a_delivery_shows_counts_costs_runs_and_warnings(panel):
    ids = world(panel)
    campaign_id = add_campaign(panel, program_id=ids.program_id)
    delivery_id = add_delivery(
        panel,
        campaign_id,
        provider_service_id=ids.print_service_id,
        estimated_cost=Decimal(300),
        calculated_cost=Decimal("64.08"),
    )
    now = panel.runtime.clock.now()
    with panel.runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.cost_types = []
        session.add(
            Run(
                campaign_id=campaign_id,
                delivery_id=delivery_id,
                number=1,
                config={},
                state=RunState.COMPLETED,
                targeted=12,
                done=10,
                skipped=2,
                targeted_at=now,
                confirmed_by="mia",
                confirmed_at=now,
            )
        )
        line = ExpenseLine(
            campaign_id=campaign_id,
            delivery_id=delivery_id,
            basis=ExpenseBasis.TARGETED,
            messages=12,
            calculated=Decimal("64.08"),
            surcharge=Decimal(10),
            amount=Decimal("64.08"),
        )
        line.cost_lines = [
            CostLine(name="Druck", amount=Decimal("51.92"), detail="Einrichtung: 50.00"),
            CostLine(name="Porto", amount=Decimal("1.56"), detail="12 x 0.13"),
        ]
        session.add(line)
        session.get(StockLine, ids.envelope_line_id).in_stock = 70
        session.add(
            StockAlert(
                stock_line_id=ids.envelope_line_id, alert_level=80, in_stock=70, raised_at=now
            )
        )
        session.add(
            Budget(
                name="Plan 2026",
                plan_id=ids.plan_id,
                allocated=Decimal(100),
                reserved=Decimal(150),
                over_allocated=True,
            )
        )
    html = body(panel.client(Role.VIEWER).get(f"/deliveries/{delivery_id}"))
    assert '<dd data-count="targeted">12</dd>' in html
    # the letters are in the file, not sent, until the file goes to the provider
    assert '<dt>In der Datei</dt><dd data-count="sent">10</dd>' in html
    assert "Druck" in html and "51,92" in html and "Einrichtung: 50,00" in html
    assert "64,08" in html
    assert "Lager „Lager Köln“, Kuvert DL: noch 70 (Meldebestand 80)." in html
    assert "Dieser Versand benötigt 12." in html
    assert "Budget „Plan 2026“ ist um 50,00 € überschritten." in html
    assert 'href="/campaigns/' in html and "#1" in html
    assert '<th scope="col" class="num">Übersprungen</th>' in html
    assert '<td class="num" data-skipped>2</td>' in html  # apart from the failed
    assert re.search(r"<td data-confirmed>[^<]+ · mia</td>", html)
    assert html.count("Automatisch (Standard)") == 5  # every step of a letter, none set up
    # but its file, which a person always approves
    assert html.count("Manuell (Standard), Prüfer: Kampagnenverantwortliche(r)") == 1
    assert "Zur Freigabe einreichen" not in html  # a viewer submits nothing
    with panel.runtime.database.session() as session:
        session.execute(
            update(Delivery).where(Delivery.id == delivery_id).values(state=DeliveryState.FILE_SENT)
        )
    html = body(panel.client(Role.VIEWER).get(f"/deliveries/{delivery_id}"))
    assert '<dt>Versendet</dt><dd data-count="sent">10</dd>' in html


def test_an_analysed_delivery_has_its_costs_calculated_now_on_a_managers_request(panel):
    """Between the analysis and budgetMgt's next pass the page says the estimate counts, and
    a campaign manager need not wait for that pass."""
    ids = world(panel)
    campaign_id = add_campaign(panel, program_id=ids.program_id)
    delivery_id = add_delivery(panel, campaign_id, provider_service_id=ids.print_service_id)
    now = panel.runtime.clock.now()
    with panel.runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.cost_types = [session.get(CostType, ids.envelope_dl_id)]
        analysed = {"state": RunState.AWAITING_CONFIRMATION, "targeted": 12, "targeted_at": now}
        session.add(Run(campaign_id=campaign_id, delivery_id=delivery_id, number=1, config={},
                        **analysed))  # fmt: skip
    page = f"/deliveries/{delivery_id}"
    html = body(panel.client(Role.VIEWER).get(page))
    assert "Die Kostenberechnung (budgetMgt) rechnet die Analyse bei ihrem nächsten Lauf" in html
    assert "Kosten jetzt berechnen" not in html  # a viewer runs no workflow
    manager = panel.client()
    assert "Kosten jetzt berechnen" in body(manager.get(page))

    response = post(manager, "/workflows/budgetMgt/run", {"next": page})
    assert response.headers["Location"] == page  # back to the delivery
    assert "wartet auf einen Worker" in body(manager.get(page))
    panel.work()
    html = body(manager.get(page))
    assert 'id="cost-lines"' in html and "Kosten jetzt berechnen" not in html
    with panel.runtime.database.session() as session:
        line = session.scalar(select(ExpenseLine).where(ExpenseLine.delivery_id == delivery_id))
        assert line.messages == 12


def test_a_delivery_marks_its_voided_run_and_says_what_its_extraction_went_ahead_on(panel):
    """A run voided after its file was rejected counts nowhere: its row says so, beside the
    new extraction's, which operationMgt confirmed on the delivery's approval."""
    world(panel)
    campaign_id = add_campaign(panel)
    delivery_id = add_delivery(panel, campaign_id)
    now = panel.runtime.clock.now()
    with panel.runtime.database.session() as session:
        for number, voided_at in ((1, now), (2, None)):
            session.add(
                Run(
                    campaign_id=campaign_id,
                    delivery_id=delivery_id,
                    number=number,
                    config={},
                    state=RunState.COMPLETED,
                    superseded_at=voided_at,
                    superseded_reason="file rejected" if voided_at else None,
                    confirmed_by=f"operationMgt:approved delivery {delivery_id}",
                    confirmed_at=now,
                )
            )
        second = session.scalar(select(Run.id).where(Run.number == 2))
    html = body(panel.client(Role.VIEWER).get(f"/deliveries/{delivery_id}"))
    rows = html.split('id="runs-heading"')[1].split("</table>")[0].split("<tr>")[1:]
    assert [("data-voided" in row, "storniert" in row) for row in rows[1:]] == [
        (False, False),
        (True, True),
    ]
    went_ahead = f" · operationMgt: nach Freigabe von Versand {delivery_id}</"
    assert went_ahead in rows[1]
    page = body(panel.client(Role.VIEWER).get(f"/campaigns/{campaign_id}/runs/{second}"))
    assert '<dd data-field="confirmed">' in page and went_ahead in page


def test_a_letter_runs_letters_count_as_not_sent_until_its_file_went_out(panel):
    """The panel's run, contact and dashboard pages ask the bundle (``runs_held_back``)."""
    campaign_id = add_campaign(panel)
    delivery_id = add_delivery(panel, campaign_id, "Herbstbrief")
    now = panel.runtime.clock.now()
    with panel.runtime.database.session() as session:
        contact = Contact(number="K-1", last_name="Berg", attributes={})
        session.add(contact)
        run = Run(
            campaign_id=campaign_id,
            delivery_id=delivery_id,
            number=1,
            config={},
            state=RunState.COMPLETED,
            targeted=1,
            done=1,
            targeted_at=now,
        )
        session.add(run)
        session.flush()
        session.add(
            RunItem(
                run_id=run.id,
                key="K-1",
                action="test_tag",
                entity="contacts",
                entity_id=contact.id,
                status=ItemStatus.DONE,
                finished_at=now,
            )
        )
        run_id, contact_id = run.id, contact.id
    client = panel.client(Role.VIEWER)
    run_page = f"/campaigns/{campaign_id}/runs/{run_id}"

    page = body(client.get(run_page))
    assert '<span class="badge item item-held_back" data-status="held_back">' in page
    assert "Noch nicht versendet" in page
    note = re.search(r'id="run-held-back">(.*?)</div>', page)
    assert note.group(1) == (
        "Noch an niemanden versendet: seine Briefe liegen in der Datei von Versand "
        "„Herbstbrief“, die noch nicht an den Dienstleister ging."
    )
    contact_page = body(client.get(f"/contacts/{contact_id}"))
    assert f'data-run="{run_id}" data-status="held_back"' in contact_page
    assert "noch nicht versendet" in contact_page
    assert 'data-kind="sent"' not in contact_page
    assert 'id="run-feedback"' not in body(client.get("/"))

    with panel.runtime.database.session() as session:
        session.execute(
            update(Delivery).where(Delivery.id == delivery_id).values(state=DeliveryState.FILE_SENT)
        )
    page = body(client.get(run_page))
    assert 'id="run-held-back"' not in page and 'data-status="done">Erledigt<' in page
    contact_page = body(client.get(f"/contacts/{contact_id}"))
    assert f'data-run="{run_id}" data-status="done"' in contact_page
    assert 'data-kind="sent"' in contact_page
    assert 'id="run-feedback"' in body(client.get("/"))


def test_the_cost_type_help_says_what_applies_without_a_choice(panel):
    """It said every cost type of a category applies without a choice; the books charge its
    default type, or nothing (docs/processes.md, "Cost structures")."""
    ids = world(panel)
    campaign_id = add_campaign(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    form = {
        "campaign_id": str(campaign_id),
        "label": "Brief",
        "channel": "direct_mail",
        "provider_service_id": str(ids.print_service_id),
        "intent": "refresh",
    }
    page = body(post(manager, "/deliveries/new", form))
    assert "Ohne Auswahl gilt die Standard-Kostenart der Kategorie; hat sie keine, berechnet " \
        "die Kategorie nichts" in page  # fmt: skip
    assert "Ohne Auswahl gelten alle Kostenarten" not in page


def test_a_manager_creates_a_delivery_with_its_own_action(panel):
    ids = world(panel)
    campaign_id = add_campaign(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    page = body(manager.get(f"/deliveries/new?campaign_id={campaign_id}"))
    assert "(Aktion der Kampagne: test_tag)" in page
    form = {
        "campaign_id": str(campaign_id),
        "label": "SMS-Erinnerung",
        "channel": "sms",
        "action": "sms",
        "provider_service_id": str(ids.sms_service_id),
        "planned_start_at": "2026-02-17T10:00",
        "surcharge": "5,50",
        "estimated_cost": "150",
        "intent": "save",
    }
    redrawn = post(manager, "/deliveries/new", form | {"intent": "refresh"})
    assert redrawn.status_code == 200
    assert 'name="act.template"' in body(redrawn)  # the action's settings form appeared
    for no_row in ("2147483648", "99999999999999999999", "²"):
        redrawn = post(
            manager, "/deliveries/new", form | {"intent": "refresh", "provider_service_id": no_row}
        )
        assert redrawn.status_code == 200, no_row  # no service chosen, never a 500
    missing = post(
        manager, "/deliveries/new", form | {"act.__plugin": "sms", "act.gateway": "outbox"}
    )
    assert missing.status_code == 422
    assert field_errors(body(missing), "act.template") == ["Bitte ausfüllen."]
    wrong_channel = post(
        manager,
        "/deliveries/new",
        form | SMS_SETTINGS | {"channel": "print", "provider_service_id": ""},
    )
    assert field_errors(body(wrong_channel), "action") == ["„SMS“ steht nicht zur Auswahl."]
    wrong_type = post(
        manager, "/deliveries/new", form | SMS_SETTINGS | {"cost_type_ids": str(ids.envelope_dl_id)}
    )
    assert wrong_type.status_code == 422
    assert field_errors(body(wrong_type), "cost_type_ids") == [
        "„DL“ (Kuvert) ist keine Kostenart der Dienstleistung dieses Versands für SMS."
    ]
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0

    created = post(manager, "/deliveries/new", form | SMS_SETTINGS)
    assert created.status_code == 302
    with panel.runtime.database.session() as session:
        delivery = session.scalar(select(Delivery))
        assert (delivery.channel, delivery.action) == (DeliveryChannel.SMS, "sms")
        assert delivery.action_settings["template"] == "Hallo {{ first_name }}!"
        assert delivery.action_settings["max_segments"] == 2
        assert (delivery.surcharge, delivery.estimated_cost) == (Decimal("5.50"), Decimal(150))
        assert delivery.planned_start_at.hour == 9  # 10:00 in Berlin is 09:00 UTC in February
    assert created.headers["Location"] == f"/deliveries/{delivery.id}"
    duplicate = post(manager, "/deliveries/new", form | SMS_SETTINGS)
    assert field_errors(body(duplicate), "label") == ["Dieser Name ist bereits vergeben."]
    assert audit_actions(panel) == ["delivery.create"]


def test_action_settings_typed_as_json_that_do_not_parse_are_explained_at_their_field(panel):
    ids = world(panel)
    campaign_id = add_campaign(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    form = SMS_SETTINGS | {
        "campaign_id": str(campaign_id),
        "label": "SMS-Erinnerung",
        "channel": "sms",
        "action": "sms",
        "provider_service_id": str(ids.sms_service_id),
        "act.gateway_settings": '{"file": "sms.jsonl"',
        "intent": "save",
    }
    german = post(manager, "/deliveries/new", form)
    assert german.status_code == 422
    assert field_errors(body(german), "act.gateway_settings") == [
        "kein gültiges JSON: Komma erwartet (Zeile 1, Spalte 21)"
    ]
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    english = body(post(manager, "/deliveries/new", form))
    assert field_errors(english, "act.gateway_settings") == [
        "not valid JSON: Expecting &#39;,&#39; delimiter: line 1 column 21 (char 20)"
    ]


def test_an_unknown_button_or_campaign_creates_no_delivery(panel):
    world(panel)
    campaign_id = add_campaign(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    form = {"campaign_id": str(campaign_id), "label": "Brief", "channel": "print"}
    unknown = post(manager, "/deliveries/new", form | {"intent": "publish"})
    assert unknown.status_code == 200
    assert "Schaltfläche: „publish“ steht nicht zur Auswahl." in body(unknown)
    assert manager.get("/deliveries/new?campaign_id=eins").status_code == 404
    assert post(manager, "/deliveries/new", form | {"campaign_id": "-3"}).status_code == 404
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_a_ticked_cost_type_no_row_can_be_is_left_out(panel):
    """A superscript "²" passed str.isdigit and failed int(), 30 digits failed in
    PostgreSQL's driver: both were a 500; the cost types that exist are kept."""
    ids = world(panel)
    campaign_id = add_campaign(panel)
    delivery_id = add_delivery(panel, campaign_id, provider_service_id=ids.print_service_id)
    form = {
        "label": "Brief A4",
        "channel": "direct_mail",
        "action": "",
        "provider_service_id": str(ids.print_service_id),
        "cost_type_ids": ["\u00b2", "9" * 30, "2147483648", str(ids.envelope_c5_id)],
        "surcharge": "0",
        "sent_counting": "result_file",
        "version": "1",
        "intent": "save",
    }
    saved = post(panel.client(Role.CAMPAIGN_MANAGER), f"/deliveries/{delivery_id}/edit", form)
    assert saved.status_code == 302
    with panel.runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert [cost_type.id for cost_type in delivery.cost_types] == [ids.envelope_c5_id]


def test_editing_keeps_the_channel_once_submitted_and_refuses_a_stale_form(panel):
    ids = world(panel)
    campaign_id = add_campaign(panel)
    delivery_id = add_delivery(panel, campaign_id, provider_service_id=ids.print_service_id)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    edit = f"/deliveries/{delivery_id}/edit"
    form = {
        "label": "Brief A4",
        "channel": "direct_mail",
        "action": "",
        "provider_service_id": str(ids.print_service_id),
        "cost_type_ids": [str(ids.envelope_c5_id)],
        "surcharge": "0",
        "sent_counting": "result_file",
        "proof_required": "true",
        "version": "1",
        "intent": "save",
    }
    assert post(manager, edit, form).status_code == 302
    stale = post(manager, edit, form | {"label": "Brief alt"})  # version 1 was saved over
    assert stale.status_code == 422
    assert "wurde inzwischen geändert" in body(stale)
    with panel.runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery.label == "Brief A4"
        assert [t.id for t in delivery.cost_types] == [ids.envelope_c5_id]
        assert delivery.proof_required and delivery.sent_counting.value == "result_file"
        delivery.move_to(DeliveryState.TO_VALIDATE, panel.runtime.clock.now())
        version = delivery.version + 1
    page = body(manager.get(edit))
    assert 'id="channel" name="channel" disabled' in page
    changed = post(manager, edit, form | {"channel": "sms", "version": str(version)})
    assert changed.status_code == 302
    with panel.runtime.database.session() as session:
        assert session.get(Delivery, delivery_id).channel is DeliveryChannel.DIRECT_MAIL


def test_setting_up_approvals(panel):
    world(panel)
    delivery_id = add_delivery(panel, add_campaign(panel), channel=DeliveryChannel.SMS)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    path = f"/deliveries/{delivery_id}/approvals"
    budget_alone = post(manager, path, {"step": "budget", "mode": "manual"})
    assert budget_alone.status_code == 422
    assert field_errors(body(budget_alone), "mode") == [
        "Schritt „Budget“: Eine manuelle Budgetfreigabe setzt eine manuelle Freigabe der "
        "Zielgruppe voraus."
    ]
    no_proof = post(manager, path, {"step": "proof", "mode": "manual"})
    assert field_errors(body(no_proof), "step") == ["„Korrekturabzug“ steht nicht zur Auswahl."]
    rita = user_id(panel, Role.REVIEWER)
    configured = post(
        manager,
        path,
        {"step": "content", "mode": "manual", "roles": "reviewer", "users": str(rita)},
    )
    assert configured.status_code == 302
    with panel.runtime.database.session() as session:
        approval = session.scalar(select(Approval))
        assert (approval.step, approval.mode) == (ApprovalStep.CONTENT, ApprovalMode.MANUAL)
        assert {(r.role, r.user_id) for r in approval.reviewers} == {
            (Role.REVIEWER, None),
            (None, rita),
        }
    page = body(manager.get(f"/deliveries/{delivery_id}"))
    assert "rita, Prüfer" in page
    assert audit_actions(panel) == ["approval.configure"]
    assert audit_summaries(panel, "de") == ["Brief: Inhalt manuell"]
    assert audit_summaries(panel, "en") == ["Brief: content manual"]


def test_submitting_for_approval(panel):
    world(panel)
    campaign_id = add_campaign(panel)
    automatic = add_delivery(panel, campaign_id, "Brief")
    manual = add_delivery(panel, campaign_id, "SMS", channel=DeliveryChannel.SMS)
    online = add_delivery(panel, campaign_id, "E-Mail", channel=DeliveryChannel.EMAIL)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    letter = post(manager, f"/deliveries/{automatic}/submit")
    assert "Alle Schritte sind freigegeben; der Versand ist freigegeben." in body(
        manager.get(letter.location)
    )
    approved = post(manager, f"/deliveries/{online}/submit")  # its start is still to confirm
    assert "Der Versand startet, wenn der Kampagnenverantwortliche seinen Start" in body(
        manager.get(approved.location)
    )
    assert (
        post(
            manager,
            f"/deliveries/{manual}/approvals",
            {"step": "targeting", "mode": "manual", "roles": "reviewer"},
        ).status_code
        == 302
    )
    past = post(manager, f"/deliveries/{manual}/submit", {"deadline": "2001-01-01T10:00"})
    assert past.status_code == 422
    assert field_errors(body(past), "deadline") == ["Die Frist muss in der Zukunft liegen."]
    assert post(manager, f"/deliveries/{manual}/submit").status_code == 302
    again = manager.get(f"/deliveries/{manual}")
    assert "Zur Freigabe eingereicht: Zielgruppe, Versandstart." in body(again)
    with panel.runtime.database.session() as session:
        pending = session.scalar(
            select(Approval.id).where(
                Approval.delivery_id == manual, Approval.step == ApprovalStep.TARGETING
            )
        )
    # the notification leads here: the step waiting for an answer leads to its page
    assert f'<a href="/approvals/{pending}">Prüfen</a>' in body(again)
    with panel.runtime.database.session() as session:
        assert session.get(Delivery, automatic).state is DeliveryState.APPROVED
        assert session.get(Delivery, manual).state is DeliveryState.TO_VALIDATE
        states = dict(
            session.execute(
                select(Approval.step, Approval.state).where(Approval.delivery_id == manual)
            ).all()
        )
        assert states == {
            ApprovalStep.TARGETING: ApprovalState.PENDING,
            ApprovalStep.START: ApprovalState.APPROVED,
        }
        notified = session.scalars(
            select(Notification.user_id).where(Notification.kind == "approval_request")
        ).all()
        assert user_id(panel, Role.REVIEWER) in notified
    nothing_new = post(manager, f"/deliveries/{manual}/submit")
    assert nothing_new.status_code == 302
    assert "Nichts neu eingereicht" in body(manager.get(f"/deliveries/{manual}"))
    finished = post(manager, f"/deliveries/{automatic}/submit")
    assert "kann nicht eingereicht werden" in body(manager.get(finished.headers["Location"]))
    assert audit_actions(panel).count("delivery.submit") == 4


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REVIEWER])
def test_only_campaign_managers_set_up_and_submit_deliveries(panel, role):
    world(panel)
    campaign_id = add_campaign(panel)
    delivery_id = add_delivery(panel, campaign_id)
    client = panel.client(role)
    assert client.get(f"/deliveries/new?campaign_id={campaign_id}").status_code == 403
    assert client.get(f"/deliveries/{delivery_id}/edit").status_code == 403
    for path in (
        f"/deliveries/new?campaign_id={campaign_id}",
        f"/deliveries/{delivery_id}/edit",
        f"/deliveries/{delivery_id}/approvals",
        f"/deliveries/{delivery_id}/submit",
    ):
        assert post(client, path, {"label": "X", "intent": "save"}).status_code == 403, path
    assert client.get(f"/deliveries/{delivery_id}").status_code == 200
    assert panel.client(Role.ADMIN).get(f"/deliveries/{delivery_id}/edit").status_code == 200


def test_a_delivery_that_does_not_start_by_itself_is_confirmed_with_the_count_shown(panel):
    campaign_id, delivery_id = confirmable(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    page = body(manager.get(f"/deliveries/{delivery_id}"))
    assert 'id="awaiting-confirmation"' in page
    assert panel.client(Role.REVIEWER).get(f"/deliveries/{delivery_id}/confirm").status_code == 403

    html = body(manager.get(f"/deliveries/{delivery_id}/confirm"))
    assert "Start bestätigen: 3 Datensätze per SMS" in html
    assert '<dd data-field="channel">SMS</dd>' in html
    assert 'data-field="dry-run"' not in html
    with panel.runtime.database.session() as session:  # its approval's dry run: one blocked
        dry_run = Run(
            campaign_id=campaign_id,
            delivery_id=delivery_id,
            number=1,
            config={},
            dry_run=True,
            exclusive=False,
            state=RunState.COMPLETED,
            targeted=3,
            skipped=3,
            targeted_at=panel.runtime.clock.now(),
        )
        session.add(dry_run)
        session.flush()
        session.add_all(
            RunItem(
                run_id=dry_run.id,
                key=f"K-{n}",
                action="sms",
                entity="contacts",
                status=ItemStatus.SKIPPED,
                detail=detail,
            )
            for n, detail in enumerate((DRY_RUN_DETAIL, "preview: Hallo", "reach.dispatch_block"))
        )
    html = body(manager.get(f"/deliveries/{delivery_id}/confirm"))
    assert '<dd data-field="dry-run">2 Empfänger (Lauf #1)</dd>' in html

    with panel.runtime.database.session() as session:
        session.add(Contact(number="K-new", last_name="Neu", attributes={}))
    changed = post(manager, f"/deliveries/{delivery_id}/confirm", {"seen_count": "3"})
    assert changed.status_code == 409
    assert "Die Empfängerzahl hat sich geändert: 3 angezeigt, jetzt 4." in body(changed)
    assert runs_of(panel, delivery_id) == []

    response = post(manager, f"/deliveries/{delivery_id}/confirm", {"seen_count": "4"})

    assert response.status_code == 302
    [run] = runs_of(panel, delivery_id)
    assert response.headers["Location"].endswith(f"/campaigns/{run.campaign_id}/runs/{run.id}")
    assert "Gesendet wird erst, wenn Sie hier die Empfängerzahl bestätigen." in body(
        manager.get(response.headers["Location"])
    )
    # the number confirmed is the data source's, not the recipients the run's page confirms
    assert "· 4 Datensätze</dd>" in body(manager.get(f"/deliveries/{delivery_id}"))
    assert (run.started_by, run.dry_run, run.confirmed_by) == ("mia", False, None)
    with panel.runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery.state is DeliveryState.IN_PROGRESS
        assert delivery.confirmed_by_id == user_id(panel, Role.CAMPAIGN_MANAGER)
    assert "delivery.confirm" in audit_actions(panel)
    again = post(manager, f"/deliveries/{delivery_id}/confirm", {"seen_count": "4"})
    assert "wartet nicht auf eine Bestätigung" in body(manager.get(again.headers["Location"]))


def test_a_start_confirmed_before_its_planned_start_waits_for_it_until_an_edit(panel):
    """Confirmed ahead, the delivery starts by itself at its time for at most the count
    shown; a change to it afterwards asks for the confirmation again."""
    _campaign_id, delivery_id = confirmable(panel)
    planned = panel.runtime.clock.now() + timedelta(days=1)
    with panel.runtime.database.session() as session:
        session.get(Delivery, delivery_id).planned_start_at = planned
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    html = body(manager.get(f"/deliveries/{delivery_id}/confirm"))
    assert "Start dieses Versands bestätigen?" in html
    assert 'id="confirm-ahead"' in html and "für höchstens 3 Empfänger" in html

    response = post(manager, f"/deliveries/{delivery_id}/confirm", {"seen_count": "3"})

    assert response.headers["Location"].endswith(f"/deliveries/{delivery_id}")
    page = body(manager.get(response.headers["Location"]))
    assert "Der Versand startet am" in page and "von selbst, für höchstens 3 Empfänger" in page
    assert 'id="awaiting-confirmation"' not in page and "· höchstens 3 Empfänger" in page
    confirmed = 'data-state="confirmed_ahead">Bestätigt, startet zur geplanten Zeit</span>'
    assert confirmed in page and "Wartet auf Bestätigung" not in page
    assert confirmed in body(manager.get("/deliveries/"))  # the list says so too
    assert runs_of(panel, delivery_id) == []
    with panel.runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert (delivery.state, delivery.confirmed_count) == (
            DeliveryState.PENDING_CONFIRMATION,
            3,
        )
        version = delivery.version
    local = planned.astimezone(ZoneInfo("Europe/Berlin"))

    edited = post(
        manager,
        f"/deliveries/{delivery_id}/edit",
        {
            "label": "SMS Erinnerung",
            "channel": "sms",
            "action": "",
            "planned_start_at": local.strftime("%Y-%m-%dT%H:%M"),
            "surcharge": "0",
            "version": str(version),
            "intent": "save",
        },
    )

    assert edited.status_code == 302, body(edited)
    page = body(manager.get(edited.headers["Location"]))
    assert "Bitte bestätigen Sie ihn erneut." in page and 'id="awaiting-confirmation"' in page
    assert 'data-state="pending_confirmation">Wartet auf Bestätigung</span>' in page
    with panel.runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert (delivery.confirmed_at, delivery.confirmed_count) == (None, None)


def test_only_the_campaigns_manager_or_an_admin_confirms(panel):
    campaign_id, delivery_id = confirmable(panel)
    with panel.runtime.database.session() as session:
        session.get(Campaign, campaign_id).manager_id = user_id(panel, Role.ADMIN)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    assert 'id="confirm-not-allowed"' in body(manager.get(f"/deliveries/{delivery_id}/confirm"))
    refused = post(manager, f"/deliveries/{delivery_id}/confirm", {"seen_count": "3"})
    assert refused.status_code == 409
    assert re.search(
        r"mia darf den Start von Versand „[^“]+“ nicht bestätigen: Das dürfen nur der Manager "
        "der Kampagne und Administratoren.",
        body(refused),
    )
    assert runs_of(panel, delivery_id) == []

    admin = panel.client(Role.ADMIN)
    assert post(admin, f"/deliveries/{delivery_id}/confirm", {"seen_count": "3"}).status_code == 302
    assert [run.started_by for run in runs_of(panel, delivery_id)] == ["adam"]


def test_a_cost_lines_detail_reads_in_the_readers_language(panel):
    ids = world(panel)
    campaign_id = add_campaign(panel, program_id=ids.program_id)
    delivery_id = add_delivery(panel, campaign_id, provider_service_id=ids.print_service_id)
    cost = category_cost(
        [Structure(kind="fixed", amount=Decimal(50)), Structure(kind="surcharge", percent=10)],
        Quantities(messages=12),
    )
    with panel.runtime.database.session() as session:
        line = ExpenseLine(
            campaign_id=campaign_id,
            delivery_id=delivery_id,
            basis=ExpenseBasis.TARGETED,
            calculated=cost.amount,
            amount=cost.amount,
        )
        line.cost_lines = [CostLine(name="Druck", amount=cost.amount, detail=cost.describe())]
        session.add(line)

    def detail() -> str:
        html = body(panel.client(Role.VIEWER).get(f"/deliveries/{delivery_id}"))
        return re.search(r'<td>Druck</td><td class="muted">(.*?)</td>', html).group(1)

    assert detail() == "Festbetrag: 50,00; Zuschlag 10 %: 5,00"
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "viola")).language = "en"
    assert detail() == "fixed amount: 50.00; surcharge 10%: 5.00"


def test_a_confirmed_start_whose_run_cannot_start_says_why_in_the_readers_language(panel):
    campaign_id, delivery_id = confirmable(panel)
    second_id = add_delivery(panel, campaign_id, "SMS 2", channel=DeliveryChannel.SMS)
    with panel.runtime.database.session() as session:
        session.get(Campaign, campaign_id).action_settings = {}  # no report: the run refuses
        delivery = session.get(Delivery, second_id)
        for state in (DeliveryState.APPROVED, DeliveryState.PENDING_CONFIRMATION):
            delivery.move_to(state, panel.runtime.clock.now())
    manager = panel.client(Role.CAMPAIGN_MANAGER)

    def refusal(delivery_id: int) -> str:
        response = post(manager, f"/deliveries/{delivery_id}/confirm", {"seen_count": "3"})
        assert response.status_code == 302
        return body(manager.get(response.headers["Location"]))

    assert (
        "Start bestätigt, aber der Lauf kann nicht starten: Kampagne „Erinnerung“ kann nicht "
        "starten: action.settings.report: " in refusal(delivery_id)
    )
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    assert (
        "Start confirmed, but the run cannot start: campaign &#39;Erinnerung&#39; cannot start: "
        "action.settings.report: " in refusal(second_id)
    )
    assert runs_of(panel, delivery_id) == runs_of(panel, second_id) == []


def runs_of(panel, delivery_id: int) -> list[Run]:
    """The delivery's real runs (its approvals' dry runs left out)."""
    with panel.runtime.database.session() as session:
        query = select(Run).where(Run.delivery_id == delivery_id, Run.dry_run.is_(False))
        return list(session.scalars(query))


def test_a_delivery_chooses_the_one_budget_its_cost_is_charged_to(panel):
    ids = world(panel)
    campaign_id = add_campaign(panel)
    with panel.runtime.database.session() as session:
        budget = Budget(name="Sonderbudget", plan_id=ids.plan_id, allocated=Decimal(100))
        session.add(budget)
        session.flush()
        budget_id = budget.id
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    page = body(manager.get(f"/deliveries/new?campaign_id={campaign_id}"))
    assert "das der Kampagne (sonst Programm, Plan)" in page and "Sonderbudget" in page
    form = {
        "campaign_id": str(campaign_id),
        "label": "Brief",
        "channel": "print",
        "surcharge": "0",
        "intent": "save",
    }
    refused = post(manager, "/deliveries/new", form | {"budget_id": "999"})
    assert field_errors(body(refused), "budget_id") == ["„999“ steht nicht zur Auswahl."]
    assert post(manager, "/deliveries/new", form | {"budget_id": str(budget_id)}).status_code == 302
    with panel.runtime.database.session() as session:
        assert session.scalar(select(Delivery.budget_id)) == budget_id


def unclear_step(panel, delivery_id: int) -> int:
    with panel.runtime.database.session() as session:
        step = ProviderStep(
            key=f"delivery-{delivery_id}/upload",
            delivery_id=delivery_id,
            kind=ProviderStepKind.UPLOAD,
            status=ProviderStepStatus.UNCLEAR,
            file_name="auftrag.csv",
            rows=120,
        )
        session.add(step)
        session.flush()
        return step.id


def test_a_manager_decides_an_unclear_provider_step_on_the_delivery_page(panel):
    delivery_id = add_delivery(panel, add_campaign(panel))
    step_id = unclear_step(panel, delivery_id)
    page = f"/deliveries/{delivery_id}"
    decision = f"{page}/steps/{step_id}/decision"
    viewer = panel.client(Role.VIEWER)
    shown = body(viewer.get(page))
    assert "Schritte beim Dienstleister" in shown and "auftrag.csv" in shown and "Unklar" in shown
    assert "Ist angekommen" not in shown  # only managers decide
    assert post(viewer, decision, {"decision": "arrived"}).status_code == 403

    manager = panel.client(Role.CAMPAIGN_MANAGER)
    assert "Ist angekommen" in body(manager.get(page))
    refused = post(manager, decision, {"decision": "maybe"}, follow_redirects=True)
    assert "Bitte wählen Sie" in body(refused)
    answered = post(manager, decision, {"decision": "resend"}, follow_redirects=True)
    assert "beim nächsten Lauf von supplierMgt erneut" in body(answered)
    with panel.runtime.database.session() as session:
        step = session.get(ProviderStep, step_id)
        assert step.status is ProviderStepStatus.FAILED and step.resend
    assert "provider_step.resend" in audit_actions(panel)
    again = post(manager, decision, {"decision": "arrived"}, follow_redirects=True)
    assert "nicht mehr unklar" in body(again)
    other = add_delivery(panel, add_campaign(panel, "Andere"))
    assert post(manager, f"/deliveries/{other}/steps/{step_id}/decision", {}).status_code == 404


def test_a_confirmed_delivery_sends_only_the_count_a_person_confirmed_on_its_analysis(panel):
    """The delivery's page counts the data source's records; what its run would reach is
    known only after targeting (the reach rule, records added since). So the confirmed start
    analyses the recipients and the run waits with its ledger's count until a person
    confirms that count; nothing is sent before."""
    from core.models import ArchivedDocument

    campaign_id, delivery_id = confirmable(panel, contacts=0)
    address = {"street": "Hauptstr. 1", "postcode": "50667", "city": "Köln"}
    with panel.runtime.database.session() as session:
        session.add(Contact(number="K-1", last_name="Weiß", attributes={}, **address))
        session.add(Contact(number="K-2", last_name="Roth", attributes={}, **address))
        session.add(
            Contact(
                number="K-3", last_name="Gesperrt", attributes={}, dispatch_block=True, **address
            )
        )
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    assert "Start bestätigen: 3 Datensätze" in body(
        manager.get(f"/deliveries/{delivery_id}/confirm")
    )
    response = post(manager, f"/deliveries/{delivery_id}/confirm", {"seen_count": "3"})
    assert response.status_code == 302
    with panel.runtime.database.session() as session:  # added after the confirmation
        session.add(Contact(number="K-4", last_name="Neu", attributes={}, **address))
    panel.work()

    [run] = runs_of(panel, delivery_id)
    assert (run.state, run.confirmed_by, run.done) == (RunState.AWAITING_CONFIRMATION, None, 0)
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(ArchivedDocument)) == 0
    page = body(manager.get(f"/campaigns/{campaign_id}/runs/{run.id}"))
    assert "An 3 Empfänger senden" in page  # K-1, K-2 and K-4; K-3 is blocked
    confirmed = post(manager, f"/campaigns/{campaign_id}/runs/{run.id}/confirm", {"count": "3"})
    assert confirmed.status_code == 302
    panel.work()
    [run] = runs_of(panel, delivery_id)
    assert (run.state, run.done, run.skipped) == (RunState.COMPLETED, 3, 1)
    assert run.confirmed_by == "mia"
