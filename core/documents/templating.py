"""The one template sandbox: report layouts, e-mail bodies and subjects, SMS texts.

Templates and their data are untrusted (written in the panel). They compile in one Jinja2
``ImmutableSandboxedEnvironment`` with strict placeholders, autoescaped for HTML only
(``html=True``). The sandbox alone lets a template build huge values or run long, so on top:
size limits on the source, the output and every value built (checked before the value
exists); a short list of callable filters, functions and methods; and a deadline checked on
every call, attribute, operator, output piece and, through a guard the code generator wraps
around each ``{% for %}`` iterable, every few iterations. Errors name the unknown
placeholder or the limit, with the template line.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
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

from core.messages import ExplainedError, StoredText, literal, stored

MAX_TEMPLATE_CHARS = 100_000
MAX_OUTPUT_CHARS = 1_000_000
"""The default limit of a template's output and of every value it builds."""
MAX_INT_BITS = 4096
RENDER_SECONDS = 2.0
"""Templates render in well under a millisecond; this only stops abuse."""
LOCAL_TIME = ZoneInfo("Europe/Berlin")
"""Letters are dated in German time."""


class TemplateError(ExplainedError):
    """A template cannot be compiled or rendered: ``reason`` at line ``lineno``."""

    def __init__(self, reason: StoredText, *, lineno: int | None = None):
        self.reason = reason
        self.lineno = lineno
        super().__init__(
            stored("line {line}: {reason}", line=lineno, reason=reason) if lineno else reason
        )

    def at_line(self, lineno: int | None) -> TemplateError:
        return self if self.lineno or not lineno else type(self)(self.reason, lineno=lineno)


class UnknownPlaceholderError(TemplateError):
    """A template names a placeholder (variable or field) the data does not have."""


class TemplateLimitError(TemplateError):
    """A template went past a size or time limit, or tried what the sandbox refuses."""


# --- the sandbox -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Limits:
    deadline: float
    seconds: float
    longest: int


_limits: ContextVar[_Limits | None] = ContextVar("template_limits", default=None)


def _check_time() -> None:
    limits = _limits.get()
    if limits is not None and time.monotonic() > limits.deadline:
        raise TemplateLimitError(
            stored(
                "rendering took longer than {seconds} seconds",
                seconds=Decimal(f"{limits.seconds:g}"),
            )
        )


def _check_size(size: int) -> None:
    limits = _limits.get()
    longest = MAX_OUTPUT_CHARS if limits is None else limits.longest
    if size > longest:
        raise TemplateLimitError(
            stored(
                "a value of {size} characters or items (at most {longest})",
                size=size,
                longest=longest,
            )
        )


def _sized(value: Any) -> Any:
    if isinstance(value, str | list | tuple | dict):
        _check_size(len(value))
    return value


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateLimitError(stored("a number of more than {bits} bits", bits=MAX_INT_BITS))


LOOP_GUARD = "_loop_guard"


@pass_context  # keeps the optimizer from running it at compile time
def _loop_guard(_context: Any, iterable: Iterable[Any]) -> Iterator[Any]:
    """Around every ``{% for %}`` iterable: the deadline is checked every 64 iterations."""
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
    return frozenset(text.split())


STR_METHODS = _names(
    "upper lower title capitalize casefold strip lstrip rstrip startswith endswith split rsplit "
    "splitlines partition rpartition count find rfind isdigit isalpha isalnum isspace isupper "
    "islower"
)
FUNCTIONS = {"range": safe_range, "dict": dict, "namespace": Namespace}
"""The only functions a template has; ``range`` is the sandbox's, capped at 100,000 items."""
METHODS = (
    (str, STR_METHODS),
    (dict, _names("get items keys values")),
    (list | tuple, _names("count index")),
    (LoopContext, _names("cycle changed")),
)
"""The methods a template may call, by the type of their object (the first that fits)."""


def _may_call(value: Any) -> bool:
    if isinstance(value, Macro | LoopContext) or any(value is f for f in FUNCTIONS.values()):
        return True
    owner = getattr(value, "__self__", None)
    names = next((names for kind, names in METHODS if isinstance(owner, kind)), frozenset())
    return getattr(value, "__name__", "") in names


HTML_TEMPLATE = "html"
TEXT_TEMPLATE = "text"
"""The names templates compile under: Jinja decides autoescaping by a template's name."""


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _GuardedCodeGenerator

    def __init__(self) -> None:
        super().__init__(
            autoescape=lambda name: name != TEXT_TEMPLATE,
            undefined=_Undefined,
            finalize=lambda value: "" if value is None else value,  # "Hallo {{ first_name }}"
            trim_blocks=True,
            lstrip_blocks=True,
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
            raise TemplateLimitError(
                stored("'%' formatting of text is not available; use the filters")
            )
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
            raise TemplateLimitError(
                stored("calling {name} is not available in templates", name=name)
            )
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _check_time()
        return super().getattr(obj, attribute)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """A refused attribute (``__class__``): a TemplateLimitError naming it when used."""
        return self.undefined(obj=obj, name=attribute, exc=TemplateLimitError)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _check_time()
        return super().getitem(obj, argument)

    @staticmethod
    def concat(pieces: Iterable[str]) -> str:  # type: ignore[override]
        """Buffered output (macros, ``{% set %}`` blocks), measured before joining."""
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
    def _undefined_message(self) -> StoredText:  # type: ignore[override]
        name = self._undefined_name
        if self._undefined_hint:  # Jinja's own words ("No first item, sequence was empty.")
            return stored("{jinja_message}", jinja_message=self._undefined_hint)
        if self._undefined_exception is TemplateLimitError:  # the sandbox's unsafe_undefined
            owner = type(self._undefined_obj).__name__
            return stored(
                "access to attribute '{name}' of '{owner}' object is unsafe.",
                name=name,
                owner=owner,
            )
        if self._undefined_obj is missing:
            return stored("unknown placeholder '{name}'", name=name)
        owner = object_type_repr(self._undefined_obj)
        return stored(
            "unknown placeholder '{name}': {owner} has no such field", name=name, owner=owner
        )


SAFE_FILTERS = _names(
    "abs capitalize count d default dictsort e escape first float forceescape groupby int items "
    "last length list lower map max min reject rejectattr reverse round safe select selectattr "
    "sort string striptags title trim truncate unique upper wordcount"
)
"""Filters whose result is at most about as large as their input."""
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
        raise TemplateLimitError(stored("sum adds numbers only"))
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
        raise TemplateLimitError(stored("number shows 0 to 10 decimals"))
    quantum = Decimal(1).scaleb(-decimals)
    rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def format_money(value: Any, currency: str = "€") -> str:
    return f"{text} {currency}" if (text := format_number(value, 2)) else ""


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

_TOKENS = {
    "begin of print statement": "{{",
    "end of print statement": "}}",
    "begin of statement block": "{%",
    "end of statement block": "%}",
    "begin of comment": "{#",
    "end of comment": "#}",
}
"""Jinja's English names of its delimiters, shown as the characters a template writer types."""
_SYNTAX_PROBLEMS: tuple[tuple[str, Callable[..., StoredText]], ...] = (
    (
        r"unexpected end of template, expected '(?P<expected>.+)'\.",
        lambda expected: stored("'{expected}' missing", expected=expected),
    ),
    (
        r"Unexpected end of template\..* needs to be closed is '(?P<block>\w+)'\.",
        lambda block: stored("'{block}' is not closed (end{block} missing)", block=block),
    ),
    (r"Unexpected end of template\..*", lambda: stored("the template ends too early")),
    (
        r"Encountered unknown tag '(?P<tag>\w+)'\..*",
        lambda tag: stored("unknown or misplaced tag '{tag}'", tag=tag),
    ),
    (
        r"expected token '(?P<expected>.+)', got '(?P<found>.+)'",
        lambda expected, found: stored(
            "'{expected}' expected, found '{found}'", expected=expected, found=found
        ),
    ),
    (
        r"unexpected '(?P<found>.+)', expected '(?P<expected>.+)'",
        lambda expected, found: stored(
            "'{expected}' expected, found '{found}'", expected=expected, found=found
        ),
    ),
    (
        r"Expected an expression, got '(?P<found>.+)'",
        lambda found: stored("an expression expected, found '{found}'", found=found),
    ),
    (
        r"unexpected char ['\"](?P<found>.)['\"] at \d+",
        lambda found: stored("unexpected character '{found}'", found=found),
    ),
    (r"unexpected '(?P<found>.+)'", lambda found: stored("unexpected '{found}'", found=found)),
    (r"No filter named '(?P<name>.+)'\.", lambda name: stored("no filter '{name}'", name=name)),
    (r"No test named '(?P<name>.+)'\.", lambda name: stored("no test '{name}'", name=name)),
)
"""Jinja's common syntax errors in words the catalogs translate; any other keeps Jinja's."""


def syntax_problem(message: str | None) -> StoredText:
    """Why a template does not compile, for its writer in their language."""
    for pattern, problem in _SYNTAX_PROBLEMS:
        found = re.fullmatch(pattern, message or "", re.DOTALL)
        if found is not None:
            words = {name: _TOKENS.get(value, value) for name, value in found.groupdict().items()}
            return stored("syntax error: {problem}", problem=problem(**words))
    if not message:
        return stored("syntax error")
    return stored("syntax error: {problem}", problem=stored(literal(message)))


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
    """A template compiled once: ``html`` escapes placeholders and renders ``Markup``, else
    text; ``max_output`` limits the output and every value the template builds."""

    def __init__(
        self,
        source: str,
        *,
        html: bool = True,
        max_source: int = MAX_TEMPLATE_CHARS,
        max_output: int = MAX_OUTPUT_CHARS,
    ):
        if len(source) > max_source:
            raise TemplateLimitError(
                stored(
                    "the template has {count} characters (at most {limit})",
                    count=len(source),
                    limit=max_source,
                )
            )
        self.source = source
        self.html = html
        self.max_output = max_output
        name = HTML_TEMPLATE if html else TEXT_TEMPLATE
        try:
            self._tree = _ENVIRONMENT.parse(source)
            code = _ENVIRONMENT.compile(self._tree, name=name)
        except TemplateSyntaxError as exc:
            raise TemplateError(syntax_problem(exc.message), lineno=exc.lineno) from None
        self._template = _ENVIRONMENT.template_class.from_code(
            _ENVIRONMENT, code, _ENVIRONMENT.make_globals(None), None
        )

    def fields_of(self, variable: str) -> frozenset[str] | None:
        """The fields the template reads from ``variable``; None when it uses it whole."""
        fields = []
        for node in self._tree.find_all((nodes.Getattr, nodes.Getitem)):
            if not (isinstance(node.node, nodes.Name) and node.node.name == variable):
                continue
            if isinstance(node, nodes.Getattr):
                fields.append(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                fields.append(node.arg.value)
            else:
                return None
        loads = [name for name in self._tree.find_all(nodes.Name) if name.name == variable]
        loaded = [name for name in loads if name.ctx == "load"]
        return frozenset(fields) if len(loaded) == len(fields) else None

    def render(self, data: Mapping[str, Any], *, checked: bool = False) -> Any:
        """The output for ``data`` (plain values); ``checked``: :func:`check_plain` passed
        it already (a message's subject and bodies render from one record)."""
        if not checked:
            check_plain(data)
        seconds = RENDER_SECONDS
        token = _limits.set(_Limits(time.monotonic() + seconds, seconds, self.max_output))
        try:
            pieces, size = [], 0
            for piece in self._template.generate(data):
                size += len(piece)
                if size > self.max_output:
                    raise TemplateLimitError(
                        stored(
                            "the output is longer than {limit} characters",
                            limit=self.max_output,
                        )
                    )
                _check_time()
                pieces.append(piece)
            text = "".join(pieces)
            return Markup(text) if self.html else text
        except TemplateError as exc:
            raise exc.at_line(_template_line(exc.__traceback__)) from None
        except SecurityError as exc:
            line = _template_line(exc.__traceback__)
            reason = stored("{jinja_message}", jinja_message=str(exc))
            raise TemplateLimitError(reason, lineno=line) from None
        except (
            ArithmeticError,
            LookupError,
            TypeError,
            ValueError,
            RecursionError,
            TemplateRuntimeError,
        ) as exc:
            line = _template_line(exc.__traceback__)
            reason = stored(
                "{python_error}: {detail}", python_error=type(exc).__name__, detail=str(exc)
            )
            raise TemplateError(reason, lineno=line) from None
        finally:
            _limits.reset(token)


compile_template = functools.lru_cache(maxsize=512)(CompiledTemplate)
"""``CompiledTemplate(source, ...)`` compiled once per process (about 2 ms) and reused."""


def nest(record: Mapping[str, Any]) -> dict[str, Any]:
    """A flat record ("contact.first_name": …) as nested dicts, so templates can say
    ``{{ contact.first_name }}``; a field that is also a relation name keeps its value."""
    nested: dict[str, Any] = {}
    for key, value in record.items():
        *parents, leaf = key.split(".")
        target = nested
        for part in parents:
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                break
            target = child
        else:
            target.setdefault(leaf, value)
    return nested
