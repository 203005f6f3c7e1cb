"""The panel in a real browser (Debian's chromium through Playwright), on the real app with a
real worker process: build a query with a nested OR block, make a campaign of it, start it,
confirm the send with the count shown, watch the progress bar reach 100 % and open an
archived letter.

With ``CAMPAIGN_SCREENSHOTS=<folder>`` the last test also saves screenshots of the main
screens there (``docs/screenshots/`` in the README).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import insert, select

from core.clock import utcnow
from core.models import ArchivedDocument, Campaign, Contact, Role, Run, RunState, SavedQuery
from plugins.demo.address_book import load_demo
from plugins.demo.campaign import install_demo_campaign

from browser_helpers import RUN_TIMEOUT_MS

SCREENSHOTS = os.environ.get("CAMPAIGN_SCREENSHOTS")


def add_contacts(panel) -> None:
    people = [
        ("K-1", "Anna", "Anders", "Köln", "anna@gmx.de", "prospect"),
        ("K-2", "Bernd", "Böhm", "Bonn", "bernd@web.de", "prospect"),
        ("K-3", "Clara", "Cordes", "Bonn", "clara@gmx.de", "prospect"),
        ("K-4", "Dieter", "Dreßler", "Köln", "dieter@gmx.de", "customer"),
    ]
    rows = [
        {
            "number": number,
            "salutation": "Frau" if first in ("Anna", "Clara") else "Herr",
            "first_name": first,
            "last_name": last,
            "street": "Hauptstraße 1",
            "postcode": "50667" if city == "Köln" else "53111",
            "city": city,
            "email": email,
            "status": status,
            "attributes": {},
        }
        for number, first, last, city, email, status in people
    ]
    with panel.runtime.database.session() as session:
        session.execute(insert(Contact), rows)


def add_condition(block, field: str, type_: str | None = None):
    block.locator(':scope > .block-tools [data-add="condition"]').click()
    condition = block.locator(":scope > .block-body > .condition").last
    condition.locator(".field-select").select_option(field)
    if type_ is not None:
        condition.locator(".type-select").select_option(type_)
    return condition


def test_log_in_build_a_query_run_a_campaign_and_open_the_letter(live_panel, page_as):
    add_contacts(live_panel.panel)
    page = page_as(Role.CAMPAIGN_MANAGER)
    expect(page.locator("nav.nav")).to_contain_text("Kampagnen")

    # the query editor: status = prospect (shown as "Interessent")
    # AND (city = Köln OR e-mail ends with @web.de)
    page.goto(live_panel.url("/queries/new"))
    page.wait_for_selector("#query-builder[data-ready]")
    root = page.locator('[data-block="root"]')
    status = add_condition(root, "status")
    status.locator("label.chip", has_text="Interessent").locator("input").check()
    root.locator(':scope > .block-tools [data-add="block"]').click()
    either = root.locator(":scope > .block-body > .block").first
    expect(either.locator(":scope > .block-head .op-select")).to_have_value("or")
    add_condition(either, "city").locator(".value-input").fill("Köln")
    add_condition(either, "email", "ends_with").locator(".value-input").fill("@web.de")
    page.click("[data-preview]")
    expect(page.locator("[data-count]")).to_have_text("2")
    expect(page.locator(".preview tbody tr")).to_have_count(2)
    expect(page.locator(".sql")).to_contain_text("FROM contacts")

    # saved and handed to a new campaign as its dynamic data source
    page.fill("#name", "Interessenten Köln oder web.de")
    page.click('button[value="campaign_dynamic"]')
    page.wait_for_url(re.compile(r".*/campaigns/new\?saved_query_id=\d+"))
    page.select_option("#sf-act-report", "Informationsschreiben")
    page.fill("#name", "Informationskampagne")
    page.click('button[value="save"]')
    page.wait_for_url(re.compile(r".*/campaigns/\d+/setup"))
    expect(page.locator(".record-count")).to_contain_text("2")

    # start: the page follows the analysis, then shows what would be sent; nothing is sent
    page.click('button[name="mode"][value="start"]')
    page.wait_for_url(re.compile(r".*/campaigns/\d+/runs/\d+"))
    confirmation = page.locator("[data-confirmation]")
    expect(confirmation).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(confirmation.locator("[data-reached]")).to_have_text("2")
    expect(confirmation.locator("[data-channel]")).to_contain_text("Post")
    expect(confirmation.locator("[data-cost]")).to_contain_text("Keine Schätzung")
    expect(page.locator('.run-summary [data-state="awaiting_confirmation"]')).to_be_visible()
    with live_panel.panel.runtime.database.session() as session:
        assert session.scalar(select(Run)).done == 0
        assert session.scalars(select(ArchivedDocument)).all() == []

    # send to the two, and watch the progress bar until the run is done
    confirmation.get_by_role("button", name="An 2 Empfänger senden").click()
    expect(
        page.locator(".alert", has_text="Lauf #1 bestätigt: Versand an 2 Empfänger.")
    ).to_be_visible()
    expect(page.locator('.run-progress-large [data-field="percent"]')).to_have_text(
        "100 %", timeout=RUN_TIMEOUT_MS
    )
    expect(page.locator('.run-summary [data-state="completed"]')).to_be_visible()
    expect(page.locator('[data-field="done"]')).to_have_text("2")

    # the archived letter of a recipient, on its archive page
    link = page.locator("a[data-document]").first
    document = link.get_attribute("href")
    assert re.fullmatch(r"/archive/\d+", document)
    letter = page.request.get(live_panel.url(f"{document}/inline"))
    assert letter.status == 200
    assert letter.headers["content-type"] == "application/pdf"
    assert letter.body().startswith(b"%PDF")

    with live_panel.panel.runtime.database.session() as session:
        saved = session.scalar(select(SavedQuery))
        assert saved.definition["where"]["conditions"][1]["op"] == "or"
        run = session.scalar(select(Run))
        assert (run.state, run.done, run.started_by) == (RunState.COMPLETED, 2, "mia")
        assert len(session.scalars(select(ArchivedDocument)).all()) == 2


def test_the_seeds_example_leaves_out_blocked_and_opted_out_prospects(live_panel, page_as):
    """Query "prospects with an e-mail address" → campaign → print the information letter →
    Start: the blocked and the post opt-out get no letter, and the run says why."""
    people = [
        # number, name, status, flags
        ("K-1", "Anders", "prospect", {}),
        ("K-2", "Böhm", "prospect", {"dispatch_block": True}),
        ("K-3", "Cordes", "prospect", {"opt_out_post": True}),
        ("K-4", "Dreßler", "customer", {}),
        ("K-5", "Engel", "prospect", {"opt_out_email": True}),  # a letter is not an e-mail
    ]
    with live_panel.panel.runtime.database.session() as session:
        session.execute(
            insert(Contact),
            [
                {
                    "number": number,
                    "last_name": name,
                    "street": "Hauptstraße 1",
                    "postcode": "50667",
                    "city": "Köln",
                    "email": f"{number.lower()}@example.de",
                    "status": status,
                    "attributes": {},
                    "dispatch_block": False,
                    "opt_out_post": False,
                    "opt_out_email": False,
                }
                | flags
                for number, name, status, flags in people
            ],
        )
    page = page_as(Role.CAMPAIGN_MANAGER)
    page.goto(live_panel.url("/queries/new"))
    page.wait_for_selector("#query-builder[data-ready]")
    root = page.locator('[data-block="root"]')
    add_condition(root, "status").locator("label.chip", has_text="Interessent").locator(
        "input"
    ).check()
    add_condition(root, "email", "not_empty")
    page.click("[data-preview]")
    expect(page.locator("[data-count]")).to_have_text("4")
    page.fill("#name", "Interessenten mit E-Mail")
    page.click('button[value="campaign_dynamic"]')
    page.wait_for_url(re.compile(r".*/campaigns/new\?saved_query_id=\d+"))
    page.select_option("#sf-act-report", "Informationsschreiben")
    page.fill("#name", "Informationskampagne")
    page.click('button[value="save"]')
    page.wait_for_url(re.compile(r".*/campaigns/\d+/setup"))
    expect(page.locator("[data-service-communication]")).to_contain_text(
        "Versandsperre oder Widerspruch"
    )

    page.click('button[name="mode"][value="start"]')
    page.wait_for_url(re.compile(r".*/campaigns/\d+/runs/\d+"))
    confirmation = page.locator("[data-confirmation]")
    expect(confirmation).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(confirmation.locator("[data-reached]")).to_have_text("2")  # the skips are shown
    confirmation.get_by_role("button", name="An 2 Empfänger senden").click()
    expect(page.locator('.run-summary [data-state="completed"]')).to_be_visible(
        timeout=RUN_TIMEOUT_MS
    )
    expect(page.locator('[data-field="done"]')).to_have_text("2")
    expect(page.locator('[data-field="skipped"]')).to_have_text("2")
    expect(page.locator('[data-field="failed"]')).to_have_text("0")
    expect(page.locator("#skip-reasons")).to_contain_text("Versandsperre")
    expect(page.locator("#skip-reasons")).to_contain_text("Widerspruch Post")

    page.select_option("#item-status", "skipped")
    rows = page.locator("table.table tbody tr", has=page.locator(".item-skipped"))
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Böhm")).to_contain_text("Versandsperre")
    expect(rows.filter(has_text="Cordes")).to_contain_text("Widerspruch Post")
    expect(rows.locator("a[data-document]")).to_have_count(0)

    with live_panel.panel.runtime.database.session() as session:
        lettered = session.scalars(
            select(Contact.number)
            .join(ArchivedDocument, ArchivedDocument.contact_id == Contact.id)
            .order_by(Contact.number)
        ).all()
        assert lettered == ["K-1", "K-5"]


def test_the_builder_groups_the_result_with_aggregates_of_fitting_fields(live_panel, page_as):
    add_contacts(live_panel.panel)
    page = page_as(Role.VIEWER)
    page.goto(live_panel.url("/queries/new"))
    page.wait_for_selector("#query-builder[data-ready]")
    group = page.locator(".group")
    group.locator(":scope > .field-select").select_option("city")
    expect(group.locator(".chip")).to_contain_text(["Ort"])
    rows = group.locator(".aggregate-row")
    expect(rows).to_have_count(1)  # the first group field brings a count
    group.get_by_role("button", name="Kennzahl hinzufügen").click()
    rows.nth(1).locator("select").first.select_option("min")
    fields = rows.nth(1).locator(".field-select")
    expect(fields.locator('option[value="birth_date"]')).to_have_count(1)
    expect(fields.locator('option[value="last_name"]')).to_have_count(0)  # no text for min
    fields.select_option("birth_date")
    page.click("[data-preview]")
    expect(page.locator(".preview thead th")).to_have_text(
        ["Ort", "Anzahl", "Kleinster Wert von Geburtsdatum"]
    )
    expect(page.locator(".preview tbody tr")).to_have_text(["Bonn2", "Köln2"])
    expect(page.locator(".sql")).to_contain_text("GROUP BY")


def test_a_conditions_values_stay_clear_of_its_remove_button_on_a_laptop_screen(
    live_panel, page_as
):
    """Beside the save card on a 1280-pixel screen a condition's row is too narrow for its
    values: they move under the field, and a click on a choice ticks it instead of landing
    on the remove button."""
    page = page_as(Role.CAMPAIGN_MANAGER)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_panel.url("/queries/new"))
    page.wait_for_selector("#query-builder[data-ready]")
    root = page.locator('[data-block="root"]')
    add_condition(root, "status")
    add_condition(root, "city")
    conditions = root.locator(":scope > .block-body > .condition")
    status, city = conditions.nth(0), conditions.nth(1)
    for condition in (status, city):
        values = condition.locator(".values").bounding_box()
        remove = condition.locator(":scope > button").bounding_box()
        beside = values["x"] + values["width"] <= remove["x"]
        below = values["y"] >= remove["y"] + remove["height"]
        assert beside or below, (values, remove)
        assert values["width"] >= 150, values  # room for a value, not a sliver
    status.locator("label.chip", has_text="Kunde").locator("input").check()
    expect(conditions).to_have_count(2)


SHOWS_ITS_CHOICE = """select => {
    const style = getComputedStyle(select);
    const context = document.createElement("canvas").getContext("2d");
    context.font = style.font;
    const words = context.measureText(select.options[select.selectedIndex].text).width;
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    return words + padding + 16 <= select.clientWidth;  // 16: the arrow
}"""
"""Whether a select is wide enough for the words of its chosen option."""


@pytest.mark.parametrize("width", [1000, 1100, 1280])
def test_every_control_of_a_condition_is_visible_from_1000_pixels(live_panel, page_as, width):
    """A condition's field and type selects, its values and its remove button lie within
    its row and the window, the selects wide enough for their longest words ("ist
    kleiner/früher oder gleich"), also in a nested block; a nested block's remove button
    stays inside the block."""
    page = page_as(Role.CAMPAIGN_MANAGER)
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(live_panel.url("/queries/new"))
    page.wait_for_selector("#query-builder[data-ready]")
    root = page.locator('[data-block="root"]')
    add_condition(root, "status")
    add_condition(root, "created_at", "at_most")
    root.locator(':scope > .block-tools [data-add="block"]').click()
    nested = root.locator(":scope > .block-body > .block").last
    add_condition(nested, "city", "contains")
    add_condition(nested, "created_at", "at_least")
    conditions = page.locator(".condition")
    expect(conditions).to_have_count(4)

    def inside(box, outer) -> bool:
        return outer["x"] <= box["x"] and box["x"] + box["width"] <= outer["x"] + outer["width"]

    window = {"x": 0, "width": width}
    for index in range(4):
        condition = conditions.nth(index)
        row = condition.bounding_box()
        assert inside(row, window), (index, row)
        controls = condition.locator(":scope > select, :scope > button, .values > *")
        assert controls.count() >= 4
        for number in range(controls.count()):
            box = controls.nth(number).bounding_box()
            assert inside(box, row), (index, number, box, row)
        for chooser in (condition.locator(".field-select"), condition.locator(".type-select")):
            assert chooser.evaluate(SHOWS_ITS_CHOICE), (index, chooser.bounding_box())
    head = nested.locator(":scope > .block-head")
    for control in (head.locator("select"), head.locator("button")):
        assert inside(control.bounding_box(), nested.bounding_box())
    assert head.locator("select").evaluate(SHOWS_ITS_CHOICE)


@pytest.mark.parametrize("width", [1000, 1280])
def test_the_campaign_lists_filters_show_every_choice_whole(live_panel, page_as, width):
    """The sidebar's state and status filters are wide enough for their longest choices
    ("Alle Kampagnenstatus", "Mit Fehlern abgeschlossen")."""
    page = page_as(Role.CAMPAIGN_MANAGER)
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(live_panel.url("/campaigns/"))
    for name in ("#campaign-state", "#campaign-status"):
        chooser = page.locator(name)
        values = chooser.locator("option").evaluate_all("options => options.map(o => o.value)")
        for value in values:  # set without the change event, which would submit the filter
            chooser.evaluate("(select, value) => { select.value = value; }", value)
            assert chooser.evaluate(SHOWS_ITS_CHOICE), (name, value, chooser.bounding_box())


def test_discarding_an_analysis_asks_once_and_a_no_keeps_it(live_panel, page_as):
    """The run page loads both the panel's confirm.js and campaign_screen.js: each asked, so
    "Abbrechen" was followed by the same question again."""
    panel = live_panel.panel
    with panel.runtime.database.session() as session:
        load_demo(session, contacts=20)
        install_demo_campaign(session, panel.runtime.plugins, utcnow())
        demo_id = session.scalar(select(Campaign.id).where(Campaign.name == "Informationskampagne"))
    page = page_as(Role.CAMPAIGN_MANAGER)
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.goto(live_panel.url(f"/campaigns/{demo_id}/setup"))
    page.click('button[name="mode"][value="start"]')
    page.wait_for_url(re.compile(r".*/runs/\d+"))
    confirmation = page.locator("[data-confirmation]")
    expect(confirmation).to_be_visible(timeout=RUN_TIMEOUT_MS)

    confirmation.get_by_role("button", name="Verwerfen").click()

    expect(page.locator('.run-summary [data-state="awaiting_confirmation"]')).to_be_visible()
    assert questions == ["Diese Auswertung verwerfen? Es wird nichts gesendet."]


def test_without_javascript_the_campaign_form_still_works(live_panel, page_as):
    """Buttons redraw the form on the server; the JSON of a query is edited as text."""
    add_contacts(live_panel.panel)
    page = page_as(Role.CAMPAIGN_MANAGER, java_script_enabled=False)
    page.goto(live_panel.url("/campaigns/new"))
    page.select_option("#new_filter", "consent")
    page.click('button[value="add_filter"]')
    expect(page.locator(".filter-card")).to_have_count(1)
    page.select_option("#sf-ds-saved_query_id", "")
    page.fill("#sf-ds-definition", '{"root": "contacts"}')
    page.select_option("#sf-act-report", "Einladung")
    page.click('button[value="save"]')
    page.wait_for_url(re.compile(r".*/campaigns/\d+/setup"))
    with live_panel.panel.runtime.database.session() as session:
        campaign = session.scalar(select(Campaign))
    assert campaign.filters == [{"name": "consent", "settings": {"channel": "action"}}]
    assert campaign.action_settings["report"] == "Einladung"


@pytest.mark.skipif(not SCREENSHOTS, reason="set CAMPAIGN_SCREENSHOTS=<folder> to take them")
def test_screenshots_of_the_main_screens(live_panel, page_as, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("one set of screenshots is enough")
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    panel = live_panel.panel
    with panel.runtime.database.session() as session:
        load_demo(session, contacts=400)
        install_demo_campaign(session, panel.runtime.plugins, utcnow())
        demo = session.scalar(select(Campaign).where(Campaign.name == "Informationskampagne"))
        demo_id = demo.id
        saved = session.scalar(select(SavedQuery))
        saved.definition = {
            **saved.definition,
            "where": {
                "op": "and",
                "conditions": [
                    *saved.definition["where"]["conditions"],
                    {
                        "op": "or",
                        "conditions": [
                            {"field": "city", "type": "equals", "values": ["Köln", "Bonn"]},
                            {
                                "field": "partner.name",
                                "type": "contains",
                                "values": ["Versicherung"],
                            },
                        ],
                    },
                ],
            },
        }
        saved_id = saved.id
        for name in ("Einladung Kundenabend", "Jubiläum 2026", "Tarifwechsel Hausrat"):
            session.add(
                Campaign(
                    name=name,
                    datasource="static",
                    action="print_reports",
                    datasource_settings={"entity": "contacts"},
                    action_settings={"report": "Einladung"},
                    created_by="mia",
                )
            )
    page = page_as(Role.CAMPAIGN_MANAGER)
    page.goto(live_panel.url(f"/campaigns/{demo_id}"))
    page.screenshot(path=folder / "campaigns-general.png")
    page.set_viewport_size({"width": 1440, "height": 2700})  # the sticky save bar at the end
    page.goto(live_panel.url(f"/campaigns/{demo_id}/setup"))
    page.screenshot(path=folder / "campaigns-setup.png", full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(live_panel.url(f"/campaigns/{demo_id}/setup"))
    page.click('button[name="mode"][value="start"]')
    page.wait_for_url(re.compile(r".*/runs/\d+"))
    expect(page.locator("[data-confirmation]")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    page.screenshot(path=folder / "run-confirmation.png")
    page.locator("[data-confirmation] .button-primary").click()
    page.wait_for_timeout(2500)
    page.screenshot(path=folder / "run-progress.png")
    expect(page.locator('.run-progress-large [data-field="percent"]')).to_have_text(
        "100 %", timeout=RUN_TIMEOUT_MS
    )
    page.screenshot(path=folder / "run-results.png", full_page=True)
    page.goto(live_panel.url(f"/campaigns/{demo_id}/runs"))
    page.screenshot(path=folder / "campaigns-runs.png")
    page.goto(live_panel.url(f"/queries/{saved_id}"))
    page.wait_for_selector("#query-builder[data-ready]")
    page.screenshot(path=folder / "query-editor.png", full_page=True)
