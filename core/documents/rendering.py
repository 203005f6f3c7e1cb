"""Reports as PDF: a confined PDF renderer and the report renderer.

Report layouts are untrusted templates; they compile in the one template sandbox
(``core.documents.templating``, HTML mode), and the PDF is confined too:

**PDF** comes from xhtml2pdf. The link callback maps ``asset:NAME`` to the report's own
uploaded files, materialised in a directory of their own, and every other URL to a name
that does not exist; xhtml2pdf's ``ResourceAccessPolicy`` confines reads to that directory
and refuses the network. Both gates are needed: a falsy return from the callback keeps the
original URL, and some fetches bypass the callback. A template that names anything else is
an error (``ResourceRefusedError``), not a letter without a logo.

Counting a letter's pages and collecting many letters into one file are the print action's
(``plugins/actions/pdf_collection.py``).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import RenderLimitError, ResourceAccessPolicy

from core.documents.archive import write_atomically
from core.documents.templating import CompiledTemplate, check_plain, compile_template, nest
from core.messages import ExplainedError, stored
from core.models import AddressPattern, Orientation, PageFormat, Report, TextBlock
from core.query.entities import get_entity

PDF_SECONDS = 60.0


# --- PDF ---------------------------------------------------------------------------------

ASSET_SCHEME = "asset:"
REFUSED_NAME = ".refused"


class PdfError(ExplainedError, RuntimeError):
    """xhtml2pdf could not turn the document into a PDF; ``text`` says why in the reader's
    language (the report editor's preview), ``str()`` in English."""


class ResourceRefusedError(PdfError):
    """The document names a file or URL other than the report's own assets."""


class AssetFolder:
    """A report's images and fonts as files in a directory of their own.

    The directory is named after the assets' contents, so every process that renders the
    same report version shares it (and a forked work horse finds it already written), and a
    changed asset never replaces a file another render is reading.
    """

    def __init__(self, assets: Mapping[str, bytes], cache_dir: Path):
        digest = hashlib.sha256()
        for name in sorted(assets):
            digest.update(f"{name}\0{hashlib.sha256(assets[name]).hexdigest()}\0".encode())
        self.path = (cache_dir / digest.hexdigest()[:32]).resolve()
        self.path.mkdir(parents=True, exist_ok=True)
        for name, data in assets.items():
            target = self.path / name
            if not target.exists():
                write_atomically(target, data)
        self.names = frozenset(assets)


class _Links:
    """The link callback of one render: ``asset:NAME`` or nothing, and what was refused."""

    def __init__(self, folder: AssetFolder):
        self.folder = folder
        self.refused: list[str] = []

    def __call__(self, uri: Any, _relative: Any) -> str:
        """Never falsy: xhtml2pdf would keep the original URL."""
        name = uri[len(ASSET_SCHEME) :] if isinstance(uri, str) else ""
        if isinstance(uri, str) and uri.startswith(ASSET_SCHEME) and name in self.folder.names:
            return str(self.folder.path / name)
        self.refused.append(str(uri)[:200])
        return str(self.folder.path / REFUSED_NAME)  # never written: nothing to read


def resource_policy(folder: Path) -> ResourceAccessPolicy:
    """Local reads only inside ``folder``, no network, and xhtml2pdf's own limits on."""
    return ResourceAccessPolicy.server(
        base_dir=folder, allow_remote=False, max_render_seconds=PDF_SECONDS
    )


def load_image_drivers() -> None:
    """Load Pillow's drivers for the image formats reports may use (PNG, JPEG, GIF) now
    rather than on the first image a process opens (about 35 ms): a worker does it before
    it forks, so the work horse of every chunk of letters inherits them."""
    from PIL import Image

    Image.preinit()


Converter = Callable[..., Any]
"""``pisa.pisaDocument`` or a faster stand-in with its signature (``html, dest=,
link_callback=, resource_policy=``) that returns an object with ``err``."""


def html_to_pdf(html: str, folder: AssetFolder, convert: Converter = pisa.pisaDocument) -> bytes:
    """The PDF of ``html``, which may use the files of ``folder`` and nothing else."""
    links = _Links(folder)
    output = io.BytesIO()
    try:
        status = convert(
            html, dest=output, link_callback=links, resource_policy=resource_policy(folder.path)
        )
    except RenderLimitError as exc:
        raise PdfError(stored("{xhtml2pdf_error}", xhtml2pdf_error=str(exc))) from None
    if links.refused:
        raise ResourceRefusedError(
            stored(
                "the document may use only the report's own images and fonts (asset:NAME), "
                "not {refused}",
                refused=sorted(set(links.refused)),
            )
        )
    if status.err:
        raise PdfError(stored("xhtml2pdf reported {count} error(s)", count=status.err))
    return output.getvalue()


# --- reports -----------------------------------------------------------------------------

PAGE_SIZES_MM = {
    PageFormat.A4: (210.0, 297.0),
    PageFormat.A5: (148.0, 210.0),
    PageFormat.LETTER: (215.9, 279.4),
}
DIN_5008_B_ADDRESS = (20.0, 45.0, 85.0, 45.0)
"""Form B address field: left, top, width, height in mm (return address and 6 lines)."""
DIN_5008_B_INFO = (125.0, 50.0, 75.0, 40.0)
DIN_5008_B_TEXT_TOP = 98.46
"""Where the text starts on the first page of a form B letter."""
DIN_5008_B_BAND = 45.0
"""The letterhead's height on a form B letter: everything above the address field."""
SUB_REPORTS = ("letterhead", "header", "footer")
ADDRESS_ELEMENT = re.compile(r"""\bid\s*=\s*["']?address\b""")


class ReportError(ExplainedError):
    """A report cannot be printed as it is configured; ``text`` says why in the reader's
    language, ``str()`` in English."""


@dataclass(frozen=True)
class _Part:
    template: CompiledTemplate
    stylesheet: str


def find_report(session: Session, report: int | str) -> Report:
    """A report by id or by name."""
    if isinstance(report, int) or report.isdigit():
        found = session.get(Report, int(report))
    else:
        found = session.scalar(select(Report).where(Report.name == report))
    if found is None:
        raise ReportError(stored("there is no report {report}", report=repr(report)))
    return found


def contact_fields(data: Mapping[str, Any], entity: str) -> dict[str, Any]:
    """The contact's own fields of a record of ``entity`` (the record's own if it has none)."""
    path = get_entity(entity).contact_path
    prefix = f"{path}." if path else ""
    return {
        key[len(prefix) :]: value
        for key, value in data.items()
        if key.startswith(prefix) and "." not in key[len(prefix) :]
    }


class ReportRenderer:
    """A report ready to print letters: everything it needs is read and compiled once.

    Sub-reports (letterhead on the first page, header on the following pages, footer on
    every page) render with the same data as the report, and their images and fonts count
    as the report's own. Only the text blocks a layout names (``text.NAME``) are rendered.
    ``report`` may be a ``Report`` that is not stored (yet): the editor's preview of
    unsaved changes. ``convert`` turns the HTML into a PDF (see ``html_to_pdf``).
    """

    def __init__(
        self,
        session: Session,
        report: int | str | Report,
        cache_dir: Path,
        convert: Converter = pisa.pisaDocument,
    ):
        self._convert = convert
        row = report if isinstance(report, Report) else find_report(session, report)
        self.report_id = row.id
        self.name = row.name
        self.usable_for_mass_print = row.usable_for_mass_print
        self.address_window = row.address_window
        if row.address_window and (
            row.page_format != PageFormat.A4 or row.orientation != Orientation.PORTRAIT
        ):
            raise ReportError(
                stored("{report}: the DIN 5008 address window needs A4 portrait", report=row.name)
            )
        self._layout = compile_template(row.layout)
        parts = {name: getattr(row, name) for name in SUB_REPORTS if getattr(row, name)}
        self._parts = {
            name: _Part(compile_template(part.layout), part.stylesheet)
            for name, part in parts.items()
        }
        assets: dict[str, bytes] = {}
        for owner in [*parts.values(), row]:  # the report's own assets win a name clash
            assets |= {asset.filename: asset.data for asset in owner.assets}
        self._folder = AssetFolder(assets, cache_dir)
        stylesheets = [part.stylesheet for part in self._parts.values()] + [row.stylesheet]
        self._css = "\n".join([_page_css(row, set(self._parts)), *stylesheets])
        self._patterns = [
            (frozenset(pattern.countries), compile_template(pattern.template))
            for pattern in session.scalars(select(AddressPattern).order_by(AddressPattern.name))
        ]
        self._texts = self._text_blocks(session)
        self.fingerprint = self._fingerprint()
        """A digest of everything the letters are made of: two renderers with the same
        fingerprint print the same letters, so one may stand in for the other."""

    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        templates = [self._layout, *(part.template for part in self._parts.values())]
        texts = [f"{name}={block.source}" for name, block in sorted(self._texts.items())]
        patterns = [f"{sorted(places)}={pattern.source}" for places, pattern in self._patterns]
        fields = [
            f"{self.report_id}:{self.name}",
            str((self.usable_for_mass_print, self.address_window, sorted(self._parts))),
            str(self._folder.path),
            self._css,
            *(template.source for template in templates),
            *texts,
            *patterns,
        ]
        for field in fields:
            data = field.encode()
            digest.update(b"%d:%s" % (len(data), data))
        return digest.hexdigest()

    def _text_blocks(self, session: Session) -> dict[str, CompiledTemplate]:
        wanted: set[str] | None = set()
        for template in [self._layout, *(part.template for part in self._parts.values())]:
            fields = template.fields_of("text")
            wanted = None if fields is None or wanted is None else wanted | fields
        query = select(TextBlock)
        if wanted is not None:
            query = query.where(TextBlock.name.in_(sorted(wanted)))
        return {block.name: compile_template(block.body) for block in session.scalars(query)}

    def address(self, contact: Mapping[str, Any]) -> Markup:
        """The address block: the pattern for the contact's country, blank lines dropped."""
        country = (contact.get("country") or "DE").upper()
        fallback = None
        for countries, template in self._patterns:
            if country in countries:
                break
            if not countries and fallback is None:
                fallback = template
        else:
            if fallback is None:
                raise ReportError(
                    stored("no address pattern for country '{country}'", country=country)
                )
            template = fallback
        lines = [line.strip() for line in template.render(contact).splitlines()]
        return Markup("<br/>").join(line for line in lines if line)

    def values(
        self,
        data: Mapping[str, Any],
        entity: str,
        *,
        number: int | None,
        day: date,
        campaign: Mapping[str, Any],
    ) -> dict[str, Any]:
        """What the templates see: the record, its contact, the address block and more;
        checked once to be plain data (``check_plain``), for every template of the letter."""
        contact = contact_fields(data, entity)
        values = {
            "recipient": nest(data),
            "contact": contact,
            "address": self.address(contact),
            "date": day,
            "number": number,
            "campaign": dict(campaign),
            "report": {"name": self.name},
        }
        check_plain(values)
        values["text"] = {
            name: block.render(values, checked=True) for name, block in self._texts.items()
        }
        return values

    def sub_reports(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Each sub-report's HTML for the values of ``values()``, by the name of its frame."""
        return {
            name: part.template.render(values, checked=True) for name, part in self._parts.items()
        }

    def html(self, values: Mapping[str, Any], sub_reports: Mapping[str, str] | None = None) -> str:
        """The whole document for the values of ``values()``; ``sub_reports``: the
        sub-reports to put in it (default all)."""
        body = self._layout.render(values, checked=True)
        if self.address_window and not ADDRESS_ELEMENT.search(body):
            raise ReportError(
                stored(
                    '{report}: a layout with an address window needs <div id="address">',
                    report=self.name,
                )
            )
        if sub_reports is None:
            sub_reports = self.sub_reports(values)
        statics = "".join(f'<div id="{name}">{html}</div>' for name, html in sub_reports.items())
        return (
            '<!DOCTYPE html><html><head><meta charset="utf-8"/>'
            f"<title>{escape(self.name)}</title><style>{self._css}</style></head>"
            f'<body>{statics}<pdf:nexttemplate name="later"/>{body}</body></html>'
        )

    def render(
        self,
        data: Mapping[str, Any],
        entity: str,
        *,
        number: int | None,
        day: date,
        campaign: Mapping[str, Any],
    ) -> bytes:
        """The letter for one record as a PDF."""
        return self.pdf(self.values(data, entity, number=number, day=day, campaign=campaign))

    def pdf(self, values: Mapping[str, Any]) -> bytes:
        """The PDF for the values of ``values()``; a subclass may render it differently."""
        return html_to_pdf(self.html(values), self._folder, self._convert)


def _frame(name: str, left: float, top: float, width: float, height: float) -> str:
    content = "" if name == "content" else f"-pdf-frame-content: {name}; "
    return (
        f"@frame {name} {{ {content}left: {left:g}mm; top: {top:g}mm; "
        f"width: {width:g}mm; height: {height:g}mm; }}"
    )


def _page_css(report: Report, parts: set[str]) -> str:
    """Two page templates: the first page (letterhead, address window) and the following."""
    width, height = PAGE_SIZES_MM[report.page_format]
    if report.orientation == Orientation.LANDSCAPE:
        width, height = height, width
    left, right = report.margin_left, report.margin_right
    top, bottom = report.margin_top, report.margin_bottom
    inner = width - left - right
    size = f"size: {report.page_format.value} {report.orientation.value}; margin: 0;"
    footer = [_frame("footer", left, height - bottom, inner, bottom)] if "footer" in parts else []
    first_band = "letterhead" if "letterhead" in parts else "header" if "header" in parts else None
    first = list(footer)
    text_top = top
    if report.address_window:
        first += [_frame("address", *DIN_5008_B_ADDRESS), _frame("info", *DIN_5008_B_INFO)]
        text_top = DIN_5008_B_TEXT_TOP
    if first_band:
        band = DIN_5008_B_BAND if report.address_window else top
        first.append(_frame(first_band, left, 0, inner, band))
    first.append(_frame("content", left, text_top, inner, height - text_top - bottom))
    later = list(footer)
    if "header" in parts:
        later.append(_frame("header", left, 0, inner, top))
    later.append(_frame("content", left, top, inner, height - top - bottom))
    return f"@page {{ {size} {' '.join(first)} }}\n@page later {{ {size} {' '.join(later)} }}"
