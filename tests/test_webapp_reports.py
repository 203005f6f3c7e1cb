"""The reports area: list, editor, live preview, assets, copies and deletion, per role."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from core.models import AuditEntry, Campaign, Contact, Report, TextBlock, User
from core.models.documents import MAX_ASSET_BYTES
from plugins.demo.default_reports import install_default_reports

from panel_helpers import body, field_errors, post

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def reports(database) -> dict[str, int]:
    with database.session() as session:
        install_default_reports(session)
        session.add(
            Contact(
                number="K-4711",
                salutation="Herr",
                first_name="Jörg",
                last_name="Weißmüller",
                street="Domstraße 1",
                postcode="50667",
                city="Köln",
            )
        )
        return {name: id_ for name, id_ in session.execute(select(Report.name, Report.id))}


def form(**overrides) -> dict[str, object]:
    values = {
        "name": "Zahlungserinnerung",
        "group": "Mahnwesen",
        "description": "Erinnert an offene Beiträge.",
        "usable_for_mass_print": "y",
        "address_kind": "postal",
        "page_format": "a4",
        "orientation": "portrait",
        "margin_top": "27",
        "margin_right": "20",
        "margin_bottom": "25",
        "margin_left": "25",
        "letterhead_id": "0",
        "header_id": "0",
        "footer_id": "0",
        "layout": "<p>Guten Tag {{ recipient.first_name }} {{ recipient.last_name }},</p>\n"
        "<p>bitte zahlen Sie.</p>",
        "stylesheet": "p { font-size: 11pt; }",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def stored(database, name: str) -> Report | None:
    with database.session() as session:
        return session.scalar(select(Report).where(Report.name == name))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# -- list and roles ---------------------------------------------------------------------------


def test_every_role_reads_the_list_grouped_and_searchable(client_for, reports):
    html = body(client_for("viewer").get("/reports/"))
    assert "Standardbriefe" in html and "Bausteine" in html
    assert html.index("Bausteine") < html.index("Standardbriefe")  # groups in order
    assert "Für Massendruck" in html
    assert "Neuer Bericht" not in html  # a viewer cannot create
    found = body(client_for("viewer").get("/reports/?q=einladung"))
    assert "Einladung" in found and "Informationsschreiben" not in found
    endless = client_for("viewer").get("/reports/", query_string={"q": "einladung" * 100_000})
    assert endless.status_code == 200  # searched for its first 200 characters, never a 500
    assert "Neuer Bericht" in body(client_for("manager").get("/reports/"))


def test_a_viewer_sees_the_editor_read_only_and_cannot_change_anything(client_for, reports):
    viewer = client_for("viewer")
    report = reports["Einladung"]
    html = body(viewer.get(f"/reports/{report}"))
    assert '<fieldset class="plain" disabled>' in html
    assert "Kopieren" not in html
    for path in (
        f"/reports/{report}",
        f"/reports/{report}/copy",
        f"/reports/{report}/delete",
        "/reports/new",
        "/reports/preview",
        f"/reports/{report}/assets",
    ):
        assert post(viewer, path, form()).status_code == 403, path
    assert viewer.get("/reports/new").status_code == 403
    assert post(client_for("reviewer"), "/reports/new", form()).status_code == 403


# -- creating and saving ----------------------------------------------------------------------


def test_a_manager_creates_a_report_and_the_change_is_audited(client_for, database, reports):
    response = post(
        client_for("manager"), "/reports/new", form(letterhead_id=reports["Briefbogen"])
    )
    assert response.status_code == 302
    report = stored(database, "Zahlungserinnerung")
    assert report.group == "Mahnwesen" and report.usable_for_mass_print
    assert report.letterhead_id == reports["Briefbogen"]
    with database.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "report.create"))
        assert (entry.actor, entry.target_id) == ("manager", str(report.id))


def test_a_letterhead_no_row_can_be_is_refused_next_to_its_field(client_for, reports):
    for letterhead in ("2147483648", str(10**20)):
        response = post(client_for("manager"), "/reports/new", form(letterhead_id=letterhead))
        assert response.status_code == 422, letterhead
        assert field_errors(body(response), "letterhead_id") == [
            "Bitte einen anderen, vorhandenen Bericht wählen."
        ]


def test_a_syntax_error_is_shown_with_its_line_and_nothing_is_saved(client_for, database, reports):
    report = reports["Einladung"]
    before = stored(database, "Einladung").layout
    layout = "<p>Hallo</p>\n<p>{{ recipient.last_name }</p>\n"
    response = post(
        client_for("manager"), f"/reports/{report}", form(name="Einladung", layout=layout)
    )
    assert response.status_code == 422
    errors = field_errors(body(response))
    assert any(error.startswith("Zeile 2: Syntaxfehler: ") for error in errors), errors
    assert "Nicht gespeichert" in body(response)
    assert stored(database, "Einladung").layout == before


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "Einladung"}, "Der Name „Einladung“ ist schon vergeben."),
        ({"name": "  "}, "Dieses Feld wird benötigt."),
        ({"margin_top": "-3"}, "Zahl muss zwischen 0 und 100 liegen."),
        ({"address_window": "y", "page_format": "a5"}, "nur für DIN A4 im Hochformat"),
        ({"address_window": "y"}, "braucht das Layout ein &lt;div id=&#34;address&#34;&gt;"),
    ],
)
def test_invalid_values_are_explained_next_to_the_field(client_for, reports, overrides, message):
    response = post(client_for("manager"), "/reports/new", form(**overrides))
    assert response.status_code == 422
    assert any(message in error for error in field_errors(body(response))), field_errors(
        body(response)
    )


def test_a_refused_save_marks_every_tab_with_an_error_not_only_the_one_shown(client_for, reports):
    response = post(client_for("manager"), "/reports/new", form(name=" ", margin_left="500"))
    html = body(response)
    assert response.status_code == 422

    def tab(name: str) -> str:
        return re.search(rf'<a href="#{name}" role="tab">(.*?)</a>', html, re.S).group(1)

    assert 'title="1 Feld mit Fehler">1</span>' in tab("general")
    assert 'title="1 Feld mit Fehler">1</span>' in tab("page")  # the margin, on another tab
    assert "data-tab-errors" not in tab("design")


def test_user_data_is_escaped_everywhere(client_for, database, reports):
    evil = '<script>alert("x")</script>'
    post(client_for("manager"), "/reports/new", form(name=evil, description=evil, group=evil))
    report = stored(database, evil)
    for path in ("/reports/", f"/reports/{report.id}", f"/reports/{report.id}/delete"):
        html = body(
            client_for("viewer").get(path)
            if "delete" not in path
            else client_for("manager").get(path)
        )
        assert "<script>alert" not in html, path
        assert "&lt;script&gt;alert" in html, path


# -- preview ----------------------------------------------------------------------------------


def test_the_preview_renders_unsaved_changes_as_pdf_for_a_sample_contact(
    client_for, database, reports
):
    manager = client_for("manager")
    report = reports["Informationsschreiben"]
    original = stored(database, "Informationsschreiben").layout
    layout = original.replace("</div>", "</div><p>Vorschau-Marker {{ recipient.number }}</p>", 1)
    response = post(
        manager,
        f"/reports/{report}/preview",
        form(
            name="Informationsschreiben",
            layout=layout,
            address_window="y",
            letterhead_id=reports["Briefbogen"],
            footer_id=reports["Fußzeile"],
            sample="K-4711",
        ),
    )
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    text = pdf_text(response.data)
    assert "Vorschau-Marker K-4711" in text and "Weißmüller" in text
    assert stored(database, "Informationsschreiben").layout == original  # nothing saved


def test_the_preview_of_a_new_report_uses_the_sample_recipient(client_for, reports):
    response = post(client_for("manager"), "/reports/preview", form())
    assert response.mimetype == "application/pdf"
    assert "Guten Tag Erika Mustermann" in pdf_text(response.data)


def test_a_syntax_error_in_the_preview_names_the_field_and_line(client_for, reports):
    layout = "<p>Zeile eins</p>\n<p>{% for x in %}</p>"
    response = post(client_for("manager"), "/reports/preview", form(layout=layout))
    assert response.status_code == 422
    html = body(response)
    assert 'data-field="layout"' in html and 'data-line="2"' in html
    assert "Zeile 2" in html
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_a_template_error_at_render_time_is_shown_with_its_line_in_the_readers_language(
    client_for, database, reports
):
    layout = "<p>a</p>\n<p>b</p>\n<p>{{ recipient.nickname }}</p>"
    manager = client_for("manager")
    response = post(manager, "/reports/preview", form(layout=layout))
    assert response.status_code == 422
    html = body(response)
    assert 'data-line="3"' in html
    assert "unbekannter Platzhalter „nickname“ (kein Feld dieses Werts)" in html
    with database.session() as session:
        session.scalar(select(User).where(User.username == "manager")).language = "en"
    english = body(post(manager, "/reports/preview", form(layout=layout)))
    assert "unknown placeholder &#39;nickname&#39;: dict object has no such field" in english


def test_a_renderers_refusal_in_the_preview_is_said_in_the_readers_language(
    client_for, database, reports
):
    layout = '<p>Guten Tag</p><img src="http://example.org/logo.png">'
    manager = client_for("manager")
    response = post(manager, "/reports/preview", form(layout=layout))
    assert response.status_code == 422
    assert (
        "das Dokument darf nur die Bilder und Schriften des Berichts verwenden (asset:NAME), "
        "nicht http://example.org/logo.png"
    ) in body(response)
    with database.session() as session:
        session.scalar(select(User).where(User.username == "manager")).language = "en"
    english = body(post(manager, "/reports/preview", form(layout=layout)))
    assert (
        "the document may use only the report&#39;s own images and fonts (asset:NAME), "
        "not http://example.org/logo.png"
    ) in english


def test_an_unknown_sample_contact_is_reported(client_for, reports):
    response = post(client_for("manager"), "/reports/preview", form(sample="K-0000"))
    assert response.status_code == 422
    assert 'data-field="sample"' in body(response)


def test_a_reader_previews_the_stored_report(client_for, reports):
    response = client_for("viewer").get(f"/reports/{reports['Einladung']}/preview.pdf?sample=Weißm")
    assert response.mimetype == "application/pdf"
    assert "Weißmüller" in pdf_text(response.data)


# -- assets -----------------------------------------------------------------------------------


def upload(client, report_id: int, name: str, data: bytes):
    return post(
        client,
        f"/reports/{report_id}/assets",
        {"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def asset_names(database, report_id: int) -> list[str]:
    with database.session() as session:
        return [asset.filename for asset in session.get(Report, report_id).assets]


def test_an_image_upload_is_stored_and_served(client_for, database, reports):
    report = reports["Einladung"]
    page = upload(client_for("manager"), report, "siegel.png", PNG)
    assert "„siegel.png“ wurde hochgeladen." in body(page)
    assert asset_names(database, report) == ["siegel.png"]
    with database.session() as session:
        asset_id = session.get(Report, report).assets[0].id
    served = client_for("viewer").get(f"/reports/{report}/assets/{asset_id}")
    assert served.data == PNG and served.mimetype == "image/png"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("tool.exe", b"MZ...", "nur Dateien mit der Endung .png, .jpg, .jpeg, .gif, .ttf"),
        ("logo.png", b"GIF89a fake", "der Inhalt ist keine .png-Datei."),
        ("font.ttf", b"<html>", "der Inhalt ist keine .ttf-Datei."),
        ("big.png", PNG + b"\0" * MAX_ASSET_BYTES, "erlaubt sind höchstens 2,0 MB"),
        ("empty.gif", b"", "die Datei ist leer."),
    ],
)
def test_uploads_are_checked_for_type_and_size(client_for, database, reports, name, data, message):
    report = reports["Einladung"]
    page = body(upload(client_for("manager"), report, name, data))
    assert "wurde nicht übernommen" in page and message in page
    assert asset_names(database, report) == []


def test_an_asset_is_removed(client_for, database, reports):
    report = reports["Briefbogen"]
    with database.session() as session:
        asset = session.scalar(select(Report).where(Report.id == report)).assets[0]
        asset_id, name = asset.id, asset.filename
    response = post(client_for("manager"), f"/reports/{report}/assets/{asset_id}/delete")
    assert response.status_code == 302
    assert name not in asset_names(database, report)


# -- copy and delete --------------------------------------------------------------------------


def test_a_copy_gets_a_new_name_and_the_assets(client_for, database, reports):
    manager = client_for("manager")
    post(manager, f"/reports/{reports['Briefbogen']}/copy")
    post(manager, f"/reports/{reports['Briefbogen']}/copy")
    first, second = (
        stored(database, "Kopie von Briefbogen"),
        stored(database, "Kopie von Briefbogen (2)"),
    )
    assert first is not None and second is not None
    assert asset_names(database, first.id) == asset_names(database, reports["Briefbogen"])


def test_a_report_in_use_cannot_be_deleted(client_for, database, reports):
    with database.session() as session:
        session.add(
            Campaign(
                name="Herbstmailing",
                datasource="query",
                action="print_reports",
                action_settings={"report": "Einladung"},
            )
        )
    manager = client_for("manager")
    page = body(manager.get(f"/reports/{reports['Einladung']}/delete"))
    assert "Dieser Bericht wird noch verwendet" in page and "Herbstmailing" in page
    response = post(manager, f"/reports/{reports['Einladung']}/delete", follow_redirects=True)
    assert "wird noch verwendet und kann nicht gelöscht werden" in body(response)
    assert stored(database, "Einladung") is not None
    # a sub-report is in use by the reports that include it
    page = body(manager.get(f"/reports/{reports['Fußzeile']}/delete"))
    assert "Informationsschreiben" in page and "Einladung" in page


def test_an_unused_report_is_deleted_and_audited(client_for, database, reports):
    post(client_for("manager"), "/reports/new", form())
    report = stored(database, "Zahlungserinnerung")
    response = post(client_for("manager"), f"/reports/{report.id}/delete")
    assert response.status_code == 302
    assert stored(database, "Zahlungserinnerung") is None
    with database.session() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "report.delete")
            )
            == 1
        )


# -- address patterns and text blocks ----------------------------------------------------------


def test_text_blocks_are_checked_and_a_used_one_is_kept(client_for, database, reports):
    manager = client_for("manager")
    bad = post(manager, "/reports/text-blocks/new", {"name": "Gruß", "body": "{{ x"})
    assert bad.status_code == 422
    errors = field_errors(body(bad))
    assert any("Kleinbuchstaben" in error for error in errors)
    assert any(error.startswith("Zeile 1:") for error in errors)
    good = post(manager, "/reports/text-blocks/new", {"name": "ps", "body": "<p>PS: Danke!</p>"})
    assert good.status_code == 302
    with database.session() as session:
        used = session.scalar(select(TextBlock).where(TextBlock.name == "grussformel"))
    refused = post(manager, f"/reports/text-blocks/{used.id}/delete", follow_redirects=True)
    assert "wird noch in diesen Berichten verwendet" in body(refused)
    assert "{{ text.ps }}" in body(client_for("viewer").get("/reports/text-blocks/"))


def test_address_patterns_check_countries_and_template(client_for, reports):
    manager = client_for("manager")
    response = post(
        manager,
        "/reports/address-patterns/new",
        {"name": "Österreich", "countries": "AT, Austria", "template": "{{ last_name"},
    )
    assert response.status_code == 422
    errors = field_errors(body(response))
    assert any("zweistellige Ländercodes" in error for error in errors)
    assert any(re.match(r"Zeile 1: ", error) for error in errors)
    ok = post(
        manager,
        "/reports/address-patterns/new",
        {"name": "Österreich", "countries": "at; ch", "template": "{{ last_name }}"},
    )
    assert ok.status_code == 302
    assert "AT, CH" in body(client_for("viewer").get("/reports/address-patterns/"))


def test_building_blocks_are_read_by_everybody_and_changed_by_managers(
    client_for, database, reports
):
    from core.models import AddressPattern

    with database.session() as session:
        pattern = session.scalar(select(AddressPattern.id))
        block = session.scalar(select(TextBlock.id).where(TextBlock.name == "briefanrede"))
    viewer = client_for("viewer")
    for path in (
        "/reports/address-patterns/",
        f"/reports/address-patterns/{pattern}",
        "/reports/text-blocks/",
        f"/reports/text-blocks/{block}",
    ):
        page = viewer.get(path)
        assert page.status_code == 200, path
        assert "<script>" not in body(page)
    for path in (
        "/reports/address-patterns/new",
        f"/reports/address-patterns/{pattern}",
        f"/reports/address-patterns/{pattern}/delete",
        "/reports/text-blocks/new",
        f"/reports/text-blocks/{block}",
        f"/reports/text-blocks/{block}/delete",
    ):
        for user in ("viewer", "reviewer"):
            assert post(client_for(user), path, {"name": "x", "body": "x"}).status_code == 403
    saved = post(
        client_for("manager"),
        f"/reports/text-blocks/{block}",
        {"name": "briefanrede", "body": "<p>Hallo {{ contact.first_name }},</p>"},
    )
    assert saved.status_code == 302
    deleted = post(client_for("manager"), f"/reports/address-patterns/{pattern}/delete")
    assert deleted.status_code == 302
    with database.session() as session:
        assert session.get(AddressPattern, pattern) is None
