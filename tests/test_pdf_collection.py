import gc
import io
import tracemalloc
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, TextStringObject

from core.documents.rendering import AssetFolder, html_to_pdf
from plugins.actions.pdf_collection import PdfCollection, PdfCollectionError, _scan, count_pages

ASSETS = Path(__file__).resolve().parents[1] / "plugins" / "demo" / "default_reports" / "assets"


@pytest.fixture
def assets(tmp_path) -> AssetFolder:
    return AssetFolder(
        {name: (ASSETS / name).read_bytes() for name in ("Vera.ttf", "logo.png")},
        tmp_path / "cache",
    )


def letter(assets: AssetFolder, text: str, pages: int = 1) -> bytes:
    body = f"<p>{text}</p>" + (f"<pdf:nextpage/><p>{text} (2)</p>" if pages == 2 else "")
    return html_to_pdf(
        '<html><head><meta charset="utf-8"/><style>'
        '@font-face { font-family: Body; src: url("asset:Vera.ttf"); }'
        "body { font-family: Body; }</style></head>"
        f'<body>{body}<img src="asset:logo.png"/></body></html>',
        assets,
    )


def texts(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path, strict=True).pages]


def with_note_on_first_page(pdf: bytes, note: str, incremental: bool = False) -> bytes:
    """``pdf`` written again by pypdf with a text entry on its first page; ``incremental``
    appends the change as an update instead of rewriting the file."""
    writer = (
        PdfWriter(io.BytesIO(pdf), incremental=True)
        if incremental
        else PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    )
    writer.pages[0][NameObject("/Note")] = TextStringObject(note)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_a_collection_holds_every_page_in_order(tmp_path, assets):
    path = tmp_path / "collection.pdf"
    with PdfCollection(path) as collection:
        assert collection.append(letter(assets, "Brief eins für Jürgen")) == 1
        assert collection.append(letter(assets, "Brief zwei für Grete", pages=2)) == 2
        collection.append(letter(assets, "Brief drei für Özlem"))
    reader = PdfReader(path, strict=True)
    pages = texts(path)
    assert len(pages) == 4
    assert pages[0].startswith("Brief eins für Jürgen")
    assert pages[1].startswith("Brief zwei für Grete") and "(2)" in pages[2]
    assert pages[3].startswith("Brief drei für Özlem")
    assert all(abs(float(page.mediabox.height) - 841.89) < 0.01 for page in reader.pages)
    assert sum(len(page.images) for page in reader.pages) == 3  # logo on page 2 of letter 2
    PdfWriter(clone_from=reader).write(io.BytesIO())  # a second library can rewrite it
    assert not list(tmp_path.glob(".*.part"))


def test_the_logo_and_fonts_every_letter_shares_are_stored_once(tmp_path, assets):
    letters = [letter(assets, f"Sehr geehrte Frau Nummer {n}") for n in range(30)]
    path = tmp_path / "collection.pdf"
    with PdfCollection(path) as collection:
        for pdf in letters:
            collection.append(pdf)
    data = path.read_bytes()
    assert data.count(b"/Subtype /Image") == 1
    assert data.count(b"/FontFile2") <= 4  # a font subset differs where the text does
    assert len(data) < sum(len(pdf) for pdf in letters) / 2
    assert collection.shared > 30 * 4
    pages = texts(path)
    assert [page.split("\n")[0] for page in pages] == [
        f"Sehr geehrte Frau Nummer {n}" for n in range(30)
    ]


def test_a_failed_collection_leaves_no_file(tmp_path, assets):
    path = tmp_path / "collection.pdf"
    with pytest.raises(RuntimeError), PdfCollection(path) as collection:
        collection.append(letter(assets, "eins"))
        raise RuntimeError("stop")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_a_reference_written_inside_a_text_is_left_as_it_is(tmp_path, assets):
    noted = with_note_on_first_page(letter(assets, "Brief mit Notiz"), "see 1 0 R (page 1)")
    path = tmp_path / "collection.pdf"
    with PdfCollection(path) as collection:
        collection.append(letter(assets, "davor"))
        collection.append(noted)
    assert PdfReader(path, strict=True).pages[1]["/Note"] == "see 1 0 R (page 1)"


def test_an_updated_document_goes_through_pypdf_with_its_latest_state(tmp_path, assets):
    updated = with_note_on_first_page(
        letter(assets, "Brief mit Nachtrag", pages=2), "added later", incremental=True
    )
    assert b"/Prev" in updated
    path = tmp_path / "collection.pdf"
    with PdfCollection(path) as collection:
        collection.append(letter(assets, "davor"))
        assert collection.append(updated) == 2
    reader = PdfReader(path, strict=True)
    assert reader.pages[1]["/Note"] == "added later"
    assert [page.split("\n")[0] for page in texts(path)] == [
        "davor",
        "Brief mit Nachtrag",
        "Brief mit Nachtrag (2)",
    ]


def test_pages_inheriting_from_the_page_tree_keep_what_they_inherit(tmp_path, assets):
    source = PdfReader(io.BytesIO(letter(assets, "Geerbte Seitengröße")))
    writer = PdfWriter(clone_from=source)
    tree = writer.root_object["/Pages"].get_object()
    page = writer.pages[0]
    tree[NameObject("/MediaBox")] = page["/MediaBox"]
    del page["/MediaBox"]
    buffer = io.BytesIO()
    writer.write(buffer)
    path = tmp_path / "collection.pdf"
    with PdfCollection(path) as collection:
        collection.append(buffer.getvalue())
    page = PdfReader(path, strict=True).pages[0]
    assert abs(float(page.mediabox.height) - 841.89) < 0.01


def test_a_broken_document_is_refused_and_the_collection_goes_on(tmp_path, assets):
    path = tmp_path / "collection.pdf"
    with PdfCollection(path) as collection:
        collection.append(letter(assets, "vorher"))
        with pytest.raises(PdfCollectionError, match="not a readable PDF"):
            collection.append(b"%PDF-1.4\nthis is not a PDF at all")
        collection.append(letter(assets, "nachher"))
    assert [page.split("\n")[0] for page in texts(path)] == ["vorher", "nachher"]


def test_a_collection_keeps_memory_flat(tmp_path, assets):
    one = letter(assets, "Ein Brief mit Logo und eingebetteter Schrift")
    with PdfCollection(tmp_path / "collection.pdf") as collection:
        for _ in range(20):
            collection.append(one)
        gc.collect()
        tracemalloc.start()
        try:
            for _ in range(500):
                collection.append(one)
            _, peak = tracemalloc.get_traced_memory()
            gc.collect()
            kept, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert kept < 500 * 300  # offsets only: 8 bytes an object, a few objects a letter
    assert peak < 10_000_000  # one letter at a time, not 500
    assert len(PdfReader(tmp_path / "collection.pdf").pages) == 520


def test_pages_are_counted_from_the_page_tree(assets):
    two = letter(assets, "Zwei Seiten", pages=2)
    assert count_pages(letter(assets, "Eine Seite")) == 1
    assert count_pages(two) == 2
    assert count_pages(with_note_on_first_page(two, "später", incremental=True)) == 2
    with pytest.raises(PdfCollectionError, match="not a readable PDF"):
        count_pages(b"%PDF-1.4\nnothing here")


def test_references_among_numbers_are_found_and_the_numbers_left_alone():
    data = (
        b"<< /W [ 600 317.5 5 0 R -3 1 0 R 7 0 RG 2 0 R] /Parent 9 0 R /Length 3 >>\n"
        b"stream\nabc\nendstream\nendobj"
    )
    found = _scan(data, 0)
    assert [(data[start:end], number) for start, end, number in found.references] == [
        (b"5 0 R", 5),
        (b"1 0 R", 1),
        (b"2 0 R", 2),
    ]
    assert data[slice(*found.parent)] == b"9 0 R"
    assert found.stream == b"abc"
