"""Reports as PDF: sandboxed templates, a confined PDF renderer and a streaming merge.

Templates are written in the web panel, so they are untrusted, and so is the data they
show. Two layers keep a template inside its lane:

1. **Templates** compile in Jinja2's ``ImmutableSandboxedEnvironment`` with autoescaping and
   strict placeholders. The sandbox refuses attribute tricks and mutation but not a template
   that builds a huge value or runs for long, so on top of it: the source, every value a
   template builds (``*``, ``**``, ``+``, ``~``, buffered blocks, filters) and the output
   have size limits that are checked *before* the value exists; only a short list of
   filters, functions and methods may be called; and rendering stops at a deadline that is
   checked on every call, attribute, operator and output piece, and every few iterations of
   every ``{% for %}`` (the code generator wraps each loop's iterable in a guard), so even a
   loop with an empty body over a stored ``range`` cannot run on.
2. **PDF** comes from xhtml2pdf. The link callback maps ``asset:NAME`` to the report's own
   uploaded files, materialised in a directory of their own, and every other URL to a name
   that does not exist; xhtml2pdf's ``ResourceAccessPolicy`` confines reads to that
   directory and refuses the network. Both gates are needed: a falsy return from the
   callback keeps the original URL, and some fetches bypass the callback. A template that
   names anything else is an error (``ResourceRefusedError``), not a letter without a logo.

Collecting many letters into one file is ``core.pdf_collection``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    StrictUndefined,
    TemplateRuntimeError,
    TemplateSyntaxError,
    Undefined,
    nodes,
    pass_context,
    pass_environment,
    pass_eval_context,
)
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.filters import do_join, do_replace, do_sum, make_attrgetter
from jinja2.runtime import LoopContext, Macro, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from jinja2.utils import Namespace, missing, object_type_repr
from markupsafe import Markup, escape
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import RenderLimitError, ResourceAccessPolicy

from core.archive import write_atomically
from core.models import AddressPattern, Orientation, PageFormat, Report, TextBlock
from core.query.entities import get_entity
from core.templating import nest

MAX_TEMPLATE_CHARS = 100_000
MAX_OUTPUT_CHARS = 1_000_000
"""No template output, and no value a template builds, may be longer than this."""
MAX_INT_BITS = 4096
RENDER_SECONDS = 2.0
"""A letter's templates render in well under a millisecond; this only stops abuse."""
PDF_SECONDS = 60.0
LOCAL_TIME = ZoneInfo("Europe/Berlin")
"""Letters are dated in German time."""


class TemplateError(ValueError):
    """A template cannot be compiled or rendered; the message says why, and where."""

    def __init__(self, reason: str, *, lineno: int | None = None):
        self.reason = reason
        self.lineno = lineno
        super().__init__(f"line {lineno}: {reason}" if lineno else reason)

    def at_line(self, lineno: int | None) -> TemplateError:
        return self if self.lineno or not lineno else type(self)(self.reason, lineno=lineno)


class UnknownPlaceholderError(TemplateError):
    """A template names a placeholder (variable or field) the data does not have."""


class TemplateLimitError(TemplateError):
    """A template went past a size or time limit, or tried what the sandbox refuses."""


# --- the sandbox -------------------------------------------------------------------------

_deadline: ContextVar[float | None] = ContextVar("template_deadline", default=None)


def _check_time() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateLimitError(f"rendering took longer than {RENDER_SECONDS:g} seconds")


def _check_size(size: int) -> None:
    if size > MAX_OUTPUT_CHARS:
        raise TemplateLimitError(
            f"a value of {size} characters or items (at most {MAX_OUTPUT_CHARS})"
        )


def _sized(value: Any) -> Any:
    if isinstance(value, str | list | tuple | dict):
        _check_size(len(value))
    return value


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateLimitError(f"a number of more than {MAX_INT_BITS} bits")


LOOP_GUARD = "_loop_guard"


@pass_context  # keeps the optimizer from running it at compile time
def _loop_guard(_context: Any, iterable: Iterable[Any]) -> Iterator[Any]:
    """Wraps every ``{% for %}`` iterable: the deadline is checked every 64 iterations."""
    for index, item in enumerate(iterable):
        if not index & 63:
            _check_time()
        yield item


class _GuardedCodeGenerator(CodeGenerator):
    """Jinja's code generator with a guard around every loop and every ``~``."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        for loop in list(node.find_all(nodes.For)):  # before the filters are looked up
            if not (isinstance(loop.iter, nodes.Filter) and loop.iter.name == LOOP_GUARD):
                loop.iter = nodes.Filter(
                    loop.iter, LOOP_GUARD, [], [], None, None, lineno=loop.lineno
                )
        super().visit_Template(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.join_values((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("), context.eval_ctx.autoescape)")


def _names(text: str) -> frozenset[str]:
    """Whitespace-separated names, so that long lists stay short in the source."""
    return frozenset(text.split())


STR_METHODS = _names(
    "upper lower title capitalize casefold strip lstrip rstrip startswith endswith split rsplit "
    "splitlines partition rpartition count find rfind isdigit isalpha isalnum isspace isupper "
    "islower"
)
FUNCTIONS = {"range": safe_range, "dict": dict, "namespace": Namespace}
"""The only functions a template has; ``range`` is the sandbox's, capped at 100,000 items."""
DICT_METHODS = frozenset({"get", "items", "keys", "values"})
SEQUENCE_METHODS = frozenset({"count", "index"})
LOOP_METHODS = frozenset({"cycle", "changed"})


def _may_call(value: Any) -> bool:
    if isinstance(value, Macro | LoopContext) or any(value is f for f in FUNCTIONS.values()):
        return True
    owner, name = getattr(value, "__self__", None), getattr(value, "__name__", "")
    if isinstance(owner, str):
        return name in STR_METHODS
    if isinstance(owner, dict):
        return name in DICT_METHODS
    if isinstance(owner, list | tuple):
        return name in SEQUENCE_METHODS
    if isinstance(owner, LoopContext):
        return name in LOOP_METHODS
    return False


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _GuardedCodeGenerator

    def __init__(self) -> None:
        super().__init__(
            autoescape=True, undefined=_Undefined, trim_blocks=True, lstrip_blocks=True
        )
        self.globals = dict(FUNCTIONS)
        builtin = self.filters
        self.filters = {name: _sized_filter(builtin[name]) for name in SAFE_FILTERS}
        self.filters |= {
            "join": _join,
            "replace": _replace,
            "sum": _sum,
            "date": format_date,
            "number": format_number,
            "money": format_money,
            "country_name": country_name,
            "nl2br": nl2br,
            LOOP_GUARD: _loop_guard,
        }
        self.tests = {name: self.tests[name] for name in SAFE_TESTS}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_time()
        if operator == "%" and isinstance(left, str):
            raise TemplateLimitError("'%' formatting of text is not available; use the filters")
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            _check_bits(right * max(abs(left).bit_length(), 1))
        elif operator == "*":
            _check_product(left, right)
        elif (
            operator == "+"
            and isinstance(left, str | list | tuple)
            and isinstance(right, str | list | tuple)
        ):
            _check_size(len(left) + len(right))
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_time()
        if isinstance(__obj, Undefined):
            __obj._fail_with_undefined_error()
        if not _may_call(__obj):
            name = getattr(__obj, "__qualname__", None) or object_type_repr(__obj)
            raise TemplateLimitError(f"calling {name} is not available in templates")
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _check_time()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _check_time()
        return super().getitem(obj, argument)

    @staticmethod
    def concat(pieces: Iterable[str]) -> str:  # type: ignore[override]
        """Joins buffered output (macros, ``{% set %}`` blocks): measured before joining."""
        pieces = list(pieces)
        _check_time()
        _check_size(sum(map(len, pieces)))
        return "".join(pieces)

    @staticmethod
    def join_values(values: tuple[Any, ...], autoescape: bool) -> str:
        """The ``~`` operator, measured before joining."""
        _check_size(sum(len(str(value)) for value in values))
        return _sized((markup_join if autoescape else str_join)(values))


def _check_product(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        _check_bits(left.bit_length() + right.bit_length())
        return
    sequence, count = (left, right) if isinstance(right, int) else (right, left)
    if isinstance(sequence, str | list | tuple) and isinstance(count, int):
        _check_size(len(sequence) * count)


class _Undefined(StrictUndefined):
    """Any use of an unknown placeholder fails, naming it."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: type[Exception] = UnknownPlaceholderError,
    ):
        super().__init__(hint, obj, name, exc)

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        name = self._undefined_name
        if self._undefined_obj is missing:
            return f"unknown placeholder {name!r}"
        owner = object_type_repr(self._undefined_obj)
        return f"unknown placeholder {name!r}: {owner} has no such field"


SAFE_FILTERS = _names(
    "abs capitalize count d default dictsort e escape first float forceescape groupby int items "
    "last length list lower map max min reject rejectattr reverse round safe select selectattr "
    "sort string striptags title trim truncate unique upper wordcount"
)
"""Filters whose result is at most about as large as their input. ``center``, ``indent``,
``format``, ``batch``, ``slice``, ``wordwrap``, ``urlize``, ``tojson``, ``pprint``,
``filesizeformat``, ``random`` and ``xmlattr`` are left out."""
SAFE_TESTS = _names(
    "defined undefined none boolean true false integer float number string mapping sequence "
    "iterable odd even divisibleby eq ne lt le gt ge in lower upper"
)


def _sized_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps Jinja's pass_context/pass_eval_context marker
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_time()
        return _sized(function(*args, **kwargs))

    return guarded


@pass_eval_context
def _join(eval_ctx: Any, value: Iterable[Any], separator: str = "", attribute: Any = None) -> str:
    """Jinja's ``join``, measured item by item before anything is joined."""
    items = list(value)
    if attribute is not None:
        items = list(map(make_attrgetter(eval_ctx.environment, attribute), items))
    size = len(str(separator)) * max(len(items) - 1, 0)
    for item in items:
        size += len(str(item))
        _check_size(size)
    return _sized(do_join(eval_ctx, items, separator))


@pass_eval_context
def _replace(eval_ctx: Any, value: Any, old: str, new: str, count: int | None = None) -> str:
    """Jinja's ``replace``, refused before it runs when the result would be too long."""
    text, old_text = str(value), str(old)
    occurrences = text.count(old_text) if count is None else min(count, text.count(old_text))
    _check_size(len(text) + occurrences * (len(str(new)) - len(old_text)))
    return _sized(do_replace(eval_ctx, value, old, new, count))


@pass_environment
def _sum(environment: Any, values: Iterable[Any], attribute: Any = None, start: Any = 0) -> Any:
    """Jinja's ``sum`` for numbers only: adding lists would build one list of all of them."""
    if not isinstance(start, int | float | Decimal):
        raise TemplateLimitError("sum adds numbers only")
    return do_sum(environment, values, attribute, start)


MONTHS = (
    *("Januar", "Februar", "März", "April", "Mai", "Juni"),
    *("Juli", "August", "September", "Oktober", "November", "Dezember"),
)


def format_date(value: date | datetime | str | None, style: str = "short") -> str:
    """``23.11.2026`` or, with ``"long"``, ``23. November 2026``; times in German time."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        value = (value.astimezone(LOCAL_TIME) if value.tzinfo else value).date()
    if style == "long":
        return f"{value.day}. {MONTHS[value.month - 1]} {value.year}"
    return f"{value.day:02d}.{value.month:02d}.{value.year}"


def format_number(value: Any, decimals: int = 0) -> str:
    """German digit grouping: ``1.234,50``."""
    if value is None or value == "":
        return ""
    if not 0 <= decimals <= 10:
        raise TemplateLimitError("number shows 0 to 10 decimals")
    quantum = Decimal(1).scaleb(-decimals)
    rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def format_money(value: Any, currency: str = "€") -> str:
    text = format_number(value, 2)
    return f"{text} {currency}" if text else ""


COUNTRY_NAMES = {
    "AT": "Österreich",
    "BE": "Belgien",
    "CH": "Schweiz",
    "CZ": "Tschechien",
    "DE": "Deutschland",
    "DK": "Dänemark",
    "ES": "Spanien",
    "FR": "Frankreich",
    "GB": "Vereinigtes Königreich",
    "IT": "Italien",
    "LI": "Liechtenstein",
    "LU": "Luxemburg",
    "NL": "Niederlande",
    "PL": "Polen",
    "US": "Vereinigte Staaten",
}


def country_name(code: str | None) -> str:
    """The German name of a country code, for the last line of a foreign address."""
    return COUNTRY_NAMES.get((code or "").upper(), code or "")


def nl2br(value: Any) -> Markup:
    return Markup("<br/>").join(escape(line) for line in str(value).splitlines())


_ENVIRONMENT = _Sandbox()
_TEMPLATE_FILE = "<template>"


def _template_line(traceback: TracebackType | None) -> int | None:
    """The template line of the innermost template frame (Jinja rewrites the frames)."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == _TEMPLATE_FILE:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


PLAIN_SCALARS = (str, int, float, Decimal, bool, date, type(None))


def check_plain(value: Any, path: str = "data") -> None:
    """Only plain data reaches a template: no objects with methods or lazy loading."""
    if isinstance(value, PLAIN_SCALARS):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: keys must be text, not {key!r}")
            check_plain(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_plain(item, f"{path}[{index}]")
    else:
        raise TypeError(f"{path}: {type(value).__name__} is not plain data")


class CompiledTemplate:
    """One template compiled once; rendering it costs tens of microseconds."""

    def __init__(self, source: str):
        if len(source) > MAX_TEMPLATE_CHARS:
            raise TemplateLimitError(
                f"the template has {len(source)} characters (at most {MAX_TEMPLATE_CHARS})"
            )
        try:
            self._tree = _ENVIRONMENT.parse(source)
            self._template = _ENVIRONMENT.from_string(self._tree)
        except TemplateSyntaxError as exc:
            raise TemplateError(exc.message or "syntax error", lineno=exc.lineno) from None

    def fields_of(self, variable: str) -> frozenset[str] | None:
        """The fields the template reads from ``variable``; None when it uses it whole."""
        fields, uses = set(), 0
        for node in self._tree.find_all((nodes.Getattr, nodes.Getitem)):
            if not (isinstance(node.node, nodes.Name) and node.node.name == variable):
                continue
            if isinstance(node, nodes.Getattr):
                fields.add(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                fields.add(node.arg.value)
            else:
                return None
            uses += 1
        loads = sum(
            1
            for name in self._tree.find_all(nodes.Name)
            if name.name == variable and name.ctx == "load"
        )
        return frozenset(fields) if loads == uses else None

    def render(self, data: Mapping[str, Any]) -> Markup:
        """The output for ``data`` (plain values); errors name the placeholder and line."""
        check_plain(data)
        token = _deadline.set(time.monotonic() + RENDER_SECONDS)
        try:
            pieces, size = [], 0
            for piece in self._template.generate(data):
                size += len(piece)
                if size > MAX_OUTPUT_CHARS:
                    raise TemplateLimitError(f"the output is longer than {MAX_OUTPUT_CHARS}")
                _check_time()
                pieces.append(piece)
            return Markup("".join(pieces))
        except TemplateError as exc:
            raise exc.at_line(_template_line(exc.__traceback__)) from None
        except SecurityError as exc:
            line = _template_line(exc.__traceback__)
            raise TemplateLimitError(str(exc), lineno=line) from None
        except (
            ArithmeticError,
            LookupError,
            TypeError,
            ValueError,
            RecursionError,
            TemplateRuntimeError,
        ) as exc:
            line = _template_line(exc.__traceback__)
            raise TemplateError(f"{type(exc).__name__}: {exc}", lineno=line) from None
        finally:
            _deadline.reset(token)


@functools.lru_cache(maxsize=512)
def compile_template(source: str) -> CompiledTemplate:
    """The compiled template for ``source``, compiled once per process and reused."""
    return CompiledTemplate(source)


# --- PDF ---------------------------------------------------------------------------------

ASSET_SCHEME = "asset:"
REFUSED_NAME = ".refused"


class PdfError(RuntimeError):
    """xhtml2pdf could not turn the document into a PDF."""


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


def html_to_pdf(html: str, folder: AssetFolder) -> bytes:
    """The PDF of ``html``, which may use the files of ``folder`` and nothing else."""
    links = _Links(folder)
    output = io.BytesIO()
    try:
        status = pisa.pisaDocument(
            html, dest=output, link_callback=links, resource_policy=resource_policy(folder.path)
        )
    except RenderLimitError as exc:
        raise PdfError(str(exc)) from None
    if links.refused:
        listed = ", ".join(sorted(set(links.refused)))
        raise ResourceRefusedError(
            f"the document may use only the report's own images and fonts (asset:NAME), "
            f"not {listed}"
        )
    if status.err:
        raise PdfError(f"xhtml2pdf reported {status.err} error(s)")
    return output.getvalue()


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


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


class ReportError(ValueError):
    """A report cannot be printed as it is configured."""


@dataclass(frozen=True)
class RenderedLetter:
    pdf: bytes
    pages: int


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
        raise ReportError(f"there is no report {report!r}")
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
    unsaved changes.
    """

    def __init__(self, session: Session, report: int | str | Report, cache_dir: Path):
        row = report if isinstance(report, Report) else find_report(session, report)
        self.report_id = row.id
        self.name = row.name
        self.usable_for_mass_print = row.usable_for_mass_print
        self.address_window = row.address_window
        if row.address_window and (
            row.page_format != PageFormat.A4 or row.orientation != Orientation.PORTRAIT
        ):
            raise ReportError(f"{row.name}: the DIN 5008 address window needs A4 portrait")
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
                raise ReportError(f"no address pattern for country {country!r}")
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
        """What the templates see: the record, its contact, the address block and more."""
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
        values["text"] = {name: block.render(values) for name, block in self._texts.items()}
        return values

    def html(self, values: Mapping[str, Any]) -> str:
        body = self._layout.render(values)
        if self.address_window and not ADDRESS_ELEMENT.search(body):
            raise ReportError(
                f'{self.name}: a layout with an address window needs <div id="address">'
            )
        statics = "".join(
            f'<div id="{name}">{part.template.render(values)}</div>'
            for name, part in self._parts.items()
        )
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
    ) -> RenderedLetter:
        """The letter for one record as a PDF."""
        values = self.values(data, entity, number=number, day=day, campaign=campaign)
        pdf = html_to_pdf(self.html(values), self._folder)
        return RenderedLetter(pdf, page_count(pdf))


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
