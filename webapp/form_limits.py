"""The panel's request class: a form costs memory in proportion to its size, whatever it holds.

Werkzeug bounds a multipart form (``MAX_FORM_PARTS`` parts, ``MAX_FORM_MEMORY_SIZE`` bytes
per text field, files spooled to disk) but hands a urlencoded body, up to
``MAX_CONTENT_LENGTH``, to ``urllib.parse.parse_qsl``: every field is a few Python objects
and every ``%XX`` one more while it is decoded, so 50 MB of ``a=&`` or of ``%41`` grew the
server by 2.5 and 4 GB. Here a urlencoded form has at most ``MAX_FORM_PARTS`` fields, as a
multipart one, and each field is decoded in slices of ``SLICE`` bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import unquote_to_bytes

import werkzeug.urls  # noqa: F401  (registers the "werkzeug.url_quote" error handler)
from flask import Request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

URLENCODED = "application/x-www-form-urlencoded"
SLICE = 64 * 1024
"""Bytes of a field decoded at once: what decoding a ``%XX`` costs stays this small."""


class PanelFormParser(FormDataParser):
    """Werkzeug's parser, with urlencoded forms parsed in bounded memory (the same fields:
    ``+`` is a space, a field without ``=`` is empty, bytes that are no UTF-8 stay
    ``%XX``)."""

    def parse(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> tuple[IO[bytes], MultiDict[str, Any], MultiDict[str, Any]]:
        if mimetype != URLENCODED:
            return super().parse(stream, mimetype, content_length, options)
        limit = self.max_content_length
        if limit is not None and content_length is not None and content_length > limit:
            raise RequestEntityTooLarge()
        body = stream.read()  # limited to max_content_length by the request
        if self.max_form_parts is not None and body.count(b"&") >= self.max_form_parts:
            raise RequestEntityTooLarge()
        return stream, self.cls(_fields(body)), self.cls()


class PanelRequest(Request):
    form_data_parser_class = PanelFormParser


def _fields(body: bytes) -> Iterator[tuple[str, str]]:
    """The ``name=value`` pairs between the ``&`` of ``body``, found by position, so that no
    pair is copied whole."""
    start = 0
    while start <= len(body):
        end = body.find(b"&", start)
        end = len(body) if end == -1 else end
        if end > start:
            equals = body.find(b"=", start, end)
            if equals == -1:
                yield _decode(body, start, end), ""
            else:
                yield _decode(body, start, equals), _decode(body, equals + 1, end)
        start = end + 1


def _decode(body: bytes, start: int, end: int) -> str:
    """``body[start:end]`` unquoted a slice at a time, none ending inside a ``%XX``."""
    pieces = []
    while start < end:
        stop = min(start + SLICE, end)
        escape = body.rfind(b"%", stop - 2, stop) if stop < end else -1
        stop = escape if escape > start else stop
        pieces.append(unquote_to_bytes(body[start:stop].replace(b"+", b" ")))
        start = stop
    return b"".join(pieces).decode("utf-8", "werkzeug.url_quote")
