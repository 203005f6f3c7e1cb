"""Reports as PDF: report layouts render in the template sandbox (HTML mode), and the PDF is
confined too.

xhtml2pdf's link callback maps ``asset:NAME`` to the report's own files, materialised in a
directory of their own, and every other URL to a name that does not exist; its
``ResourceAccessPolicy`` confines reads to that directory and refuses the network. Both
gates are needed: a falsy callback result keeps the original URL, and some fetches bypass
the callback. A template that names anything else is an error (``ResourceRefusedError``).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable, Mapping
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
ASSET_SCHEME = "asset:"
REFUSED_NAME = ".refused"


class PdfError(ExplainedError, RuntimeError):
    """xhtml2pdf could not turn the document into a PDF."""


class ResourceRefusedError(PdfError):
    """The document names a file or URL other than the report's own assets."""


class AssetFolder:
    """A report's images and fonts in a directory named after their contents: shared by
    every process rendering that version, never changed under another render."""

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


def resource_policy(folder: Path) -> ResourceAccessPolicy:
    """Local reads only inside ``folder``, no network, and xhtml2pdf's own limits on."""
    return ResourceAccessPolicy.server(
        base_dir=folder, allow_remote=False, max_render_seconds=PDF_SECONDS
    )


def load_image_drivers() -> None:
    """Load Pillow's image drivers now (35 ms), in a worker before it forks its work horses."""
    from PIL import Image

    Image.preinit()


Converter = Callable[..., Any]
"""``pisa.pisaDocument`` or a faster stand-in with its signature (``html, dest=,
link_callback=, resource_policy=``) that returns an object with ``err``."""


def html_to_pdf(html: str, folder: AssetFolder, convert: Converter = pisa.pisaDocument) -> bytes:
    """The PDF of ``html``, which may use the files of ``folder`` and nothing else."""
    refused: list[str] = []

    def link(uri: Any, _relative: Any) -> str:  # never falsy: xhtml2pdf would keep the URL
        name = uri[len(ASSET_SCHEME) :] if isinstance(uri, str) else ""
        if isinstance(uri, str) and uri.startswith(ASSET_SCHEME) and name in folder.names:
            return str(folder.path / name)
        refused.append(str(uri)[:200])
        return str(folder.path / REFUSED_NAME)  # never written: nothing to read

    output = io.BytesIO()
    policy = resource_policy(folder.path)
    try:
        status = convert(html, dest=output, link_callback=link, resource_policy=policy)
    except RenderLimitError as exc:
        raise PdfError(stored("{xhtml2pdf_error}", xhtml2pdf_error=str(exc))) from None
    if refused:
        raise ResourceRefusedError(
            stored(
                "the document may use only the report's own images and fonts (asset:NAME), "
                "not {refused}",
                refused=sorted(set(refused)),
            )
        )
    if status.err:
        raise PdfError(
            stored.plural(
                "xhtml2pdf reported {count} error",
                "xhtml2pdf reported {count} errors",
                count=status.err,
            )
        )
    return output.getvalue()


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
    """A report cannot be printed as it is configured."""


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
    """A report read and compiled once to print letters; ``report`` may be unsaved (the
    editor's preview). Sub-reports (letterhead on the first page, header on the later ones,
    footer on all) render with the report's data and share its assets; only the text blocks
    a layout names (``text.NAME``) are read."""

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
        self._parts = {name: compile_template(part.layout) for name, part in parts.items()}
        assets: dict[str, bytes] = {}
        for owner in [*parts.values(), row]:  # the report's own assets win a name clash
            assets |= {asset.filename: asset.data for asset in owner.assets}
        self._folder = AssetFolder(assets, cache_dir)
        stylesheets = [part.stylesheet for part in [*parts.values(), row]]
        self._css = "\n".join([_page_css(row, set(parts)), *stylesheets])
        self._patterns = [
            (frozenset(pattern.countries), compile_template(pattern.template))
            for pattern in session.scalars(select(AddressPattern).order_by(AddressPattern.name))
        ]
        self._texts = self._text_blocks(session)
        self.fingerprint = self._fingerprint()
        """A digest of all the letters are made of: equal fingerprints print equal letters."""

    def _fingerprint(self) -> str:
        fields = [
            [self.report_id, self.name, self.usable_for_mass_print, self.address_window],
            str(self._folder.path),
            self._css,
            [self._layout.source, *(part.source for part in self._parts.values())],
            sorted(self._parts),
            sorted((name, block.source) for name, block in self._texts.items()),
            [(sorted(places), pattern.source) for places, pattern in self._patterns],
        ]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()

    def _text_blocks(self, session: Session) -> dict[str, CompiledTemplate]:
        wanted: set[str] | None = set()
        for template in [self._layout, *self._parts.values()]:
            fields = template.fields_of("text")
            wanted = None if fields is None or wanted is None else wanted | fields
        query = select(TextBlock)
        if wanted is not None:
            query = query.where(TextBlock.name.in_(sorted(wanted)))
        return {block.name: compile_template(block.body) for block in session.scalars(query)}

    def address(self, contact: Mapping[str, Any]) -> Markup:
        """The address block: the pattern for the contact's country, blank lines dropped."""
        country = (contact.get("country") or "DE").upper()
        matching = [template for places, template in self._patterns if country in places]
        fallbacks = [template for places, template in self._patterns if not places]
        if not matching + fallbacks:
            raise ReportError(stored("no address pattern for country '{country}'", country=country))
        template = (matching + fallbacks)[0]
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
        """What the templates see: the record, its contact, the address block and more,
        checked once to be plain data for all the letter's templates."""
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
        return {name: part.render(values, checked=True) for name, part in self._parts.items()}

    def html(self, values: Mapping[str, Any], sub_reports: Mapping[str, str] | None = None) -> str:
        """The document for the values of ``values()``, with ``sub_reports`` (default all)."""
        body = self._layout.render(values, checked=True)
        if self.address_window and not ADDRESS_ELEMENT.search(body):
            raise ReportError(
                stored(
                    '{report}: a layout with an address window needs <div id="address">',
                    report=self.name,
                )
            )
        sub_reports = self.sub_reports(values) if sub_reports is None else sub_reports
        statics = "".join(f'<div id="{name}">{html}</div>' for name, html in sub_reports.items())
        return (
            '<!DOCTYPE html><html><head><meta charset="utf-8"/>'
            f"<title>{escape(self.name)}</title><style>{self._css}</style></head>"
            f'<body>{statics}<pdf:nexttemplate name="later"/>{body}</body></html>'
        )

    def render(self, data: Mapping[str, Any], entity: str, **letter: Any) -> bytes:
        """The letter for one record as a PDF (``letter``: as ``values()`` takes it)."""
        return self.pdf(self.values(data, entity, **letter))

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
