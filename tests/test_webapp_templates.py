"""Campaign templates through the Flask test client, on SQLite and PostgreSQL: the list with
each schedule in words, the form with its messages next to the field, a template's schedule
lines and what a campaign manager decides about them (approve, let start, skip), deleting,
and who may change what."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.models import Campaign, Role, User
from plugins.processes.models import (
    CampaignTemplate,
    Frequency,
    OccurrenceState,
    TemplateKind,
    TemplateOccurrence,
)

from panel_helpers import body, field_errors, post
from process_helpers import run_pass
from process_panel_helpers import add_campaign, audit_actions, audit_summaries, user_id, world

FIRST = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
"""01.02.2027 09:00 in German time."""


def add_template(panel, name: str = "Newsletter", **fields) -> int:
    campaign_id = fields.pop("campaign_id", None) or add_campaign(panel, f"{name} (Muster)")
    values = {
        "kind": TemplateKind.RECURRING,
        "frequency": Frequency.WEEKLY,
        "every": 2,
        "first_at": FIRST,
    } | fields
    with panel.runtime.database.session() as session:
        template = CampaignTemplate(name=name, campaign_id=campaign_id, **values)
        session.add(template)
        session.flush()
        return template.id


def add_line(panel, template_id: int, number: int, **fields) -> int:
    with panel.runtime.database.session() as session:
        template = session.get(CampaignTemplate, template_id)
        planned = FIRST + timedelta(weeks=2 * (number - 1))
        line = TemplateOccurrence.for_template(template, number, planned)
        for key, value in fields.items():
            setattr(line, key, value)
        session.add(line)
        session.flush()
        return line.id


def line_row(html: str, line_id: int) -> str:
    return html[html.index(f'id="line-{line_id}"') :].split("</tr>")[0]


def flashed(client, response) -> str:
    return body(client.get(response.headers["Location"]))


def test_the_list_shows_each_template_with_its_schedule_in_words_and_next_line(panel):
    world(panel)
    recurring = add_template(
        panel, "Newsletter", until=datetime(2027, 6, 30, 8, 0, tzinfo=UTC), to_be_approved=True
    )
    add_line(panel, recurring, 1, state=OccurrenceState.STARTED)
    add_line(panel, recurring, 2)
    add_template(panel, "Briefvorlage", kind=TemplateKind.UNIQUE, frequency=None, first_at=None)
    add_template(panel, "Quartalsbrief", kind=TemplateKind.PERIODIC, frequency=Frequency.MONTHLY,
                 every=3, active=False)  # fmt: skip
    monthly = add_template(panel, "Monatsinfo", frequency=Frequency.MONTHLY, every=1)
    add_line(panel, monthly, 1, state=OccurrenceState.SKIPPED)
    viewer = panel.client(Role.VIEWER)
    assert 'href="/templates/"' in body(viewer.get("/"))  # the menu entry
    html = body(viewer.get("/templates/"))
    assert "<h1>Kampagnenvorlagen</h1>" in html
    assert "Neue Vorlage" not in html  # a viewer creates nothing
    rows = {
        name: html[html.index(f">{name}</a>") :].split("</tr>")[0]
        for name in ("Newsletter", "Briefvorlage", "Quartalsbrief", "Monatsinfo")
    }
    newsletter = rows["Newsletter"]
    assert "wiederkehrend" in newsletter and "Newsletter (Muster)</a>" in newsletter
    assert "alle 2 Wochen ab 01.02.2027 09:00, bis 30.06.2027 10:00" in newsletter
    assert "Newsletter #2 · 15.02.2027 09:00" in newsletter  # the planned line, not #1
    assert "einmalig" in rows["Briefvorlage"] and "kein Zeitplan" in rows["Briefvorlage"]
    quarterly = rows["Quartalsbrief"]
    assert "periodisch" in quarterly and "alle 3 Monate ab 01.02.2027 09:00" in quarterly
    assert 'data-active="false">nein' in quarterly
    assert "01.03.2027 09:00 (noch ohne Terminzeile)" in rows["Monatsinfo"]  # after #1
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "viola")).language = "en"
    html = body(viewer.get("/templates/"))
    assert "every 2 weeks from 1 Feb 2027, 09:00, up to 30 Jun 2027, 10:00" in html


def test_a_template_is_created_after_its_problems_are_named_then_edited(panel):
    ids = world(panel)
    model = add_campaign(panel, "Infobrief")
    taken = add_campaign(panel, "Jahresbrief")
    add_template(panel, "Jahresbrief", campaign_id=taken)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    form = body(manager.get("/templates/new"))
    assert 'type="datetime-local"' in form and "Schon angelegte Zeilen bleiben" in form
    bad = post(
        manager,
        "/templates/new",
        {
            "name": "Jahresbrief",
            "kind": "recurring",
            "campaign_id": str(taken),
            "every": "0",
            "create_in_advance_days": "-1",
            "until": "2027-01-01T09:00",
        },
    )
    assert bad.status_code == 422
    html = body(bad)
    assert field_errors(html, "name") == ["Dieser Name ist bereits vergeben."]
    assert field_errors(html, "campaign_id") == [
        "Die Kampagne ist schon Muster der Vorlage „Jahresbrief“; eine Kampagne ist Muster "
        "höchstens einer Vorlage."
    ]
    assert field_errors(html, "frequency") == [
        "Eine wiederkehrende oder periodische Vorlage braucht einen Rhythmus."
    ]
    assert field_errors(html, "first_at") == [
        "Eine wiederkehrende oder periodische Vorlage braucht einen ersten Termin."
    ]
    assert field_errors(html, "every") == ["Mindestens 1."]
    assert field_errors(html, "create_in_advance_days") == ["Mindestens 0."]
    garbage = post(
        manager,
        "/templates/new",
        {
            "name": "Infobrief",
            "kind": "weekly",
            "campaign_id": "abc",
            "program_id": str(10**12),
            "frequency": "hourly",
            "every": "zwei",
            "first_at": "morgen",
            "create_in_advance_days": "9999999999",
        },
    )
    assert garbage.status_code == 422  # nothing the browser could send gives a 500
    html = body(garbage)
    assert [
        field_errors(html, name)
        for name in (
            "kind",
            "campaign_id",
            "frequency",
            "every",
            "first_at",
            "create_in_advance_days",
        )
    ] == [
        ["„weekly“ steht nicht zur Auswahl."],
        ["„abc“ steht nicht zur Auswahl."],
        ["„hourly“ steht nicht zur Auswahl."],
        ["„zwei“ ist keine ganze Zahl."],
        ["„morgen“ ist kein Zeitpunkt."],
        ["Der Wert ist zu groß."],
    ]
    upside_down = post(
        manager,
        "/templates/new",
        {
            "name": "Infobrief",
            "kind": "recurring",
            "campaign_id": str(model),
            "program_id": str(ids.program_id),
            "frequency": "weekly",
            "every": "2",
            "first_at": "2027-02-01T09:00",
            "until": "2027-01-31T09:00",
            "create_in_advance_days": "7",
        },
    )
    html = body(upside_down)
    assert field_errors(html, "until") and field_errors(html, "program_id") == [
        "Nur eine periodische Vorlage legt Kampagnen in einem Programm an; lassen Sie das Feld "
        "leer."
    ]
    created = post(
        manager,
        "/templates/new",
        {
            "name": "Infobrief",
            "description": "Alle zwei Wochen",
            "kind": "recurring",
            "campaign_id": str(model),
            "frequency": "weekly",
            "every": "2",
            "first_at": "2027-02-01T09:00",
            "until": "2027-06-30T09:00",
            "create_in_advance_days": "7",
            "to_be_approved": "true",
            "active": "true",
        },
    )
    assert created.status_code == 302
    page = flashed(manager, created)
    assert "Vorlage „Infobrief“ angelegt." in page
    assert "alle 2 Wochen ab 01.02.2027 09:00, bis 30.06.2027 09:00" in page
    with panel.runtime.database.session() as session:
        template = session.scalar(
            select(CampaignTemplate).where(CampaignTemplate.name == "Infobrief")
        )
        assert (template.first_at, template.every, template.create_in_advance_days) == (FIRST, 2, 7)
        assert (template.to_be_approved, template.to_be_started, template.active) == (
            True,
            False,
            True,
        )
        template_id = template.id
    line_id = add_line(panel, template_id, 1)
    edit = f"/templates/{template_id}/edit"
    form = body(manager.get(edit))
    assert 'value="2027-02-01T09:00"' in form and "ihre Art bleibt" in form
    kind_changed = post(
        manager,
        edit,
        {"name": "Infobrief", "kind": "periodic", "campaign_id": str(model),
         "frequency": "monthly", "every": "1", "first_at": "2027-03-01T09:00",
         "create_in_advance_days": "7"},
    )  # fmt: skip
    assert field_errors(body(kind_changed), "kind") == [
        "Die Art lässt sich nicht mehr ändern: Die Vorlage hat schon Terminzeilen."
    ]
    saved = post(
        manager,
        edit,
        {"name": "Infobrief", "kind": "recurring", "campaign_id": str(model),
         "frequency": "monthly", "every": "1", "first_at": "2027-03-01T09:00",
         "create_in_advance_days": "7", "to_be_started": "true", "active": "true"},
    )  # fmt: skip
    assert saved.status_code == 302
    page = flashed(manager, saved)
    assert "Vorlage „Infobrief“ gespeichert." in page and "monatlich ab 01.03.2027 09:00" in page
    with panel.runtime.database.session() as session:
        line = session.get(TemplateOccurrence, line_id)  # the line created before stays as it was
        assert (line.planned_at, line.to_be_approved) == (FIRST, True)
        assert session.get(CampaignTemplate, template_id).until is None
    assert audit_actions(panel)[:2] == ["campaign_template.update", "campaign_template.create"]


def test_a_manager_approves_lets_start_and_skips_lines_and_is_told_when_a_line_cannot(panel):
    world(panel)
    template_id = add_template(panel, "Newsletter", to_be_approved=True, to_be_started=False)
    started = add_line(panel, template_id, 1, state=OccurrenceState.STARTED)
    waiting = add_line(panel, template_id, 2)
    later = add_line(panel, template_id, 3)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    page = f"/templates/{template_id}"
    html = body(manager.get(page))
    assert "sendet erst, wenn eine Person die Empfängerzahl" in html
    row = line_row(html, waiting)
    assert "geplant" in row and "ausstehend" in row
    assert "Freigeben" in row and "Starten lassen" in row and "Überspringen" in row
    assert "Freigeben" not in line_row(html, started)

    approved = post(manager, f"/templates/lines/{waiting}/approve")
    html = flashed(manager, approved)
    assert "„Newsletter #2“ freigegeben." in html
    assert "mia, " in line_row(html, waiting) and "Freigeben" not in line_row(html, waiting)
    with panel.runtime.database.session() as session:
        line = session.get(TemplateOccurrence, waiting)
        assert line.approved_by_id == user_id(panel, Role.CAMPAIGN_MANAGER)
        assert line.approved_at is not None
    again = flashed(manager, post(manager, f"/templates/lines/{waiting}/approve"))
    assert re.search(r"„Newsletter #2“ wurde schon von mia am [^<]+ freigegeben\.", again)

    let_start = flashed(manager, post(manager, f"/templates/lines/{waiting}/start"))
    assert "„Newsletter #2“ startet zu ihrem Termin am 15.02.2027 09:00." in let_start
    again = flashed(manager, post(manager, f"/templates/lines/{waiting}/start"))
    assert "„Newsletter #2“ startet schon von selbst." in again

    refused = flashed(manager, post(manager, f"/templates/lines/{started}/skip"))
    assert "„Newsletter #1“ ist gestartet, nicht mehr geplant; nichts wurde geändert." in refused
    skipped = flashed(manager, post(manager, f"/templates/lines/{waiting}/skip"))
    assert "„Newsletter #2“ übersprungen." in skipped
    assert 'data-state="skipped">übersprungen' in line_row(skipped, waiting)
    again = flashed(manager, post(manager, f"/templates/lines/{waiting}/approve"))
    assert "ist übersprungen, nicht mehr geplant" in again

    not_approved = flashed(manager, post(manager, f"/templates/lines/{later}/start"))
    assert "„Newsletter #3“ startet, sobald sie freigegeben ist." in not_approved
    due = add_line(
        panel, template_id, 4,
        planned_at=panel.runtime.clock.now() - timedelta(hours=1), to_be_approved=False,
    )  # fmt: skip
    due_now = flashed(manager, post(manager, f"/templates/lines/{due}/start"))
    assert "„Newsletter #4“ startet beim nächsten Durchlauf der Kampagnen-Jobs." in due_now

    assert audit_actions(panel) == [
        "schedule_line.start",
        "schedule_line.start",
        "schedule_line.skip",
        "schedule_line.start",
        "schedule_line.approve",
    ]
    assert audit_summaries(panel, "de") == [
        "Newsletter #4: soll starten",
        "Newsletter #3: soll starten",
        "Newsletter #2: übersprungen",
        "Newsletter #2: soll starten",
        "Newsletter #2: freigegeben",
    ]
    assert audit_summaries(panel, "en")[4] == "Newsletter #2: approved"


def test_a_line_of_an_inactive_template_is_not_let_start_and_needs_no_approval_twice(panel):
    world(panel)
    template_id = add_template(panel, "Newsletter", to_be_started=False, active=False)
    line_id = add_line(panel, template_id, 1)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    html = flashed(manager, post(manager, f"/templates/lines/{line_id}/start"))
    assert "Die Vorlage ist nicht aktiv. Aktivieren Sie sie zuerst." in html
    html = flashed(manager, post(manager, f"/templates/lines/{line_id}/approve"))
    assert "„Newsletter #1“ braucht keine Freigabe." in html
    with panel.runtime.database.session() as session:
        line = session.get(TemplateOccurrence, line_id)
        assert (line.to_be_started, line.approved_at) == (False, None)
    assert audit_actions(panel) == []


def test_a_viewer_sees_the_lines_but_changes_nothing(panel):
    world(panel)
    template_id = add_template(panel, "Newsletter", to_be_approved=True, to_be_started=False)
    line_id = add_line(panel, template_id, 1)
    viewer = panel.client(Role.VIEWER)
    html = body(viewer.get(f"/templates/{template_id}"))
    assert "Newsletter #1" in html
    assert "Freigeben" not in html and "Vorlage bearbeiten" not in html
    assert viewer.get("/templates/new").status_code == 403
    for path in (
        "/templates/new",
        f"/templates/{template_id}/edit",
        f"/templates/{template_id}/delete",
        f"/templates/lines/{line_id}/approve",
        f"/templates/lines/{line_id}/start",
        f"/templates/lines/{line_id}/skip",
    ):
        assert post(viewer, path, {"name": "X"}).status_code == 403, path
    assert panel.client().get("/templates/999999").status_code == 404
    assert post(panel.client(), "/templates/lines/999999/skip").status_code == 404


def test_a_template_is_deleted_only_while_none_of_its_lines_started(panel):
    world(panel)
    model = add_campaign(panel, "Quartalsbrief")
    periodic = add_template(
        panel, "Quartalsbrief", campaign_id=model, kind=TemplateKind.PERIODIC,
        frequency=Frequency.MONTHLY, every=3,
        first_at=panel.runtime.clock.now() - timedelta(hours=1),
    )  # fmt: skip
    planned_only = add_template(panel, "Newsletter")
    add_line(panel, planned_only, 1)
    assert "1 periodic campaign created" in run_pass("operationMgt")
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    html = body(manager.get(f"/templates/{periodic}"))
    assert ">Quartalsbrief #1</a>" in html  # the campaign the line created
    assert 'data-state="started">gestartet' in html
    assert "Löschen" not in html.split('id="lines"')[0]
    refused = post(manager, f"/templates/{periodic}/delete")
    assert refused.headers["Location"].endswith(f"/templates/{periodic}")
    assert (
        "Vorlage „Quartalsbrief“ nicht gelöscht: Eine ihrer Terminzeilen ist schon gestartet."
        in flashed(manager, refused)
    )
    page = body(manager.get(f"/templates/{planned_only}"))
    assert 'data-confirm="Vorlage „Newsletter“ mit ihren Terminzeilen löschen?"' in page
    deleted = post(manager, f"/templates/{planned_only}/delete")
    assert "Vorlage „Newsletter“ gelöscht." in flashed(manager, deleted)
    with panel.runtime.database.session() as session:
        assert session.scalars(select(CampaignTemplate.name)).all() == ["Quartalsbrief"]
        assert session.scalar(select(TemplateOccurrence.label)) == "Quartalsbrief #1"
        assert session.scalar(select(Campaign.id).where(Campaign.name == "Quartalsbrief #1"))
    assert audit_actions(panel)[0] == "campaign_template.delete"
