"""The query editor through the Flask test client: preview with count, SQL and rows, errors
that name the condition, field and value, saving, CSV export, handing the result to a
campaign, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import func, insert, select

from core.audit import audit_query
from core.engine.campaigns import CampaignConfig, create_campaign
from core.models import (
    Campaign,
    CampaignRecord,
    Contact,
    Contract,
    Product,
    Role,
    SalesPartner,
    SavedQuery,
    User,
)
from core.query import ENTITIES, QueryError, resolve_path
from webapp.i18n import PANEL_CATALOGS, catalog_ids
from webapp.queries.views import choice_key, field_tree

from panel_helpers import ROLE_USERS, body, field_errors, post

PROSPECTS_WITH_EMAIL = {
    "root": "contacts",
    "where": {
        "op": "and",
        "conditions": [
            {"field": "status", "type": "equals", "values": ["prospect"]},
            {
                "op": "or",
                "conditions": [
                    {"field": "city", "type": "equals", "values": ["Köln"]},
                    {"field": "email", "type": "ends_with", "values": ["@web.de"]},
                ],
            },
        ],
    },
    "output": ["number", "last_name", "city"],
    "sort": [{"field": "number"}],
}


@pytest.fixture
def people(panel) -> list[int]:
    rows = [
        ("K-1", "Anders", "Köln", "a@gmx.de", "prospect"),
        ("K-2", "Böhm", "Bonn", "b@web.de", "prospect"),
        ("K-3", "Cordes", "Bonn", "c@gmx.de", "prospect"),
        ("K-4", "Dreßler", "Köln", "d@gmx.de", "customer"),
    ]
    with panel.runtime.database.session() as session:
        return list(
            session.scalars(
                insert(Contact).returning(Contact.id),
                [
                    {
                        "number": number,
                        "last_name": name,
                        "city": city,
                        "email": email,
                        "status": status,
                        "attributes": {},
                    }
                    for number, name, city, email, status in rows
                ],
            )
        )


def submit(client, path="/queries/new", definition=PROSPECTS_WITH_EMAIL, **fields):
    return post(
        client,
        path,
        {"definition": json.dumps(definition) if not isinstance(definition, str) else definition}
        | fields,
    )


def saved_query(panel, name="Interessenten", definition=PROSPECTS_WITH_EMAIL, **kw) -> int:
    with panel.runtime.database.session() as session:
        saved = SavedQuery(name=name, definition=definition, **kw)
        session.add(saved)
        session.flush()
        return saved.id


def test_the_preview_shows_count_sql_and_rows(panel, people):
    html = body(submit(panel.client(Role.VIEWER), intent="preview"))
    assert re.search(r"data-count>2</span>", html)
    rows = re.findall(r"<tr><td>(K-\d)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", html)
    assert rows == [("K-1", "Anders", "Köln"), ("K-2", "Böhm", "Bonn")]
    assert '<th scope="col">Nummer</th><th scope="col">Nachname</th>' in html
    assert "FROM contacts" in html and "LIMIT 25" in html


def test_the_preview_is_paginated(panel):
    with panel.runtime.database.session() as session:
        session.execute(
            insert(Contact),
            [{"number": f"N-{n:03d}", "last_name": "X", "attributes": {}} for n in range(60)],
        )
    definition = {"root": "contacts", "output": ["number"], "sort": [{"field": "number"}]}
    html = body(submit(panel.client(Role.VIEWER), definition=definition, page="3"))
    assert "51 bis 60 von 60" in html and "<td>N-050</td>" in html


@pytest.mark.parametrize(
    ("condition", "message", "english"),
    [
        (
            {"field": "birth_date", "type": "contains", "values": ["1970"]},
            "Block 2 \u203a Bedingung 1 (Feld „Geburtsdatum“, enthält): enthält passt nicht zum "
            "Feld „birth_date“ (Art date)",
            "contains does not fit the date field &#39;birth_date&#39;",
        ),
        (
            {"field": "birth_date", "type": "equals", "values": ["1.2.1970"]},
            "Block 2 \u203a Bedingung 1 (Feld „Geburtsdatum“, ist gleich einem der Werte), Wert 1: "
            "&#39;1.2.1970&#39; ist kein Datum (jjjj-mm-tt)",
            "&#39;1.2.1970&#39; is not a date (yyyy-mm-dd)",
        ),
        (  # a condition type named by its title, as the editor offers it
            {"field": "birth_date", "type": "between", "values": ["1970-01-01"]},
            "Block 2 \u203a Bedingung 1 (Feld „Geburtsdatum“, liegt zwischen): liegt zwischen "
            "braucht genau 2 Werte (von, bis)",
            "is between needs exactly 2 values (from, to)",
        ),
        (
            {"field": "ort", "type": "equals", "values": ["Köln"]},
            "Block 2 \u203a Bedingung 1 (Feld „ort“, ist gleich einem der Werte): unbekanntes Feld "
            "„ort“ bei contacts",
            "unknown field &#39;ort&#39; on contacts",
        ),
    ],
)
def test_errors_name_the_condition_field_operator_and_value(panel, condition, message, english):
    definition = {
        "root": "contacts",
        "where": {
            "conditions": [
                {"field": "city", "type": "not_empty"},
                {"op": "or", "conditions": [condition]},
            ]
        },
    }
    response = submit(panel.client(Role.VIEWER), definition=definition)
    assert response.status_code == 422
    assert message in body(response)
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == ROLE_USERS[Role.VIEWER])).language = "en"
    assert english in body(submit(panel.client(Role.VIEWER), definition=definition))


def test_broken_json_is_reported_and_kept_for_editing(panel):
    response = submit(panel.client(Role.VIEWER), definition='{"root": "contacts",')
    assert response.status_code == 422
    assert (
        "Die Abfrage ist kein gültiges JSON: Schlüssel in doppelten Anführungszeichen erwartet "
        "(Zeile 1, Spalte 21)"
    ) in body(response)
    assert "{&#34;root&#34;: &#34;contacts&#34;,</textarea>" in body(response)


def test_json_that_does_not_parse_is_explained_in_the_users_language_however_it_is_sent(panel):
    """Preview, save and export: json's own message and its place, in German or English."""
    broken = '{\n  "root": "contacts"\n  "output": ["number"]\n}'
    sends = [
        lambda client: submit(client, definition=broken),
        lambda client: submit(client, definition=broken, intent="save", name="Kaputt"),
        lambda client: post(client, "/queries/export.csv", {"definition": broken}),
    ]
    german = "Die Abfrage ist kein gültiges JSON: Komma erwartet (Zeile 3, Spalte 3)"
    for send in sends:
        response = send(panel.client())
        assert response.status_code == 422
        assert german in body(response)
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(SavedQuery)) == 0
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    english = "The query is not valid JSON: Expecting ',' delimiter: line 3 column 3 (char 25)"
    for send in sends:
        assert english in unescape(body(send(panel.client())))


def test_a_query_nested_too_deep_is_refused_with_the_limit_not_a_500(panel):
    depth = 490
    text = '{"root": "contacts", "where": ' + '{"conditions": [' * depth + "]}" * depth + "}"
    client = panel.client()
    for fields in ({}, {"intent": "save", "name": "Tief"}):
        response = submit(client, definition=text, **fields)
        assert response.status_code == 422
        assert (
            "Die Abfrage ist tiefer als 32 Ebenen verschachtelt; Blöcke sind höchstens "
            "10 Ebenen tief erlaubt." in body(response)
        )
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(SavedQuery)) == 0


def test_a_bad_button_page_or_overlong_query_is_refused_and_saves_nothing(panel):
    client = panel.client()
    for fields, message in (
        (
            {"intent": "delete_all", "name": "X"},
            "Schaltfläche: „delete_all“ steht nicht zur Auswahl.",
        ),
        ({"page": "zwei"}, "Seite: „zwei“ ist keine ganze Zahl."),
        ({"page": "0"}, "Seite: Mindestens 1."),
        ({"intent": "save", "name": "x" * 201}, "Höchstens 200 Zeichen."),
    ):
        response = submit(client, **fields)
        assert response.status_code == 422
        assert message in body(response)
    too_long = submit(client, definition="x" * 1_000_001, intent="save", name="Lang")
    assert too_long.status_code == 422
    assert "Abfrage als JSON: Höchstens 1000000 Zeichen." in body(too_long)
    export = post(client, "/queries/export.csv", {"definition": "x" * 1_000_001})
    assert export.status_code == 422
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(SavedQuery)) == 0


def test_a_nul_character_in_a_query_value_or_parameter_is_refused_never_a_500(panel, people):
    definition = json.loads(json.dumps(PROSPECTS_WITH_EMAIL))
    definition["where"]["conditions"][0]["values"] = ["pro\0spect"]
    client = panel.client()
    escaped = submit(client, definition=json.dumps(definition), intent="save", name="Null")
    assert escaped.status_code == 422  # "\u0000" in the JSON: the query's own check
    assert (
        "Bedingung 1 (Feld „Status“, ist gleich einem der Werte), Wert 1: "
        "ein Wert darf kein NUL-Zeichen (\\0) enthalten" in body(escaped)
    )
    raw = submit(client, definition=json.dumps(definition).replace("\\u0000", "\0"))
    assert raw.status_code == 400
    assert "Das Feld „definition“ enthält ein NUL-Zeichen (\\0)." in body(raw)
    response = client.get("/queries/?q=Inter%00essenten")
    assert response.status_code == 400
    assert "Das Feld „q“ enthält ein NUL-Zeichen" in body(response)
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(SavedQuery)) == 0


def test_saving_creates_and_updates_a_query_and_names_a_clash(panel, people):
    client = panel.client()
    response = submit(client, intent="save", name="", description="")
    assert field_errors(body(response), "name") == ["Bitte geben Sie einen Namen ein."]
    response = submit(client, intent="save", name="Interessenten", is_distribution_list="true")
    assert response.status_code == 302
    with panel.runtime.database.session() as session:
        saved = session.scalar(select(SavedQuery))
        assert (saved.name, saved.is_distribution_list, saved.created_by) == (
            "Interessenten",
            True,
            "mia",
        )
        assert saved.definition["where"]["conditions"][1]["op"] == "or"
        saved_id = saved.id
    assert response.location.endswith(f"/queries/{saved_id}")
    page = body(client.get(f"/queries/{saved_id}"))
    assert re.search(r"data-count>2</span>", page)

    other = saved_query(panel, "Andere")
    clash = submit(client, f"/queries/{other}", intent="save", name="Interessenten")
    assert field_errors(body(clash), "name") == [
        "Eine Abfrage namens „Interessenten“ gibt es schon."
    ]
    with panel.runtime.database.session() as session:
        actions = [entry.action for entry in session.scalars(audit_query())]
    assert actions == ["query.create"]


def test_the_list_is_searchable_and_marks_distribution_lists(panel):
    saved_query(panel, "Interessenten", is_distribution_list=True)
    saved_query(panel, "Kunden Köln")
    client = panel.client(Role.VIEWER)
    html = body(client.get("/queries/"))
    assert 'Interessenten</a> <span class="badge badge-count">Verteiler' in html
    assert "Kunden Köln" in body(client.get("/queries/?q=köln"))
    assert "Kunden Köln" not in body(client.get("/queries/?lists=1"))


def test_the_export_streams_every_row_as_csv(panel, people):
    client = panel.client()
    response = post(
        client,
        "/queries/export.csv",
        {"definition": json.dumps(PROSPECTS_WITH_EMAIL), "name": "Interessenten"},
    )
    with response:  # closing a streamed response ends its request (and database session)
        assert response.mimetype == "text/csv"
        assert response.is_streamed
        assert 'filename="Interessenten.csv"' in response.headers["Content-Disposition"]
        text = response.get_data().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text), delimiter=";")) == [
        ["Nummer", "Nachname", "Ort"],
        ["K-1", "Anders", "Köln"],
        ["K-2", "Böhm", "Bonn"],
    ]
    saved_id = saved_query(panel)
    with client.get(f"/queries/{saved_id}/export.csv") as saved_export:
        assert saved_export.get_data().count(b"\r\n") == 3
    assert panel.client(Role.VIEWER).get(f"/queries/{saved_id}/export.csv").status_code == 403


def test_both_exports_neutralise_formulas_in_the_dialect_of_the_users_spreadsheet(panel, people):
    with panel.runtime.database.session() as session:
        hostile = session.get(Contact, people[0])
        hostile.last_name = '=HYPERLINK("http://evil.example/", "Klick")'
        session.get(Contact, people[1]).last_name = "@SUM(1+1)"
    saved_id = saved_query(panel)
    client = panel.client()
    exports = (
        lambda: client.get(f"/queries/{saved_id}/export.csv"),
        lambda: post(
            client,
            "/queries/export.csv",
            {"definition": json.dumps(PROSPECTS_WITH_EMAIL), "name": "Interessenten"},
        ),
    )
    for export in exports:
        with export() as response:
            data = response.get_data()
        assert data.startswith(b"\xef\xbb\xbf")  # German Excel reads UTF-8 only with a BOM
        assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";")) == [
            ["Nummer", "Nachname", "Ort"],
            ["K-1", '\'=HYPERLINK("http://evil.example/", "Klick")', "Köln"],
            ["K-2", "'@SUM(1+1)", "Bonn"],
        ]
    with panel.runtime.database.session() as session:
        session.scalar(
            select(User).where(User.username == ROLE_USERS[Role.CAMPAIGN_MANAGER])
        ).language = "en"
    for export in exports:
        with export() as response:
            data = response.get_data()
        assert not data.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(data.decode("utf-8")), delimiter=","))
        assert rows[0] == ["Contact number", "Last name", "City"]
        assert rows[1][1] == '\'=HYPERLINK("http://evil.example/", "Klick")'


def test_a_query_used_by_a_campaign_is_not_deleted(panel):
    saved_id = saved_query(panel)
    with panel.runtime.database.session() as session:
        create_campaign(
            session,
            panel.runtime.plugins,
            CampaignConfig(
                datasource="query",
                datasource_settings={"saved_query_id": saved_id},
                action="print_reports",
                action_settings={"report": "Informationsschreiben"},
            ),
            panel.runtime.clock.now(),
            name="Informationskampagne",
        )
    client = panel.client()
    assert "Informationskampagne</a>" in body(client.get(f"/queries/{saved_id}"))
    response = post(client, f"/queries/{saved_id}/delete")
    assert "Die Kampagne Informationskampagne nutzt diese Abfrage." in body(
        client.get(response.location)
    )
    excluded = saved_query(panel, "Ausgenommen")
    with panel.runtime.database.session() as session:
        create_campaign(
            session,
            panel.runtime.plugins,
            CampaignConfig(
                datasource="combined",
                datasource_settings={"queries": [saved_id], "excluded": [excluded]},
                action="print_reports",
                action_settings={"report": "Informationsschreiben"},
            ),
            panel.runtime.clock.now(),
            name="Kombiniert",
        )
    response = post(client, f"/queries/{excluded}/delete")
    assert "Die Kampagne Kombiniert nutzt diese Abfrage." in body(client.get(response.location))
    unused = saved_query(panel, "Übrig")
    assert post(client, f"/queries/{unused}/delete").status_code == 302
    with panel.runtime.database.session() as session:
        assert sorted(session.scalars(select(SavedQuery.name))) == ["Ausgenommen", "Interessenten"]


def test_the_result_goes_to_a_new_campaign_dynamic_or_as_the_current_list(panel, people):
    client = panel.client()
    response = submit(client, intent="campaign_dynamic", name="Interessenten")
    with panel.runtime.database.session() as session:
        saved_id = session.scalar(select(SavedQuery.id))
    assert response.location.endswith(f"/campaigns/new?saved_query_id={saved_id}")
    html = body(client.get(response.location))
    assert f'<option value="{saved_id}" selected>Interessenten</option>' in html

    handed = submit(client, "/campaigns/new", intent="from_query_static")
    html = body(handed)
    assert 'name="freeze"' in html and 'value="static" selected' in html
    freeze = re.search(r'name="freeze" value="([^"]+)"', html).group(1).replace("&#34;", '"')
    form = {
        "intent": "save",
        "name": "Statisch",
        "freeze": freeze,
        "datasource": "static",
        "ds.__plugin": "static",
        "ds.entity": "contacts",
        "filter_count": "0",
        "action": "print_reports",
        "act.__plugin": "print_reports",
        "act.report": "Informationsschreiben",
        "act.archive": "true",
        "act.store": "filesystem",
    }
    response = post(client, "/campaigns/new", form)
    assert response.status_code == 302
    with panel.runtime.database.session() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.name == "Statisch"))
        frozen = sorted(session.scalars(select(CampaignRecord.entity_id)))
    assert campaign.datasource == "static"
    assert frozen == people[:2]
    assert "2 Datensätze aus der Abfrage gespeichert." in body(client.get(response.location))


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REVIEWER])
def test_only_campaign_managers_save_export_and_delete(panel, role):
    saved_id = saved_query(panel)
    client = panel.client(role)
    assert submit(client, intent="save", name="X").status_code == 403
    assert submit(client, f"/queries/{saved_id}", intent="save", name="X").status_code == 403
    assert submit(client, intent="campaign_dynamic", name="X").status_code == 403
    assert post(client, f"/queries/{saved_id}/delete").status_code == 403
    assert post(client, "/queries/export.csv", {"definition": "{}"}).status_code == 403
    assert submit(client, intent="preview").status_code == 200
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(SavedQuery)) == 1


def test_the_editor_schema_lists_fields_types_and_texts(panel):
    data = panel.client(Role.VIEWER).get("/queries/schema.json").get_json()
    contacts = data["roots"]["contacts"]
    assert contacts["title"] == "Kontakte"
    partner = next(node for node in contacts["fields"] if node["name"] == "partner")
    assert partner["title"] == "Vertriebspartner"
    assert {
        "kind": "field",
        "name": "name",
        "path": "partner.name",
        "title": "Name",
        "type": "text",
    } in partner["children"]
    assert data["types"]["boolean"] == ["equals", "is_empty", "not_equals", "not_empty"]
    assert len(data["type_labels"]) == 16
    assert data["texts"]["op_or"].startswith("ODER")


def test_choice_values_are_offered_and_shown_by_their_titles_in_the_readers_language(panel, people):
    """The condition builder's checkboxes and the result name a choice in the reader's
    language; the query keeps the stored value."""
    client = panel.client(Role.VIEWER)
    definition = PROSPECTS_WITH_EMAIL | {"output": ["number", "status", "preferred_channel"]}

    def offered() -> dict[str, list[tuple[str, str]]]:
        fields = client.get("/queries/schema.json").get_json()["roots"]["contacts"]["fields"]
        nodes = {name: _find(fields, name) for name in ("kind", "status", "preferred_channel")}
        nodes["contract status"] = _find(_find(fields, "contracts")["children"], "status")
        return {
            name: [(choice["value"], choice["title"]) for choice in node["choices"]]
            for name, node in nodes.items()
        }

    def shown() -> list[tuple[str, ...]]:
        html = body(submit(client, definition=definition))
        return re.findall(r"<tr><td>(K-\d)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", html)

    german = offered()
    assert german["kind"] == [("person", "Person"), ("company", "Firma")]
    assert german["status"] == [("prospect", "Interessent"), ("customer", "Kunde")]
    assert german["preferred_channel"] == [("post", "Post"), ("email", "E-Mail"), ("web", "Web")]
    assert german["contract status"] == [("active", "aktiv"), ("cancelled", "gekündigt")]
    assert shown() == [("K-1", "Interessent", "Post"), ("K-2", "Interessent", "Post")]
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == ROLE_USERS[Role.VIEWER])).language = "en"
    english = offered()
    assert english["status"] == [("prospect", "Prospect"), ("customer", "Customer")]
    assert english["preferred_channel"][1] == ("email", "E-mail")
    assert shown() == [("K-1", "Prospect", "Post"), ("K-2", "Prospect", "Post")]


def test_the_export_names_choices_as_the_readers_spreadsheet_does(panel, people):
    definition = PROSPECTS_WITH_EMAIL | {"output": ["number", "status"]}
    client = panel.client()
    with post(
        client, "/queries/export.csv", {"definition": json.dumps(definition), "name": "X"}
    ) as response:
        rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig")), delimiter=";"))
    assert rows == [["Nummer", "Status"], ["K-1", "Interessent"], ["K-2", "Interessent"]]


def test_every_choice_of_the_whitelist_has_a_title_in_german_and_english():
    for entity in ENTITIES.values():
        for spec in entity.fields.values():
            for value in spec.choices or ():
                key = choice_key(entity.name, spec.name, value)
                for language in ("de", "en"):
                    assert key in catalog_ids(PANEL_CATALOGS, language), (key, language)


def _find(nodes: list[dict], name: str) -> dict:
    return next(node for node in nodes if node["name"] == name)


def test_field_tree():
    tree = field_tree("contacts")
    city = _find(tree, "city")
    assert city == {
        "kind": "field",
        "name": "city",
        "path": "city",
        "title": "City",
        "type": "text",
    }
    assert _find(tree, "status")["choices"] == [
        {"value": "prospect", "title": "contacts.status.prospect"},
        {"value": "customer", "title": "contacts.status.customer"},
    ]
    partner = _find(tree, "partner")
    assert partner["kind"] == "relation"
    assert partner["to_many"] is False
    assert partner["target"] == "partners"
    assert _find(partner["children"], "number")["path"] == "partner.number"
    contracts = _find(tree, "contracts")
    assert contracts["to_many"] is True
    product = _find(contracts["children"], "product")
    assert _find(product["children"], "name")["path"] == "contracts.product.name"
    # the way straight back is left out, and the depth is limited
    assert "contact" not in {node["name"] for node in contracts["children"]}
    assert all(node["kind"] == "field" for node in product["children"])


def test_field_tree_paths_all_resolve():
    def paths(nodes: list[dict]) -> list[str]:
        found = []
        for node in nodes:
            if node["kind"] == "field":
                found.append(node["path"])
            else:
                found += paths(node["children"])
        return found

    for root in ENTITIES:
        for depth in (0, 1, 3):
            for path in paths(field_tree(root, depth)):
                assert resolve_path(root, path).path == path
    assert all(node["kind"] == "field" for node in field_tree("contracts", 0))
    with pytest.raises(QueryError, match="unknown root"):
        field_tree("users")


CONTRACTS_PER_PARTNER = {
    "root": "contracts",
    "group_by": ["partner.name"],
    "aggregates": [
        {"function": "count"},
        {"function": "sum", "field": "amount"},
        {"function": "avg", "field": "amount"},
        {"function": "min", "field": "signed_on"},
        {"function": "max", "field": "signed_on"},
    ],
}


@pytest.fixture
def contracts(panel, people) -> None:
    with panel.runtime.database.session() as session:
        agent = SalesPartner(number="SP1", name="Anna Agent")
        broker = SalesPartner(number="SP2", name="Bernd Broker")
        home = Product(code="HR", name="Hausrat")
        session.add_all([agent, broker, home])
        session.flush()
        rows = [
            ("V1", people[0], agent.id, date(2024, 1, 15), Decimal("1200.00")),
            ("V2", people[1], agent.id, date(2024, 6, 1), Decimal("80.50")),
            ("V3", people[2], broker.id, date(2023, 2, 28), Decimal("40.00")),
            ("V4", people[3], None, date(2025, 3, 1), Decimal("9.99")),
        ]
        session.add_all(
            Contract(
                number=number,
                contact_id=contact_id,
                partner_id=partner_id,
                product_id=home.id,
                signed_on=signed_on,
                amount=amount,
            )
            for number, contact_id, partner_id, signed_on, amount in rows
        )


GROUPED_CSV = [
    [
        "Vertriebspartner \u203a Name",
        "Anzahl",
        "Summe von Betrag",
        "Durchschnitt von Betrag",
        "Kleinster Wert von Abgeschlossen am",
        "Größter Wert von Abgeschlossen am",
    ],
    ["Anna Agent", "2", "1.280,50", "640,25", "15.01.2024", "01.06.2024"],
    ["Bernd Broker", "1", "40,00", "40,00", "28.02.2023", "28.02.2023"],
    ["", "1", "9,99", "9,99", "01.03.2025", "01.03.2025"],
]


def test_a_grouped_query_exports_one_row_per_group_with_its_figures(panel, contracts):
    client = panel.client()
    response = post(
        client,
        "/queries/export.csv",
        {"definition": json.dumps(CONTRACTS_PER_PARTNER), "name": "Verträge je Partner"},
    )
    with response:
        assert response.is_streamed
        data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";")) == GROUPED_CSV
    saved_id = saved_query(panel, "Verträge je Partner", CONTRACTS_PER_PARTNER)
    with client.get(f"/queries/{saved_id}/export.csv") as saved_export:
        text = saved_export.get_data().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text), delimiter=";")) == GROUPED_CSV


def test_the_preview_shows_the_groups_as_a_table(panel, contracts):
    per_city = {"root": "contacts", "group_by": ["city"], "aggregates": [{"function": "count"}]}
    html = body(submit(panel.client(Role.VIEWER), definition=per_city, intent="preview"))
    assert re.search(r"Gruppen <span[^>]*data-count>2</span>", html)
    assert '<th scope="col">Ort</th><th scope="col">Anzahl</th>' in html
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", html)
    assert rows == [("Bonn", "2"), ("Köln", "2")]
    assert "GROUP BY" in html
    html = body(submit(panel.client(Role.VIEWER), definition=CONTRACTS_PER_PARTNER))
    cells = re.findall(r"<td>([^<]*)</td>", html)
    assert cells[: len(GROUPED_CSV[1])] == GROUPED_CSV[1]


@pytest.mark.parametrize(
    ("grouping", "message"),
    [
        (
            {"group_by": ["stadt"], "aggregates": [{"function": "count"}]},
            "Gruppenfeld 1: unbekanntes Feld",
        ),
        (
            {"group_by": ["city"], "aggregates": [{"function": "sum", "field": "last_name"}]},
            "Kennzahl 1: Summe passt nicht zum Feld „last_name“ (Art text); möglich sind Felder "
            "der Art number",
        ),
        (
            {
                "group_by": ["city"],
                "aggregates": [{"function": "count"}, {"function": "avg"}],
            },
            "Kennzahl 2: Durchschnitt braucht ein Feld, z. B. amount",
        ),
        (
            {"group_by": ["city"], "aggregates": [{"function": "median", "field": "id"}]},
            "Kennzahl 1: 'median' ist keine dieser Kennzahlen: count, sum, avg, min, max",
        ),
        (
            {"group_by": ["city"], "aggregates": []},
            "Gruppieren: bitte mindestens eine Kennzahl für die Gruppen wählen, z. B. count",
        ),
        (
            {"group_by": [], "aggregates": [{"function": "count"}]},
            "Gruppieren: Kennzahlen brauchen mindestens ein Gruppenfeld, z. B. city",
        ),
        (
            {"group_by": list("abcdef"), "aggregates": [{"function": "count"}]},
            "Gruppieren: höchstens 5 Gruppenfelder",
        ),
    ],
)
def test_bad_groupings_are_named_in_german_in_preview_and_export(panel, grouping, message):
    definition = {"root": "contacts", **grouping}
    client = panel.client()
    for response in (
        submit(client, definition=definition, intent="preview"),
        post(client, "/queries/export.csv", {"definition": json.dumps(definition)}),
    ):
        assert response.status_code == 422
        assert message in unescape(body(response))
