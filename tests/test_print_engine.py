"""The print action's fast PDF engine: the same letters as xhtml2pdf's plain path, compared
as page images (pdftoppm, 100 dpi) and as text (pdftotext), on the tested versions only."""

import logging
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from sqlalchemy import select

from core.documents.rendering import AssetFolder, ReportRenderer, ResourceRefusedError, html_to_pdf
from core.models import Contact, Report, TextBlock
from core.query.records import load_records
from plugins.actions import print_engine
from plugins.actions.html_skeletons import LearnedSkeleton
from plugins.actions.pdf_collection import count_pages
from plugins.actions.print_engine import (
    FastReportRenderer,
    fast_pisa_document,
    report_renderer,
    reusable,
)
from plugins.demo.address_book import load_demo
from plugins.demo.default_reports import install_default_reports

from conftest import unavailable

DAY = date(2026, 11, 23)
CAMPAIGN = {"id": 7, "name": "Herbstaktion für Bestandskunden"}
TOLERANCE = 8
"""Largest difference of a colour channel (0-255) two pixels of the same letter may have."""
LONG_LETTER = "Langer Brief"
LONG_PAGE_COUNT = "Langer Brief, Seite x von y"


@pytest.fixture
def poppler():
    """pdftoppm and pdftotext (Debian's poppler-utils): skipped where missing, a failure with
    CI=true (.ci/run installs them)."""
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        unavailable("poppler-utils", "no pdftoppm or pdftotext (apt-get install poppler-utils)")


@pytest.fixture
def reports(database):
    """The default reports, demo contacts and a letter that runs over two pages, with
    "Seite 1 von 2" in its footer and with the recipient's name in its footer."""
    with database.session() as session:
        install_default_reports(session)
        load_demo(session, contacts=30)
        model = session.scalar(select(Report).where(Report.name == "Informationsschreiben"))
        long = Report(
            name=LONG_LETTER,
            group=model.group,
            usable_for_mass_print=True,
            address_window=True,
            letterhead=model.letterhead,
            footer=Report(
                name="Fußzeile mit Empfänger",
                group=model.footer.group,
                stylesheet=model.footer.stylesheet,
            ),
            stylesheet=model.stylesheet,
        )
        # A footer that differs for every recipient: parsed for every letter.
        long.footer.layout = model.footer.layout.replace("Seite", "{{ contact.last_name }} · Seite")
        long.layout = model.layout.replace(
            "<p>{{ text.grussformel }}</p>",
            "{% for i in range(14) %}<p>Absatz {{ i + 1 }}: Änderungen bei Altersvorsorge, "
            "Hausrat und Kfz - für {{ contact.last_name }} in {{ contact.city }} geprüft, "
            "damit Ihr Schutz zu Ihrer Lebenssituation passt.</p>{% endfor %}"
            "<p>{{ text.grussformel }}</p>",
        )
        session.add(long)
        counted = Report(
            name="Fußzeile mit Seitenzahl",
            group=model.footer.group,
            stylesheet=model.footer.stylesheet,
        )
        # The same for every recipient, and laid out twice (the page count is known after
        # the first pass).
        counted.layout = model.footer.layout.replace(
            "<pdf:pagenumber/>", "<pdf:pagenumber/> von <pdf:pagecount/>"
        )
        session.add(
            Report(
                name=LONG_PAGE_COUNT,
                group=model.group,
                usable_for_mass_print=True,
                address_window=True,
                letterhead=model.letterhead,
                footer=counted,
                stylesheet=model.stylesheet,
                layout=long.layout,
            )
        )
        session.commit()


def recipients(database) -> list[dict]:
    """A few demo contacts, one of them given umlauts, ß and a foreign address."""
    with database.session() as session:
        ids = session.scalars(
            select(Contact.id)
            .where(Contact.street.is_not(None), Contact.postcode.is_not(None))
            .order_by(Contact.id)
            .limit(3)
        ).all()
        records = list(load_records(session, "contacts", ids).values())
    records[0] |= {
        "first_name": "Jürgen",
        "last_name": "Größer-Müßig",
        "street": "Äußere Straße 5",
        "city": "Düsseldorf",
    }
    records[1] |= {"country": "AT", "city": "Wien", "postcode": "1010"}
    return records


def renderers(database, name: str, cache: Path) -> tuple[ReportRenderer, ReportRenderer]:
    with database.session() as session:
        plain = ReportRenderer(session, name, cache)
        fast = FastReportRenderer(session, name, cache)
    return plain, fast


def pages_and_text(pdf: bytes, directory: Path) -> tuple[list[Image.Image], str]:
    directory.mkdir(parents=True)
    source = directory / "letter.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "100", "-png", source, directory / "page"], check=True)
    text = subprocess.run(
        ["pdftotext", "-layout", source, "-"], capture_output=True, text=True, check=True
    ).stdout
    return [Image.open(path).convert("RGB") for path in sorted(directory.glob("page*.png"))], text


def largest_difference(first: Image.Image, second: Image.Image) -> int:
    assert first.size == second.size
    return max(high for _low, high in ImageChops.difference(first, second).getextrema())


def test_the_fast_engine_prints_the_same_letters_as_xhtml2pdf(database, reports, poppler, tmp_path):
    people = recipients(database)
    cache = tmp_path / "assets"
    # Interleaved, so that each report's cached stylesheets meet the other report's letters.
    pairs = {
        name: renderers(database, name, cache)
        for name in ("Informationsschreiben", "Einladung", LONG_LETTER, LONG_PAGE_COUNT)
    }
    compared, texts = [], {}
    for round_ in range(2):
        for name, (plain, fast) in pairs.items():
            for index, person in enumerate(people):
                values = {"number": 10 * round_ + index + 1, "day": DAY, "campaign": CAMPAIGN}
                expected = plain.render(person, "contacts", **values)
                actual = fast.render(person, "contacts", **values)
                where = tmp_path / f"{name}-{round_}-{index}".replace(" ", "-").replace(",", "")
                expected_pages, expected_text = pages_and_text(expected, where / "plain")
                actual_pages, actual_text = pages_and_text(actual, where / "fast")
                assert actual_text == expected_text
                assert len(actual_pages) == len(expected_pages) == count_pages(actual)
                pairs_of_pages = zip(expected_pages, actual_pages, strict=True)
                for page, (want, got) in enumerate(pairs_of_pages, 1):
                    assert largest_difference(want, got) <= TOLERANCE, (name, index, page)
                compared.append((name, len(expected_pages)))
                texts[name, index] = expected_text
    # From the third letter of a renderer on, its letterhead and footer are copied drawings.
    drawn = [renderer._drawings.drawings.values() for _plain, renderer in pairs.values()]
    assert all(any(drawing is not None for drawing in drawings) for drawings in drawn)
    # From the third letter of a markup on, a letter's tree is the learned skeleton's.
    learned = print_engine._letters._skeletons.values()
    assert any(isinstance(skeleton, LearnedSkeleton) for skeleton in learned)
    assert {pages for name, pages in compared if name.startswith(LONG_LETTER)} == {2}
    assert "Seite 1 von 2" in texts[LONG_PAGE_COUNT, 0]
    assert "Seite 2 von 2" in texts[LONG_PAGE_COUNT, 0]
    assert "Größer-Müßig · Seite 1" in texts[LONG_LETTER, 0]
    assert "Größer-Müßig · Seite 2" in texts[LONG_LETTER, 0]
    assert "Größer-Müßig" in texts["Einladung", 0] and "Äußere Straße 5" in texts["Einladung", 0]
    assert "ÖSTERREICH" in texts["Informationsschreiben", 1]  # the address window's last line


def test_a_letter_that_shows_its_own_frame_on_every_page_is_printed_the_same(
    database, reports, poppler, tmp_path, monkeypatch
):
    """The address and information frames are drawn from their content, without a copy,
    on the assumption that only the first page shows them; a stylesheet that puts the
    information block on the following pages too gets the letter rendered again, with
    copies."""
    with database.session() as session:
        model = session.scalar(select(Report).where(Report.name == LONG_LETTER))
        session.add(
            Report(
                name="Info auf jeder Seite",
                group=model.group,
                usable_for_mass_print=True,
                address_window=True,
                letterhead=model.letterhead,
                footer=model.footer,
                layout=model.layout,
                stylesheet=model.stylesheet
                + "\n@page later { @frame info { -pdf-frame-content: info; left: 125mm;"
                " top: 10mm; width: 75mm; height: 40mm; } @frame content { left: 25mm;"
                " top: 55mm; width: 165mm; height: 200mm; } }",
            )
        )
        session.commit()
    drawn_twice = []
    convert = print_engine.fast_pisa_document

    def watched(*args, **options):
        context = convert(*args, **options)
        drawn_twice.append(context.campaignDrawnTwice)
        return context

    monkeypatch.setattr(print_engine, "fast_pisa_document", watched)
    plain, fast = renderers(database, "Info auf jeder Seite", tmp_path / "assets")
    person = recipients(database)[0]
    values = {"number": 1, "day": DAY, "campaign": CAMPAIGN}
    expected = plain.pdf(plain.values(person, "contacts", **values))
    actual = fast.pdf(fast.values(person, "contacts", **values))
    assert drawn_twice == [True, False]
    expected_pages, expected_text = pages_and_text(expected, tmp_path / "plain")
    actual_pages, actual_text = pages_and_text(actual, tmp_path / "fast")
    assert actual_text == expected_text
    assert expected_text.count(str(person["number"])) >= 3  # the information block twice
    assert len(actual_pages) == len(expected_pages) == 2
    for want, got in zip(expected_pages, actual_pages, strict=True):
        assert largest_difference(want, got) <= TOLERANCE


def test_the_fast_engine_keeps_documents_to_their_own_assets(tmp_path):
    folder = AssetFolder({"logo.png": b"\x89PNG"}, tmp_path / "cache")
    html = '<html><body><p>Hallo</p><img src="/etc/hostname"/></body></html>'
    with pytest.raises(ResourceRefusedError, match="/etc/hostname"):
        html_to_pdf(html, folder, fast_pisa_document)


def test_the_tested_versions_are_the_installed_ones(database, reports, tmp_path):
    assert print_engine.installed_versions() == print_engine.TESTED_VERSIONS
    assert print_engine.tested()
    with database.session() as session:
        renderer = report_renderer(session, "Einladung", tmp_path)
    assert isinstance(renderer, FastReportRenderer)


def test_a_renderer_is_kept_for_later_letters_until_what_they_are_made_of_changes(
    database, reports, poppler, tmp_path
):
    with database.session() as session:
        first = report_renderer(session, "Informationsschreiben", tmp_path)
        assert report_renderer(session, "Informationsschreiben", tmp_path) is first
        assert report_renderer(session, "Einladung", tmp_path) is not first
        greeting = session.scalar(select(TextBlock).where(TextBlock.name == "grussformel"))
        greeting.body = "Mit herzlichen Grüßen"
    with database.session() as session:
        edited = report_renderer(session, "Informationsschreiben", tmp_path)
    assert edited is not first
    record = recipients(database)[0]
    letter = edited.render(record, "contacts", number=1, day=DAY, campaign=CAMPAIGN)
    assert "Mit herzlichen Grüßen" in pages_and_text(letter, tmp_path / "edited")[1]


def test_untested_versions_fall_back_to_the_plain_path_with_a_warning(caplog):
    untested = {"xhtml2pdf": "0.2.99", "reportlab": "5.1.0"}
    with caplog.at_level(logging.WARNING, logger=print_engine.__name__):
        assert not print_engine.tested(untested)
        assert not print_engine.tested(untested)
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "xhtml2pdf 0.2.99" in warnings[0] and "plain" in warnings[0]


def test_only_sub_reports_without_effects_beyond_their_frame_are_reused():
    assert reusable('<td>Seite <pdf:pagenumber/> von <pdf:pagecount/></td><img src="asset:a"/>')
    assert not reusable('<a href="https://example.org">Impressum</a>')
    assert not reusable("<pdf:nextpage/>")
    assert not reusable('<div style="position: absolute; top: 0">x</div>')


def test_cached_font_subsets_write_the_same_bytes_as_reportlab(monkeypatch):
    """The same document, written by ReportLab and with ``FontSubsets`` (twice: made, then
    from the cache), byte for byte: two fonts, umlauts, a second subset of one of them."""
    import io

    from reportlab import rl_config
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas

    from plugins.actions.print_engine import FontSubsets

    monkeypatch.setattr(rl_config, "invariant", 1)  # no dates or random ids in the file
    monkeypatch.setattr(FontSubsets, "cache", type(FontSubsets.cache)())
    assets = Path(__file__).resolve().parents[1] / "plugins" / "demo" / "default_reports" / "assets"
    pdfmetrics.registerFont(TTFont("SubsetTestRegular", str(assets / "Vera.ttf")))
    pdfmetrics.registerFont(TTFont("SubsetTestBold", str(assets / "VeraBd.ttf")))
    every = "".join(map(chr, TTFont("SubsetTestBold", str(assets / "VeraBd.ttf")).face.charToGlyph))

    def document(text: str, *, cached: bool) -> bytes:
        output = io.BytesIO()
        canvas = Canvas(output)
        if cached:
            canvas._doc.delayedFonts = FontSubsets.fonts_of(canvas._doc)
        canvas.setFont("SubsetTestRegular", 12)
        canvas.drawString(50, 700, text)
        canvas.setFont("SubsetTestBold", 10)
        canvas.drawString(50, 600, "Größe \u2013 ÄÖÜ € " + every)  # 283: two subsets
        canvas.showPage()
        canvas.save()
        return output.getvalue()

    for text in ("Jürgen Größer-Müßig", "Düsseldorf", "Jürgen Größer-Müßig"):
        plain = document(text, cached=False)
        assert document(text, cached=True) == plain
        assert document(text, cached=True) == plain
    assert len(FontSubsets.cache) == 4  # the two texts, and the bold font's two subsets


def test_rounded_box_answers_as_xhtml2pdf_and_only_while_the_engine_renders():
    from xhtml2pdf import parser, util
    from xhtml2pdf.builders.flex import BoxStyle

    from plugins.actions.print_engine import _quick_rounded_boxes, rounded_box

    original = util.roundedBox
    square = BoxStyle()
    rounded = BoxStyle()
    rounded.borderTopLeftRadius = util.getBorderRadius(("3", "mm"))  # as the CSS parser has it
    with _quick_rounded_boxes():
        assert parser.roundedBox is util.roundedBox is rounded_box
        assert rounded_box(square, 0.0, 0.0, 10.0, 10.0) is None
        assert original(square, 0.0, 0.0, 10.0, 10.0) is None
        quick = rounded_box(rounded, 1.0, 2.0, 30.0, 20.0)
        assert quick is not None and quick == original(rounded, 1.0, 2.0, 30.0, 20.0)
    assert parser.roundedBox is util.roundedBox is original
