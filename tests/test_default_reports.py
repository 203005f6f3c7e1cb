import io
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from core.documents.rendering import ReportError, ReportRenderer
from core.documents.templating import TemplateError
from core.models import (
    Contact,
    ContactKind,
    Contract,
    Orientation,
    PageFormat,
    Report,
    TextBlock,
)
from core.query.records import load_records
from plugins.demo.address_book import load_demo
from plugins.demo.default_reports import install_default_reports

POINTS_PER_MM = 72 / 25.4
DAY = date(2026, 11, 23)
CAMPAIGN = {"id": 7, "name": "Informationskampagne 2026"}


@pytest.fixture
def installed(database):
    with database.session() as session:
        added = install_default_reports(session)
        load_demo(session, contacts=60)
    return added


def renderer(database, name, tmp_path) -> ReportRenderer:
    with database.session() as session:
        return ReportRenderer(session, name, tmp_path / "assets")


def demo_contact(database, **where) -> dict:
    with database.session() as session:
        query = (
            select(Contact.id)
            .filter_by(**where)
            .where(Contact.street.is_not(None), Contact.postcode.is_not(None))
        )
        contact_id = session.scalars(query.order_by(Contact.id)).first()
        return load_records(session, "contacts", [contact_id])[contact_id]


def positions(page) -> dict[str, tuple[float, float]]:
    """Each text line's start as (mm from the left, mm from the top)."""
    found = {}

    def visit(text, cm, tm, _font, _size):
        if text.strip():
            x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            top = float(page.mediabox.height) - y
            found.setdefault(text.strip(), (x / POINTS_PER_MM, top / POINTS_PER_MM))

    page.extract_text(visitor_text=visit)
    return found


def test_installing_the_defaults_twice_adds_them_once(database, installed):
    assert set(installed) >= {"Informationsschreiben", "Einladung", "DIN 5008", "briefanrede"}
    with database.session() as session:
        assert install_default_reports(session) == []
        letters = session.scalars(
            select(Report).where(Report.usable_for_mass_print).order_by(Report.name)
        ).all()
        assert [report.name for report in letters] == ["Einladung", "Informationsschreiben"]
        assert all(report.address_window and report.letterhead for report in letters)
        assert [asset.filename for asset in letters[0].letterhead.assets] == [
            "Vera.ttf",
            "VeraBd.ttf",
            "logo.png",
        ]


@pytest.mark.parametrize("name", ["Informationsschreiben", "Einladung"])
def test_a_default_letter_for_a_demo_person(database, installed, tmp_path, name):
    contact = demo_contact(database, kind=ContactKind.PERSON, salutation="Frau")
    letter = renderer(database, name, tmp_path).render(
        contact, "contacts", number=42, day=DAY, campaign=CAMPAIGN
    )
    [page] = PdfReader(io.BytesIO(letter)).pages
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width / POINTS_PER_MM), round(height / POINTS_PER_MM)) == (210, 297)
    text = page.extract_text()
    name_line = f"{contact['first_name']} {contact['last_name']}"
    for expected in (
        f"Sehr geehrte Frau {contact['last_name']},",
        "Informationskampagne 2026",
        "Laufende Nummer\n42",
        "23.11.2026",
        contact["number"],
        "Mit freundlichen Grüßen",
        "Seite 1",
    ):
        assert expected in text
    where = positions(page)
    # DIN 5008 form B: the address zone of the field at 20 mm / 45 mm, 85 x 45 mm (the
    # first 17.7 mm hold the return address), the information block at 125 mm, the text
    # from 98.46 mm down
    for line in ("Frau", name_line, f"{contact['postcode']} {contact['city']}"):
        left, top = where[line]
        assert 20 <= left <= 30 and 62.7 <= top <= 90, (line, left, top)
    left, top = where["Muster Finanzservice GmbH · Hohenzollernring 12 · 50672 Köln"]
    assert 45 <= top <= 62.7
    assert where["Kundennummer"][0] == pytest.approx(125, abs=0.5)
    subject = next(line for line in where if line.startswith(("Informationen zu", "Einladung zu")))
    assert where[subject][1] >= 98.46


def test_a_company_abroad_gets_a_din_5008_address(database, installed, tmp_path):
    contact = demo_contact(database, kind=ContactKind.COMPANY) | {"country": "AT"}
    report = renderer(database, "Informationsschreiben", tmp_path)
    lines = str(report.address(contact)).split("<br/>")
    assert lines[0] == contact["company_name"].replace("&", "&amp;")
    assert lines[-2:] == [f"{contact['postcode']} {contact['city']}", "ÖSTERREICH"]
    assert "Firma" not in lines
    values = report.values(contact, "contacts", number=None, day=DAY, campaign=CAMPAIGN)
    assert str(values["text"]["briefanrede"]).strip() == "Sehr geehrte Damen und Herren,"
    assert "Probedruck" in report.html(values)  # a test print has no running number


def test_a_contract_letter_addresses_the_contracts_contact(database, installed, tmp_path):
    with database.session() as session:
        contract_id = session.scalar(select(Contract.id).order_by(Contract.id).limit(1))
        record = load_records(session, "contracts", [contract_id])[contract_id]
    letter = renderer(database, "Einladung", tmp_path).render(
        record, "contracts", number=1, day=DAY, campaign=CAMPAIGN
    )
    assert record["contact.number"] in PdfReader(io.BytesIO(letter)).pages[0].extract_text()


def test_a_template_with_a_syntax_error_is_refused_when_saved(database, installed):
    with database.session() as session:
        report = session.scalar(select(Report).where(Report.name == "Einladung"))
        with pytest.raises(TemplateError, match="line 3: "):
            report.layout = "<p>\n{{ contact.number }}\n{% for x in y %}\n"
        with pytest.raises(TemplateError, match="line 1: "):
            TextBlock(name="gruss", body="{{ oops }")
        with pytest.raises(ValueError, match=r"text\.NAME"):
            TextBlock(name="Grüße", body="x")


def test_asset_names_and_sizes_are_checked(database, installed):
    with database.session() as session:
        report = session.scalar(select(Report).where(Report.name == "Briefbogen"))
        with pytest.raises(ValueError, match="must be letters"):
            report.add_asset("../logo.png", b"x")
        with pytest.raises(ValueError, match="end in"):
            report.add_asset("script.js", b"x")
        with pytest.raises(ValueError, match="at most"):
            report.add_asset("huge.png", b"x" * (2 * 1024 * 1024 + 1))
        replaced = report.add_asset("logo.png", b"new")
        assert [a.filename for a in report.assets].count("logo.png") == 1
        assert (replaced.kind, replaced.content_type, replaced.size) == ("image", "image/png", 3)


def test_an_address_window_needs_a4_portrait(database, installed, tmp_path):
    with database.session() as session:
        report = session.scalar(select(Report).where(Report.name == "Einladung"))
        report.page_format = PageFormat.A5
    with pytest.raises(ReportError, match="A4 portrait"):
        renderer(database, "Einladung", tmp_path)
    with pytest.raises(ReportError, match="no report 'Nachruf'"):
        renderer(database, "Nachruf", tmp_path)


def test_a_report_follows_its_page_setup_and_sub_reports(database, installed, tmp_path):
    body = "".join(f"<p>Absatz {n}: {{{{ contact.last_name }}}}</p>" for n in range(1, 60))
    with database.session() as session:
        parts = {
            report.name: report
            for report in session.scalars(select(Report).where(Report.group == "Bausteine"))
        }
        header = Report(name="Folgeseitenkopf", layout="<p>{{ campaign.name }} (Fortsetzung)</p>")
        session.add_all(
            [
                Report(
                    name="Notiz",
                    page_format=PageFormat.A5,
                    orientation=Orientation.LANDSCAPE,
                    layout="<p>Notiz für {{ contact.last_name }}</p>",
                ),
                Report(
                    name="Langer Brief",
                    address_window=True,
                    letterhead=parts["Briefbogen"],
                    header=header,
                    footer=parts["Fußzeile"],
                    layout='<div id="address">{{ address }}</div>' + body,
                ),
            ]
        )
    contact = demo_contact(database, kind=ContactKind.PERSON)
    note = renderer(database, "Notiz", tmp_path).render(
        contact, "contacts", number=1, day=DAY, campaign=CAMPAIGN
    )
    [page] = PdfReader(io.BytesIO(note)).pages
    size = (float(page.mediabox.width), float(page.mediabox.height))
    assert tuple(round(side / POINTS_PER_MM) for side in size) == (210, 148)

    long = renderer(database, "Langer Brief", tmp_path).render(
        contact, "contacts", number=1, day=DAY, campaign=CAMPAIGN
    )
    first, second = PdfReader(io.BytesIO(long)).pages[:2]
    assert "(Fortsetzung)" not in first.extract_text()  # the letterhead has the first page
    assert "Informationskampagne 2026 (Fortsetzung)" in second.extract_text()
    assert "Seite 2" in second.extract_text()
    where = positions(second)
    continued = next(line for line in where if line.startswith("Absatz"))
    assert 27 <= where[continued][1] < 45  # from the top margin, not below an address field
