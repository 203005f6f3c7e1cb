import http.server
import io
import threading
import time
import tracemalloc
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from xhtml2pdf import pisa

from core import rendering
from core.rendering import (
    AssetFolder,
    ResourceRefusedError,
    TemplateError,
    TemplateLimitError,
    UnknownPlaceholderError,
    compile_template,
    html_to_pdf,
    resource_policy,
)

REPORTS = Path(__file__).resolve().parents[1] / "plugins" / "reports" / "assets"


def render(source: str, **data) -> str:
    return str(compile_template(source).render(data))


# --- templates -----------------------------------------------------------------------------


def test_placeholders_are_escaped_and_the_filters_speak_german():
    out = render(
        "{{ name }} | {{ day|date }} | {{ day|date('long') }} | {{ amount|money }} | "
        "{{ 1234567|number }} | {{ 'at'|country_name|upper }} | {{ when|date }}",
        name="<b>Müller & Söhne</b>",
        day=date(2026, 3, 12),
        amount=Decimal("1234.5"),
        when=datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
    )
    assert out == (
        "&lt;b&gt;Müller &amp; Söhne&lt;/b&gt; | 12.03.2026 | 12. März 2026 | 1.234,50 € | "
        "1.234.567 | ÖSTERREICH | 01.01.2027"
    )


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ self._TemplateReference__context }}",
        "{% set items = [] %}{{ items.append(1) }}",
        "{% set d = {} %}{{ d.update(a=1) }}",
        "{{ '{0.__class__}'.format(1) }}",
        "{{ '%s' % 'x' }}",
        "{{ 'a'.ljust(99) }}",
    ],
)
def test_the_sandbox_refuses_the_known_payloads(source):
    with pytest.raises(TemplateError):
        render(source)


def test_repetition_is_refused_before_the_value_exists():
    tracemalloc.start()
    try:
        started = time.perf_counter()
        with pytest.raises(TemplateLimitError, match="100000000 characters"):
            render("{{ 'a' * 10**8 }}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    "source",
    [
        "{{ 2 ** 100000 }}",
        "{{ [0] * 10**7 }}",
        "{% set s = 'a' * 900000 %}{{ s ~ s }}",
        "{% set s = 'a' * 900000 %}{{ s + s }}",
        "{% set s = 'a' * 900000 %}{{ [s, s]|join }}",
        "{% set s = 'a' * 2000 %}{{ s|replace('a', s) }}",
        "{{ [[0] * 1000] * 1000|sum(start=[]) }}",
        "{% set s = 'a' * 100000 %}{% set t %}{% for i in range(100) %}{{ s }}{% endfor %}"
        "{% endset %}{{ t|length }}",
        "{% for i in range(100000) %}{{ 'abcdefghijk' }}{% endfor %}",
    ],
)
def test_every_way_to_build_a_huge_value_is_capped(source):
    with pytest.raises(TemplateLimitError):
        render(source)


def test_filters_that_only_grow_text_are_not_there():
    with pytest.raises(TemplateError, match="line 2: No filter named 'center'"):
        compile_template("ok\n{{ 'a'|center(10**9) }}")


def test_a_loop_over_a_billion_items_never_starts():
    started = time.perf_counter()
    with pytest.raises(TemplateError, match="MAX_RANGE"):
        render("{% for i in range(10**9) %}{{ i }}{% endfor %}")
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    "source",
    [
        # no call, attribute or output inside: only the loop guard sees these iterations
        "{% set r = range(100000) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(40) }}",
    ],
)
def test_a_render_that_runs_on_is_stopped_at_its_deadline(monkeypatch, source):
    monkeypatch.setattr(rendering, "RENDER_SECONDS", 0.3)
    started = time.perf_counter()
    with pytest.raises(TemplateLimitError, match=r"longer than 0\.3 seconds"):
        render(source)
    assert time.perf_counter() - started < 1.5


def test_template_size_is_limited():
    with pytest.raises(TemplateLimitError, match="characters"):
        compile_template("x" * (rendering.MAX_TEMPLATE_CHARS + 1))


def test_an_unknown_placeholder_is_named_with_its_line():
    template = compile_template("Hallo\n{{ contact.first_name }}\n{{ contact.nickname }}")
    with pytest.raises(UnknownPlaceholderError) as raised:
        template.render({"contact": {"first_name": "Anna"}})
    assert str(raised.value) == (
        "line 3: unknown placeholder 'nickname': dict object has no such field"
    )
    with pytest.raises(UnknownPlaceholderError, match="line 1: unknown placeholder 'missing'"):
        render("{% if missing %}x{% endif %}")


def test_a_syntax_error_is_reported_with_its_line_when_compiled():
    with pytest.raises(TemplateError) as raised:
        compile_template("<p>\n{{ name }}\n{% if x %}\n</p>")
    assert raised.value.lineno == 4
    assert str(raised.value).startswith("line 4: Unexpected end of template")


def test_a_template_is_compiled_once():
    source = "{{ x }} once"
    assert compile_template(source) is compile_template(source)


def test_only_plain_data_reaches_a_template():
    with pytest.raises(TypeError, match=r"data\.row: object is not plain data"):
        compile_template("{{ row }}").render({"row": object()})


def test_the_fields_a_template_reads_from_a_variable():
    template = compile_template("{{ text.greeting }} {{ text['closing'] }} {{ other.x }}")
    assert template.fields_of("text") == {"greeting", "closing"}
    assert compile_template("{% for t in text %}{{ t }}{% endfor %}").fields_of("text") is None


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
