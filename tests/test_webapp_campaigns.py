"""The campaign screen through the Flask test client: list, tabs, configuration form, start,
runs with their results, files and archived letters, static data, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from redis import Redis
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session

from core import DataSource, Recipient, hookimpl
from core.audit import audit_query
from core.clock import clock
from core.engine.campaigns import CampaignConfig, create_campaign
from core.engine.leases import chunk_job_id
from core.engine.runs import cancel_run, start_run
from core.jobs import embedded_redis
from core.jobs.queue import BULK, get_queue
from core.models import (
    ArchivedDocument,
    ArchiveDeletion,
    AuditEntry,
    Campaign,
    CampaignRecord,
    ChunkLease,
    Contact,
    HourlyClaim,
    ItemStatus,
    Role,
    Run,
    RunItem,
    RunState,
    SavedQuery,
    User,
)
from core.runtime import Runtime
from webapp import get_campaign

from panel_helpers import (
    add_role_users,
    body,
    build_panel,
    client_for,
    field_errors,
    input_value,
    open_panel,
    panel_plugins,
    post,
)

PRINT = {"report": "Informationsschreiben"}


BERLIN = ZoneInfo("Europe/Berlin")
DASH = "\N{EN DASH}"


def add_people(panel, count: int, **overrides) -> list[int]:
    rows = [
        {
            "number": f"K-{n:05d}",
            "salutation": "Frau" if n % 2 else "Herr",
            "first_name": "Jürgen" if n % 2 == 0 else "Änne",
            "last_name": f"Weiß{n}",
            "street": f"Große Straße {n}",
            "postcode": f"{50600 + n}",
            "city": "Köln" if n % 3 else "Bonn",
            "email": f"p{n}@example.de",
            "status": "prospect",
            "attributes": {},
        }
        | overrides
        for n in range(1, count + 1)
    ]
    with panel.runtime.database.session() as session:
        return list(session.scalars(insert(Contact).returning(Contact.id), rows))


def make_campaign(panel, name="Informationskampagne", **config) -> int:
    values = {
        "datasource": "query",
        "datasource_settings": {"definition": {"root": "contacts"}},
        "action": "print_reports",
        "action_settings": PRINT,
    } | config
    with panel.runtime.database.session() as session:
        return create_campaign(
            session,
            panel.runtime.plugins,
            CampaignConfig(**values),
            panel.runtime.clock.now(),
            name=name,
        ).id


def campaign_form(**overrides) -> dict:
    """The Campaign tab's form as a browser sends it for an individual query and print."""
    return {
        "datasource": "query",
        "ds.__plugin": "query",
        "ds.definition": json.dumps({"root": "contacts"}),
        "ds.entity": "contacts",
        "filter_count": "0",
        "action": "print_reports",
        "act.__plugin": "print_reports",
        "act.report": "Informationsschreiben",
        "act.archive": "true",
        "act.store": "filesystem",
        "intent": "save",
        **overrides,
    }


def stored(panel, campaign_id: int) -> Campaign:
    with panel.runtime.database.session() as session:
        campaign = session.get(Campaign, campaign_id)
        session.expunge(campaign)
        return campaign


def start_and_confirm(panel, client, campaign_id: int) -> int:
    """Start from the Campaign tab, let a worker analyse, send the count shown, work it off."""
    post(client, f"/campaigns/{campaign_id}/start", {"mode": "start"})
    panel.work()
    with panel.runtime.database.session() as session:
        run_id = session.scalar(select(Run.id).order_by(Run.id.desc()).limit(1))
    base = f"/campaigns/{campaign_id}/runs/{run_id}"
    count = re.search(r'name="count" value="(\d+)"', body(client.get(base))).group(1)
    assert post(client, f"{base}/confirm", {"count": count}).status_code == 302
    panel.work()
    return run_id


def audit_actions(panel) -> list[str]:
    with panel.runtime.database.session() as session:
        return [entry.action for entry in session.scalars(audit_query())]


# -- the list -------------------------------------------------------------------------------------


def test_the_list_searches_filters_by_status_and_pages(panel):
    for number in range(30):
        make_campaign(panel, name=f"Frühjahr {number:02d}")
    done = make_campaign(panel, name="Sommerfest")
    with panel.runtime.database.session() as session:
        session.add(Run(campaign_id=done, number=1, state=RunState.COMPLETED, config={}))
    client = panel.client(Role.VIEWER)

    first = body(client.get("/campaigns/"))
    assert first.count('class="campaign-item"') == 25
    assert "1 bis 25 von 31" in first
    assert "Frühjahr 25" in body(client.get("/campaigns/?lp=2"))

    found = body(client.get("/campaigns/?q=SOMMER"))
    assert "Sommerfest" in found and "Frühjahr" not in found
    completed = body(client.get("/campaigns/?status=completed"))
    assert "Sommerfest" in completed and "Frühjahr" not in completed
    never = body(client.get("/campaigns/?status=never"))
    assert "Sommerfest" not in never and "Frühjahr 00" in never


def test_the_list_shows_each_campaigns_state_and_filters_by_it(panel):
    from core.models import Campaign, CampaignStatus, User

    make_campaign(panel, name="Frühjahr")
    cancelled = make_campaign(panel, name="Herbst")
    with panel.runtime.database.session() as session:
        session.get(Campaign, cancelled).status = CampaignStatus.CANCELLED
    client = panel.client(Role.VIEWER)

    html = body(client.get("/campaigns/"))
    assert 'data-campaign-state="editing">In Bearbeitung</span>' in html
    assert 'data-campaign-state="cancelled">Abgebrochen</span>' in html
    only = body(client.get("/campaigns/?state=cancelled"))
    assert "Herbst" in only and "Frühjahr" not in only
    assert f'href="/campaigns/{cancelled}?state=cancelled"' in only  # kept on every link
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "rita")).language = "en"
    english = body(panel.client(Role.REVIEWER).get("/campaigns/"))
    assert ">Being edited</span>" in english and ">Cancelled</span>" in english


def test_tabs_keep_the_lists_search(panel):
    campaign_id = make_campaign(panel)
    html = body(panel.client(Role.VIEWER).get(f"/campaigns/{campaign_id}?q=Info&lp=1"))
    assert f'href="/campaigns/{campaign_id}/runs?q=Info&amp;lp=1"' in html
    assert "Letzte Ausführung" in html and "Noch nie ausgeführt" in html


# -- general tab, new, copy, delete ---------------------------------------------------------------


def test_the_general_tab_saves_name_and_description_and_names_a_clash(panel):
    first = make_campaign(panel, name="Erste")
    make_campaign(panel, name="Zweite")
    client = panel.client()
    clash = {"name": "Zweite", "description": "x"}
    response = post(client, f"/campaigns/{first}", clash)
    assert response.status_code == 422
    assert field_errors(body(response), "name") == ["Eine Kampagne namens „Zweite“ gibt es schon."]
    assert stored(panel, first).name == "Erste"
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    english = body(post(client, f"/campaigns/{first}", clash))
    assert field_errors(english, "name") == ["a campaign named &#39;Zweite&#39; already exists"]

    response = post(client, f"/campaigns/{first}", {"name": "Neu", "description": "Für alle"})
    assert response.status_code == 302
    assert (stored(panel, first).name, stored(panel, first).description) == ("Neu", "Für alle")
    assert "campaign.update" in audit_actions(panel)


def test_a_name_taken_by_someone_else_in_the_same_moment_is_a_conflict_not_a_500(panel):
    """The form's own check passes, and another request commits the same name before this
    one does: the database refuses the second, which gets the panel's conflict page."""
    first = make_campaign(panel, name="Erste")
    clashes: list[int] = []

    def take_the_name_first(session: Session, *_flush) -> None:
        renamed = [c for c in session.dirty if isinstance(c, Campaign) and c.name == "Zweite"]
        if renamed and not clashes:
            clashes.append(make_campaign(panel, name="Zweite"))

    rename = {"name": "Zweite", "description": ""}
    event.listen(Session, "before_flush", take_the_name_first)
    try:
        response = post(panel.client(), f"/campaigns/{first}", rename)
    finally:
        event.remove(Session, "before_flush", take_the_name_first)
    assert clashes and response.status_code == 409
    page = body(response)
    assert "Gleichzeitig geändert" in page and "nicht gespeichert" in page
    assert stored(panel, first).name == "Erste"


def test_a_saved_query_in_the_link_that_no_row_can_be_opens_an_empty_new_campaign(panel):
    client = panel.client()
    for saved_id in ("2147483648", "99999999999999999999", "zwei"):
        response = client.get("/campaigns/new", query_string={"saved_query_id": saved_id})
        assert response.status_code == 200, saved_id


def test_a_new_campaign_gets_a_generated_name_and_shows_errors_next_to_the_field(panel):
    client = panel.client()
    page = body(client.get("/campaigns/new"))
    assert re.fullmatch(r"Kampagne \d{4}-\d{2}-\d{2} #1", input_value(page, "name"))

    form = campaign_form(name="Kampagne A")
    del form["act.report"]
    response = post(client, "/campaigns/new", form)
    assert response.status_code == 422
    assert field_errors(body(response), "act.report") == ["Bitte ausfüllen."]
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0

    response = post(client, "/campaigns/new", campaign_form(name="Kampagne A"))
    assert response.status_code == 302
    with panel.runtime.database.session() as session:
        campaign = session.scalar(select(Campaign))
        assert (campaign.name, campaign.action, campaign.created_by) == (
            "Kampagne A",
            "print_reports",
            "mia",
        )
        assert campaign.action_settings["report"] == "Informationsschreiben"
    assert "campaign.create" in audit_actions(panel)


def test_a_bad_new_campaign_form_is_refused_at_its_fields_and_stores_nothing(panel):
    client = panel.client()
    long_name = post(client, "/campaigns/new", campaign_form(name="x" * 201))
    assert long_name.status_code == 422
    assert field_errors(body(long_name), "name") == ["Höchstens 200 Zeichen."]
    long_text = post(client, "/campaigns/new", campaign_form(description="x" * 5001))
    assert field_errors(body(long_text), "description") == ["Höchstens 5000 Zeichen."]
    bad_freeze = post(client, "/campaigns/new", campaign_form(name="B", freeze="{nicht json"))
    assert bad_freeze.status_code == 422
    assert (
        "kein gültiges JSON: Schlüssel in doppelten Anführungszeichen erwartet (Zeile 1, Spalte 2)"
        in body(bad_freeze)
    )
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0
    post(client, "/campaigns/new", campaign_form(name="Kampagne A"))
    taken = post(client, "/campaigns/new", campaign_form(name="Kampagne A"))
    assert taken.status_code == 422
    assert field_errors(body(taken), "name") == ["Eine Kampagne namens „Kampagne A“ gibt es schon."]
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 1
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    english = body(post(panel.client(), "/campaigns/new", campaign_form(freeze="{nicht json")))
    assert (
        "Invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
        in english
    )


def test_a_query_from_the_query_editor_that_does_not_compile_is_refused_in_the_users_language(
    panel,
):
    definition = {"root": "contacts", "where": {"conditions": [{"field": "ort", "type": "equals"}]}}
    form = {"intent": "from_query_static", "definition": json.dumps(definition)}
    html = body(post(panel.client(), "/campaigns/new", form))
    assert (
        "Die Abfrage ist ungültig: where.conditions[0].values: equals braucht mindestens 1 Wert"
        in html
    )
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    english = body(post(panel.client(), "/campaigns/new", form))
    assert "The query is invalid: where.conditions[0].values: equals needs at least 1 value" in (
        english
    )


def test_a_query_from_the_query_editor_that_is_not_json_is_refused_in_the_users_language(panel):
    form = {"intent": "from_query_static", "definition": '{"root": "contacts" "output": []}'}
    html = body(post(panel.client(), "/campaigns/new", form))
    assert "Die Abfrage ist ungültig: kein gültiges JSON: Komma erwartet (Zeile 1, Spalte 21)" in (
        html
    )
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    english = unescape(body(post(panel.client(), "/campaigns/new", form)))
    assert (
        "The query is invalid: Invalid JSON: Expecting ',' delimiter: line 1 column 21 (char 20)"
        in english
    )


def test_a_setting_typed_as_json_that_does_not_parse_is_explained_at_its_field(panel):
    """The individual query's definition, a settings field edited as JSON text."""
    form = campaign_form(name="B", **{"ds.definition": '{"root": "contacts", "where": {]}'})
    refused = post(panel.client(), "/campaigns/new", form)
    assert refused.status_code == 422
    assert field_errors(body(refused), "ds.definition") == [
        "kein gültiges JSON: Schlüssel in doppelten Anführungszeichen erwartet (Zeile 1, Spalte 32)"
    ]
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    english = body(post(panel.client(), "/campaigns/new", form))
    assert field_errors(english, "ds.definition") == [
        "not valid JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 32 (char 31)"
    ]


def test_copy_and_delete_with_confirmation(panel):
    campaign_id = make_campaign(panel)
    client = panel.client()
    response = post(client, f"/campaigns/{campaign_id}/copy")
    assert response.status_code == 302
    with panel.runtime.database.session() as session:
        names = sorted(session.scalars(select(Campaign.name)))
    assert names == ["Informationskampagne", "Informationskampagne (Kopie)"]

    confirm = body(client.get(f"/campaigns/{campaign_id}/delete"))
    assert "Endgültig löschen" in confirm
    assert post(client, f"/campaigns/{campaign_id}/delete").status_code == 302
    with panel.runtime.database.session() as session:
        assert session.get(Campaign, campaign_id) is None
    assert "campaign.delete" in audit_actions(panel)


def test_a_campaign_with_an_active_run_is_not_deleted(panel):
    add_people(panel, 2)
    campaign_id = make_campaign(panel)
    run = start_run(panel.runtime, campaign_id, confirmed_by="test")
    client = panel.client()
    assert f"Lauf #{run.number} ist noch aktiv" in body(
        client.get(f"/campaigns/{campaign_id}/delete")
    )
    response = post(client, f"/campaigns/{campaign_id}/delete")
    assert response.status_code == 302
    assert stored(panel, campaign_id) is not None
    assert "ist noch aktiv" in body(client.get(response.location))


# -- the Campaign tab -----------------------------------------------------------------------------


def test_a_sampling_filters_help_names_its_modes_as_the_list_offers_them(panel):
    """The help below the mode list and the sort says "Zufallsstichprobe", as the list does,
    never the stored codes ("random, top oder percentage")."""
    for name in ("limit", "control_group"):
        form = campaign_form(intent="add_filter", new_filter=name)
        html = unescape(body(post(panel.client(), "/campaigns/new", form)))
        mode_help = html.split('id="sf-f0-mode-help">')[1].split("</p>")[0]
        assert mode_help.startswith("Zufallsstichprobe: ")
        assert "die ersten nach Sortierung: " in mode_help
        assert "Feld und Richtung für „die ersten nach Sortierung“." in html


def test_the_forms_labels_say_each_thing_once_in_plain_german(panel):
    """A JSON field's help says "Als JSON." once, not after "(JSON)"; a limit is a
    "Höchstzahl", not "Höchstens Empfänger"."""
    client = panel.client()
    new = unescape(body(client.get("/campaigns/new")))
    assert "Eine Abfrage nur für diese Kampagne. Als JSON." in new
    sms = unescape(body(post(client, "/campaigns/new", campaign_form(action="sms", intent=""))))
    assert "Einstellungen des Gateways, beim Senden geprüft. Als JSON." in sms
    assert ">Höchstzahl der Teile<" in sms
    form = campaign_form(intent="add_filter", new_filter="condition")
    condition = unescape(body(post(client, "/campaigns/new", form)))
    assert "Bedingung oder Block wie im Abfrage-Editor. Als JSON." in condition
    for html in (new, sms, condition):
        assert "(JSON). Als JSON." not in html
    setup = body(client.get(f"/campaigns/{make_campaign(panel)}/setup"))
    assert '<label for="limit">Höchstzahl der Empfänger <span' in setup


def test_a_filter_count_beyond_the_filters_posted_adds_no_filter(panel):
    campaign_id = make_campaign(panel)
    form = campaign_form(intent="add_filter", new_filter="consent", filter_count="1000")
    html = body(post(panel.client(), f"/campaigns/{campaign_id}/setup", form))
    assert 'name="filter-0-name" value="consent"' in html and "filter-1-name" not in html


def test_filters_are_added_moved_and_removed_without_storing_until_saved(panel):
    campaign_id = make_campaign(panel)
    client = panel.client()
    url = f"/campaigns/{campaign_id}/setup"
    form = campaign_form(intent="add_filter", new_filter="consent")
    html = body(post(client, url, form))
    assert 'name="filter-0-name" value="consent"' in html
    assert '<option value="action" selected>Kanal der Aktion</option>' in html
    assert stored(panel, campaign_id).filters == []

    form = campaign_form(
        intent="filter_up:1",
        filter_count="2",
        **{
            "filter-0-name": "consent",
            "f0.__plugin": "consent",
            "f0.channel": "action",
            "filter-1-name": "dedupe",
            "f1.__plugin": "dedupe",
            "f1.key": "email",
            "f1.keep": "newest",
        },
    )
    html = body(post(client, url, form))
    assert html.index('value="dedupe"') < html.index('value="consent"')
    assert 'value="newest" selected' in html  # the moved filter keeps its settings

    form.update(intent="save")
    form["f1.keep"] = "nonsense"
    response = post(client, url, form)
    assert response.status_code == 422
    assert "Erlaubt: &#39;lowest_id&#39;, &#39;newest&#39; oder &#39;oldest&#39;." in " ".join(
        field_errors(body(response), "f1.keep")
    )
    form["f1.keep"] = "newest"
    assert post(client, url, form).status_code == 302
    assert stored(panel, campaign_id).filters == [
        {"name": "consent", "settings": {"channel": "action"}},
        {"name": "dedupe", "settings": {"key": "email", "keep": "newest"}},
    ]


def test_plugins_that_are_not_loaded_are_named_and_keep_the_campaign_from_being_saved(panel):
    """A campaign whose action and a filter came from a plugin now disabled: the tab names
    both, and a save cannot drop them (or the filters after them) unnoticed."""
    campaign_id = make_campaign(panel)
    gone = [{"name": "gone_filter", "settings": {}}, {"name": "consent", "settings": {}}]
    with panel.runtime.database.session() as session:
        campaign = session.get(Campaign, campaign_id)
        campaign.action, campaign.action_settings, campaign.filters = "gone_action", {}, gone
    client = panel.client()
    url = f"/campaigns/{campaign_id}/setup"

    html = body(client.get(url))
    assert '<option value="gone_action" selected translate="no">gone_action</option>' in html
    assert html.count("Das Plugin „gone_action“ ist nicht geladen.") == 1
    assert html.count("Das Plugin „gone_filter“ ist nicht geladen.") == 1
    assert 'name="filter-0-name" value="gone_filter"' in html
    assert 'name="filter-1-name" value="consent"' in html
    assert 'name="filter_count" value="2"' in html

    form = campaign_form(
        action="gone_action",
        filter_count="2",
        **{"filter-0-name": "gone_filter", "filter-1-name": "consent", "f1.__plugin": "consent"},
    )
    del form["act.__plugin"]
    response = post(client, url, form)
    assert response.status_code == 422
    assert "Das Plugin „gone_action“ ist nicht geladen." in body(response)
    assert "Das Plugin „gone_filter“ ist nicht geladen." in body(response)
    assert stored(panel, campaign_id).action == "gone_action"
    assert stored(panel, campaign_id).filters == gone


def test_a_control_group_that_is_not_last_is_refused_with_the_engines_reason(panel):
    campaign_id = make_campaign(panel)
    form = campaign_form(
        filter_count="2",
        **{
            "filter-0-name": "control_group",
            "f0.__plugin": "control_group",
            "f0.percentage": "10",
            "filter-1-name": "consent",
            "f1.__plugin": "consent",
        },
    )
    response = post(panel.client(), f"/campaigns/{campaign_id}/setup", form)
    assert response.status_code == 422
    assert (
        "filters[0]: „control_group“ hält eine Kontrollgruppe zurück und muss der letzte "
        "Filter sein" in body(response)
    )
    assert stored(panel, campaign_id).filters == []
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    english = body(post(panel.client(), f"/campaigns/{campaign_id}/setup", form))
    assert "filters[0]: &#39;control_group&#39; holds out a control group and must be last" in (
        english
    )


def test_groups_are_counted_and_ticked(panel):
    add_people(panel, 6)
    campaign_id = make_campaign(
        panel, datasource_settings={"definition": {"root": "contacts"}, "group_by": "city"}
    )
    client = panel.client()
    html = body(client.get(f"/campaigns/{campaign_id}/setup"))
    assert "<strong>6</strong> Datensätze" in html
    assert re.search(
        r'value="Bonn">\s*<span class="group-label">Bonn</span>\s*'
        r'<span class="badge badge-count">2</span>',
        html,
    )
    form = campaign_form(**{"ds.group_by": "city", "group_keys": "Köln"})
    assert post(client, f"/campaigns/{campaign_id}/setup", form).status_code == 302
    assert stored(panel, campaign_id).group_keys == ["Köln"]


def test_the_combined_source_is_set_with_checkboxes_and_counts_its_records(panel):
    """Ticked saved queries in the "combined queries" form: stored as a list of ids, and the
    tab lists the groups of the combination's records."""
    add_people(panel, 6)  # Köln: 1, 2, 4, 5; Bonn: 3, 6
    with panel.runtime.database.session() as session:
        cologne, first_three = (
            SavedQuery(name=name, definition=definition)
            for name, definition in (
                (
                    "Köln",
                    {
                        "root": "contacts",
                        "where": {
                            "conditions": [{"field": "city", "type": "equals", "values": ["Köln"]}]
                        },
                    },
                ),
                (
                    "Die ersten drei",
                    {
                        "root": "contacts",
                        "where": {
                            "conditions": [
                                {
                                    "field": "number",
                                    "type": "equals",
                                    "values": ["K-00001", "K-00002", "K-00003"],
                                }
                            ]
                        },
                    },
                ),
            )
        )
        session.add_all([cologne, first_three])
        session.flush()
        ids = cologne.id, first_three.id
    campaign_id = make_campaign(panel)
    client = panel.client()
    form = campaign_form(
        datasource="combined",
        **{
            "ds.__plugin": "combined",
            "ds.entity": "contacts",
            "ds.combine": "all",
            "ds.group_by": "city",
        },
    )
    del form["ds.definition"]
    refused = post(client, f"/campaigns/{campaign_id}/setup", form)
    assert field_errors(body(refused), "ds.queries") == ["Mindestens 1 Eintrag."]
    form["ds.queries"] = [str(ids[0]), str(ids[1])]
    assert post(client, f"/campaigns/{campaign_id}/setup", form).status_code == 302
    campaign = stored(panel, campaign_id)
    assert (campaign.datasource, campaign.datasource_settings["queries"]) == (
        "combined",
        list(ids),
    )
    html = body(client.get(f"/campaigns/{campaign_id}/setup"))
    assert "Kombinierte Abfragen" in html
    assert "<strong>2</strong> Datensätze" in html  # in Köln and among the first three
    assert '<span class="group-label">Köln</span>' in html
    assert '<span class="group-label">Bonn</span>' not in html


def test_the_plugins_own_checks_are_said_in_the_users_language(panel):
    """A built-in plugin's validator messages go through its package's catalog: the e-mail
    action's, the channel filter's with the value it refuses, the limit filter's mode."""
    campaign_id = make_campaign(panel)
    form = campaign_form(
        action="email",
        filter_count="2",
        **{
            "act.__plugin": "email",
            "act.subject": "Hallo",
            "filter-0-name": "channel",
            "f0.__plugin": "channel",
            "f0.region": "XX",
            "filter-1-name": "limit",
            "f1.__plugin": "limit",
            "f1.mode": "top",
            "f1.count": "5",
        },
    )
    german = body(post(panel.client(), f"/campaigns/{campaign_id}/setup", form))
    assert "bitte einen HTML-Text, einen reinen Text oder beides angeben" in german
    assert field_errors(german, "f0.region") == ["„XX“ ist kein bekannter Ländercode, z. B. DE, AT"]
    assert "der Modus „die ersten nach Sortierung“ braucht Sortierung" in german
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    english = body(post(panel.client(), f"/campaigns/{campaign_id}/setup", form))
    assert "give an HTML body, a plain-text body or both" in english
    assert field_errors(english, "f0.region") == [
        "&#39;XX&#39; is not a region code phonenumbers knows, e.g. DE, AT"
    ]
    assert "mode &#39;top&#39; needs sort" in english


def test_groups_that_cannot_be_counted_say_why_in_the_users_language(panel):
    campaign_id = make_campaign(
        panel, datasource_settings={"saved_query_id": 987654, "entity": "contacts"}
    )
    german = body(panel.client().get(f"/campaigns/{campaign_id}/setup"))
    assert (
        "Die Datenquelle kann zurzeit nicht gezählt werden: die gespeicherte Abfrage 987654 gibt "
        "es nicht"
    ) in german
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    english = body(panel.client().get(f"/campaigns/{campaign_id}/setup"))
    assert "The data source cannot be counted now: saved query 987654 does not exist" in english


def test_stores_and_upload_targets_are_chosen_by_their_titles(panel):
    """The e-mail action's document store and the file upload's target are picked from a
    list of what is installed, never typed as a plugin's internal name."""
    client = panel.client()
    email = body(post(client, "/campaigns/new", campaign_form(action="email", intent="")))
    store = email.split('name="act.store"')[1].split("</select>")[0]
    assert '<option value="filesystem" selected>Dateien im Datenverzeichnis</option>' in store
    upload = body(post(client, "/campaigns/new", campaign_form(action="file_upload", intent="")))
    target = upload.split('name="act.target"')[1].split("</select>")[0]
    assert '<option value="sftp">SFTP-Server</option>' in target


def test_a_third_party_action_gets_a_working_form(panel, tmp_path):
    """examples/campaign-hello's action: no template code, a form from its schema, its texts
    in German from the catalog the plugin registers, its price typed as Germans do."""
    add_people(panel, 2)
    campaign_id = make_campaign(panel)
    client = panel.client()
    form = campaign_form(action="greeting_file", intent="refresh")
    html = body(post(client, f"/campaigns/{campaign_id}/setup", form))
    assert (input_value(html, "act.path"), input_value(html, "act.price")) == ("", "0,10")
    assert '<option value="Hallo" selected>Hallo</option>' in html
    assert "Textdatei (.txt), an die die Grüße angehängt werden." in html
    assert "Grüße in eine Datei schreiben" in html

    form = {k: v for k, v in campaign_form(action="greeting_file").items() if k[:4] != "act."}
    form.update({"act.__plugin": "greeting_file", "act.path": "g.csv", "act.price": "-1,5"})
    html = body(post(client, f"/campaigns/{campaign_id}/setup", form))
    assert field_errors(html, "act.path") == ["muss auf .txt enden"]
    assert field_errors(html, "act.price") == ["Mindestens 0."]
    assert (input_value(html, "act.path"), input_value(html, "act.price")) == ("g.csv", "-1,5")

    greetings = tmp_path / "greetings.txt"
    form.update({"act.path": str(greetings), "act.greeting": "Moin", "act.price": "1,20"})
    assert post(client, f"/campaigns/{campaign_id}/setup", form).status_code == 302
    assert stored(panel, campaign_id).action_settings == {
        "path": str(greetings),
        "greeting": "Moin",
        "price": "1.20",
    }
    start_and_confirm(panel, client, campaign_id)
    assert greetings.read_text(encoding="utf-8").splitlines() == [
        "Moin Änne Weiß1",
        "Moin Jürgen Weiß2",
    ]


# -- start, runs, files, documents ----------------------------------------------------------------


class CrmPeople(DataSource):
    """People of an outside CRM: records of an entity the core does not know."""

    name = "test_crm_people"
    title = "People in the CRM"
    PEOPLE: ClassVar = {7: ("Ada", "Lovelace"), 8: ("Grace", "Hopper")}

    def entity(self):
        return "crm_people"

    def iter_recipients(self, context):
        return iter(self.load(context, list(self.PEOPLE)).values())

    def load(self, context, ids):
        return {
            i: Recipient(f"crm:{i}", "crm_people", i, {"first_name": first, "last_name": last})
            for i, (first, last) in self.PEOPLE.items()
            if i in ids
        }

    def display_name(self, recipient):
        return f"{recipient.data['last_name']}, {recipient.data['first_name']}"


class Crm:
    @hookimpl
    def register_datasources(self, register):
        register(CrmPeople)


@pytest.fixture
def crm_panel(settings, redis_url):
    plugins = panel_plugins()
    plugins.add(Crm(), "crm", "test")
    yield from open_panel(settings, plugins)


def test_run_results_name_records_as_their_data_source_does(crm_panel, tmp_path):
    config = CampaignConfig(
        "test_crm_people", "greeting_file", action_settings={"path": f"{tmp_path}/g.txt"}
    )
    runtime = crm_panel.runtime
    with runtime.database.session() as session:
        campaign_id = create_campaign(session, runtime.plugins, config, runtime.clock.now()).id
    run = start_run(runtime, campaign_id, confirmed_by="test")
    crm_panel.work()

    page = body(crm_panel.client(Role.VIEWER).get(f"/campaigns/{campaign_id}/runs/{run.id}"))
    assert "Lovelace, Ada" in page and "Hopper, Grace" in page


def test_start_a_print_run_watch_it_and_open_its_letters_and_files(panel):
    first_id, *_others = add_people(panel, 3)
    campaign_id = make_campaign(panel)
    client = panel.client()
    response = post(client, f"/campaigns/{campaign_id}/start", {"mode": "start"})
    assert response.status_code == 302
    with panel.runtime.database.session() as session:
        run = session.scalar(select(Run))
    assert response.location.endswith(f"/campaigns/{campaign_id}/runs/{run.id}")
    base = f"/campaigns/{campaign_id}/runs/{run.id}"
    status = client.get(f"{base}/status").get_json()
    assert (status["state"], status["active"], status["percent"]) == ("queued", True, -1)

    panel.work()  # the analysis: targeting only, then the run waits for the person
    status = client.get(f"{base}/status").get_json()
    assert (status["state"], status["state_label"], status["active"], status["percent"]) == (
        "awaiting_confirmation",
        "Wartet auf Bestätigung",
        False,  # the page stops following the run and shows the confirmation
        0,  # nothing sent before the person's "send"
    )
    page = body(client.get(base))
    assert "Versand bestätigen" in page and "An 3 Empfänger senden" in page
    assert re.search(r"data-reached>3<", page)
    assert "Niemand wird übersprungen." in page
    assert "Post <span" in page and "Keine Schätzung" in page
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(ArchivedDocument)) == 0

    stale = post(client, f"{base}/confirm", {"count": "4"})
    assert "Nicht gesendet: Lauf #1 würde 3 Empfänger erreichen, nicht die 4 bestätigten" in body(
        client.get(stale.location)
    )
    assert post(client, f"{base}/confirm", {"count": "drei"}).status_code == 302
    assert post(client, f"{base}/confirm", {"count": "3"}).status_code == 302
    twice = post(client, f"{base}/confirm", {"count": "3"})
    assert "Lauf #1 kann nicht bestätigt werden: Er hat den Stand „Läuft“." in body(
        client.get(twice.location)
    )
    panel.work()
    status = client.get(f"{base}/status").get_json()
    assert status | {"state_label": None} == {
        "state": "completed",
        "state_label": None,
        "active": False,
        "percent": 100,
        "settled": 3,
        "targeted": 3,
        "done": 3,
        "failed": 0,
        "skipped": 0,
        "unclear": 0,
        "held_out": 0,
    }
    viewer = panel.client(Role.VIEWER)
    page = body(viewer.get(f"/campaigns/{campaign_id}/runs/{run.id}"))
    assert "Abgeschlossen" in page and 'value="100"' in page
    assert "Änne Weiß1" in page
    # each recipient by the number people know, linked to the contact's page
    assert f'<td><a href="/contacts/{first_id}">K-00001</a></td>' in page
    assert "contacts:" not in page
    documents = re.findall(r'href="(/archive/\d+)"[^>]*data-document', page)
    assert len(documents) == 3
    assert "Änne Weiß1" in body(viewer.get(documents[0]))
    letter = viewer.get(f"{documents[0]}/inline")
    assert letter.mimetype == "application/pdf"
    assert letter.data.startswith(b"%PDF")
    assert letter.headers["Content-Disposition"].startswith("inline;")

    collection = viewer.get(f"/campaigns/{campaign_id}/runs/{run.id}/files/collection.pdf")
    assert collection.status_code == 200 and collection.data.startswith(b"%PDF")
    assert "attachment" in collection.headers["Content-Disposition"]
    manifest = viewer.get(f"/campaigns/{campaign_id}/runs/{run.id}/files/manifest.csv")
    assert manifest.data.startswith(b"\xef\xbb\xbfnumber;")  # for German Excel
    secret = panel.runtime.settings.data_dir / "secret.txt"
    secret.write_text("not for download")
    for name in ("../../secret.txt", "..%2F..%2Fsecret.txt", "/etc/passwd", "missing.pdf"):
        url = f"/campaigns/{campaign_id}/runs/{run.id}/files/{name}"
        assert viewer.get(url, follow_redirects=True).status_code == 404, name
    assert "run.start" in audit_actions(panel)
    with panel.runtime.database.session() as session:
        confirmed = [e for e in session.scalars(audit_query()) if e.action == "run.confirm"]
        assert [(e.actor, e.details["count"]) for e in confirmed] == [("mia", 3)]
        assert session.get(Run, run.id).confirmed_by == "mia"


def test_a_run_beyond_the_count_confirmed_before_its_start_says_why_it_waits(panel):
    add_people(panel, 3)
    campaign_id = make_campaign(panel)
    run = start_run(panel.runtime, campaign_id, confirmed_by="mia", confirmed_up_to=2)
    panel.work()

    page = body(panel.client().get(f"/campaigns/{campaign_id}/runs/{run.id}"))

    assert 'id="beyond-confirmed"' in page and "für höchstens 2 Empfänger bestätigt" in page
    assert "An 3 Empfänger senden" in page
    assert 'data-field="confirmed"' not in page  # the confirmation ahead does not hold
    base = f"/campaigns/{campaign_id}/runs/{run.id}"
    assert post(panel.client(), f"{base}/confirm", {"count": "3"}).status_code == 302
    page = body(panel.client().get(base))
    confirmed = re.search(r'<dt>Bestätigt</dt><dd data-field="confirmed">(.*?)</dd>', page)
    assert confirmed and confirmed.group(1).endswith(" · mia")


def test_a_voided_run_says_why_and_offers_no_way_to_go_on(panel):
    add_people(panel, 3)
    campaign_id = make_campaign(panel)
    run = start_run(panel.runtime, campaign_id, confirmed_by="mia")
    cancel_run(panel.runtime, run.id)
    panel.work()
    with panel.runtime.database.session() as session:
        reason = "extraction file rejected (round 2): Anrede falsch"
        session.execute(
            update(Run).values(superseded_at=datetime.now(UTC), superseded_reason=reason)
        )
    client = panel.client()
    page = body(client.get(f"/campaigns/{campaign_id}/runs/{run.id}"))
    voided = re.search(r'id="run-voided">(.*?)</div>', page, re.S).group(1)
    assert voided.startswith("Storniert am ") and "er läuft nicht weiter" in voided
    assert voided.endswith("Grund: Extraktionsdatei in Runde 2 abgelehnt: Anrede falsch")
    assert "Fortsetzen" not in page
    runs = body(client.get(f"/campaigns/{campaign_id}/runs"))
    assert '<span class="badge badge-muted" data-voided>storniert</span>' in runs


def test_the_rows_of_a_voided_run_read_voided_not_done(panel):
    add_people(panel, 3)
    campaign_id = make_campaign(panel)
    run = start_run(panel.runtime, campaign_id, confirmed_by="mia")
    panel.work()
    page = body(panel.client().get(f"/campaigns/{campaign_id}/runs/{run.id}"))
    assert set(re.findall(r'data-status="(\w+)">(\w+)<', page)) == {("done", "Erledigt")}

    with panel.runtime.database.session() as session:
        session.execute(
            update(Run).values(superseded_at=datetime.now(UTC), superseded_reason="rejected")
        )
    page = body(panel.client().get(f"/campaigns/{campaign_id}/runs/{run.id}"))
    assert set(re.findall(r'data-status="(\w+)">(\w+)<', page)) == {("voided", "Storniert")}


def test_the_confirmation_shows_skips_by_reason_and_discard_sends_nothing(panel):
    add_people(panel, 5)
    campaign_id = make_campaign(panel)
    client = panel.client()
    post(client, f"/campaigns/{campaign_id}/start", {"mode": "start"})
    panel.work()
    with panel.runtime.database.session() as session:
        run = session.scalar(select(Run))
        items = session.scalars(select(RunItem).order_by(RunItem.id)).all()
        # rows targeting leaves out are skipped with their reason (dispatch block, opt-out)
        for item, reason in zip(
            items[:3],
            ["reach.dispatch_block", "reach.dispatch_block", "reach.opt_out_post"],
            strict=True,
        ):
            item.status, item.detail = "skipped", reason
    base = f"/campaigns/{campaign_id}/runs/{run.id}"
    page = body(client.get(base))
    assert "An 2 Empfänger senden" in page
    skips = re.findall(r"<li><span data-skip-count>(\d+)</span> · (.*?)</li>", page)
    assert skips == [("2", "Versandsperre"), ("1", "Widerspruch Post")]
    with panel.runtime.database.session() as session:
        from webapp.accounts import find_user

        find_user(session, "mia").language = "en"
    english = body(client.get(base))
    assert "Send to 2 recipients" in english
    assert re.findall(r"<li><span data-skip-count>(\d+)</span> · (.*?)</li>", english) == [
        ("2", "Dispatch block"),
        ("1", "Opted out of post"),
    ]

    assert post(client, f"{base}/discard").status_code == 302
    panel.work()
    page = body(client.get(base))
    assert "Run #1 discarded; nothing was sent." in page
    assert "Send to" not in page
    refused = post(client, f"{base}/confirm", {"count": "2"})
    assert "Not sent: run #1 is cancelled and cannot be confirmed" in body(
        client.get(refused.location)
    )
    with panel.runtime.database.session() as session:
        assert session.get(Run, run.id).state == RunState.CANCELLED
        assert session.scalar(select(func.count()).select_from(ArchivedDocument)) == 0
    assert "run.discard" in audit_actions(panel)


def test_results_are_paginated_and_filtered_by_status(panel):
    add_people(panel, 60)
    add_people(panel, 1, number="K-NOADDR", postcode=None, street=None)
    campaign_id = make_campaign(panel)
    run = start_run(panel.runtime, campaign_id, confirmed_by="test")
    panel.work()
    client = panel.client(Role.VIEWER)
    first = body(client.get(f"/campaigns/{campaign_id}/runs/{run.id}"))
    assert first.count('class="badge item item-') == 50
    assert "1 bis 50 von 61" in first
    skipped = body(client.get(f"/campaigns/{campaign_id}/runs/{run.id}?status=skipped"))
    assert skipped.count('class="badge item item-skipped"') == 1
    tab = body(client.get(f"/campaigns/{campaign_id}/runs"))
    assert f'href="/campaigns/{campaign_id}/runs/{run.id}">#1</a>' in tab


def test_a_start_refused_for_settings_that_no_longer_fit_says_why_in_the_readers_language(
    panel,
):
    campaign_id = make_campaign(panel)
    with panel.runtime.database.session() as session:
        session.get(Campaign, campaign_id).action_settings = PRINT | {
            "archive": "vielleicht",
            "colour": "rot",
        }
    client = panel.client()
    refused = post(client, f"/campaigns/{campaign_id}/start", {"mode": "start"})
    assert (
        "Der Lauf wurde nicht gestartet: Kampagne „Informationskampagne“ kann nicht starten: "
        "action.settings.archive: Bitte ja oder nein angeben., "
        "action.settings.colour: Dieses Feld gibt es hier nicht."
    ) in body(client.get(refused.location))
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    refused = post(client, f"/campaigns/{campaign_id}/start", {"mode": "start"})
    assert (
        "The run was not started: campaign &#39;Informationskampagne&#39; cannot start: "
        "action.settings.archive: Please give yes or no., "
        "action.settings.colour: There is no such field here."
    ) in body(client.get(refused.location))
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 0


def test_a_run_names_its_action_by_its_title_in_the_readers_language(panel):
    """The summary and the confirmation name the action the run was started with."""
    campaign_id = make_campaign(panel)
    with panel.runtime.database.session() as session:
        run = Run(
            campaign_id=campaign_id,
            number=1,
            state=RunState.AWAITING_CONFIRMATION,
            config={"action": "file_upload"},
        )
        session.add(run)
        session.flush()
        page = f"/campaigns/{campaign_id}/runs/{run.id}"
    german = body(panel.client(Role.VIEWER).get(page))
    assert "<dt>Aktion</dt><dd>Datei-Upload</dd>" in german
    assert '<span class="muted">(Datei-Upload)</span>' in german
    assert "file_upload" not in german
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "viola")).language = "en"
    english = body(panel.client(Role.VIEWER).get(page))
    assert "<dt>Action</dt><dd>File upload</dd>" in english
    assert '<span class="muted">(File upload)</span>' in english


def test_a_dry_run_with_a_limit_archives_nothing(panel):
    add_people(panel, 5)
    campaign_id = make_campaign(panel)
    post(panel.client(), f"/campaigns/{campaign_id}/start", {"mode": "dry_run", "limit": "2"})
    panel.work()
    with panel.runtime.database.session() as session:
        run = session.scalar(select(Run))
        assert (run.dry_run, run.limit, run.targeted, run.skipped) == (True, 2, 2, 2)
        assert session.scalar(select(func.count()).select_from(ArchivedDocument)) == 0
        details = session.scalars(select(RunItem.detail).order_by(RunItem.id)).all()
    assert all(detail.startswith("preview: ") for detail in details)  # a file each
    page = body(panel.client().get(f"/campaigns/{campaign_id}/runs/{run.id}"))
    reasons = re.search(r'id="skip-reasons">(.*?)</div>', page, re.S).group(1)
    assert re.findall(r"<dt[^>]*>(.*?)</dt><dd>(.*?)</dd>", reasons) == [("Probelauf", "2")]
    response = post(panel.client(), f"/campaigns/{campaign_id}/start", {"limit": "zwei"})
    assert "„zwei“ ist keine ganze Zahl." in body(panel.client().get(response.location))


def test_cancel_resume_and_retry_failed(panel, tmp_path):
    add_people(panel, 2)
    add_people(panel, 1, number="K-NONAME", first_name=None, last_name=None)
    campaign_id = make_campaign(
        panel, action="greeting_file", action_settings={"path": str(tmp_path / "g.txt")}
    )
    client = panel.client()
    post(client, f"/campaigns/{campaign_id}/start", {"mode": "start"})
    with panel.runtime.database.session() as session:
        run_id = session.scalar(select(Run.id))
    base = f"/campaigns/{campaign_id}/runs/{run_id}"
    assert post(client, f"{base}/cancel").status_code == 302
    assert "abgebrochen" in body(client.get(base))
    assert post(client, f"{base}/resume").status_code == 302
    panel.work()
    assert post(client, f"{base}/confirm", {"count": "3"}).status_code == 302
    panel.work()
    page = body(client.get(base))
    # "kein Name": the example plugin's outcome detail through its German catalog
    assert "Mit Fehlern abgeschlossen" in page and "kein Name" in page
    assert "Fehlgeschlagene wiederholen (1)" in page
    response = post(client, f"{base}/retry")
    assert "1 Empfänger wird erneut bearbeitet." in body(client.get(response.location))
    panel.work()
    with panel.runtime.database.session() as session:
        run = session.get(Run, run_id)
        assert (run.state, run.done, run.failed) == (RunState.COMPLETED_WITH_ERRORS, 2, 1)
        failed = session.scalar(select(RunItem).where(RunItem.status == "failed"))
        assert failed.attempts == 1
    refused = post(client, f"{base}/cancel")
    assert "Nicht abgebrochen" in body(client.get(refused.location))
    assert {"run.cancel", "run.resume", "run.retry"} <= set(audit_actions(panel))


def test_archive_entries_are_deleted_selectively_and_logged(panel):
    add_people(panel, 3)
    campaign_id = make_campaign(panel)
    run = start_run(panel.runtime, campaign_id, confirmed_by="test")
    panel.work()
    with panel.runtime.database.session() as session:
        ids = list(session.scalars(select(ArchivedDocument.id).order_by(ArchivedDocument.id)))
    client = panel.client()
    url = f"/campaigns/{campaign_id}/runs/{run.id}/archive/delete"
    response = post(
        client, url, {"scope": "selected", "document_ids": [str(ids[0])], "reason": "Test"}
    )
    assert "1 Archiveintrag gelöscht." in body(client.get(response.location))
    foreign = post(client, url, {"scope": "selected", "document_ids": ["999999"]})
    assert "are not archived documents of run" in body(client.get(foreign.location))
    with panel.runtime.database.session() as session:
        left = list(session.scalars(select(ArchivedDocument.id).order_by(ArchivedDocument.id)))
        deletion = session.scalar(select(ArchiveDeletion))
    assert left == ids[1:]
    assert (deletion.deleted_by, deletion.document_ids, deletion.reason) == (
        "mia",
        [ids[0]],
        "Test",
    )
    post(client, url, {"scope": "all"})
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(ArchivedDocument)) == 0
    assert client.get(f"/archive/{ids[0]}").status_code == 404


def test_a_bad_archive_deletion_is_refused_with_its_reason(panel):
    add_people(panel, 2)
    campaign_id = make_campaign(panel)
    run = start_run(panel.runtime, campaign_id, confirmed_by="test")
    panel.work()
    client = panel.client()
    url = f"/campaigns/{campaign_id}/runs/{run.id}/archive/delete"
    for data, message in (
        ({"scope": "selected", "document_ids": ["eins"]}, "„eins“ steht nicht zur Auswahl."),
        ({"scope": "alle"}, "„alle“ steht nicht zur Auswahl."),
        (
            {"scope": "all", "reason": "x" * 501},
            "Grund (für das Protokoll): Höchstens 500 Zeichen.",
        ),
    ):
        response = post(client, url, data)
        assert response.status_code == 302
        assert message in body(client.get(response.location))
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(ArchiveDeletion)) == 0
        assert session.scalar(select(func.count()).select_from(ArchivedDocument)) == 2


# -- static data ----------------------------------------------------------------------------------


def static_campaign(panel) -> int:
    return make_campaign(panel, datasource="static", datasource_settings={"entity": "contacts"})


def test_static_records_are_added_frozen_and_removed(panel):
    ids = add_people(panel, 4)
    campaign_id = static_campaign(panel)
    client = panel.client()
    base = f"/campaigns/{campaign_id}/data"
    assert "Daten</a>" in body(client.get(f"/campaigns/{campaign_id}"))

    bad = post(client, f"{base}/add", {"entity": "contacts", "ids": "1, zwei"})
    assert bad.status_code == 422
    assert field_errors(body(bad), "add-ids") == [
        "Nur ganze Zahlen als IDs, getrennt durch Komma oder Zeilen."
    ]
    missing = post(client, f"{base}/add", {"entity": "contacts", "ids": "999999"})
    assert field_errors(body(missing), "add-ids") == [
        "1 Datensatz aus contacts gibt es nicht: ID 999999"
    ]

    post(client, f"{base}/add", {"entity": "contacts", "ids": f"{ids[0]}\n{ids[1]}"})
    html = body(client.get(base))
    assert "Änne Weiß1" in html and "von Hand" in html

    with panel.runtime.database.session() as session:
        saved = SavedQuery(
            name="Köln",
            definition={
                "root": "contacts",
                "where": {"conditions": [{"field": "city", "type": "equals", "values": ["Köln"]}]},
            },
        )
        session.add(saved)
        session.flush()
        saved_id = saved.id
    response = post(client, f"{base}/freeze", {"saved_query_id": str(saved_id)})
    assert "1 Datensatz aus der Abfrage gespeichert." in body(client.get(response.location))

    post(client, f"{base}/remove", {"records": [f"contacts:{ids[0]}"]})
    with panel.runtime.database.session() as session:
        left = sorted((r.entity_id, r.source) for r in session.scalars(select(CampaignRecord)))
    assert left == [(ids[1], "manual"), (ids[3], "frozen")]  # Köln: 1, 2, 4; 2 was by hand
    assert {"campaign.records.add", "campaign.records.freeze", "campaign.records.remove"} <= set(
        audit_actions(panel)
    )
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    missing = post(panel.client(), f"{base}/add", {"entity": "contacts", "ids": "999999"})
    shown = field_errors(body(missing), "add-ids")
    assert shown == ["1 record of contacts does not exist: id 999999"]


def test_bad_data_tab_input_is_refused_and_stores_nothing(panel):
    ids = add_people(panel, 2)
    campaign_id = static_campaign(panel)
    client = panel.client()
    base = f"/campaigns/{campaign_id}/data"
    empty = post(client, f"{base}/add", {"entity": "contacts", "ids": " , "})
    assert field_errors(body(empty), "add-ids") == ["Bitte IDs eingeben."]
    entity = post(client, f"{base}/add", {"entity": "planets", "ids": str(ids[0])})
    assert entity.status_code == 422
    assert field_errors(body(entity), "add-entity") == ["„planets“ steht nicht zur Auswahl."]
    huge = post(client, f"{base}/add", {"entity": "contacts", "ids": "9" * 20})
    assert huge.status_code == 422 and field_errors(body(huge), "add-ids")
    post(client, f"{base}/add", {"entity": "contacts", "ids": str(ids[0])})
    for path, data, message in (
        ("remove", {"records": [f"contacts:{ids[0]}", "contacts:x"]}, "„contacts:x“ steht"),
        ("freeze", {"saved_query_id": "987654"}, "Gespeicherte Abfrage: „987654“ steht"),
        ("freeze", {"saved_query_id": "eins"}, "„eins“ steht nicht zur Auswahl."),
    ):
        response = post(client, f"{base}/{path}", data)
        assert message in body(client.get(response.location))
    bad_token = post(client, f"{base}/import/confirm", {"token": "../../etc/passwd"})
    assert bad_token.status_code == 422 and "nicht mehr vorhanden" in body(bad_token)
    with panel.runtime.database.session() as session:
        assert list(session.scalars(select(CampaignRecord.entity_id))) == [ids[0]]


def test_a_csv_import_shows_every_problem_and_stores_all_rows_or_none(panel):
    campaign_id = make_campaign(panel, datasource="file_import", datasource_settings={})
    client = panel.client()
    base = f"/campaigns/{campaign_id}/data"
    wrong = post(
        client,
        f"{base}/import",
        {"file": (__import__("io").BytesIO(b"x"), "bild.png")},
        content_type="multipart/form-data",
    )
    assert field_errors(body(wrong), "import") == [
        "„bild.png“ ist keine CSV-Datei (.csv oder .txt)."
    ]
    csv = (
        "Vorname;Nachname;PLZ;Ort;E-Mail\nAnna;Schmidt;50667;Köln;anna@example.de\n"
        "Bernd;Meyer;5066;Köln;kein-mail\n"
    )
    from io import BytesIO

    preview = post(
        client,
        f"{base}/import",
        {"file": (BytesIO(csv.encode("cp1252")), "adressen.csv")},
        content_type="multipart/form-data",
    )
    html = body(preview)
    assert preview.status_code == 200
    assert "Vorschau: adressen.csv" in html and "cp1252" in html
    assert "Zeile 3:</strong> E-Mail: „kein-mail“ ist keine E-Mail-Adresse; PLZ: „5066“" in html
    assert "Ein Import übernimmt alle Zeilen oder keine." in html
    assert "Nur die 1 fehlerfreie Zeile importieren, 1 Zeile auslassen" in html
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    refused = post(
        client, f"{base}/import/confirm", {"token": token, "upload_name": "adressen.csv"}
    )
    assert refused.status_code == 422
    assert "Nichts importiert: 1 Zeile hat Fehler." in body(refused)
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(CampaignRecord)) == 0
    response = post(
        client,
        f"{base}/import/confirm",
        {"token": token, "upload_name": "adressen.csv", "only_valid_rows": "y"},
    )
    assert (
        "1 Zeile importiert; 1 Zeile mit Fehlern ausgelassen (Zeile 3), im Protokoll vermerkt."
        in body(client.get(response.location))
    )
    with panel.runtime.database.session() as session:
        entry = session.scalar(
            select(AuditEntry).where(AuditEntry.action == "campaign.records.import")
        )
        assert entry.details["only_valid_rows"] is True and entry.details["left_out_lines"] == [3]
    with panel.runtime.database.session() as session:
        row = session.scalar(select(CampaignRecord))
    assert (row.entity, row.data["last_name"], row.line_number) == ("import", "Schmidt", 2)
    again = post(client, f"{base}/import/confirm", {"token": token})
    assert "nicht mehr vorhanden" in body(again)


def upload_csv(client, campaign_id: int, content: bytes, name="adressen.csv", **options):
    """The data tab's upload with the options the form offers (encoding, delimiter, mode)."""
    return post(
        client,
        f"/campaigns/{campaign_id}/data/import",
        {"file": (__import__("io").BytesIO(content), name), **options},
        content_type="multipart/form-data",
    )


def preview_form(html: str, **changes) -> dict:
    """What the preview's form posts as shown (its hidden fields and the selected column
    mapping), with ``changes`` as a user makes them (``{"map:Ort": ""}``)."""
    form = re.search(r'<form method="post" action="[^"]*/data/import/confirm.*?</form>', html, re.S)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[0]))
    for name, options in re.findall(r'<select [^>]*name="([^"]+)">(.*?)</select>', form[0], re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        fields[unescape(name)] = chosen.group(1) if chosen else ""
    fields.pop("csrf_token")
    return {**fields, **changes}


def imported_rows(panel) -> list[dict]:
    with panel.runtime.database.session() as session:
        return [
            row.data
            for row in session.scalars(
                select(CampaignRecord)
                .where(CampaignRecord.entity == "import")
                .order_by(CampaignRecord.id)
            )
        ]


def import_entries(panel) -> list[AuditEntry]:
    with panel.runtime.database.session() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "campaign.records.import")
                .order_by(AuditEntry.id)
            )
        )


def test_a_cp1252_file_separated_by_semicolons_is_read_as_the_user_chose(panel):
    campaign_id = make_campaign(panel, datasource="file_import", datasource_settings={})
    client = panel.client()
    base = f"/campaigns/{campaign_id}/data"
    page = body(client.get(base))
    assert '<option value="" selected>automatisch erkennen</option>' in page
    assert "Windows (cp1252, Excel)" in page and "Semikolon ;" in page
    assert 'value="replace" checked> <span>durch die Zeilen dieser Datei ersetzen' in page
    content = "Nachname;Ort\nWeiß;Köln, Innenstadt\nMüller;Düsseldorf\n".encode("cp1252")
    wrong = upload_csv(client, campaign_id, content, encoding="utf-8", delimiter="semicolon")
    assert wrong.status_code == 422
    assert "cp1252" in field_errors(body(wrong), "import")[0]
    assert '<option value="utf-8" selected>UTF-8</option>' in body(wrong)
    preview = upload_csv(client, campaign_id, content, encoding="cp1252", delimiter="semicolon")
    html = body(preview)
    assert preview.status_code == 200
    assert 'Windows (cp1252, Excel) <span class="muted">(gewählt)</span>' in html
    assert 'Semikolon ; <span class="muted">(gewählt)</span>' in html
    assert "<td>Weiß</td><td>Köln, Innenstadt</td>" in html
    assert "Ersetzen: Bisher sind keine Zeilen importiert, es wird nichts gelöscht." in html
    fields = preview_form(html)
    assert (fields["encoding"], fields["delimiter"], fields["mode"]) == (
        "cp1252",
        "semicolon",
        "replace",
    )
    response = post(client, f"{base}/import/confirm", {**fields, "action": "import"})
    assert "Alle 2 Zeilen importiert." in body(client.get(response.location))
    assert imported_rows(panel) == [
        {"last_name": "Weiß", "city": "Köln, Innenstadt"},
        {"last_name": "Müller", "city": "Düsseldorf"},
    ]
    details = import_entries(panel)[0].details
    assert (details["encoding"], details["encoding_chosen"]) == ("cp1252", True)
    assert (details["delimiter"], details["delimiter_chosen"]) == (";", True)
    assert details["mapping"] == {"Nachname": "last_name", "Ort": "city"}
    detected = upload_csv(client, campaign_id, b"Nachname;Ort\nOtto;Bonn\n")
    assert 'UTF-8 <span class="muted">(automatisch erkannt)</span>' in body(detected)
    assert 'Semikolon ; <span class="muted">(automatisch erkannt)</span>' in body(detected)


def test_appending_keeps_the_rows_imported_before_and_the_preview_says_what_happens(panel):
    campaign_id = make_campaign(panel, datasource="file_import", datasource_settings={})
    client = panel.client()
    base = f"/campaigns/{campaign_id}/data"
    first = upload_csv(client, campaign_id, b"Nachname;Ort\nAlt;Bonn\nAlter;Trier\n")
    post(client, f"{base}/import/confirm", preview_form(body(first)))
    assert "Bisher sind 2 Zeilen aus Dateien importiert." in body(client.get(base))

    added = upload_csv(client, campaign_id, b"Nachname;Ort\nNeu;Essen\n", mode="append")
    html = body(added)
    assert (
        "Hinzufügen: Die Zeilen dieser Datei kommen zu den 2 bisher importierten Zeilen hinzu;"
        " diese bleiben erhalten." in html
    )
    response = post(client, f"{base}/import/confirm", preview_form(html))
    done = body(client.get(response.location))
    assert "Die 1 Zeile ist importiert." in done
    assert "Hinzugefügt: die Kampagne hat jetzt 3 importierte Zeilen." in done
    assert [row["last_name"] for row in imported_rows(panel)] == ["Alt", "Alter", "Neu"]

    replacing = upload_csv(client, campaign_id, b"Nachname;Ort\nLetzte;Kiel\n")
    html = body(replacing)
    assert (
        "Ersetzen: Die 3 bisher importierten Zeilen werden gelöscht und durch die Zeilen dieser"
        " Datei ersetzt." in html
    )
    response = post(client, f"{base}/import/confirm", preview_form(html))
    assert "3 bisher importierte Zeilen wurden ersetzt." in body(client.get(response.location))
    assert [row["last_name"] for row in imported_rows(panel)] == ["Letzte"]
    entries = import_entries(panel)
    assert [(e.details["replace"], e.details["replaced"]) for e in entries] == [
        (True, 0),
        (False, 0),
        (True, 3),
    ]
    log = body(panel.client(Role.ADMIN).get("/admin/audit"))
    assert "1 Zeile importiert, zu 2 bisherigen Zeilen hinzugefügt" in log
    assert "1 Zeile importiert, 3 bisherige Zeilen ersetzt" in log


def test_the_preview_maps_each_column_to_a_field_or_ignores_it(panel):
    campaign_id = make_campaign(panel, datasource="file_import", datasource_settings={})
    client = panel.client()
    base = f"/campaigns/{campaign_id}/data/import/confirm"
    html = body(
        upload_csv(client, campaign_id, b"Name;Wohnort;Notiz\nMeyer;K\xc3\xb6ln;Hinterhaus\n")
    )
    fields = preview_form(html)
    assert (fields["map:Name"], fields["map:Wohnort"], fields["map:Notiz"]) == (
        "last_name",
        "city",
        "",
    )
    assert '<option value="">(nicht importieren)</option>' in html
    assert '<th scope="col">Nachname</th><th scope="col">Ort</th></tr>' in html

    remapped = post(
        client,
        base,
        {**fields, "map:Wohnort": "", "map:Notiz": "address_extra", "action": "preview"},
    )
    html = body(remapped)
    assert remapped.status_code == 200
    assert '<th scope="col">Nachname</th><th scope="col">Adresszusatz</th></tr>' in html
    assert "<td>Meyer</td><td>Hinterhaus</td>" in html
    assert imported_rows(panel) == []

    twice = post(client, base, {**preview_form(html), "map:Wohnort": "last_name"})
    assert twice.status_code == 422
    assert re.search(  # the two columns in the order the browser sent them
        "Zuordnung: die Spalten „(Name|Wohnort)“ und „(Name|Wohnort)“ sind demselben Feld",
        body(twice),
    )
    assert preview_form(body(twice))["map:Wohnort"] == "last_name"  # the choice stays shown
    none = post(client, base, {**preview_form(html), "map:Name": "", "map:Notiz": ""})
    assert "Zuordnung: ordnen Sie mindestens eine Spalte einem Feld zu" in body(none)
    assert imported_rows(panel) == []

    response = post(client, base, preview_form(html))
    assert "Die 1 Zeile ist importiert." in body(client.get(response.location))
    assert imported_rows(panel) == [{"last_name": "Meyer", "address_extra": "Hinterhaus"}]
    assert import_entries(panel)[0].details["mapping"] == {
        "Name": "last_name",
        "Notiz": "address_extra",
    }


def test_an_import_option_that_is_not_offered_is_refused_with_a_message(panel):
    campaign_id = make_campaign(panel, datasource="file_import", datasource_settings={})
    client = panel.client()
    content = b"Nachname;Ort\nMeyer;Bonn\n"
    for name, value in (("encoding", "ebcdic"), ("delimiter", "x"), ("mode", "merge")):
        refused = upload_csv(client, campaign_id, content, **{name: value})
        assert refused.status_code == 422
        assert field_errors(body(refused), f"import-{name}") == [
            f"„{value}“ steht nicht zur Auswahl."
        ]
    fields = preview_form(body(upload_csv(client, campaign_id, content)))
    base = f"/campaigns/{campaign_id}/data/import/confirm"
    for changes, message in (
        ({"delimiter": ";"}, "Trennzeichen: „;“ steht nicht zur Auswahl."),
        ({"encoding": "utf-32"}, "Zeichensatz: „utf-32“ steht nicht zur Auswahl."),
        ({"mode": "merge"}, "Bisher importierte Zeilen: „merge“ steht nicht zur Auswahl."),
        ({"map:Ort": "password"}, "Spaltenzuordnung: „password“ steht nicht zur Auswahl."),
        ({"map:Spalte": "city"}, "Zuordnung: die Datei hat keine Spalte „Spalte“"),
        ({"action": "delete"}, "„delete“ steht nicht zur Auswahl."),
    ):
        refused = post(client, base, {**fields, **changes})
        assert refused.status_code == 422, changes
        assert message in body(refused), changes
        assert "Vorschau: adressen.csv" in body(refused)
    assert imported_rows(panel) == []


# -- roles ----------------------------------------------------------------------------------------

STATE_CHANGES = [
    "/campaigns/new",
    "/campaigns/{c}",
    "/campaigns/{c}/setup",
    "/campaigns/{c}/start",
    "/campaigns/{c}/copy",
    "/campaigns/{c}/delete",
    "/campaigns/{c}/runs/{r}/confirm",
    "/campaigns/{c}/runs/{r}/discard",
    "/campaigns/{c}/runs/{r}/cancel",
    "/campaigns/{c}/runs/{r}/resume",
    "/campaigns/{c}/runs/{r}/retry",
    "/campaigns/{c}/runs/{r}/archive/delete",
    "/campaigns/{c}/data/add",
    "/campaigns/{c}/data/remove",
    "/campaigns/{c}/data/freeze",
    "/campaigns/{c}/data/import",
    "/campaigns/{c}/data/import/confirm",
]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REVIEWER])
def test_only_campaign_managers_change_campaigns(panel, role):
    campaign_id = static_campaign(panel)
    with panel.runtime.database.session() as session:
        run = Run(campaign_id=campaign_id, number=1, state=RunState.CANCELLED, config={})
        session.add(run)
        session.flush()
        run_id = run.id
    client = panel.client(role)
    for path in STATE_CHANGES:
        url = path.format(c=campaign_id, r=run_id)
        assert post(client, url, {"intent": "save"}).status_code == 403, url
    for path in (
        "/campaigns/",
        f"/campaigns/{campaign_id}",
        f"/campaigns/{campaign_id}/setup",
        f"/campaigns/{campaign_id}/runs",
        f"/campaigns/{campaign_id}/runs/{run_id}",
        f"/campaigns/{campaign_id}/data",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get("/campaigns/new").status_code == 403
    page = body(client.get(f"/campaigns/{campaign_id}/setup"))
    assert "Nur Kampagnenmanager können Läufe starten." in page
    assert 'name="intent" value="save"' not in page


def test_an_admin_may_do_what_a_campaign_manager_may(panel):
    campaign_id = make_campaign(panel)
    assert post(panel.client(Role.ADMIN), f"/campaigns/{campaign_id}/copy").status_code == 302


def test_pages_speak_english_and_need_no_inline_scripts(panel):
    campaign_id = make_campaign(panel)
    with panel.runtime.database.session() as session:
        from webapp.accounts import find_user

        find_user(session, "mia").language = "en"
    client = panel.client()
    for path in (
        "/campaigns/",
        f"/campaigns/{campaign_id}/setup",
        f"/campaigns/{campaign_id}/runs",
    ):
        html = body(client.get(path))
        assert '<html lang="en">' in html and "Campaigns" in html
        assert "<script>" not in html and " style=" not in html
        assert not re.search(r"\son[a-z]+=", html)
    actions = re.findall(
        r'<option value="(\w+)"[^>]*>([^<]*)</option>',
        body(client.get(f"/campaigns/{campaign_id}/setup"))
        .split('name="action"')[1]
        .split("</select>")[0],
    )
    assert {"print_reports": "Print reports", "email": "E-mail"}.items() <= dict(actions).items()
    form = campaign_form(intent="add_filter", new_filter="control_group")
    html = body(post(client, f"/campaigns/{campaign_id}/setup", form))
    assert '<option value="random" selected>random sample</option>' in html


# -- the panel alone, and a queue that does not answer ----------------------------------------


def failed_run(database, campaign_id: int, contact_id: int) -> int:
    """A finished run with one failed recipient, as a worker leaves it."""
    now = datetime.now(UTC)
    with database.session() as session:
        run = Run(
            campaign_id=campaign_id,
            number=1,
            state=RunState.COMPLETED_WITH_ERRORS,
            config={},
            targeted=1,
            failed=1,
            chunks=1,
            created_at=now,
            targeted_at=now,
            finished_at=now,
        )
        session.add(run)
        session.flush()
        session.add(
            RunItem(
                run_id=run.id,
                key=f"contacts:{contact_id}",
                action="greeting_file",
                entity="contacts",
                entity_id=contact_id,
                chunk=0,
                status=ItemStatus.FAILED,
            )
        )
        return run.id


def test_a_panel_alone_queues_on_the_embedded_redis_the_workers_share(settings, tmp_path):
    with tempfile.TemporaryDirectory(prefix="cmp-") as short:
        alone = dataclasses.replace(settings, redis_url=None, data_dir=Path(short))
        app = build_panel(alone)  # no worker, no scheduler, no Redis URL: e.g. under gunicorn
        web = get_campaign(app)
        try:
            add_role_users(web.database)
            shared = SimpleNamespace(
                runtime=SimpleNamespace(database=web.database, plugins=web.plugins, clock=clock)
            )
            ids = add_people(shared, 1)
            campaign_id = make_campaign(
                shared, action="greeting_file", action_settings={"path": str(tmp_path / "g.txt")}
            )
            run_id = failed_run(web.database, campaign_id, ids[0])
            client = client_for(app, Role.CAMPAIGN_MANAGER)
            response = post(client, f"/campaigns/{campaign_id}/runs/{run_id}/retry")
            assert "1 Empfänger wird erneut bearbeitet." in body(client.get(response.location))
            # A worker started on the same data directory finds the job there.
            queue = Redis.from_url(embedded_redis.installation_url(None, Path(short)))
            assert get_queue(queue, BULK).job_ids == [chunk_job_id(run_id, 0, 1)]
        finally:
            web.database.dispose()
            if web.embedded_server is not None:
                web.embedded_server.stop()


def test_a_retry_the_queue_refuses_is_saved_and_the_user_told(panel, tmp_path):
    ids = add_people(panel, 1)
    campaign_id = make_campaign(
        panel, action="greeting_file", action_settings={"path": str(tmp_path / "g.txt")}
    )
    run_id = failed_run(panel.runtime.database, campaign_id, ids[0])
    web = get_campaign(panel.app)
    url = "redis://127.0.0.1:1/0"
    web.runtime = Runtime(web.settings, web.database, web.plugins, Redis.from_url(url), url)
    client = panel.client()
    response = post(client, f"/campaigns/{campaign_id}/runs/{run_id}/retry")
    page = body(client.get(response.location))
    assert "Lauf #1 ist gespeichert, aber die Auftragswarteschlange antwortet nicht" in page
    with panel.runtime.database.session() as session:  # the scheduler's tick takes it from here
        assert session.get(Run, run_id).state == RunState.RUNNING
        lease = session.scalar(select(ChunkLease).where(ChunkLease.run_id == run_id))
        assert (lease.chunk, lease.attempt, lease.holder) == (0, 1, None)


def test_a_start_the_queue_refuses_leaves_no_run(panel):
    campaign_id = make_campaign(panel)
    web = get_campaign(panel.app)
    url = "redis://127.0.0.1:1/0"
    web.runtime = Runtime(web.settings, web.database, web.plugins, Redis.from_url(url), url)
    client = panel.client()
    response = post(client, f"/campaigns/{campaign_id}/start", {"mode": "start"})
    assert "Die Auftragswarteschlange ist nicht erreichbar" in body(client.get(response.location))
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 0


# -- consent: the service communication flag and skipped recipients -------------------------------


def test_only_an_admin_marks_service_communication_and_it_is_audited(panel):
    campaign_id = make_campaign(panel)
    path = f"/campaigns/{campaign_id}/service"
    for role in (Role.VIEWER, Role.REVIEWER, Role.CAMPAIGN_MANAGER):
        refused = post(panel.client(role), path, {"service_communication": "true"})
        assert refused.status_code == 403, role
        assert "Keine Berechtigung" in body(refused)
    assert stored(panel, campaign_id).service_communication is False
    manager_page = body(panel.client().get(f"/campaigns/{campaign_id}/setup"))
    assert 'data-service-communication="off"' in manager_page
    assert f'action="/campaigns/{campaign_id}/service' not in manager_page  # no button

    admin = panel.client(Role.ADMIN)
    done = post(admin, path, {"service_communication": "true"}, follow_redirects=True)
    assert "Die Kampagne ist jetzt Servicekommunikation." in body(done)
    assert stored(panel, campaign_id).service_communication is True
    page = body(panel.client().get(f"/campaigns/{campaign_id}/setup"))
    assert 'data-service-communication="on"' in page
    assert "Widersprüche werden übergangen, Versandsperren nie" in page
    with panel.runtime.database.session() as session:
        entry = session.scalar(
            audit_query().where(AuditEntry.action == "campaign.service_communication")
        )
        assert (entry.actor, entry.details) == ("adam", {"service_communication": True})
    run = start_run(panel.runtime, campaign_id, confirmed_by="test")
    assert run.config["service_communication"] is True


# -- the sending window ----------------------------------------------------------------------------


def test_a_manager_sets_a_sending_window_and_a_bad_one_stores_nothing(panel):
    campaign_id = make_campaign(panel)
    path = f"/campaigns/{campaign_id}/sending-window"
    workdays = {"days": ["0", "1", "2", "3", "4"], "start": "08:00", "end": "20:00"}
    refused = post(panel.client(Role.VIEWER), path, workdays)
    assert refused.status_code == 403
    client = panel.client()
    assert "Jederzeit (kein Versandfenster)" in body(client.get(f"/campaigns/{campaign_id}/setup"))

    for form, problem in [
        ({**workdays, "days": []}, "Versandfenster: Wählen Sie mindestens einen Tag."),
        ({**workdays, "end": "07:00"}, "Das Ende muss am Tag später liegen als der Beginn."),
        ({**workdays, "start": "25:00"}, "„25:00“ ist keine Uhrzeit (geschrieben wie 08:30)."),
        ({**workdays, "start": ""}, "Von: Bitte ausfüllen."),
    ]:
        page = body(post(client, path, form, follow_redirects=True))
        assert problem in page, form
        assert stored(panel, campaign_id).sending_window is None

    saturday_too = {**workdays, "days": ["5", *workdays["days"]]}
    page = body(post(client, path, saturday_too, follow_redirects=True))
    assert "Das Versandfenster ist gespeichert" in page
    assert f"Mo.{DASH}Sa., 08:00{DASH}20:00 Uhr" in page
    assert stored(panel, campaign_id).sending_window == {
        "days": [0, 1, 2, 3, 4, 5],
        "start": "08:00",
        "end": "20:00",
    }
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "rita")).language = "en"
    english = body(panel.client(Role.REVIEWER).get(f"/campaigns/{campaign_id}/setup"))
    assert f"Mon{DASH}Sat, 08:00{DASH}20:00" in english

    page = body(post(client, path, {"intent": "remove"}, follow_redirects=True))
    assert "Die nächsten Läufe versenden jederzeit" in page
    assert stored(panel, campaign_id).sending_window is None
    assert audit_actions(panel).count("campaign.sending_window") == 2


def test_a_run_outside_its_window_waits_and_its_page_says_until_when(panel):
    add_people(panel, 3)
    campaign_id = make_campaign(panel)
    tomorrow = (datetime.now(BERLIN) + timedelta(days=1)).date()
    window = {"days": [str(tomorrow.weekday())], "start": "08:00", "end": "20:00"}
    client = panel.client()
    post(client, f"/campaigns/{campaign_id}/sending-window", window)
    run_id = start_and_confirm(panel, client, campaign_id)  # today is not a sending day

    with panel.runtime.database.session() as session:
        run = session.get(Run, run_id)
        assert (run.state, run.done) == (RunState.RUNNING, 0)
    page = body(client.get(f"/campaigns/{campaign_id}/runs/{run_id}"))
    assert f"Der Versand geht am {tomorrow:%d.%m.%Y} 08:00 weiter." in page
    assert "Das Versandfenster (" in page


# -- the hourly limit ------------------------------------------------------------------------------


def test_a_manager_sets_an_hourly_limit_and_a_bad_one_stores_nothing(panel):
    campaign_id = make_campaign(panel)
    path = f"/campaigns/{campaign_id}/hourly-limit"
    assert post(panel.client(Role.VIEWER), path, {"hourly_limit": "500"}).status_code == 403
    client = panel.client()
    assert "Keine (so schnell wie möglich)" in body(client.get(f"/campaigns/{campaign_id}/setup"))

    for value, problem in [
        ("0", "Grenze je Stunde: Geben Sie eine Zahl von 1 bis 1.000.000 an."),
        ("2.000.000", "Grenze je Stunde: Geben Sie eine Zahl von 1 bis 1.000.000 an."),
        ("viele", "ganze Zahl"),
        ("", "Grenze je Stunde: Bitte ausfüllen."),
    ]:
        page = body(post(client, path, {"hourly_limit": value}, follow_redirects=True))
        assert problem in page, value
        assert stored(panel, campaign_id).hourly_limit is None

    page = body(post(client, path, {"hourly_limit": "1.500"}, follow_redirects=True))
    assert "Die Grenze je Stunde ist gespeichert" in page
    assert "höchstens 1.500 Sendungen" in page
    assert stored(panel, campaign_id).hourly_limit == 1500
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "rita")).language = "en"
    english = body(panel.client(Role.REVIEWER).get(f"/campaigns/{campaign_id}/setup"))
    assert "at most 1,500 sends" in english

    page = body(post(client, path, {"intent": "remove"}, follow_redirects=True))
    assert "Die nächsten Läufe versenden so schnell wie möglich" in page
    assert stored(panel, campaign_id).hourly_limit is None
    assert audit_actions(panel).count("campaign.hourly_limit") == 2


def test_a_run_past_its_hourly_limit_waits_and_its_page_says_until_when(panel):
    add_people(panel, 3)
    mail = {"subject": "Hallo", "text": "Hallo {{ recipient.last_name }}"}
    campaign_id = make_campaign(panel, action="email", action_settings=mail)
    client = panel.client()
    post(client, f"/campaigns/{campaign_id}/hourly-limit", {"hourly_limit": "2"})
    earlier = panel.runtime.clock.now() - timedelta(minutes=50)
    with panel.runtime.database.session() as session:  # the hour's two sends went out before
        session.add(HourlyClaim(campaign_id=campaign_id, claimed_at=earlier, rows=2))
    run_id = start_and_confirm(panel, client, campaign_id)

    with panel.runtime.database.session() as session:
        run = session.get(Run, run_id)
        assert (run.state, run.done) == (RunState.RUNNING, 0)
    page = body(client.get(f"/campaigns/{campaign_id}/runs/{run_id}"))
    resumes = (earlier + timedelta(hours=1)).astimezone(BERLIN)
    reached = "Die Grenze je Stunde (2) ist erreicht: Der Versand geht am {:%d.%m.%Y %H:%M} weiter."
    assert reached.format(resumes) in page
    assert "höchstens 2 Sendungen" in page


def test_skipped_recipients_show_their_reason_and_count_apart_from_failures(panel):
    ids = add_people(panel, 4)
    with panel.runtime.database.session() as session:
        session.execute(update(Contact).where(Contact.id == ids[0]).values(dispatch_block=True))
        session.execute(update(Contact).where(Contact.id == ids[1]).values(opt_out_post=True))
        session.execute(update(Contact).where(Contact.id == ids[2]).values(street="Ohne Nummer"))
    campaign_id = make_campaign(panel)
    client = panel.client()
    post(client, f"/campaigns/{campaign_id}/start", {"mode": "start"})
    panel.work()
    with panel.runtime.database.session() as session:
        run = session.scalar(select(Run))
    post(client, f"/campaigns/{campaign_id}/runs/{run.id}/confirm", {"count": "1"})
    panel.work()
    status = client.get(f"/campaigns/{campaign_id}/runs/{run.id}/status").get_json()
    assert (status["targeted"], status["done"], status["failed"], status["skipped"]) == (4, 1, 0, 3)
    page = body(client.get(f"/campaigns/{campaign_id}/runs/{run.id}?status=skipped"))
    for reason in ("Versandsperre", "Widerspruch Post", "Anschrift unvollständig"):
        assert f'<td class="detail-cell">{reason}</td>' in page
        assert f">{reason}</dt><dd>1</dd>" in page  # skipped by reason
    runs_tab = body(client.get(f"/campaigns/{campaign_id}/runs"))
    assert "Übersprungen" in runs_tab and "Fehlgeschlagen" in runs_tab
