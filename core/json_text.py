"""JSON typed by people, whose depth is measured first, without recursing: ``json.loads`` and
pydantic recurse per level, so a few hundred ``[`` would end in a ``RecursionError``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 32
"""Objects and lists inside each other; a query with the most blocks allowed needs about 25."""

_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]', re.S)


class JsonTooDeepError(ValueError):
    """JSON nested deeper than the limit; ``limit`` is that limit."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"nested deeper than {limit} levels of objects and lists")


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
    """``json.loads`` after ``check_text_depth``; ValueError for text that is not JSON."""
    check_text_depth(text, limit)
    return json.loads(text)
