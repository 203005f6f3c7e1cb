"""The contacts area: search and filters, the contact's page, consent changes and CSV import."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from core.audit import record_audit
from core.documents.archive import archive_document
from core.models import (
    AuditEntry,
    Campaign,
    Contact,
    ContactEvent,
    ContactKind,
    ContactStatus,
    Contract,
    DispatchChannel,
    DocumentKind,
    ItemStatus,
    Product,
    Run,
    RunItem,
    RunState,
    SalesPartner,
    User,
)
from plugins.stores.filesystem import FilesystemStore

from panel_helpers import body, field_errors, post


@pytest.fixture
def people(database) -> dict[str, int]:
    with database.session() as session:
        partner = SalesPartner(number="VP-1", name="Petra Partner", city="Köln")
        product = Product(code="HR", name="Hausratversicherung")
        session.add_all([partner, product])
        session.flush()
        contacts = {
            "anna": Contact(
                number="K-001",
                first_name="Anna",
                last_name="Schmidt",
                city="Köln",
                postcode="50667",
                email="anna@example.de",
                status=ContactStatus.CUSTOMER,
                partner_id=partner.id,
            ),
            "bernd": Contact(
                number="K-002",
                first_name="Bernd",
                last_name="Schmitz",
                city="Bonn",
                preferred_channel=DispatchChannel.EMAIL,
                dispatch_block=True,
            ),
            "firma": Contact(
                number="K-003",
                kind=ContactKind.COMPANY,
                company_name="Kölner Bau GmbH",
                city="Köln",
                email="info@koelnerbau.de",
            ),
        }
        session.add_all(contacts.values())
        session.flush()
        session.add(
            Contract(
                number="V-1",
                contact_id=contacts["anna"].id,
                product_id=product.id,
                partner_id=partner.id,
                signed_on=date(2024, 3, 1),
                amount=Decimal("12.50"),
            )
        )
        return {name: contact.id for name, contact in contacts.items()}


def names(html: str) -> list[str]:
    return re.findall(r'class="row-title" href="/contacts/\d+">([^<]+)</a>', html)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Anna Schmidt", "Bernd Schmitz", "Kölner Bau GmbH"]),
        ("?q=schmi", ["Anna Schmidt", "Bernd Schmitz"]),
        ("?q=K-003", ["Kölner Bau GmbH"]),
        ("?q=Köl", ["Anna Schmidt", "Kölner Bau GmbH"]),  # city and company name
        ("?q=info@koeln", ["Kölner Bau GmbH"]),
        ("?q=anna schmi", ["Anna Schmidt"]),
        ("?q=schmidt bonn", []),
        ("?q=bau", []),  # words match the start of a field, not any part
        ("?q=50667", ["Anna Schmidt"]),
        ("?q=100%25", []),
        ("?kind=company", ["Kölner Bau GmbH"]),
        ("?status=customer", ["Anna Schmidt"]),
        ("?channel=email", ["Bernd Schmitz"]),
        ("?blocked=yes", ["Bernd Schmitz"]),
        ("?has_email=no", ["Bernd Schmitz"]),
        ("?has_email=yes&city=ignored&sort=number", ["Anna Schmidt", "Kölner Bau GmbH"]),
        ("?sort=city", ["Bernd Schmitz", "Anna Schmidt", "Kölner Bau GmbH"]),
    ],
)
def test_search_and_filters(client_for, people, query, expected):
    assert names(body(client_for("viewer").get(f"/contacts/{query}"))) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("özdemir", ["Ayla Özdemir"]),
        ("ÖZD", ["Ayla Özdemir"]),
        ("öztürk", ["CEM ÖZTÜRK"]),  # stored in capitals: SQLite's lower() leaves "ÖztÜrk"
        ("müll", ["Jürgen Müller"]),
        ("JÜRGEN", ["Jürgen Müller"]),
        ("übelhör-büs", ["Uta Übelhör-Büsing"]),  # more letters to vary than are tried
        ("übelhör-bus", []),
        ("ö", ["Ayla Özdemir", "CEM ÖZTÜRK"]),
    ],
)
def test_the_search_folds_the_case_of_umlauts(client_for, database, query, expected):
    with database.session() as session:
        session.add_all(
            Contact(number=f"U-{index}", first_name=first, last_name=last)
            for index, (first, last) in enumerate(
                [
                    ("Ayla", "Özdemir"),
                    ("CEM", "ÖZTÜRK"),
                    ("Jürgen", "Müller"),
                    ("Uta", "Übelhör-Büsing"),
                ]
            )
        )
    found = names(body(client_for("viewer").get("/contacts/", query_string={"q": query})))
    assert sorted(found) == expected


def test_a_long_list_is_paginated_by_name(client_for, database):
    rows = [
        {"number": f"N-{i:05d}", "last_name": f"Name{i:05d}", "first_name": "X", "attributes": {}}
        for i in range(1, 2501)
    ]
    with database.session() as session:
        session.execute(insert(Contact), rows)
    viewer = client_for("viewer")
    first = body(viewer.get("/contacts/"))
    assert "2.500 Kontakte" in first and "1 bis 50 von 2.500" in first
    page = body(viewer.get("/contacts/?page=40&q=name"))
    assert names(page)[0] == "X Name01951" and names(page)[-1] == "X Name02000"
    assert re.search(r'href="/contacts/\?(?=[^"]*\bpage=41\b)(?=[^"]*\bq=name\b)', page)


def test_the_lookup_answers_json_for_the_sample_search(client_for, people):
    found = client_for("viewer").get("/contacts/lookup?q=schmi").get_json()
    assert [contact["number"] for contact in found] == ["K-001", "K-002"]
    assert found[0] == {
        "id": people["anna"],
        "number": "K-001",
        "name": "Anna Schmidt",
        "city": "Köln",
    }
    assert client_for("viewer").get("/contacts/lookup?q=s").get_json() == []


def test_a_nul_character_in_the_lookup_or_any_address_is_refused_with_400(client_for, people):
    viewer = client_for("viewer")
    for path in ("/contacts/lookup?q=schmi%00dt", "/contacts/?city=K%00ln", "/contacts/%00"):
        response = viewer.get(path)
        assert response.status_code == 400, path
        assert "NUL-Zeichen" in body(response)
    assert "Das Feld „q“ enthält ein NUL-Zeichen (\\0)." in body(
        viewer.get("/contacts/lookup?q=schmi%00dt")
    )
    assert viewer.get("/contacts/lookup?q=schmi").status_code == 200


def test_the_contact_page_shows_master_data_partner_contracts_and_history(
    client_for, database, people, tmp_path
):
    store = FilesystemStore({"data_dir": str(tmp_path)})
    now = datetime.now(UTC)
    with database.session() as session:
        for days, title in ((3, "Einladung"), (1, "Informationsschreiben")):
            document = archive_document(
                session,
                store,
                contact_id=people["anna"],
                campaign_id=None,
                run_id=None,
                report_id=None,
                kind=DocumentKind.LETTER,
                title=title,
                filename=f"{title}.pdf",
                data=b"%PDF-1.7 " + title.encode(),
            )
            document.created_at = now - timedelta(days=days)
        entry = record_audit(
            session,
            "manager",
            "contact.consent",
            "contact",
            people["anna"],
            "opt_out_email: False → True",
        )
        entry.at = now - timedelta(days=2)
    html = body(client_for("viewer").get(f"/contacts/{people['anna']}"))
    assert "Petra Partner" in html and "Hausratversicherung" in html and "12,50 €" in html
    order = [
        html.index(text)
        for text in ("Informationsschreiben", "Einwilligungen geändert", "Einladung")
    ]
    assert "contact.consent" not in html  # the change is named, not coded
    assert "<dd>Deutsch</dd>" in html  # the contact's language by its name
    assert order == sorted(order)  # newest first
    assert '<fieldset class="plain" disabled>' in html  # a viewer cannot change consent
    assert client_for("viewer").get("/contacts/999999").status_code == 404


def test_a_companys_page_shows_no_name_made_of_its_salutation_alone(client_for, database, people):
    with database.session() as session:
        session.get(Contact, people["firma"]).salutation = "Firma"  # as the demo's companies
    html = body(client_for("viewer").get(f"/contacts/{people['firma']}"))
    assert "<dd>Kölner Bau GmbH</dd>" in html and "<dd>Firma</dd>" not in html


def test_a_manager_changes_consent_and_it_is_audited(client_for, database, people):
    path = f"/contacts/{people['anna']}/consent"
    data = {"preferred_channel": "email", "opt_out_post": "y", "dispatch_block": "y"}
    assert post(client_for("viewer"), path, data).status_code == 403
    assert post(client_for("reviewer"), path, data).status_code == 403
    response = post(client_for("manager"), path, data, follow_redirects=True)
    assert "Die Einwilligungen wurden gespeichert." in body(response)
    with database.session() as session:
        anna = session.get(Contact, people["anna"])
        assert anna.preferred_channel is DispatchChannel.EMAIL
        assert anna.opt_out_post and anna.dispatch_block and not anna.opt_out_email
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "contact.consent"))
        assert entry.details == {
            "preferred_channel": ["post", "email"],
            "dispatch_block": [False, True],
            "opt_out_post": [False, True],
        }
    page = body(client_for("viewer").get(f"/contacts/{people['anna']}"))
    assert "bevorzugter Kanal: Post → E-Mail" in page
    bad = post(client_for("manager"), path, {"preferred_channel": "fax"})
    assert bad.status_code == 422 and field_errors(body(bad))


def test_contact_data_is_escaped(client_for, database):
    with database.session() as session:
        contact = Contact(
            number="K-<b>", last_name='<script>alert("x")</script>', city="<i>Köln</i>"
        )
        session.add(contact)
        session.flush()
        contact_id = contact.id
    for path in ("/contacts/", f"/contacts/{contact_id}"):
        html = body(client_for("viewer").get(path))
        assert "<script>alert" not in html and "&lt;script&gt;alert" in html
        assert "<i>Köln" not in html


# -- CSV import -------------------------------------------------------------------------------

CSV = (
    "Kundennummer;Vorname;Nachname;PLZ;Ort;E-Mail\n"
    "K-100;Clara;Neu;50667;Köln;clara@example.de\n"
    "K-101;Dieter;Falsch;123;Köln;dieter@example\n"
    "K-001;Anna;Schmidt;50667;Köln;\n"
).encode()


def upload(client, data: bytes, name: str = "kontakte.csv", **fields):
    return post(
        client,
        "/contacts/import",
        {"file": (io.BytesIO(data), name), **fields},
        content_type="multipart/form-data",
    )


MAPPING = {
    "filename": "kontakte.csv",
    "map:Kundennummer": "number",
    "map:Vorname": "first_name",
    "map:Nachname": "last_name",
    "map:PLZ": "postcode",
    "map:Ort": "city",
    "map:E-Mail": "email",
}


def test_the_import_shows_every_problem_and_stores_all_rows_or_none(client_for, database, people):
    manager = client_for("manager")
    preview = upload(manager, CSV)
    html = body(preview)
    assert preview.status_code == 200
    assert "Import prüfen" in html and "Clara" in html
    assert (  # the columns as the file names them, in the user's language
        '<td class="numeric">3</td><td>E-Mail: „dieter@example“ ist keine E-Mail-Adresse; '
        "PLZ: „123“ hat nicht 5 Ziffern</td>"
    ) in html
    assert "Kundennummer: ein Kontakt mit „K-001“ ist schon vorhanden" in html
    assert "Ein Import übernimmt alle Zeilen oder keine: 2 Zeilen haben Fehler" in html
    assert "1 Kontakt importieren" in html
    token = re.search(r'action="/contacts/import/([0-9a-f]{32})"', html).group(1)
    refused = post(manager, f"/contacts/import/{token}", {"action": "import", **MAPPING})
    assert refused.status_code == 422
    assert "Nichts importiert: 2 Zeilen haben Fehler" in body(refused)
    with database.session() as session:  # nothing imported
        assert session.scalar(select(Contact).where(Contact.number == "K-100")) is None
    done = post(
        manager,
        f"/contacts/import/{token}",
        {"action": "import", "only_valid_rows": "y", **MAPPING},
    )
    page = body(done)
    assert done.status_code == 200 and "Import abgeschlossen" in page
    assert "Ausgelassene Zeilen (im Protokoll vermerkt)" in page
    assert '<td class="numeric">3</td>' in page and '<td class="numeric">4</td>' in page
    with database.session() as session:
        assert session.scalar(select(Contact.city).where(Contact.number == "K-100")) == "Köln"
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "contact.import"))
        assert entry.details["created"] == 1 and entry.details["errors"] == 2
        assert entry.details["only_valid_rows"] is True
        assert entry.details["left_out_lines"] == [3, 4]
    again = post(manager, f"/contacts/import/{token}", {"action": "import"}, follow_redirects=True)
    assert "nicht mehr vorhanden" in body(again)  # a token imports once


def test_the_preview_shows_values_as_the_contact_page_does_and_counts_in_the_singular(
    client_for,
):
    csv = (
        b"Kundennummer;Nachname;Art;Status;Versandweg;Versandsperre;Geburtsdatum\n"
        b"K-900;Neu;Person;Kunde;E-Mail;ja;03.04.1980\n"
        b"K-901;Falsch;Person;Kunde;E-Mail;ja;31.02.1980\n"
    )
    html = body(upload(client_for("manager"), csv))
    assert (
        '<td class="numeric">2</td><td>K-900</td><td>Neu</td><td>Person</td><td>Kunde</td>'
        "<td>E-Mail</td><td>Ja</td><td>03.04.1980</td>"
    ) in html
    # one row, one error: the counts read in the singular
    assert "Die erste Zeile" in html and "1 Kontakt importieren" in html
    assert "1 Zeile hat Fehler" in html and "die 1 Zeile mit Fehlern auslassen" in html


def test_a_value_no_choice_takes_is_refused_with_the_values_the_user_may_write(
    client_for, database
):
    csv = b"Kundennummer;Nachname;Art;Status;Versandweg\nK-902;Neu;Verein;Lead;Fax\n"
    manager = client_for("manager")
    assert (
        "Art: „Verein“ ist keiner der Werte Firma, Person; "
        "Status: „Lead“ ist keiner der Werte Interessent, Kunde; "
        "Versandweg: „Fax“ ist keiner der Werte E-Mail, Post, Web"
    ) in body(upload(manager, csv))
    with database.session() as session:
        session.scalar(select(User).where(User.username == "manager")).language = "en"
    assert "Status: &#39;Lead&#39; is not one of Customer, Prospect" in body(upload(manager, csv))


def test_the_audit_log_counts_the_rows_an_import_left_out_in_the_readers_language(
    client_for, database, people
):
    manager = client_for("manager")
    one_wrong = "Kundennummer;Vorname;Nachname;PLZ;Ort;E-Mail\nK-200;Eva;Neu;123;Köln;\n".encode()
    for data in (one_wrong, CSV):
        token = re.search(r'action="/contacts/import/([0-9a-f]{32})"', body(upload(manager, data)))
        chosen = {"action": "import", "only_valid_rows": "y", **MAPPING}
        assert post(manager, f"/contacts/import/{token.group(1)}", chosen).status_code == 200
    admin = client_for("admin")
    german = body(admin.get("/admin/audit"))
    assert "kontakte.csv: 0 neu, 0 aktualisiert, 1 Zeile ausgelassen" in german
    assert "kontakte.csv: 1 neu, 0 aktualisiert, 2 Zeilen ausgelassen" in german
    with database.session() as session:
        session.scalar(select(User).where(User.username == "admin")).language = "en"
    english = body(admin.get("/admin/audit"))
    assert "kontakte.csv: 0 new, 0 updated, 1 row left out" in english
    assert "kontakte.csv: 1 new, 0 updated, 2 rows left out" in english


def test_an_address_file_without_numbers_is_imported_with_new_numbers(client_for, database, people):
    manager = client_for("manager")
    raw = (
        "\ufeffVorname,Nachname,Straße,PLZ,Ort,E-Mail\r\n"
        'Clara,Neu,"Am Markt 2\r\nHinterhaus",50667,Köln,clara@example.de\r\n'
    ).encode()
    html = body(upload(manager, raw))
    assert "1 neuer Kontakt ohne Kundennummer erhält eine neue Nummer" in html
    matching = re.search(r'name="match_on">(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="(\w+)"( selected)?', matching) == [
        ("email", " selected"),  # no column holds the number
        ("name_address", ""),
    ]
    token = re.search(r'action="/contacts/import/([0-9a-f]{32})"', html).group(1)
    done = post(manager, f"/contacts/import/{token}", {"action": "import", "match_on": "email"})
    assert done.status_code == 200, body(done)
    with database.session() as session:
        clara = session.scalar(select(Contact).where(Contact.email == "clara@example.de"))
        assert re.fullmatch(r"K-\d{6}", clara.number) and clara.street.endswith("Hinterhaus")


def test_a_file_too_large_for_the_import_is_refused_by_its_size(client_for, monkeypatch):
    import webapp.contacts.views as views

    monkeypatch.setattr(views, "MAX_BYTES", len(CSV) - 1)
    response = upload(client_for("manager"), CSV)
    assert response.status_code == 422
    assert field_errors(body(response)) == [
        f"Die Datei ist größer als {len(CSV) - 1} B und wurde nicht gelesen."
    ]


def test_the_preview_can_update_existing_contacts_and_change_the_mapping(
    client_for, database, people
):
    manager = client_for("manager")
    html = body(upload(manager, CSV, update_existing="y"))
    assert "1 Kontakte importieren" not in html and "2 Kontakte importieren" in html
    assert re.search(r'name="match_on">\s*<option value="number" selected>', html)
    token = re.search(r'action="/contacts/import/([0-9a-f]{32})"', html).group(1)
    remapped = post(
        manager,
        f"/contacts/import/{token}",
        {
            "action": "preview",
            "update_existing": "y",
            "map:Kundennummer": "number",
            "map:Ort": "city",
        },
    )
    assert "Zuordnung der Spalten" in body(remapped)
    assert '<option value="city" selected>' in body(remapped)
    assert '<option value="first_name" selected>' not in body(remapped)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"Foo\nAnna\n", "a.csv", "keine Spalte ließ sich zuordnen"),
        (b"Kundennummer\nK-1\n", "bild.png", "Nur CSV-Dateien"),
        (b"", "leer.csv", "die Datei ist leer"),
        (b'Nachname;Ort\n"offen;K\xc3\xb6ln\n', "q.csv", "Zeile 2: ein Anf\u00fchrungszeichen"),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_next_to_the_field(
    client_for, data, name, message
):
    response = upload(client_for("manager"), data, name)
    assert response.status_code == 422
    assert any(message in error for error in field_errors(body(response)))


def test_bad_import_options_are_refused_at_their_field_and_import_nothing(
    client_for, database, people
):
    manager = client_for("manager")
    wrong = upload(manager, CSV, encoding="ebcdic")
    assert wrong.status_code == 422
    assert field_errors(body(wrong), "encoding") == ["„ebcdic“ steht nicht zur Auswahl."]
    token = re.search(
        r'action="/contacts/import/([0-9a-f]{32})"', body(upload(manager, CSV))
    ).group(1)
    for fields, message in (
        ({"match_on": "shoe_size"}, "Kontakte erkennen an: „shoe_size“ steht nicht zur Auswahl."),
        ({"map:PLZ": "password"}, "Zuordnung der Spalten: „password“ steht nicht zur Auswahl."),
        ({"delimiter": ";;"}, "„;;“ steht nicht zur Auswahl."),
    ):
        response = post(
            manager,
            f"/contacts/import/{token}",
            {"action": "import", "only_valid_rows": "y", **MAPPING, **fields},
        )
        assert response.status_code == 422
        assert message in body(response)
    with database.session() as session:
        assert session.scalar(select(Contact).where(Contact.number == "K-100")) is None


def test_only_managers_import(client_for):
    assert client_for("viewer").get("/contacts/import").status_code == 403
    assert upload(client_for("reviewer"), CSV).status_code == 403
    assert (
        post(client_for("viewer"), "/contacts/import/" + "0" * 32, {"action": "import"}).status_code
        == 403
    )


def test_who_opted_a_contact_out_reads_in_the_readers_language(client_for, database, people):
    now = datetime.now(UTC)
    with database.session() as session:
        for minutes, (actor, source) in enumerate(
            [
                ("unsubscribe link", "unsubscribe_link"),
                ("SMS reply", "sms_reply"),
                ("bounce processing", "bounce"),
                ("manager", "panel"),
            ]
        ):
            session.add(
                ContactEvent(
                    contact_id=people["anna"],
                    at=now - timedelta(minutes=minutes),
                    actor=actor,
                    field="opt_out_email",
                    old_value=False,
                    new_value=True,
                    source=source,
                )
            )

    def actors() -> list[str]:
        html = body(client_for("viewer").get(f"/contacts/{people['anna']}"))
        consent = html[html.index('id="consent-events"') :]
        return re.findall(r'<td class="nowrap">[^<]*</td>\s*<td>([^<]*)</td>', consent)

    assert actors() == ["Abmeldelink", "SMS-Antwort", "Rückläuferverarbeitung", "manager"]
    with database.session() as session:
        session.scalar(select(User).where(User.username == "viewer")).language = "en"
    assert actors() == ["unsubscribe link", "SMS reply", "bounce processing", "manager"]


def test_the_contact_page_lists_consent_changes_and_every_run_that_reached_or_skipped_them(
    client_for, database, people
):
    post(
        client_for("manager"),
        f"/contacts/{people['anna']}/consent",
        {"preferred_channel": "post", "opt_out_email": "y"},
    )
    with database.session() as session:
        letters = Campaign(name="Infobrief", datasource="query", action="print_reports")
        mails = Campaign(name="Newsletter", datasource="query", action="email")
        session.add_all([letters, mails])
        session.flush()
        voided = {
            "state": RunState.COMPLETED,
            "superseded_at": datetime.now(UTC),
            "superseded_reason": "extraction file rejected",
        }
        for campaign, number, status, detail, run_values in (
            (letters, 1, ItemStatus.DONE, "1 page(s)", {"state": RunState.COMPLETED}),
            (mails, 1, ItemStatus.SKIPPED, "reach.opt_out_email", {}),
            (letters, 2, ItemStatus.DONE, "2 page(s)", voided),  # its file was rejected
            (mails, 2, ItemStatus.PENDING, None, {"state": RunState.CANCELLED}),  # discarded
        ):
            config = {"action": campaign.action}
            run = Run(campaign_id=campaign.id, number=number, config=config, **run_values)
            session.add(run)
            session.flush()
            session.add(
                RunItem(
                    run_id=run.id,
                    key=f"contacts:{people['anna']}",
                    action=campaign.action,
                    entity="contacts",
                    entity_id=people["anna"],
                    status=status,
                    detail=detail,
                )
            )
    html = body(client_for("viewer").get(f"/contacts/{people['anna']}"))
    consent = html[html.index('id="consent-events"') :]
    assert "Widerspruch E-Mail" in consent and "nicht gesetzt → gesetzt" in consent
    assert "<td>manager</td>" in consent and "Kontaktseite" in consent
    runs = html[html.index('id="contact-runs"') : html.index('id="consent-events"')]
    assert re.search(r"Infobrief · Lauf #1.*?Post.*?erreicht.*?1 Seite\(n\)", runs, re.S)
    assert re.search(
        r"Newsletter · Lauf #1.*?E-Mail.*?übersprungen.*?Widerspruch E-Mail", runs, re.S
    )
    assert re.search(r"Infobrief · Lauf #2.*?Post.*?storniert.*?2 Seite\(n\)", runs, re.S)
    # an analysis nobody confirmed never reaches them: it said "offen" (pending) for ever
    assert re.search(r"Newsletter · Lauf #2.*?E-Mail.*?nicht gesendet", runs, re.S)
    assert "offen" not in runs
    events = html[html.index('id="channel-events"') :]
    assert events.count('data-kind="sent"') == 1 and "Infobrief, Lauf #1" in events
