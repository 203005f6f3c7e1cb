"""A letter's HTML parsed once per skeleton: html5lib's tree for the next letters of the same
markup, with their own texts put in.

The letters of a report differ in their texts (names, addresses, amounts) and rarely in
their markup, and html5lib, in pure Python, spends about a twentieth of a letter's time
building the same tree again. A letter's *skeleton* is its HTML with the inside of each
text taken out: every tag, comment and character reference stays, and so does the white
space at either end of a text. When a skeleton comes back, html5lib parses it once with a
marker in place of each text; every later letter of that skeleton gets that tree with its
own texts where the markers are, in a tenth of the time.

Why that is the tree html5lib would build for the letter: html5lib's tree construction
looks at a text only for whether it is white space (and for NUL, or a newline right after
``<pre>``), and its tokenizer passes a text on unchanged unless it holds ``&``, ``<``, NUL
or a carriage return, or stands where the tokenizer is inside a tag. So a text takes a
marker only if it starts and ends with a character that is not white space and holds none
of ``& < > " ' =``; any other text stays in the skeleton as it is. Documents with a
carriage return, a ``<script`` (whose dashes change the tokenizer's state) or the markers'
own characters are parsed as they are. Each skeleton is checked when it is learned: every
marker must stand in a text node, once, and the tree filled with that letter's texts must
serialize exactly as html5lib's own tree of the letter; a skeleton that fails is parsed
plainly from then on (tests/test_html_skeletons.py tries the corners).

The tree is handed out again for each letter of its skeleton, filled anew. xhtml2pdf's walk
changes a tree only in ways that a second walk undoes or repeats: it writes tag names without
their colon (``pdf:pagenumber`` as ``pdfpagenumber``, as it reads them anyway), a
``<pdf:toc>`` changes a class and puts it back, and it unlinks the tree at the end to free it
early, which a learned tree ignores (``_KeptDocument``). A letter is done with the tree
before the next one is parsed, under xhtml2pdf's render lock (``parsing()``).
"""

from __future__ import annotations

import contextlib
import re
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any
from xml.dom import Node, minidom

import html5lib
from html5lib import treebuilders

KEPT_SKELETONS = 32
"""Skeletons remembered per process, learned or only seen once: a report's letters mostly
share one, and a template's conditions make a few more."""

_MARKUP = re.compile(r"<!--.*?-->|<[^>]*>|&[#\w]*;?", re.S)
"""What a skeleton keeps as it is: comments, tags, character references."""
_SPACE = " \t\n\x0c"
"""html5lib's white space, without the carriage return that no skeleton holds."""
_NOT_IN_A_MARKED_TEXT = re.compile("[&<>\"'=\x00]")
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARKER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_PLAIN_ONLY = re.compile(f"\r|<script|{_OPEN}|{_CLOSE}", re.I)


def parse_plainly(html: str) -> Any:
    """html5lib's minidom tree of ``html``, as xhtml2pdf builds it."""
    return html5lib.HTMLParser(tree=treebuilders.getTreeBuilder("dom")).parse(html)


def skeleton_of(html: str) -> tuple[tuple[str | None, ...], list[str]] | None:
    """The skeleton of ``html`` (its pieces, ``None`` where a text was taken out) and the
    texts taken out, in order; ``None`` for a document that is parsed as it is."""
    if _PLAIN_ONLY.search(html):
        return None
    pieces: list[str | None] = []
    texts: list[str] = []
    position = 0
    for markup in _MARKUP.finditer(html):
        _add_text(html[position : markup.start()], pieces, texts)
        pieces.append(markup.group())
        position = markup.end()
    _add_text(html[position:], pieces, texts)
    return tuple(pieces), texts


def _add_text(text: str, pieces: list[str | None], texts: list[str]) -> None:
    inner = text.strip(_SPACE)
    if not inner or _NOT_IN_A_MARKED_TEXT.search(inner):
        if text:
            pieces.append(text)
        return
    start = len(text) - len(text.lstrip(_SPACE))
    pieces.extend((text[:start], None, text[start + len(inner) :]))
    texts.append(inner)


class LearnedSkeleton:
    """html5lib's tree of a skeleton with markers, and the text nodes that hold them."""

    def __init__(self, skeleton: tuple[str | None, ...]):
        numbers = iter(range(len(skeleton)))
        marked = "".join(
            f"{_OPEN}{next(numbers)}{_CLOSE}" if piece is None else piece for piece in skeleton
        )
        self.document = parse_plainly(marked)
        self.document.__class__ = _KeptDocument
        self.slots: list[tuple[Any, list[str | int]]] = []
        self.sound = self._find_slots(skeleton.count(None))

    def _find_slots(self, expected: int) -> bool:
        """Whether every marker stands in a text node, once, and nowhere else."""
        found: list[int] = []
        elsewhere: list[str] = []
        nodes = [self.document]
        while nodes:
            node = nodes.pop()
            if node.nodeType == Node.TEXT_NODE:
                parts = _MARKER.split(node.data)
                elsewhere.extend(parts[::2])
                if len(parts) > 1:
                    slot = [int(part) if index % 2 else part for index, part in enumerate(parts)]
                    self.slots.append((node, slot))
                    found.extend(part for part in slot if isinstance(part, int))
            elif node.nodeType == Node.ELEMENT_NODE:
                elsewhere.extend(text for pair in node.attributes.items() for text in pair)
            else:
                elsewhere.extend(_texts_of(node))
            nodes.extend(node.childNodes)
        unmatched = any(_OPEN in text or _CLOSE in text for text in elsewhere)
        return not unmatched and sorted(found) == list(range(expected))

    def fill(self, texts: list[str]) -> Any:
        for node, slot in self.slots:
            node.data = "".join(part if isinstance(part, str) else texts[part] for part in slot)
        return self.document


class _KeptDocument(minidom.Document):
    """A learned tree, which serves the next letter after xhtml2pdf has walked it."""

    def unlink(self) -> None:
        """Kept: xhtml2pdf unlinks each tree it has walked."""


def _texts_of(node: Any) -> list[str]:
    """What a comment, doctype or other node that is no element or text says."""
    names = ("data", "name", "publicId", "systemId")
    return [text for text in (getattr(node, name, None) for name in names) if text]


class SkeletonParser:
    """Parses letters, learning the skeletons that come back (see the module)."""

    def __init__(self) -> None:
        self._skeletons: OrderedDict[tuple, LearnedSkeleton | None] = OrderedDict()

    def parse(self, html: str) -> Any:
        found = skeleton_of(html)
        if found is None:
            return parse_plainly(html)
        skeleton, texts = found
        if skeleton not in self._skeletons:
            self._remember(skeleton, None)
            return parse_plainly(html)
        self._skeletons.move_to_end(skeleton)
        learned = self._skeletons[skeleton]
        if learned is None:
            learned = LearnedSkeleton(skeleton)
            plain = parse_plainly(html)
            if not learned.sound or learned.fill(texts).toxml() != plain.toxml():
                learned = _REFUSED
            self._remember(skeleton, learned)
            return plain
        if learned is _REFUSED:
            return parse_plainly(html)
        return learned.fill(texts)

    def _remember(self, skeleton: tuple, learned: LearnedSkeleton | None) -> None:
        self._skeletons[skeleton] = learned
        if len(self._skeletons) > KEPT_SKELETONS:
            self._skeletons.popitem(last=False)


_REFUSED: Any = object()
"""A skeleton whose marked tree was not html5lib's tree of its letter."""


class _Html5libStandIn:
    """What xhtml2pdf's parser module calls ``html5lib``: its ``HTMLParser`` parses text
    sources through a ``SkeletonParser`` and anything else through html5lib."""

    def __init__(self, parser: SkeletonParser):
        self._parser = parser

    def HTMLParser(self, tree: Any) -> Any:
        return _StandInParser(self._parser, tree)


class _StandInParser:
    def __init__(self, parser: SkeletonParser, tree: Any):
        self._parser = parser
        self._tree = tree

    def parse(self, stream: Any, transport_encoding: str | None = None) -> Any:
        """The tree of a document xhtml2pdf turned from text into bytes with
        ``transport_encoding``; any other source as html5lib reads it."""
        html = _text_of(stream, transport_encoding)
        if html is not None:
            return self._parser.parse(html)
        if hasattr(stream, "seek"):
            stream.seek(0)
        options = {"transport_encoding": transport_encoding} if transport_encoding else {}
        return html5lib.HTMLParser(tree=self._tree).parse(stream, **options)


def _text_of(stream: Any, encoding: str | None) -> str | None:
    """The text of xhtml2pdf's temporary file of a document, unless html5lib would read it
    otherwise (no encoding given, bytes that are not in it, a byte order mark)."""
    source = stream.getvalue() if hasattr(stream, "getvalue") else None
    if not isinstance(source, bytes) or not encoding:
        return None
    try:
        html = source.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return None
    return None if html.startswith("\ufeff") else html


@contextlib.contextmanager
def parsing(parser: SkeletonParser) -> Iterator[None]:
    """xhtml2pdf parses with ``parser`` for as long as this lasts; hold xhtml2pdf's render
    lock, so that no other document is parsed meanwhile."""
    from xhtml2pdf import parser as xhtml2pdf_parser

    xhtml2pdf_parser.html5lib = _Html5libStandIn(parser)
    try:
        yield
    finally:
        xhtml2pdf_parser.html5lib = html5lib
