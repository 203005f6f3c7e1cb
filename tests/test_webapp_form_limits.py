"""Urlencoded forms in bounded memory: the fields are the ones the browser sent (as
``urllib.parse.parse_qsl`` reads them), a long field with escapes across the slices too,
and parsing costs a small multiple of the body, however it is made up."""

from __future__ import annotations

import io
import tracemalloc
from urllib.parse import parse_qsl, quote

import pytest
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.form_limits import SLICE, URLENCODED, PanelFormParser


def parse(body: bytes) -> MultiDict[str, str]:
    parser = PanelFormParser(max_form_parts=1000)
    _stream, form, _files = parser.parse(io.BytesIO(body), URLENCODED, len(body))
    return form


LONG_TEXT = "Grüße, 50 % & Co. = €; " * (4 * SLICE // 20)


@pytest.mark.parametrize(
    "body",
    [
        b"name=Erika+M%C3%BCller&empty=&flag&=nameless&name=again",
        b"broken=%zz%4&not_utf8=%FF%fe&raw=\xc3\xa4&plus=%2B+",
        b"a=1&&b=2&",
        b"definition=" + quote(LONG_TEXT, safe="").encode(),
        b"half_escapes=" + b"%4" * SLICE + b"%41" * SLICE,
    ],
)
def test_the_fields_are_the_ones_the_browser_sent(body):
    expected = parse_qsl(body.decode(), keep_blank_values=True, errors="werkzeug.url_quote")
    assert list(parse(body).items(multi=True)) == list(MultiDict(expected).items(multi=True))


@pytest.mark.parametrize(
    "body",
    [
        b"definition=" + b"%41" * 1_000_000,
        b"plain=" + b"x" * 3_000_000,
        b"&".join(b"f%d=" % number + b"%C3%A4" * 3000 for number in range(999)),
    ],
)
def test_parsing_costs_a_small_multiple_of_the_body(body):
    tracemalloc.start()
    try:
        parse(body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(body)


def test_more_fields_than_the_limit_are_refused_before_they_are_decoded():
    with pytest.raises(RequestEntityTooLarge):
        parse(b"a=%41&" * 1000)
