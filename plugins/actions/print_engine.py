"""The print action's faster PDF engine: xhtml2pdf with a worker's repeated work done once.

Every letter of a report has the same stylesheets and, mostly, the same sub-reports
(letterhead, header, footer), and xhtml2pdf handles them again for every document. This
engine does that once per worker process and report version:

- **Stylesheets** (the page templates with their frames, the fonts of ``@font-face``, the
  rules of the sub-reports and the report; about a sixth of a letter's time) are parsed
  once per stylesheet text. Every later letter gets what the parse produced: the parsed
  rules shared (they are only read), the page templates, frames and font names as fresh
  copies (a document fills and changes them).
- **Sub-reports** whose HTML is the same as for an earlier letter (a letterhead with a logo,
  a footer whose only variable is ``<pdf:pagenumber/>``; about a fifth of the time) are
  left out of the document and their frames get the content (ReportLab flowables) parsed
  the first time. xhtml2pdf draws a static frame from a deep copy of that content on every
  page, page number included, so the parsed original is never changed.

This reaches into xhtml2pdf's internals (``pisaContext.parseCSS``, the frames' static
stories and ``document._build``), which change between releases, so it is used only with
the versions it was tested with (``TESTED_VERSIONS``, pinned in pyproject.toml). On any
other version ``report_renderer()`` returns the plain ``ReportRenderer`` and logs a warning
once: slower, never wrong. The tests render letters of the default reports both ways and
compare the pages as images and their text (tests/test_print_engine.py).
"""

from __future__ import annotations

import copy
import logging
import weakref
from collections import OrderedDict
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from xhtml2pdf import pisa

from core.models import Report
from core.rendering import Converter, ReportRenderer, html_to_pdf

log = logging.getLogger(__name__)

TESTED_VERSIONS = {"xhtml2pdf": "0.2.28", "reportlab": "5.1.0"}
CACHED_STYLESHEETS = 16
"""Parsed stylesheets kept per process: a worker prints one report version at a time."""
STYLE_CACHE_ENTRIES = 4096
"""Elements' properties kept per stylesheet text (see ``_StyleCache``)."""
CACHED_SUB_REPORTS = 32
"""Parsed sub-reports kept per renderer: a footer with the recipient's name would differ for
every letter, and is then simply parsed every time."""
SHARED = ("css", "cssDefault", "cssCascade", "cssBuilder", "cssParser")
"""What ``parseCSS`` makes that later documents read only: shared, not copied."""


def installed_versions() -> dict[str, str]:
    return {name: version(name) for name in TESTED_VERSIONS}


def tested(installed: dict[str, str] | None = None) -> bool:
    """Whether the installed versions (or ``installed``) are the tested ones; warns once if
    not."""
    installed = installed_versions() if installed is None else installed
    if installed != TESTED_VERSIONS:
        _warn_untested(installed)
        return False
    return True


def converter(installed: dict[str, str] | None = None) -> Converter:
    """The fast converter on the tested versions, else ``pisa.pisaDocument``."""
    return fast_pisa_document if tested(installed) else pisa.pisaDocument


def report_renderer(
    session: Session, report: int | str | Report, cache_dir: Path
) -> ReportRenderer:
    """The fast renderer on the tested versions, else the plain one."""
    if tested():
        return FastReportRenderer(session, report, cache_dir)
    return ReportRenderer(session, report, cache_dir)


class FastReportRenderer(ReportRenderer):
    """A ``ReportRenderer`` on the fast converter that parses each sub-report's HTML once."""

    def __init__(self, session: Session, report: int | str | Report, cache_dir: Path):
        super().__init__(session, report, cache_dir, convert=fast_pisa_document)
        self._stories: OrderedDict[tuple[str, str], list] = OrderedDict()

    def pdf(self, values: Any) -> bytes:
        parts = self.sub_reports(values)
        known = {}
        for name, html in parts.items():
            story = self._stories.get((name, html))
            if story is not None:
                self._stories.move_to_end((name, html))
                known[name] = story
        contexts: list[Any] = []

        def convert(src: str, **options: Any) -> Any:
            contexts.append(fast_pisa_document(src, static_stories=known, **options))
            return contexts[-1]

        rest = {name: html for name, html in parts.items() if name not in known}
        pdf = html_to_pdf(self.html(values, rest), self._folder, convert)
        for name, html in rest.items():
            frames = contexts[0].frameStatic.get(name)
            if frames and frames[0].pisaStaticStory:
                self._stories[name, html] = frames[0].pisaStaticStory
                if len(self._stories) > CACHED_SUB_REPORTS:
                    self._stories.popitem(last=False)
        return pdf


_warned: set[tuple[tuple[str, str], ...]] = set()


def _warn_untested(installed: dict[str, str]) -> None:
    key = tuple(sorted(installed.items()))
    if key not in _warned:
        _warned.add(key)
        log.warning(
            "print engine: tested with %s, installed are %s; letters are rendered the plain "
            "(slower) way",
            _versions(TESTED_VERSIONS),
            _versions(installed),
        )


def _versions(versions: dict[str, str]) -> str:
    return ", ".join(f"{name} {number}" for name, number in sorted(versions.items()))


class _StyleCache(dict):
    """xhtml2pdf's cache of the properties an element gets (``cssAttrCache``), kept from one
    document to the next of the same stylesheets.

    xhtml2pdf keys an element's entry by its tag, class, id, style attribute (and position
    or attributes where a selector asks) and its *parent node*, so that siblings share it,
    and empties the cache after each document. Here the parent is named by the same fields
    of every ancestor instead, so an element in the same place of the next letter finds
    its properties without matching every rule again; the keys hold no document nodes, so
    the cache is kept (``clear`` does nothing) up to ``STYLE_CACHE_ENTRIES``.
    """

    def __init__(self, positional_tags: Any, attribute_names: Any):
        super().__init__()
        self._positional_tags = positional_tags
        self._attribute_names = attribute_names

    def _ancestry(self, node: Any) -> tuple:
        if node is None or node.nodeType != node.ELEMENT_NODE:
            return ()
        known = getattr(node, "campaignStyleAncestry", None)
        if known is None:
            from xhtml2pdf.parser import getCSSAttrCacheKey

            own = getCSSAttrCacheKey(node, self._positional_tags, self._attribute_names)
            known = node.campaignStyleAncestry = (self._ancestry(node.parentNode), *own[1:])
        return known

    def _key(self, key: Any) -> tuple:
        return (self._ancestry(key.parent), *key[1:])

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(self._key(key), default)

    def __setitem__(self, key: Any, value: Any) -> None:
        if len(self) >= STYLE_CACHE_ENTRIES:
            super().clear()
        super().__setitem__(self._key(key), value)

    def clear(self) -> None:
        """Kept for the next document (see the class)."""


class _ParsedStylesheets:
    """What one ``parseCSS`` left on its context, ready to hand to the next context."""

    def __init__(self, shared: dict[str, Any], copied: dict[str, Any]):
        self.shared = shared
        self.copied = copy.deepcopy(copied)  # before the document fills its frames
        self.styles = _StyleCache(
            copied.get("cssPositionalTags", frozenset()),
            copied.get("cssAttributeNames", frozenset()),
        )

    def restore(self, context: Any) -> None:
        context.__dict__.update(self.shared)
        context.__dict__.update(copy.deepcopy(self.copied))  # one copy: frames stay shared
        context.cssAttrCache = self.styles
        # The parser and builder reach their document through a weak reference.
        context.cssBuilder._c = weakref.ref(context)
        context.cssParser._c = weakref.ref(context)


_stylesheets: OrderedDict[tuple, _ParsedStylesheets] = OrderedDict()


def _contents(value: Any) -> Any:
    """A shallow copy of a container, to see later whether it changed in place."""
    return copy.copy(value) if isinstance(value, dict | list | set) else None


def _context_class() -> type:
    from xhtml2pdf.context import pisaContext

    class StylesheetCachingContext(pisaContext):
        """A pisaContext whose ``parseCSS`` is done once per stylesheet text."""

        staticStories: dict[str, list] = {}
        """Content for static frames whose element the document leaves out."""

        def parseCSS(self) -> None:
            self._parseOrRestoreCSS()
            for name, story in self.staticStories.items():
                for frame in self.frameStatic.get(name, ()):
                    frame.pisaStaticStory = story  # drawn from deep copies, never changed

        def _parseOrRestoreCSS(self) -> None:
            key = (tuple(self.cssSources), self.cssDefaultText, self.pathDirectory)
            parsed = _stylesheets.get(key)
            if parsed is not None:
                _stylesheets.move_to_end(key)
                parsed.restore(self)
                return
            before = {name: (value, _contents(value)) for name, value in vars(self).items()}
            super().parseCSS()
            changed = {
                name: value
                for name, value in vars(self).items()
                if name not in before
                or value is not before[name][0]
                or (before[name][1] is not None and value != before[name][1])
            }
            shared = {name: changed.pop(name) for name in SHARED}
            parsed = _stylesheets[key] = _ParsedStylesheets(shared, changed)
            self.cssAttrCache = parsed.styles
            if len(_stylesheets) > CACHED_STYLESHEETS:
                _stylesheets.popitem(last=False)

    return StylesheetCachingContext


_context: type | None = None


def fast_pisa_document(
    src: str,
    *,
    dest: Any,
    link_callback: Any,
    resource_policy: Any,
    static_stories: dict[str, list] | None = None,
) -> Any:
    """``pisa.pisaDocument(src, dest=, link_callback=, resource_policy=)`` with the
    stylesheets parsed once: the same steps, with a context that caches ``parseCSS``.
    ``static_stories``: parsed content for static frames whose element ``src`` leaves out."""
    from xhtml2pdf import document
    from xhtml2pdf.config.resources import render_budget, use_policy
    from xhtml2pdf.files import cleanFiles
    from xhtml2pdf.util import reset_caches

    global _context
    if _context is None:
        _context = _context_class()
    with document._RENDER_LOCK:
        context = _context("", capacity=100 * 1024)
        context.staticStories = static_stories or {}
        context.pathCallback = link_callback
        context.resource_policy = resource_policy
        try:
            with use_policy(resource_policy), render_budget(resource_policy):
                return document._build(
                    src,
                    context,
                    dest=dest,
                    dest_bytes=False,
                    path="",
                    link_callback=link_callback,
                    default_css=None,
                    xhtml=False,
                    encoding=None,
                    xml_output=None,
                    encrypt=None,
                    signature=None,
                )
        finally:
            cleanFiles()
            reset_caches()
