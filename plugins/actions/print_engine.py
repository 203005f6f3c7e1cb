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
- **Their frames are drawn once** per page number and copied into every letter as PDF
  operators (``StaticDrawings``): about a sixth of the time.
- **The layout's own static frames** (address, information block) hold this letter's
  content and are on the first page's template, which a letter uses once: they are drawn
  from that content rather than from a deep copy, and not wrapped twice
  (``ReplayingPageTemplate``, ``_in_place``).
- **Element styles** found by matching the rules are kept from one letter to the next
  (``_StyleCache``).
- **A letter's HTML** is parsed by html5lib once per skeleton, its markup without its texts
  (``html_skeletons``): later letters of the same markup get that tree with their own texts.
- **Boxes without rounded corners** (nearly all) are told so without building their
  geometry (``rounded_box``; about a twentieth of the time).
- **Font subsets** (the embedded TrueType glyphs, their widths and character map, compressed;
  about a sixth of the time) are made once per set of characters a letter uses
  (``FontSubsets``): letters of one report mostly use the same characters in the same order.

This reaches into xhtml2pdf's and ReportLab's internals (``pisaContext.parseCSS``,
``cssAttrCache``, the frames' static stories and ``_drawStaticFrame``, ``document._build``,
``util.roundedBox``, the TrueType subset state and ``addObjects``), which change between
releases, so it is used only with the versions it was tested with (``TESTED_VERSIONS``,
pinned in pyproject.toml). On any other version ``report_renderer()`` returns the plain
``ReportRenderer`` and logs a warning once: slower, never wrong. The tests render letters of
the default reports both ways and compare the pages as images and their text
(tests/test_print_engine.py).
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import io
import logging
import pickle
import re
import weakref
from collections import OrderedDict
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from core.documents.rendering import SUB_REPORTS, ReportRenderer, html_to_pdf
from core.models import Report
from plugins.actions.html_skeletons import SkeletonParser, parsing

log = logging.getLogger(__name__)

TESTED_VERSIONS = {"xhtml2pdf": "0.2.28", "reportlab": "5.1.0"}
CACHED_STYLESHEETS = 16
"""Parsed stylesheets kept per process: a worker prints one report version at a time."""
STYLE_CACHE_ENTRIES = 4096
"""Elements' properties kept per stylesheet text (see ``_StyleCache``)."""
CACHED_FONT_SUBSETS = 64
"""Embedded font subsets kept per process (about 30 KB each, compressed)."""
CACHED_SUB_REPORTS = 32
"""Parsed sub-reports kept per renderer: a footer with the recipient's name would differ for
every letter, and is then simply parsed every time."""
KEPT_RENDERERS = 4
"""Fast renderers kept per process (``report_renderer``): a worker prints one report at a
time, or a few when runs overlap."""
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


def report_renderer(
    session: Session, report: int | str | Report, cache_dir: Path
) -> ReportRenderer:
    """The fast renderer on the tested versions, else the plain one.

    A fast renderer is kept for the report's later letters in this process and in the work
    horses it forks (the worker warms one up before forking, ``PrintReports.warm_up``): a
    fresh one learns the report's sub-reports and static drawings again, which costs a
    chunk of letters up to half a second. It is found by its fingerprint, so an edited
    report, text block or address pattern gets a new one.
    """
    if not tested():
        return ReportRenderer(session, report, cache_dir)
    renderer = FastReportRenderer(session, report, cache_dir)
    kept = _renderers.get(renderer.fingerprint)
    if kept is not None:
        _renderers.move_to_end(renderer.fingerprint)
        return kept
    _renderers[renderer.fingerprint] = renderer
    if len(_renderers) > KEPT_RENDERERS:
        _renderers.popitem(last=False)
    return renderer


class FastReportRenderer(ReportRenderer):
    """A ``ReportRenderer`` on the fast converter that parses each sub-report's HTML once."""

    def __init__(self, session: Session, report: int | str | Report, cache_dir: Path):
        super().__init__(session, report, cache_dir, convert=fast_pisa_document)
        self._stories: OrderedDict[tuple[str, str], list] = OrderedDict()
        self._drawings = StaticDrawings()

    def pdf(self, values: Any) -> bytes:
        parts = self.sub_reports(values)
        known = {}
        for name, html in parts.items():
            story = self._stories.get((name, html))
            if story is not None:
                self._stories.move_to_end((name, html))
                known[name] = story
        contexts: list[Any] = []

        rest = {name: html for name, html in parts.items() if name not in known}
        document = self.html(values, rest)
        in_place = len(_TEMPLATE_SWITCHES.findall(document)) == 1  # ReportRenderer.html's own

        def convert(src: str, **options: Any) -> Any:
            contexts.append(
                fast_pisa_document(
                    src,
                    static_stories=known,
                    static_drawings=self._drawings,
                    two_passes=any(PAGE_COUNT in parts[name] for name in known),
                    own_frames_in_place=in_place,
                    **options,
                )
            )
            return contexts[-1]

        pdf = html_to_pdf(document, self._folder, convert)
        if contexts[-1].campaignDrawnTwice:
            in_place = False
            pdf = html_to_pdf(document, self._folder, convert)
        for name, html in rest.items():
            frames = contexts[-1].frameStatic.get(name)
            if frames and frames[0].pisaStaticStory and reusable(html):
                self._stories[name, html] = frames[0].pisaStaticStory
                if len(self._stories) > CACHED_SUB_REPORTS:
                    self._stories.popitem(last=False)
                    self._drawings = StaticDrawings()  # its drawings may be of dropped stories
        return pdf


PAGE_COUNT = "<pdf:pagecount"
_TEMPLATE_SWITCHES = re.compile(r"<pdf:next(?:template|page)\b|-pdf-next-page", re.I)
"""What makes a page use another page template: ``ReportRenderer.html`` writes one, so that
the first page's template (with the address and information frames) is used once."""
_OTHER_EFFECTS = re.compile(r"<pdf:(?!pagenumber\b|pagecount\b)|<a\b|position\s*:", re.I)
"""What a sub-report's HTML may do to its document beyond its frame: other xhtml2pdf tags
(outlines, page templates, resets), links and anchors, positioned boxes."""


def reusable(html: str) -> bool:
    """Whether a sub-report's parsed content can serve other letters: nothing in it but
    its frame's content, page numbers and page counts (whose second layout pass the letter
    then asks for itself, see ``two_passes``)."""
    return not _OTHER_EFFECTS.search(html)


_renderers: OrderedDict[str, FastReportRenderer] = OrderedDict()
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
        try:  # unpickling the copy is about three times as fast as copying it deeply
            self.pickled: bytes | None = pickle.dumps(self.copied, pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            self.pickled = None
        self.styles = _StyleCache(
            copied.get("cssPositionalTags", frozenset()),
            copied.get("cssAttributeNames", frozenset()),
        )

    def restore(self, context: Any) -> None:
        context.__dict__.update(self.shared)
        fresh = pickle.loads(self.pickled) if self.pickled else copy.deepcopy(self.copied)
        context.__dict__.update(fresh)  # one copy: its frames stay shared with each other
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
        staticDrawings: StaticDrawings | None = None
        twoPasses = False
        ownFramesInPlace = False
        """Whether the static frames of the layout's own elements (address, information
        block) are drawn from their content itself rather than a deep copy (see
        ``ReplayingPageTemplate``)."""
        campaignDrawnTwice = False
        """Set when such a frame was drawn a second time: the letter is rendered again."""

        def parseCSS(self) -> None:
            self._parseOrRestoreCSS()
            if self.twoPasses:
                self.addPageCount()  # what <pdf:pagecount/> in a left-out element asks for
            for name, story in self.staticStories.items():
                for frame in self.frameStatic.get(name, ()):
                    frame.pisaStaticStory = story  # drawn from deep copies, never changed
            stories = {id(story) for story in self.staticStories.values()}
            in_place = set()
            if self.ownFramesInPlace:
                own = set(self.frameStatic) - set(SUB_REPORTS)
                in_place = {id(frame) for name in own for frame in self.frameStatic[name]}
            for template in self.templateList.values():
                template.__class__ = _replaying_template_class()
                template.campaignDrawings = self.staticDrawings if stories else None
                template.campaignStories = stories
                template.campaignInPlace = in_place
                template.campaignContext = weakref.ref(self)
            self.campaignDrawn: set[int] = set()

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
_letters = SkeletonParser()


def fast_pisa_document(
    src: str,
    *,
    dest: Any,
    link_callback: Any,
    resource_policy: Any,
    static_stories: dict[str, list] | None = None,
    static_drawings: StaticDrawings | None = None,
    two_passes: bool = False,
    own_frames_in_place: bool = False,
) -> Any:
    """``pisa.pisaDocument(src, dest=, link_callback=, resource_policy=)`` with the
    stylesheets parsed once: the same steps, with a context that caches ``parseCSS``.
    ``static_stories``: parsed content for static frames whose element ``src`` leaves out;
    ``static_drawings``: where those frames are drawn once (see ``StaticDrawings``);
    ``two_passes``: lay the document out twice, as a left-out ``<pdf:pagecount/>`` would;
    ``own_frames_in_place``: the layout's own static frames are drawn at most once (see
    ``ReplayingPageTemplate``)."""
    from xhtml2pdf import document
    from xhtml2pdf.config.resources import render_budget, use_policy
    from xhtml2pdf.files import cleanFiles
    from xhtml2pdf.util import reset_caches

    global _context
    if _context is None:
        _context = _context_class()
    with document._RENDER_LOCK, _quick_rounded_boxes(), parsing(_letters):
        context = _context("", capacity=100 * 1024)
        context.staticStories = static_stories or {}
        context.staticDrawings = static_drawings
        context.twoPasses = two_passes
        context.ownFramesInPlace = own_frames_in_place
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


# --- boxes without rounded corners -----------------------------------------------------------

_ROUNDED_BOX_USERS = ("util", "parser", "tables", "xhtml2pdf_reportlab")
"""The xhtml2pdf modules that call ``roundedBox`` by that name."""


def rounded_box(style: Any, x: float, y: float, w: float, h: float, *sides: Any) -> Any:
    """xhtml2pdf's ``roundedBox``, quicker for the boxes it returns None for because no
    corner declares a radius: they are most boxes, and it asks every corner by a name it
    formats anew. Any other box gets the original's answer."""
    from xhtml2pdf import util

    for name in _RADIUS_NAMES:
        declared = getattr(style, name, None)
        if declared is not None and declared is not util.NO_RADIUS:
            return _original_rounded_box(style, x, y, w, h, *sides)
    return None


_RADIUS_NAMES: tuple[str, ...] = ()
_original_rounded_box: Any = None


@contextlib.contextmanager
def _quick_rounded_boxes():
    """``rounded_box`` in place of ``roundedBox`` while a letter of this engine renders (the
    plain path in the same process keeps the original)."""
    global _RADIUS_NAMES, _original_rounded_box
    from xhtml2pdf import util

    if _original_rounded_box is None:
        _original_rounded_box = util.roundedBox
        _RADIUS_NAMES = tuple(f"border{corner}Radius" for corner in util.RADIUS_CORNERS)
    modules = [importlib.import_module(f"xhtml2pdf.{name}") for name in _ROUNDED_BOX_USERS]
    for module in modules:
        module.roundedBox = rounded_box
    try:
        yield
    finally:
        for module in modules:
            module.roundedBox = _original_rounded_box


# --- static frames drawn once ------------------------------------------------------------


class _Drawing:
    """A static frame drawn once: its PDF operators, the images they show and the version
    of the fonts' code assignments they need."""

    def __init__(self, operators: list[str], images: list[tuple], version: int):
        self.operators = operators
        self.images = images
        self.version = version


class StaticDrawings:
    """Static frames of parsed sub-reports (see ``FastReportRenderer``), drawn once on a
    canvas of their own and copied into every letter as PDF operators.

    What a frame draws depends on the letter only through ReportLab's document state: the
    names of the fonts (F1, F2, ...) and the codes an embedded TrueType font gives each
    character, in the order characters are first drawn. So every letter starts from the
    state this canvas ended in (its fonts registered under the same names, the same codes
    for the same characters; ASCII always has its own codes), and its letterhead and
    footer are then the same operators, copied instead of laid out and drawn. A frame
    whose drawing assigned new codes after a letter started is drawn the usual way in that
    letter (``version``); drawings that touch anything else of the document (links, other
    fonts, colours spaces) are never copied.
    """

    def __init__(self):
        self.canvas: Any = None
        self.version = 0
        self.initial_fonts: dict[str, str] = {}
        self.drawings: dict[tuple, _Drawing | None] = {}

    def _scratch(self, pagesize: Any) -> Any:
        if self.canvas is None:
            from reportlab.pdfgen.canvas import Canvas

            self.canvas = Canvas(io.BytesIO(), pagesize=pagesize)
            self.initial_fonts = dict(self.canvas._doc.fontMapping)
        return self.canvas

    def _font_states(self) -> dict[str, tuple[int, int]]:
        from reportlab.pdfbase import pdfmetrics

        doc = self.canvas._doc
        states = {}
        for name in doc.fontMapping:
            font = pdfmetrics.getFont(name)
            state = getattr(font, "state", {}).get(doc)
            states[name] = (state.nextCode, len(state.subsets)) if state else (0, 0)
        return states

    def seed(self, canvas: Any) -> int:
        """Give a letter's fresh document the fonts and codes of the drawings; returns the
        version it got, or -1 where that cannot be done (nothing is copied then)."""
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        doc = canvas._doc
        if self.canvas is None or doc.fontMapping != self.initial_fonts:
            return -1  # nothing drawn yet, or the letter's document is not a fresh one
        scratch = self.canvas._doc
        added = [name for name in scratch.fontMapping if name not in self.initial_fonts]
        fonts = [pdfmetrics.getFont(name) for name in added]
        if not all(isinstance(font, TTFont) and scratch in font.state for font in fonts):
            return -1
        for name, font in zip(added, fonts, strict=True):
            state = font.state[scratch]
            copied = copy.copy(state)
            copied.assignments = dict(state.assignments)
            copied.subsets = [list(subset) for subset in state.subsets]
            copied.frozen = 0
            font.state[doc] = copied
            doc.fontMapping[name] = scratch.fontMapping[name]
            doc.delayedFonts.append(font)
        return self.version

    def drawing(self, template: Any, frame: Any, canvas: Any, renumber: Any) -> _Drawing | None:
        """The frame as drawn once for this page number; None if it cannot be copied."""
        doc = canvas._doctemplate
        label = doc.pageLabel(canvas.getPageNumber()) if hasattr(doc, "pageLabel") else None
        key = (
            id(frame.pisaStaticStory),
            frame._x1,
            frame._y1,
            frame._width,
            frame._height,
            tuple(template.pagesize),
            label,
            getattr(doc, "_page_count", None),  # what <pdf:pagecount/> shows
        )
        if key not in self.drawings:
            self.drawings[key] = self._draw(template, frame, canvas, renumber)
        return self.drawings[key]

    def _draw(self, template: Any, frame: Any, canvas: Any, renumber: Any) -> _Drawing | None:
        from reportlab.pdfbase.pdfdoc import xObjectName
        from xhtml2pdf.xhtml2pdf_reportlab import PmlPageTemplate

        scratch = self._scratch(template.pagesize)
        watched = ("_colorsUsed", "_shadingUsed", "_annotationrefs", "_extgstate")
        before = {name: _contents_of(getattr(scratch, name, None)) for name in watched}
        objects = dict(scratch._doc.idToObject)
        fonts = self._font_states()
        code, forms = len(scratch._code), len(scratch._formsinuse)
        scratch._doctemplate = canvas._doctemplate  # page numbers resolve against the letter
        try:
            PmlPageTemplate._drawStaticFrame(template, frame, scratch, renumber)
        finally:
            del scratch._doctemplate
        operators = scratch._code[code:]
        del scratch._code[code:]
        names = scratch._formsinuse[forms:]
        del scratch._formsinuse[forms:]
        if any(_contents_of(getattr(scratch, name, None)) != before[name] for name in watched):
            return None
        images = []
        registered = scratch._doc.idToObject
        for name in names:
            image = registered.get(xObjectName(name))
            if image is None or not hasattr(image, "streamContent"):
                return None
            mask = getattr(image, "smask", None)
            mask_name = getattr(mask, "name", None)
            images.append((name, image, mask_name, registered.get(mask_name)))
        known = {xObjectName(name) for name in names} | {mask for _, _, mask, _ in images}
        if not set(registered) - set(objects) <= known:
            return None
        if self._font_states() != fonts:
            self.version += 1
        return _Drawing(operators, images, self.version)

    @staticmethod
    def copy_into(drawing: _Drawing, canvas: Any) -> None:
        """Put a drawing on the letter's page: its operators and its images."""
        from reportlab.pdfbase.pdfdoc import xObjectName

        doc = canvas._doc
        for name, image, mask_name, mask in drawing.images:
            if xObjectName(name) not in doc.idToObject:
                own = copy.copy(image)
                own.__dict__.pop("__InternalName__", None)
                if mask is not None:
                    own_mask = copy.copy(mask)
                    own_mask.__dict__.pop("__InternalName__", None)
                    own.smask = doc.Reference(own_mask, mask_name)
                doc.Reference(own, xObjectName(name))
            canvas._formsinuse.append(name)
            canvas._currentPageHasImages = 1
        canvas._code.extend(drawing.operators)


def _contents_of(value: Any) -> Any:
    """A copy to compare with later: an object's attributes, a container's items."""
    if hasattr(value, "__dict__"):
        return {name: copy.copy(item) for name, item in vars(value).items()}
    return copy.copy(value)


_replaying: type | None = None


def _replaying_template_class() -> type:
    global _replaying
    if _replaying is None:
        from xhtml2pdf.xhtml2pdf_reportlab import PmlPageTemplate

        class ReplayingPageTemplate(PmlPageTemplate):
            """Draws the static frames of parsed sub-reports from ``StaticDrawings``, the
            layout's own static frames without a deep copy, and has the document embed its
            fonts from ``FontSubsets``.

            xhtml2pdf deep-copies a static frame's content before every drawing, so that the
            content serves every page (a third of the letter's own frames' time). The
            address and information frames hold this letter's content and are on the first
            page's template, which a letter uses once (``_TEMPLATE_SWITCHES``): in a single
            layout pass they are drawn from the content itself. Should one be drawn a second
            time, the renderer renders the letter again with copies (``campaignDrawnTwice``).
            """

            campaignDrawings: StaticDrawings | None
            campaignStories: set[int]
            campaignInPlace: set[int]
            campaignContext: Any

            def beforeDrawPage(self, canvas: Any, doc: Any) -> None:
                # On the PDF document, not the template: every pass of a multiBuild (page
                # count, table of contents) writes a new one.
                pdf = canvas._doc
                if not hasattr(pdf, "campaignSeed"):
                    drawings = self.campaignDrawings
                    pdf.campaignSeed = -1 if drawings is None else drawings.seed(canvas)
                    pdf.delayedFonts = FontSubsets.fonts_of(pdf)
                super().beforeDrawPage(canvas, doc)

            def _drawStaticFrame(self, frame: Any, canvas: Any, renumber: Any) -> None:
                seed = getattr(canvas._doc, "campaignSeed", -1)
                if id(frame.pisaStaticStory) in self.campaignStories:
                    drawing = self.campaignDrawings.drawing(self, frame, canvas, renumber)
                    if drawing is not None and 0 <= drawing.version <= seed:
                        self.campaignDrawings.copy_into(drawing, canvas)
                        return
                context = self.campaignContext()
                if id(frame) in self.campaignInPlace and not context.multiBuild:
                    story = id(frame.pisaStaticStory)
                    if story in context.campaignDrawn:
                        context.campaignDrawnTwice = True  # the letter is rendered again
                        return
                    context.campaignDrawn.add(story)
                    frame = _in_place(frame)
                super()._drawStaticFrame(frame, canvas, renumber)

        _replaying = ReplayingPageTemplate
    return _replaying


def _in_place(frame: Any) -> Any:
    """The frame for one drawing of its content itself: a shallow copy (its cursor moves
    as it draws) whose content list is a copy (drawing consumes it) and whose deep copy is
    itself."""
    shell = copy.copy(frame)
    shell.pisaStaticStory = [_wrapping_once(flowable) for flowable in frame.pisaStaticStory]
    shell.__deepcopy__ = lambda _memo: shell
    return shell


def _wrapping_once(flowable: Any) -> Any:
    """The flowable, not wrapped again for the space it was last wrapped for: xhtml2pdf
    measures a static frame's content (``_storyHeight`` wraps each flowable) right before
    the frame wraps it again, mostly for the same space, to draw it. Only wrapping changes
    what a wrap computes, so the last result stands."""
    wrap = flowable.wrap
    last: list = []

    def wrap_once(width: float, height: float) -> tuple[float, float]:
        if last and last[0] == (width, height):
            return last[1]
        size = wrap(width, height)
        last[:] = [(width, height), size]
        return size

    flowable.wrap = wrap_once
    return flowable


# --- font subsets made once ----------------------------------------------------------------


class _Precompressed:
    """A stream filter that hands back data compressed before (``FontSubsets``), named as
    ReportLab's own Flate filter, so the stream is written exactly as that one writes it."""

    pdfname = "FlateDecode"

    def __init__(self, compressed: bytes):
        self.compressed = compressed

    def encode(self, _content: Any) -> bytes:
        return self.compressed


class _Subset:
    """What one font subset embeds, ready to write: the ``/Widths`` array as PDF, the
    character map and the glyphs compressed, and the glyphs' uncompressed length."""

    def __init__(self, widths: bytes, character_map: bytes, glyphs: bytes, glyphs_length: int):
        self.widths = widths
        self.character_map = character_map
        self.glyphs = glyphs
        self.glyphs_length = glyphs_length


class FontSubsets(list):
    """A PDF document's list of fonts to embed (ReportLab's ``delayedFonts``) whose TrueType
    fonts embed subsets made once per process.

    ReportLab makes every subset again for every document: it cuts the glyphs out of the
    font file, compresses them and its character map, and writes the widths, about a sixth
    of a letter's time. What it writes depends only on the font, the subset's number and the
    characters in it (in code order), so the same objects are built here from a cache keyed
    by those (``TTFont.addObjects`` of ReportLab 5.1.0, step by step); the PDF is byte for
    byte the same. ReportLab reads the list only when it writes the document.
    """

    cache: OrderedDict[tuple, _Subset] = OrderedDict()

    @classmethod
    def fonts_of(cls, pdf: Any) -> FontSubsets:
        return pdf.delayedFonts if isinstance(pdf.delayedFonts, cls) else cls(pdf.delayedFonts)

    def __iter__(self):
        from reportlab.pdfbase.ttfonts import TTFont

        for font in super().__iter__():
            yield _CachedSubsetsFont(font) if type(font) is TTFont else font

    @classmethod
    def subset(cls, font: Any, number: int, base_name: str, codes: list[int], pdf: Any) -> _Subset:
        import zlib

        from reportlab.pdfbase import pdfdoc
        from reportlab.pdfbase.ttfonts import makeToUnicodeCMap

        face = font.face
        key = (face.filename, face.subfontNameX, number, base_name, tuple(codes))
        found = cls.cache.get(key)
        if found is not None:
            cls.cache.move_to_end(key)
            return found
        widths = pdfdoc.PDFArray(list(map(face.getCharWidth, codes))).format(pdf)
        character_map = makeToUnicodeCMap(base_name, codes).encode("utf8")
        glyphs = face.makeSubset(codes)
        found = cls.cache[key] = _Subset(
            widths, zlib.compress(character_map), zlib.compress(glyphs), len(glyphs)
        )
        if len(cls.cache) > CACHED_FONT_SUBSETS:
            cls.cache.popitem(last=False)
        return found


class _CachedSubsetsFont:
    """A TrueType font as the document's writer sees it: ``addObjects`` from the cache."""

    def __init__(self, font: Any):
        self.font = font

    def addObjects(self, pdf: Any) -> None:
        """ReportLab's, with the subsets from the cache; the objects in the same order."""
        from reportlab.pdfbase import pdfdoc
        from reportlab.pdfbase.ttfonts import FF_NONSYMBOLIC, FF_SYMBOLIC, SUBSETN, TTFont

        font, face = self.font, self.font.face
        if not pdf.compression:
            font.addObjects(pdf)
            return
        try:
            state = font.state[pdf]
        except KeyError:
            state = font.state[pdf] = TTFont.State(font._asciiReadable)
        state.frozen = 1
        for number, codes in enumerate(state.subsets):
            internal_name = font.getSubsetInternalName(number, pdf)[1:]
            base_name = b"".join((SUBSETN(number), b"+", face.name, face.subfontNameX))
            base_name = base_name.decode("pdfdoc")
            subset = FontSubsets.subset(font, number, base_name, codes, pdf)

            character_map = pdfdoc.PDFStream()
            character_map.content = subset.character_map
            character_map.filters = [_Precompressed(subset.character_map)]
            character_map_reference = pdf.Reference(character_map, f"toUnicodeCMap:{base_name}")

            glyphs = pdfdoc.PDFStream()
            glyphs.content = subset.glyphs
            glyphs.dictionary["Length1"] = subset.glyphs_length
            glyphs.filters = [_Precompressed(subset.glyphs)]
            glyphs_reference = pdf.Reference(glyphs, f"fontFile:{face.filename}({base_name})")
            descriptor = pdfdoc.PDFDictionary(
                {
                    "Type": "/FontDescriptor",
                    "Ascent": face.ascent,
                    "CapHeight": face.capHeight,
                    "Descent": face.descent,
                    "Flags": (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC,
                    "FontBBox": pdfdoc.PDFArray(face.bbox),
                    "FontName": pdfdoc.PDFName(base_name),
                    "ItalicAngle": face.italicAngle,
                    "StemV": face.stemV,
                    "FontFile2": glyphs_reference,
                    "MissingWidth": face.defaultWidth,
                }
            )

            pdf_font = pdfdoc.PDFTrueTypeFont()
            pdf_font.__Comment__ = f"Font {font.fontName} subset {number}"
            pdf_font.Name = internal_name
            pdf_font.BaseFont = base_name
            pdf_font.FirstChar = 0
            pdf_font.LastChar = len(codes) - 1
            pdf_font.Widths = subset.widths  # already PDF: written as it is
            pdf_font.ToUnicode = character_map_reference
            pdf_font.FontDescriptor = pdf.Reference(descriptor, f"fontDescriptor:{base_name}")
            pdf.Reference(pdf_font, internal_name)
            pdf.idToObject["BasicFonts"].dict[internal_name] = pdf_font
        del font.state[pdf]
