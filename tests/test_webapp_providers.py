"""Providers, services, cost categories, cost types, prices of every kind and provider
processes through the Flask test client, on SQLite and PostgreSQL, with the problems of a
form shown next to the input they concern."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import Field
from sqlalchemy import select

from core import hookimpl
from core.models import Role, User
from core.plugin_base import UploadTarget, UploadTargetParams
from plugins.processes.costs import Basis, StructureKind
from plugins.processes.models import (
    CostCategory,
    CostCategoryKind,
    CostStructure,
    CostType,
    Provider,
    ProviderKind,
    ProviderService,
    ServiceProcess,
)

from panel_helpers import body, build_panel, client_for, field_errors, panel_plugins, post
from process_panel_helpers import audit_actions, audit_summaries, world

D = Decimal


def test_providers_and_services(panel):
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    bad = post(manager, "/providers/new", {"name": "", "kind": "print_shop", "email": "druck@"})
    assert bad.status_code == 422
    assert field_errors(body(bad), "name") == ["Bitte ausfüllen."]
    assert field_errors(body(bad), "email") == ["„druck@“ ist keine E-Mail-Adresse."]
    created = post(
        manager,
        "/providers/new",
        {
            "name": "Druckhaus West",
            "kind": "print_shop",
            "email": "auftrag@druckhaus.de",
            "active": "true",
        },
    )
    assert created.status_code == 302
    with panel.runtime.database.session() as session:
        provider = session.scalar(select(Provider))
        assert (provider.kind, provider.active) == (ProviderKind.PRINT_SHOP, True)
        provider_id = provider.id
    assert (
        post(
            manager, f"/providers/{provider_id}/edit", {"name": "Druckhaus West", "kind": "router"}
        ).status_code
        == 302
    )
    service = post(manager, f"/providers/{provider_id}/services/new", {"name": "Brief A4"})
    assert service.status_code == 302
    twice = post(manager, f"/providers/{provider_id}/services/new", {"name": "Brief A4"})
    assert field_errors(body(twice), "name") == ["Dieser Name ist bereits vergeben."]
    listing = body(panel.client(Role.VIEWER).get("/providers/"))
    assert "Druckhaus West" in listing and "inaktiv" in listing  # unticked: inactive now
    assert "Versanddienstleister (Router)" in listing
    assert audit_actions(panel) == [
        "provider_service.create",
        "provider.update",
        "provider.create",
    ]


def test_the_service_page_describes_every_price(panel):
    ids = world(panel)
    html = body(panel.client(Role.VIEWER).get(f"/providers/services/{ids.print_service_id}"))
    assert "50 €" in html and "0,08 €" in html
    assert "≤ 100: 0,13 €; ≤ 1.000: 0,12 €; darüber: 0,11 €" in html
    assert "Eine Kostenart muss gewählt werden" in html
    assert "Noch nicht eingerichtet" in html
    assert "Preis hinzufügen" not in html  # a viewer changes nothing
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "viola")).language = "en"
    html = body(panel.client(Role.VIEWER).get(f"/providers/services/{ids.print_service_id}"))
    assert "€50" in html and "€0.08" in html
    assert "≤ 100: €0.13; ≤ 1,000: €0.12; above: €0.11" in html


def test_a_price_broken_by_hand_says_what_is_missing_in_the_readers_language(panel):
    ids = world(panel)
    with panel.runtime.database.session() as session:
        for kind, brackets in ((StructureKind.LINEAR, []), (StructureKind.LINEAR_THRESHOLD, [{}])):
            session.add(
                CostStructure(
                    cost_category_id=ids.postage_category_id, kind=kind, brackets=brackets
                )
            )
    viewer = panel.client(Role.VIEWER)
    german = body(viewer.get(f"/providers/services/{ids.print_service_id}"))
    assert "Unvollständig: Ein Preis der Art „Linear“ braucht einen Betrag." in german
    assert "Unvollständig: brackets.0.price: Bitte ausfüllen." in german
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "viola")).language = "en"
    english = body(viewer.get(f"/providers/services/{ids.print_service_id}"))
    assert "Incomplete: a linear structure needs an amount" in english
    assert "Incomplete: brackets.0.price: Please fill in." in english


def structure_form(kind: str, **fields) -> dict:
    return {"kind": kind, "label": "", "position": "0", "intent": "save"} | fields


def test_prices_of_every_kind(panel):
    ids = world(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    path = f"/providers/categories/{ids.postage_category_id}/structures/new"
    cases = [
        (
            structure_form("fixed", amount="12,50", label="Einrichtung"),
            {"kind": StructureKind.FIXED, "amount": D("12.5")},
        ),
        (
            structure_form("linear", amount="20", batch_size="500", basis="messages"),
            {"kind": StructureKind.LINEAR, "amount": D(20), "batch_size": 500},
        ),
        (
            structure_form(
                "linear_threshold",
                basis="units",
                bracket_rows="3",
                **{
                    "bracket-0-up_to": "100",
                    "bracket-0-price": "0,13",
                    "bracket-1-up_to": "1.000",
                    "bracket-1-price": "0,12",
                    "bracket-2-price": "0,11",
                },
            ),
            {
                "kind": StructureKind.LINEAR_THRESHOLD,
                "basis": Basis.UNITS,
                "brackets": [
                    {"up_to": 100, "price": "0.13"},
                    {"up_to": 1000, "price": "0.12"},
                    {"up_to": None, "price": "0.11"},
                ],
            },
        ),
        (
            structure_form(
                "constant_threshold",
                basis="messages",
                bracket_rows="2",
                **{"bracket-0-up_to": "100", "bracket-0-price": "12", "bracket-1-price": "100"},
            ),
            {
                "kind": StructureKind.CONSTANT_THRESHOLD,
                "brackets": [{"up_to": 100, "price": "12"}, {"up_to": None, "price": "100"}],
            },
        ),
        (
            structure_form("surcharge", percent="10", cost_type_id=""),
            {"kind": StructureKind.SURCHARGE, "percent": D(10)},
        ),
    ]
    for form, expected in cases:
        response = post(manager, path, form)
        assert response.status_code == 302, (form["kind"], body(response)[-2000:])
        with panel.runtime.database.session() as session:
            row = session.scalar(select(CostStructure).order_by(CostStructure.id.desc()))
            for column, value in expected.items():
                assert getattr(row, column) == value, (form["kind"], column)
    daily = post(
        manager,
        f"/providers/services/{ids.agency_service_id}/categories/new",
        {"name": "Tage extra", "kind": "task"},
    )
    assert daily.status_code == 302
    with panel.runtime.database.session() as session:
        task_category = session.scalar(
            select(CostCategory).where(CostCategory.name == "Tage extra")
        )
        task_category_id = task_category.id
    assert (
        post(
            manager,
            f"/providers/categories/{task_category_id}/structures/new",
            structure_form("daily", amount="300"),
        ).status_code
        == 302
    )
    with panel.runtime.database.session() as session:
        row = session.scalar(select(CostStructure).order_by(CostStructure.id.desc()))
        assert (row.kind, row.basis, row.amount) == (StructureKind.DAILY, Basis.DAYS, D(300))
    assert audit_actions(panel).count("cost_structure.create") == 6

    def structures(language: str) -> list[str]:
        summaries = zip(audit_actions(panel), audit_summaries(panel, language), strict=True)
        return [
            summary.partition(": ")[2]
            for action, summary in summaries
            if action == "cost_structure.create"
        ]

    assert structures("de") == [
        "Tagessatz", "Zuschlag", "Fest nach Staffel", "Linear nach Staffel", "Linear", "Einrichtung"
    ]  # fmt: skip
    assert structures("en") == [
        "daily rate", "surcharge", "constant by threshold", "linear by threshold", "linear",
        "Einrichtung",
    ]  # fmt: skip


def test_price_forms_put_each_problem_next_to_its_input(panel):
    ids = world(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    path = f"/providers/categories/{ids.postage_category_id}/structures/new"
    no_amount = post(manager, path, structure_form("linear", basis="messages", batch_size="0"))
    assert no_amount.status_code == 422
    assert field_errors(body(no_amount), "amount") == ["Bitte ausfüllen."]
    assert field_errors(body(no_amount), "batch_size") == ["Mindestens 1."]
    brackets = post(
        manager,
        path,
        structure_form(
            "linear_threshold",
            basis="messages",
            bracket_rows="4",
            **{
                "bracket-0-up_to": "1000",
                "bracket-0-price": "0,13",
                "bracket-1-up_to": "100",
                "bracket-1-price": "0,12",
                "bracket-2-price": "",
                "bracket-2-up_to": "",
                "bracket-3-up_to": "5000",
                "bracket-3-price": "0,10",
            },
        ),
    )
    html = body(brackets)
    assert field_errors(html, "bracket-1-up_to") == ["Muss größer sein als 1000 (die Zeile davor)."]
    assert field_errors(html, "bracket-3-up_to") == [
        "Die letzte Zeile darf kein „bis“ haben, damit jede Anzahl einen Preis hat."
    ]
    open_early = post(
        manager,
        path,
        structure_form(
            "constant_threshold",
            basis="messages",
            bracket_rows="2",
            **{"bracket-0-price": "5", "bracket-1-up_to": "10", "bracket-1-price": "8"},
        ),
    )
    assert field_errors(body(open_early), "bracket-0-up_to") == [
        "Nur die letzte Zeile darf ohne „bis“ sein."
    ]
    empty = post(
        manager, path, structure_form("linear_threshold", basis="messages", bracket_rows="2")
    )
    assert field_errors(body(empty), "brackets") == ["Mindestens eine Staffelzeile mit Preis."]
    days = post(manager, path, structure_form("linear", amount="1", basis="days"))
    assert field_errors(body(days), "basis") == ["„Tage“ steht nicht zur Auswahl."]
    rows_typed_over = post(manager, path, structure_form("linear", bracket_rows="viele"))
    assert rows_typed_over.status_code == 422
    assert field_errors(body(rows_typed_over), "amount") == ["Bitte ausfüllen."]
    with panel.runtime.database.session() as session:
        assert (
            session.query(CostStructure).filter_by(cost_category_id=ids.postage_category_id).count()
            == 1
        )


def test_changing_the_kind_redraws_the_price_form_and_more_rows_are_added(panel):
    ids = world(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    path = f"/providers/categories/{ids.postage_category_id}/structures/new"
    assert 'name="amount"' in body(manager.get(path))
    redrawn = body(
        post(manager, path, structure_form("linear_threshold", intent="refresh", bracket_rows="3"))
    )
    assert 'name="amount"' not in redrawn and 'name="bracket-2-price"' in redrawn
    more = body(
        post(
            manager,
            path,
            structure_form(
                "linear_threshold",
                intent="more_rows",
                bracket_rows="3",
                **{"bracket-0-up_to": "100"},
            ),
        )
    )
    assert 'name="bracket-4-price"' in more and 'value="100"' in more
    unknown = body(post(manager, path, structure_form("per_piece", intent="explode", amount="1")))
    assert "Schaltfläche: „explode“ steht nicht zur Auswahl." in unknown
    with panel.runtime.database.session() as session:
        assert session.query(CostStructure).count() == 7  # the world's, nothing added


def test_more_rows_stop_at_the_count_a_form_accepts(panel):
    ids = world(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    prices = f"/providers/categories/{ids.postage_category_id}/structures/new"
    process = f"/providers/services/{ids.print_service_id}/process"
    for path, field, rows, intent, last in (
        (prices, "bracket_rows", 99, "more_rows", "bracket-99-price"),
        (process, "column_rows", 199, "more_columns", "column-199-header"),
    ):
        form = structure_form("linear_threshold") if path == prices else {}
        page = body(post(manager, path, form | {field: str(rows), "intent": intent}))
        assert f'name="{last}"' in page and f'name="{field}" value="{rows + 1}"' in page
        assert f'value="{intent}"' not in page  # no button for rows the save would refuse


def test_editing_and_deleting_prices_and_cost_types(panel):
    ids = world(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    with panel.runtime.database.session() as session:
        structure_id = session.scalar(
            select(CostStructure.id).where(CostStructure.cost_category_id == ids.print_category_id)
        )
    edit = f"/providers/structures/{structure_id}/edit"
    assert 'value="50"' in body(manager.get(edit))
    assert (
        post(manager, edit, structure_form("fixed", amount="55", label="Setup")).status_code == 302
    )
    with panel.runtime.database.session() as session:
        row = session.get(CostStructure, structure_id)  # the same row, changed
        assert (row.amount, row.label) == (D(55), "Setup")
    new_type = post(
        manager,
        f"/providers/categories/{ids.envelope_category_id}/types/new",
        {"name": "B4", "stock_line_id": str(ids.paper_line_id), "stock_basis": "units"},
    )
    assert new_type.status_code == 302
    with panel.runtime.database.session() as session:
        b4 = session.scalar(select(CostType).where(CostType.name == "B4"))
        assert (b4.stock_line_id, b4.stock_basis) == (ids.paper_line_id, Basis.UNITS)
    assert post(manager, f"/providers/types/{b4.id}/delete").status_code == 302
    assert post(manager, f"/providers/structures/{structure_id}/delete").status_code == 302
    with panel.runtime.database.session() as session:
        assert session.get(CostType, b4.id) is None
        assert session.get(CostStructure, structure_id) is None
    assert audit_actions(panel)[:4] == [
        "cost_structure.delete",
        "cost_type.delete",
        "cost_type.create",
        "cost_structure.update",
    ]


class FtpTarget(UploadTarget):
    name = "test_ftp"
    title = "FTP (Test)"

    class Params(UploadTargetParams):
        host: str = Field(description="Server name")
        port: int = Field(21, ge=1, le=65535)

    def upload(self, upload):
        return upload.remote_name


class UploadPlugin:
    @hookimpl
    def register_upload_targets(self, register):
        register(FtpTarget)


def test_the_provider_process(panel):
    ids = world(panel)
    plugins = panel_plugins()
    plugins.add(UploadPlugin(), "test_upload", "test")
    manager = client_for(build_panel(panel.runtime.settings, plugins), Role.CAMPAIGN_MANAGER)
    path = f"/providers/services/{ids.print_service_id}/process"
    form = {
        "column_rows": "3",
        "column-0-header": "PLZ",
        "column-0-field": "postcode",
        "column-1-header": "Ort",
        "column-1-field": "",
        "file_name_pattern": "{campaign}-{kunde}.csv",
        "notification_subject": "Auftrag {{ campaign }",
        "notification_recipients": "auftrag@druck.de\nkein-empfänger",
        "upload_target": "test_ftp",
        "up.__plugin": "test_ftp",
        "up.port": "99999",
        "result_enabled": "true",
        "result_delimiter": ";",
        "result_key": "",
        "result_status": "Status",
        "result_sent": "",
        "intent": "save",
    }
    refused = post(manager, path, form)
    assert refused.status_code == 422
    html = body(refused)
    assert field_errors(html, "column-1-field") == ["Bitte ausfüllen."]
    assert field_errors(html, "file_name_pattern") == [
        "Unbekannter Platzhalter {kunde}. Verfügbar sind: campaign, delivery, delivery_id, run, "
        "run_id, date, time, year, month, day, hour, minute, second."
    ]
    assert field_errors(html, "notification_subject") == [
        "Die Vorlage ist in Zeile 1 fehlerhaft: Syntaxfehler: unerwartet: „}“"
    ]
    assert field_errors(html, "notification_recipients") == [
        "„kein-empfänger“ ist keine E-Mail-Adresse."
    ]
    assert field_errors(html, "up.host") == ["Bitte ausfüllen."]
    assert field_errors(html, "up.port") == ["Höchstens 65535."]
    assert field_errors(html, "result_key") == ["Bitte ausfüllen."]
    assert field_errors(html, "result_sent") == ["Bitte ausfüllen."]
    fixed = form | {
        "column-1-field": "city",
        "column-2-header": "Referenz",
        "column-2-field": "@reference",
        "file_name_pattern": "{campaign}-{date}.csv",
        "notification_subject": "Auftrag {{ campaign }}",
        "notification_template": "{{ count }} Briefe",
        "notification_recipients": "auftrag@druck.de",
        "up.host": "ftp.druck.de",
        "up.port": "2121",
        "result_key": "Kundennummer",
        "result_sent": "OK\nversendet",
    }
    assert post(manager, path, fixed).status_code == 302
    with panel.runtime.database.session() as session:
        process = session.scalar(select(ServiceProcess))
        assert process.export_columns == [
            {"header": "PLZ", "field": "postcode"},
            {"header": "Ort", "field": "city"},
            {"header": "Referenz", "field": "@reference"},
        ]
        assert process.upload_target == "test_ftp"
        assert process.upload_settings == {"host": "ftp.druck.de", "port": 2121} | {
            "retries": 3,
            "backoff": 2.0,
            "max_backoff": 60.0,
        }
        assert process.notification_recipients == ["auftrag@druck.de"]
        assert process.result_format == {
            "delimiter": ";",
            "key_column": "Kundennummer",
            "status_column": "Status",
            "sent_values": ["OK", "versendet"],
        }
    page = body(manager.get(f"/providers/services/{ids.print_service_id}"))
    assert "FTP (Test)" in page and "PLZ, Ort, Referenz" in page
    more = body(post(manager, path, fixed | {"intent": "more_columns"}))
    assert 'name="column-5-header"' in more


@pytest.mark.parametrize(
    ("language", "no_columns", "no_reference"),
    [
        (
            "de",
            "Die Extraktionsdatei braucht mindestens eine Spalte.",
            "Die Ergebnisdatei ordnet die Briefe über ihre Referenz zu: Die Extraktionsdatei "
            "braucht eine Spalte mit dem Feld @reference, die der Dienstleister in dieser "
            "Spalte zurückgibt.",
        ),
        (
            "en",
            "The extraction file needs at least one column.",
            "The result file matches the letters by their reference: the extraction file needs "
            "a column with the field @reference, which the provider gives back in this column.",
        ),
    ],
)
def test_a_process_needs_a_column_and_with_a_result_file_the_reference_column(
    panel, language, no_columns, no_reference
):
    """What the supplier workflow would refuse at its next pass is named on the form."""
    ids = world(panel)
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "mia")).language = language
    manager = panel.client()
    path = f"/providers/services/{ids.print_service_id}/process"
    form = {
        "column_rows": "3",
        "file_name_pattern": "{campaign}-{date}.csv",
        "result_enabled": "true",
        "result_delimiter": ";",
        "result_key": "Referenz",
        "result_status": "Status",
        "result_sent": "versendet",
        "intent": "save",
    }
    empty = post(manager, path, form)
    assert empty.status_code == 422
    assert field_errors(body(empty), "column-0-field") == [no_columns]
    assert field_errors(body(empty), "result_key") == [no_reference]
    postcode = {"column-0-header": "PLZ", "column-0-field": "postcode"}
    unmatched = post(manager, path, form | postcode)
    assert unmatched.status_code == 422
    assert field_errors(body(unmatched)) == [no_reference]
    with panel.runtime.database.session() as session:
        assert session.scalar(select(ServiceProcess)) is None
    reference = {"column-1-header": "Referenz", "column-1-field": "@reference"}
    assert post(manager, path, form | postcode | reference).status_code == 302


def test_a_column_count_typed_over_draws_no_rows_beyond_the_form(panel):
    ids = world(panel)
    path = f"/providers/services/{ids.print_service_id}/process"
    for typed in ("201", "9" * 30):  # at most 200 columns; the second kept the server busy
        page = post(panel.client(), path, {"column_rows": typed, "intent": "refresh"})
        assert page.status_code == 200 and 'name="column-0-header"' not in body(page), typed


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"file_name_pattern": "{campaign.zzz}.csv"},
            "file_name_pattern",
            "„{campaign.zzz}“ ist kein Platzhalter.",
        ),
        (
            {"file_name_pattern": "{campaign:>999999999}.csv"},
            "file_name_pattern",
            "„{campaign:&gt;999999999}“ ist kein Platzhalter.",
        ),
        (
            {"file_name_pattern": "../{campaign}.csv"},
            "file_name_pattern",
            "„../Kampagne.csv“ ist kein verwendbarer Dateiname",
        ),
        (
            {"notification_template": "Guten Tag,\n{{ ''.__class__.__mro__ }}"},
            "notification_template",
            "Die Vorlage ist in Zeile 2 fehlerhaft: der Zugriff auf „__class__“ eines Werts vom "
            "Typ „str“ ist nicht erlaubt",
        ),
        (
            {"notification_template": "{{ 'a' * 10**8 }}"},
            "notification_template",
            "Die Vorlage ist in Zeile 1 fehlerhaft: ein Wert mit 100.000.000 Zeichen oder "
            "Einträgen (höchstens 1.000.000)",
        ),
        (
            {"notification_subject": "Auftrag {{ kunde }}"},
            "notification_subject",
            "Die Vorlage ist in Zeile 1 fehlerhaft: unbekannter Platzhalter „kunde“",
        ),
    ],
)
def test_hostile_patterns_and_templates_are_refused_when_saved_not_when_run(
    panel, fields, field, message
):
    ids = world(panel)
    manager = panel.client()
    form = {
        "column_rows": "1",
        "column-0-header": "PLZ",
        "column-0-field": "postcode",
        "file_name_pattern": "{campaign}-{date}.csv",
        "intent": "save",
    }
    response = post(manager, f"/providers/services/{ids.print_service_id}/process", form | fields)
    assert response.status_code == 422
    assert field_errors(body(response), field)[0].startswith(message)
    with panel.runtime.database.session() as session:
        assert session.scalar(select(ServiceProcess)) is None


def test_a_template_problem_is_said_in_the_readers_language(panel):
    ids = world(panel)
    manager = panel.client()
    path = f"/providers/services/{ids.print_service_id}/process"
    form = {
        "column_rows": "1",
        "column-0-header": "PLZ",
        "column-0-field": "postcode",
        "notification_subject": "{{ ''.__class__ }}",
        "notification_template": "{{ 'a' * 10**8 }}",
        "intent": "save",
    }
    german = body(post(manager, path, form))
    assert field_errors(german, "notification_subject") == [
        "Die Vorlage ist in Zeile 1 fehlerhaft: der Zugriff auf „__class__“ eines Werts vom "
        "Typ „str“ ist nicht erlaubt"
    ]
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    english = body(post(manager, path, form))
    assert field_errors(english, "notification_subject") == [
        "The template has an error in line 1: access to attribute &#39;__class__&#39; of "
        "&#39;str&#39; object is unsafe."
    ]
    assert field_errors(english, "notification_template") == [
        "The template has an error in line 1: a value of 100,000,000 characters or items "
        "(at most 1,000,000)"
    ]


def test_upload_settings_typed_as_json_that_do_not_parse_are_explained_at_their_field(panel):
    ids = world(panel)
    manager = panel.client()
    path = f"/providers/services/{ids.print_service_id}/process"
    form = {
        "column_rows": "1",
        "column-0-header": "PLZ",
        "column-0-field": "postcode",
        "upload_target": "http",
        "up.__plugin": "http",
        "up.url": "https://druck.example.de/auftraege",
        "up.headers": '{"X-Kunde": "42",}',
        "intent": "save",
    }
    german = post(manager, path, form)
    assert german.status_code == 422
    assert field_errors(body(german), "up.headers") == [
        "kein gültiges JSON: Schlüssel in doppelten Anführungszeichen erwartet (Zeile 1, Spalte 18)"
    ]
    assert ">Basic (Benutzer und Passwort)</option>" in body(german)
    assert "Weitere Versuche nach einem vorübergehenden Fehler." in body(german)
    with panel.runtime.database.session() as session:
        assert session.scalar(select(ServiceProcess)) is None
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    english = body(post(manager, path, form))
    assert field_errors(english, "up.headers") == [
        "not valid JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 18 (char 17)"
    ]
    assert ">Basic (user and password)</option>" in english and "Longest wait" in english


def test_raw_values_for_machines_is_a_choice_per_provider_and_off_by_default(panel):
    ids = world(panel)
    manager = panel.client()
    path = f"/providers/services/{ids.print_service_id}/process"
    form_page = body(manager.get(path))
    assert "Rohwerte für Maschinen" in form_page
    assert 'name="raw_values" value="true" aria-describedby' in form_page  # unchecked
    form = {
        "column_rows": "1",
        "column-0-header": "PLZ",
        "column-0-field": "postcode",
        "file_name_pattern": "{campaign}.csv",
        "intent": "save",
    }
    assert post(manager, path, form).status_code == 302
    with panel.runtime.database.session() as session:
        assert session.scalar(select(ServiceProcess.raw_values)) is False
    assert post(manager, path, form | {"raw_values": "true"}).status_code == 302
    with panel.runtime.database.session() as session:
        assert session.scalar(select(ServiceProcess.raw_values)) is True
    assert "Rohwerte für Maschinen" in body(
        manager.get(f"/providers/services/{ids.print_service_id}")
    )
    assert 'name="raw_values" value="true" checked' in body(manager.get(path))


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REVIEWER])
def test_only_campaign_managers_change_providers_and_prices(panel, role):
    ids = world(panel)
    with panel.runtime.database.session() as session:
        structure_id = session.scalar(select(CostStructure.id))
        type_id = session.scalar(select(CostType.id))
        provider_id = session.scalar(select(Provider.id))
    client = panel.client(role)
    for path in (
        "/providers/new",
        f"/providers/{provider_id}/edit",
        f"/providers/{provider_id}/services/new",
        f"/providers/services/{ids.print_service_id}/edit",
        f"/providers/services/{ids.print_service_id}/categories/new",
        f"/providers/services/{ids.print_service_id}/process",
        f"/providers/categories/{ids.print_category_id}/edit",
        f"/providers/categories/{ids.print_category_id}/types/new",
        f"/providers/categories/{ids.print_category_id}/structures/new",
        f"/providers/structures/{structure_id}/edit",
        f"/providers/structures/{structure_id}/delete",
        f"/providers/types/{type_id}/edit",
        f"/providers/types/{type_id}/delete",
    ):
        assert post(client, path, {"name": "X"}).status_code == 403, path
    assert client.get("/providers/new").status_code == 403
    assert client.get(f"/providers/services/{ids.print_service_id}").status_code == 200
    with panel.runtime.database.session() as session:
        assert (
            session.scalar(
                select(ProviderService.name).where(ProviderService.id == ids.print_service_id)
            )
            == "Brief A4"
        )
        assert session.get(CostCategory, ids.print_category_id).kind is CostCategoryKind.DIRECT_MAIL


def test_a_category_gets_a_default_cost_type_and_the_must_choose_switch(panel):
    ids = world(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    path = f"/providers/categories/{ids.envelope_category_id}/edit"
    form = body(manager.get(path))
    assert "Standard-Kostenart" in form and "Eine Kostenart muss gewählt werden" in form
    with panel.runtime.database.session() as session:
        foreign = session.get(CostCategory, ids.print_category_id).cost_types[0].id
    refused = post(
        manager,
        path,
        {"name": "Kuvert", "kind": "direct_mail", "default_cost_type_id": str(foreign)},
    )
    assert refused.status_code == 422  # a type of another category is no choice
    assert field_errors(body(refused), "default_cost_type_id") == [
        f"„{foreign}“ steht nicht zur Auswahl."
    ]
    saved = post(
        manager,
        path,
        {"name": "Kuvert", "kind": "direct_mail", "default_cost_type_id": str(ids.envelope_dl_id)},
    )
    assert saved.status_code == 302
    with panel.runtime.database.session() as session:
        category = session.get(CostCategory, ids.envelope_category_id)
        assert (category.default_cost_type_id, category.cost_type_required) == (
            ids.envelope_dl_id,
            False,
        )
    page = body(manager.get(f"/providers/services/{ids.print_service_id}"))
    assert "Standard-Kostenart: DL" in page
    assert "ohne Wahl keine Kosten" not in page  # Druck defaults to Papier A4, Kuvert to DL
