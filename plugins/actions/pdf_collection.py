"""One PDF made of the pages of many, written as they come, in constant memory.

The print shop gets every letter of a run in one file, so the finishing step of a mass
print appends 100,000 letters. Two things make that cheap:

- **Objects are copied as bytes.** A letter is not parsed into objects and written again:
  each object the pages need is sliced out of the letter through its cross-reference
  table, its references are renumbered in place, and stream data is copied untouched.
  Letters a plain slicer cannot read (cross-reference streams, object streams, incremental
  updates, page attributes inherited from the page tree) go through pypdf instead, which
  serialises the objects so that the same renumbering applies.
- **Identical objects are stored once.** Every letter of a report embeds the same logo,
  the same fonts (or the same subsets of them) and the same font dictionaries; an object
  whose bytes, with references already renumbered, equal those of a recent one becomes a
  reference to it. That shrinks the file by the size of the shared resources per letter
  and saves writing them.

Only the offsets of the written objects (8 bytes each), the page numbers and a small
table of recent object digests stay in memory. The file appears under its name only when
it is complete.

A helper module of the actions (``print_reports`` collects its letters, ``file_upload``
archived documents); ``count_pages`` reads a letter's page count with the same slicer.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PdfReadError

RECENT_OBJECTS = 512
"""Digests of the most recently written objects that an identical object may reuse."""

_DELIMITER = rb"\s/<>\[\]()%{}"
_TOKEN = re.compile(
    rb"(?P<ref>(?P<id>\d+)\s+\d+\s+R(?![^" + _DELIMITER + rb"]))"
    # A run of numbers that starts no reference, in one token: a font's /Widths has hundreds,
    # and the search would otherwise try a reference at every digit of them.
    rb"|(?P<numbers>(?:[-+]?[\d.]++(?!\s++\d++\s++R)\s*+)++)"
    rb"|(?P<name>/[^" + _DELIMITER + rb"]*)"
    rb"|(?P<string>\((?:[^()\\]|\\.)*\))"
    rb"|(?P<open><<)|(?P<close>>>)"
    rb"|(?P<hex><[0-9A-Fa-f\s]*>)"
    rb"|(?P<stream>stream(?:\r\n|\n))"
    rb"|(?P<end>endobj)"
    rb"|(?P<odd>[(%])",
    re.S,
)
_LENGTH_VALUE = re.compile(rb"\s*(\d+)(?:\s+\d+\s+R(?![^" + _DELIMITER + rb"]))?")
_OBJECT_HEADER = re.compile(rb"\s*(\d+)\s+\d+\s+obj")
_XREF_SECTION = re.compile(rb"\s*(\d+)\s+(\d+)[ \t]*\r?\n")
_STARTXREF = re.compile(rb"startxref\s+(\d+)")
_ROOT = re.compile(rb"/Root\s+(\d+)\s+\d+\s+R")
_PAGES = re.compile(rb"/Pages\s+(\d+)\s+\d+\s+R")
_KIDS = re.compile(rb"/Kids\s*\[([^\]]*)\]")
_REFERENCE = re.compile(rb"(\d+)\s+\d+\s+R")
_PAGE_TREE_NODE = re.compile(rb"/Type\s*/Pages(?![^" + _DELIMITER + rb"])")
_INHERITABLE = re.compile(rb"/(?:Resources|MediaBox|CropBox|Rotate)(?![^" + _DELIMITER + rb"])")


class PdfCollectionError(ValueError):
    """A document cannot be added to the collection; the message says why."""


class _NotPlain(Exception):
    """The byte slicer cannot read this document; pypdf has to."""


@dataclass(frozen=True, slots=True)
class _Object:
    """One object of a source document: its head with the references found in it, and its
    stream data, if it is a stream."""

    head: bytes
    references: tuple[tuple[int, int, int], ...]
    """(start, end, object id) of every reference in ``head``."""
    parent: tuple[int, int] | None
    """(start, end) of the ``/Parent`` reference of a page."""
    stream: bytes | None


def _scan(data: bytes, start: int, length_of: object = None) -> _Object:
    """Read the object whose body starts at ``start`` (just after ``N G obj``).

    ``length_of(id)`` resolves an indirect ``/Length``; the references and the page's
    ``/Parent`` are located by a tokenizer that skips strings, so a reference-like text
    inside a string is never renumbered.
    """
    references: list[tuple[int, int, int]] = []
    parent: tuple[int, int] | None = None
    length: int | None = None
    depth = 0
    last_name = b""
    for token in _TOKEN.finditer(data, start):
        kind = token.lastgroup
        if kind == "ref":
            span = (token.start() - start, token.end() - start)
            if depth == 1 and last_name == b"/Parent":
                parent = span
            else:
                references.append((*span, int(token["id"])))
            last_name = b""
        elif kind == "name":
            last_name = token[0]
            if depth == 1 and last_name == b"/Length":
                value = _LENGTH_VALUE.match(data, token.end())
                if value is None:
                    raise _NotPlain
                if value[0].rstrip().endswith(b"R"):
                    if length_of is None:
                        raise _NotPlain
                    length = length_of(int(value[1]))
                else:
                    length = int(value[1])
        elif kind == "open":
            depth += 1
            last_name = b""
        elif kind == "close":
            depth -= 1
            last_name = b""
        elif kind == "stream":
            if length is None or depth != 0:
                raise _NotPlain
            head = data[start : token.start()]
            stream = data[token.end() : token.end() + length]
            if len(stream) != length:
                raise _NotPlain
            return _Object(head, tuple(references), parent, stream)
        elif kind == "end":
            if depth != 0:
                raise _NotPlain
            return _Object(data[start : token.start()], tuple(references), parent, None)
        elif kind == "odd":
            raise _NotPlain  # a string with nested brackets, or a comment
        elif kind == "numbers":
            continue  # as if skipped by the search: the name before them still counts
        else:
            last_name = b""
    raise _NotPlain


class _SlicedSource:
    """A document read by slicing its objects out through a classic cross-reference table
    (what xhtml2pdf's ReportLab writes)."""

    def __init__(self, data: bytes):
        self.data = data
        self.offsets: dict[int, int] = {}
        self._read_xref()

    def _read_xref(self) -> None:
        data = self.data
        found = _STARTXREF.match(data, max(0, data.rfind(b"startxref")))
        if found is None:
            raise _NotPlain
        position = int(found[1])
        if data[position : position + 4] != b"xref":
            raise _NotPlain  # a cross-reference stream
        position += 4
        while section := _XREF_SECTION.match(data, position):
            first, count = int(section[1]), int(section[2])
            position = section.end()
            for number in range(first, first + count):
                entry = data[position : position + 20]
                if len(entry) < 18:
                    raise _NotPlain
                if entry[17:18] == b"n":
                    self.offsets[number] = int(entry[:10])
                position += 20
        trailer = data[position : found.start()]
        root = _ROOT.search(trailer)
        if not trailer.lstrip().startswith(b"trailer") or root is None:
            raise _NotPlain
        if b"/Prev" in trailer or b"/XRefStm" in trailer:
            raise _NotPlain  # incremental updates: the first table is not the whole story
        self.root = int(root[1])

    def object(self, number: int) -> _Object | None:
        offset = self.offsets.get(number)
        if offset is None:
            return None
        header = _OBJECT_HEADER.match(self.data, offset)
        if header is None or int(header[1]) != number:
            raise _NotPlain
        return _scan(self.data, header.end(), self._length)

    def _length(self, number: int) -> int:
        target = self.object(number)
        if target is None or target.stream is not None or not target.head.strip().isdigit():
            raise _NotPlain
        return int(target.head)

    def pages(self) -> list[int]:
        root = self.object(self.root)
        tree = _PAGES.search(root.head) if root else None
        if tree is None:
            raise _NotPlain
        pages: list[int] = []
        self._collect(int(tree[1]), pages, depth=0)
        return pages

    def _collect(self, number: int, pages: list[int], depth: int) -> None:
        node = self.object(number)
        if node is None or depth > 32:
            raise _NotPlain
        if not _PAGE_TREE_NODE.search(node.head):
            if not (b"/MediaBox" in node.head and b"/Resources" in node.head):
                raise _NotPlain  # the page inherits them from the tree
            pages.append(number)
            return
        if _INHERITABLE.search(node.head):
            raise _NotPlain
        kids = _KIDS.search(node.head)
        if kids is None:
            raise _NotPlain
        for kid in _REFERENCE.finditer(kids[1]):
            self._collect(int(kid[1]), pages, depth + 1)


class _ParsedSource:
    """Any document pypdf reads: its objects serialised by pypdf, pages with the attributes
    they inherit from the page tree copied onto them."""

    def __init__(self, data: bytes):
        try:
            self.reader = PdfReader(io.BytesIO(data))
            self._pages = {page.indirect_reference.idnum: page for page in self.reader.pages}
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            raise PdfCollectionError(f"not a readable PDF: {exc}") from None

    def pages(self) -> list[int]:
        return list(self._pages)

    def object(self, number: int) -> _Object | None:
        value = self._pages.get(number) or self.reader.get_object(number)
        if value is None:
            return None
        buffer = io.BytesIO()
        value.write_to_stream(buffer)
        buffer.write(b"\nendobj")
        try:
            return _scan(buffer.getvalue(), 0)
        except _NotPlain:
            raise PdfCollectionError(f"object {number} cannot be copied") from None


def count_pages(pdf: bytes) -> int:
    """How many pages ``pdf`` has, read from its page tree without parsing its objects."""
    try:
        return len(_SlicedSource(pdf).pages())
    except _NotPlain:
        return len(_ParsedSource(pdf).pages())


class PdfCollection:
    """Appends the pages of many PDFs to one file (see the module's docstring)."""

    def __init__(self, path: Path):
        self.path = path
        self.pages = 0
        self.shared = 0
        """How many objects were written once and reused since."""
        self._partial = path.with_name(f".{path.name}.part")
        self._file = self._partial.open("wb")
        self._file.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        self._offsets = array("Q", [0, 0, 0])  # 1: catalogue, 2: page tree, both written last
        self._page_numbers = array("Q")
        self._recent: OrderedDict[bytes, int] = OrderedDict()

    def __enter__(self) -> PdfCollection:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.close()
        else:
            self._file.close()
            self._partial.unlink(missing_ok=True)

    def append(self, pdf: bytes) -> int:
        """Add every page of ``pdf`` in order; returns how many."""
        try:
            return self._append(_SlicedSource(pdf))
        except _NotPlain:
            return self._append(_ParsedSource(pdf))

    def _append(self, source: _SlicedSource | _ParsedSource) -> int:
        pages = source.pages()
        if not pages:
            raise PdfCollectionError("the document has no pages")
        first_number, start = len(self._offsets), self._file.tell()
        numbers = {page: self._allocate() for page in pages}
        done: set[int] = set()
        try:
            for page in pages:
                self._place(source, page, numbers, done, set())
        except BaseException:  # forget the letter's objects: the next attempt starts clean
            self._file.seek(start)
            self._file.truncate()
            del self._offsets[first_number:]
            for digest in [d for d, n in self._recent.items() if n >= first_number]:
                del self._recent[digest]
            raise
        self._page_numbers.extend(numbers[page] for page in pages)
        self.pages += len(pages)
        return len(pages)

    def _place(
        self,
        source: _SlicedSource | _ParsedSource,
        number: int,
        numbers: dict[int, int],
        done: set[int],
        open_objects: set[int],
    ) -> int:
        """Write the object and, first, everything it refers to; return its new number.

        Objects are written after their children, so that an object's bytes (with its
        references renumbered) can be compared with recent ones. Pages, and objects on a
        reference cycle, keep the number they were given first and are never shared.
        """
        if number in done:
            return numbers[number]
        if number in open_objects:  # a cycle: refer to a number decided now
            numbers.setdefault(number, self._allocate())
            return numbers[number]
        found = source.object(number)
        if found is None:
            raise _MissingObject
        open_objects.add(number)
        pieces: list[bytes] = []
        position = 0
        edits = sorted(
            [(start, end, child) for start, end, child in found.references]
            + ([(*found.parent, -1)] if found.parent else [])
        )
        for start, end, child in edits:
            pieces.append(found.head[position:start])
            if child == -1:
                pieces.append(b"2 0 R")
            else:
                try:
                    placed = self._place(source, child, numbers, done, open_objects)
                    pieces.append(b"%d 0 R" % placed)
                except _MissingObject:
                    pieces.append(b"null")
            position = end
        pieces.append(found.head[position:])
        body = b"".join(pieces)
        if found.stream is not None:
            body += b"stream\n" + found.stream + b"\nendstream\n"
        open_objects.discard(number)
        done.add(number)
        if number in numbers:
            self._write(numbers[number], body)
            return numbers[number]
        digest = hashlib.blake2b(body, digest_size=16).digest()
        known = self._recent.get(digest)
        if known is not None:
            self._recent.move_to_end(digest)
            self.shared += 1
            numbers[number] = known
            return known
        numbers[number] = self._allocate()
        self._write(numbers[number], body)
        self._recent[digest] = numbers[number]
        if len(self._recent) > RECENT_OBJECTS:
            self._recent.popitem(last=False)
        return numbers[number]

    def _allocate(self) -> int:
        self._offsets.append(0)
        return len(self._offsets) - 1

    def _write(self, number: int, body: bytes) -> None:
        self._offsets[number] = self._file.tell()
        self._file.write(b"%d 0 obj\n" % number)
        self._file.write(body)
        self._file.write(b"\nendobj\n")

    def close(self) -> None:
        file = self._file
        self._offsets[2] = file.tell()
        file.write(b"2 0 obj\n<< /Type /Pages /Count %d /Kids [" % len(self._page_numbers))
        for start in range(0, len(self._page_numbers), 1000):
            chunk = self._page_numbers[start : start + 1000]
            file.write(b"".join(b"%d 0 R " % number for number in chunk))
        file.write(b"] >>\nendobj\n")
        self._offsets[1] = file.tell()
        file.write(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
        xref = file.tell()
        file.write(b"xref\n0 %d\n0000000000 65535 f \n" % len(self._offsets))
        for start in range(1, len(self._offsets), 1000):
            chunk = self._offsets[start : start + 1000]
            file.write(b"".join(b"%010d 00000 n \n" % offset for offset in chunk))
        file.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % len(self._offsets))
        file.write(b"startxref\n%d\n%%%%EOF\n" % xref)
        file.flush()
        os.fsync(file.fileno())
        file.close()
        os.replace(self._partial, self.path)


class _MissingObject(Exception):
    """A reference to an object the document does not have: PDF reads it as null."""
