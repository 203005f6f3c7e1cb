"""JSON typed by people, whose depth is measured first, without recursing: ``json.loads`` and
pydantic recurse per level, so a few hundred ``[`` would end in a ``RecursionError``; and why
such text is not JSON, in words the panel's catalog translates (``problem``)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from core.messages import StoredText, literal, stored

MAX_DEPTH = 32
"""Objects and lists inside each other; a query with the most blocks allowed needs about 25."""

_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]', re.S)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JsonTooDeepError(ValueError):
    """JSON nested deeper than the limit; ``limit`` is that limit."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"nested deeper than {limit} levels of objects and lists")


class LoneSurrogateError(ValueError):
    """JSON text whose ``\\uXXXX`` escapes leave half of a surrogate pair (``"\\ud800"``): no
    text, and no database can store it."""

    def __init__(self) -> None:
        super().__init__("an escape \\uD800-\\uDFFF that is half of a character")


def check_text_depth(text: str | bytes, limit: int = MAX_DEPTH) -> None:
    """Refuse JSON text whose objects and lists nest deeper than ``limit``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(match.group(), 0)
        if depth > limit:
            raise JsonTooDeepError(limit)


def check_data_depth(data: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse parsed data (dicts and lists) that nest deeper than ``limit``, without recursing."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, Mapping):
            value = value.values()
        elif not isinstance(value, list | tuple):
            continue
        if depth > limit:
            raise JsonTooDeepError(limit)
        pending.extend((child, depth + 1) for child in value)


def loads(text: str | bytes, limit: int = MAX_DEPTH) -> Any:
    """``json.loads`` after ``check_text_depth``; ValueError for text that is not JSON or
    holds half a character (``LoneSurrogateError``)."""
    check_text_depth(text, limit)
    data = json.loads(text)
    if _SURROGATE_ESCAPE.search(text if isinstance(text, str) else text.decode("utf-8", "replace")):
        try:  # a pair of escapes is one character; only a lone half cannot be encoded
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise LoneSurrogateError() from None
    return data


_DECODER_MESSAGES = {
    text.id: text
    for text in (
        stored("Expecting value"),
        stored("Expecting ',' delimiter"),
        stored("Expecting ':' delimiter"),
        stored("Expecting property name enclosed in double quotes"),
        stored("Unterminated string starting at"),
        stored("Invalid control character at"),
        stored("Invalid \\escape"),
        stored("Invalid \\uXXXX escape"),
        stored("Extra data"),
        stored("Unexpected UTF-8 BOM (decode using utf-8-sig)"),
        stored("Illegal trailing comma before end of object"),
        stored("Illegal trailing comma before end of array"),
    )
}
"""The messages of ``json``'s decoder (its C scanner's, and those Python 3.13 adds), which
name no value, so each has a catalog entry; any other stays in English."""


def problem(exc: ValueError) -> StoredText:
    """Why ``loads`` refused a text, for a screen in the reader's language; its English is
    ``str(exc)`` for text that does not parse (the decoder's message with its line, column and
    character), so the API and the log keep Python's words."""
    if isinstance(exc, json.JSONDecodeError):
        return stored(
            "{problem}: line {line} column {column} (char {char})",
            problem=_DECODER_MESSAGES.get(exc.msg) or stored(literal(exc.msg)),
            line=exc.lineno,
            column=exc.colno,
            char=exc.pos,
        )
    if isinstance(exc, JsonTooDeepError):
        return stored("nested deeper than {limit} levels of objects and lists", limit=exc.limit)
    if isinstance(exc, LoneSurrogateError):
        return stored("an escape \\uD800-\\uDFFF that is half of a character")
    if isinstance(exc, UnicodeDecodeError):
        return stored("not UTF-8 text (byte {position})", position=exc.start + 1)
    return stored(literal(str(exc)))
