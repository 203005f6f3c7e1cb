import http.server
import io
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from pypdf import PdfReader
from xhtml2pdf import pisa

from core.documents.rendering import (
    AssetFolder,
    PdfError,
    ResourceRefusedError,
    html_to_pdf,
    resource_policy,
)
from webapp.i18n import render_stored

REPORTS = Path(__file__).resolve().parents[1] / "plugins" / "demo" / "default_reports" / "assets"


# --- PDF -----------------------------------------------------------------------------------


@pytest.fixture
def fonts(tmp_path) -> AssetFolder:
    return AssetFolder(
        {
            "Vera.ttf": (REPORTS / "Vera.ttf").read_bytes(),
            "logo.png": (REPORTS / "logo.png").read_bytes(),
        },
        tmp_path / "cache",
    )


def document(body: str, head: str = "") -> str:
    return (
        f'<html><head><meta charset="utf-8"/><style>{head}'
        '@font-face { font-family: Body; src: url("asset:Vera.ttf"); }'
        f"body {{ font-family: Body; }}</style></head><body>{body}</body></html>"
    )


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def images_in(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_umlauts_sharp_s_and_euro_come_out_of_an_embedded_font(fonts):
    text = "Grüße aus Köln: ÄÖÜ äöü ß \u2013 „Preis“ 12,50 €"
    pdf = html_to_pdf(document(f'<p>{text}</p><img src="asset:logo.png"/>'), fonts)
    assert text in text_of(pdf)
    assert b"/FontFile2" in pdf and b"BitstreamVeraSans" in pdf
    assert images_in(pdf) == 1


@pytest.mark.parametrize(
    ("errors", "german", "english"),
    [
        (1, "xhtml2pdf meldete 1 Fehler", "xhtml2pdf reported 1 error"),
        (3, "xhtml2pdf meldete 3 Fehler", "xhtml2pdf reported 3 errors"),
    ],
)
def test_the_errors_xhtml2pdf_reports_are_counted_in_the_readers_language(
    fonts, errors, german, english
):
    def failing(html, dest, **options):
        return SimpleNamespace(err=errors)

    with pytest.raises(PdfError) as caught:
        html_to_pdf(document("<p>x</p>"), fonts, convert=failing)
    assert str(caught.value) == english
    assert [render_stored(caught.value.text, language, {}) for language in ("de", "en")] == [
        german,
        english,
    ]


def test_a_missing_asset_is_an_error_not_a_letter_without_it(fonts):
    with pytest.raises(ResourceRefusedError, match=r"asset:nope\.png"):
        html_to_pdf(document('<img src="asset:nope.png"/>'), fonts)


@pytest.fixture
def outside_image(tmp_path) -> Path:
    path = tmp_path / "outside.png"
    path.write_bytes((REPORTS / "logo.png").read_bytes())
    return path


@pytest.mark.parametrize(
    "markup",
    [
        '<img src="file:///etc/hostname"/>',
        '<img src="/etc/hostname"/>',
        '<img src="{image}"/>',
        '<img src="file://{image}"/>',
        '<img src="asset:../outside.png"/>',
        '<link rel="stylesheet" href="/etc/hostname"/>',
        '<img src="data:image/png;base64,iVBORw0KGgo="/>',
    ],
)
def test_local_files_are_refused(fonts, outside_image, markup):
    with pytest.raises(ResourceRefusedError):
        html_to_pdf(document(markup.format(image=outside_image)), fonts)


def test_the_policy_alone_keeps_local_files_out(fonts, outside_image):
    """Even a link callback that lets every URL through reads nothing outside the assets:
    returning the URL unchanged is what a falsy return does in xhtml2pdf."""
    for src in (str(outside_image), f"file://{outside_image}", "/etc/hostname"):
        output = io.BytesIO()
        pisa.pisaDocument(
            document(f'<p>x</p><img src="{src}"/>'),
            dest=output,
            link_callback=lambda uri, _rel: uri,
            resource_policy=resource_policy(fonts.path),
        )
        assert images_in(output.getvalue()) == 0


@pytest.fixture
def loopback_server():
    """An HTTP server on 127.0.0.1 that records every request it gets."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            data = (REPORTS / "logo.png").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def test_a_loopback_server_gets_no_request(fonts, loopback_server):
    url, requests = loopback_server
    for markup, head in [
        (f'<img src="{url}/logo.png"/>', ""),
        ("<p>x</p>", f'@import url("{url}/style.css");'),
        ("<p>x</p>", f'@font-face {{ font-family: X; src: url("{url}/x.ttf"); }}'),
        ('<p style="background-image: url(URL/bg.png)">x</p>'.replace("URL", url), ""),
    ]:
        with pytest.raises(ResourceRefusedError):
            html_to_pdf(document(markup, head), fonts)
    output = io.BytesIO()
    pisa.pisaDocument(
        document(f'<img src="{url}/logo.png"/>'),
        dest=output,
        link_callback=lambda uri, _rel: uri,
        resource_policy=resource_policy(fonts.path),
    )
    assert requests == []
    assert images_in(output.getvalue()) == 0


def test_asset_folders_are_shared_by_content(tmp_path):
    first = AssetFolder({"a.png": b"1"}, tmp_path)
    assert AssetFolder({"a.png": b"1"}, tmp_path).path == first.path
    assert AssetFolder({"a.png": b"2"}, tmp_path).path != first.path
    assert sorted(path.name for path in first.path.iterdir()) == ["a.png"]
