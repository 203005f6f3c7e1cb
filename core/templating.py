"""Sandboxed plain-text templates: ``{{ first_name }}`` filled from a record.

Templates are written in the web panel, so they are untrusted. Jinja's
``ImmutableSandboxedEnvironment`` refuses attribute tricks and mutation, but not a
template that builds a huge value or loops for long ("'a' * 10**8"). So here the source
has a size limit, every value a template computes and the output have a length limit,
number arguments (widths, counts, ``range``) are capped, loops nest at most two deep, and
rendering stops at a deadline checked on every call, attribute, operator and output piece.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sized
from contextvars import ContextVar
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_LOOP_DEPTH = 2
MAX_EXPONENT = 100


class TemplateError(ValueError):
    """A template cannot be compiled or rendered; the message says why, for the user."""


_limits: ContextVar[tuple[float, int]] = ContextVar("template_limits")
"""(deadline, longest value) of the render in progress."""


def _check_time() -> None:
    deadline, _ = _limits.get()
    if time.monotonic() > deadline:
        raise TemplateError("rendering took too long")


def _check_length(length: int) -> None:
    _, longest = _limits.get()
    if length > longest:
        raise TemplateError(f"a value longer than {longest} characters or items")


def _bounded(value: Any) -> Any:
    if isinstance(value, Sized):
        _check_length(len(value))
    return value


def _check_numbers(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    _, longest = _limits.get()
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > longest:
            raise TemplateError(f"a number argument above {longest}")


def _guarded_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps Jinja's pass_context/pass_environment marker
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_time()
        _check_numbers(args[1:], kwargs)
        return _bounded(function(*args, **kwargs))

    return guarded


def _blank_none(value: Any) -> Any:
    """An empty field prints nothing, not "None" ("Hallo {{ first_name }}" stays readable)."""
    return "" if value is None else value


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            finalize=_blank_none,
        )
        self.filters = {
            name: _guarded_filter(function)
            for name, function in self.filters.items()
            if name != "format"  # printf-style widths would bypass the number cap
        }

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        _check_time()
        if op == "%" and isinstance(left, str):
            raise TemplateError("'%' string formatting is not available; use placeholders")
        if op == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise TemplateError(f"an exponent above {MAX_EXPONENT}")
        if op == "*":
            sequence, count = (left, right) if isinstance(left, Sized) else (right, left)
            if isinstance(sequence, Sized) and isinstance(count, int):
                _check_length(len(sequence) * count)  # before the value exists
        return _bounded(super().call_binop(context, op, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_time()
        _check_numbers(args, kwargs)
        return _bounded(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _check_time()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _check_time()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> None:
        if super().wrap_str_format(value) is not None:
            raise SecurityError("str.format is not available; use placeholders")
        return None


_ENVIRONMENT = _Sandbox()


def _loop_depth(node: nodes.Node) -> int:
    inner = max((_loop_depth(child) for child in node.iter_child_nodes()), default=0)
    return inner + 1 if isinstance(node, nodes.For) else inner


class TextTemplate:
    """One compiled template: compile once (~2 ms), render per recipient (tens of µs)."""

    def __init__(
        self, source: str, *, max_source: int = 2000, max_output: int = 10_000, timeout: float = 1.0
    ):
        if len(source) > max_source:
            raise TemplateError(f"the template is longer than {max_source} characters")
        try:
            tree = _ENVIRONMENT.parse(source)
            if _loop_depth(tree) > MAX_LOOP_DEPTH:
                raise TemplateError(f"loops nest more than {MAX_LOOP_DEPTH} deep")
            self._template = _ENVIRONMENT.from_string(tree)
        except TemplateSyntaxError as exc:
            raise TemplateError(f"line {exc.lineno}: {exc.message}") from None
        self.source = source
        self.max_output = max_output
        self.timeout = timeout

    def render(self, values: Mapping[str, Any]) -> str:
        """The text for ``values``; a TemplateError names an unknown placeholder or a limit."""
        token = _limits.set((time.monotonic() + self.timeout, self.max_output))
        try:
            pieces, length = [], 0
            for piece in self._template.generate(values):
                length += len(piece)
                if length > self.max_output:
                    raise TemplateError(f"the text is longer than {self.max_output} characters")
                _check_time()
                pieces.append(piece)
            return "".join(pieces)
        except UndefinedError as exc:
            raise TemplateError(f"unknown placeholder: {exc}") from None
        except TemplateError:
            raise
        except (
            SecurityError,
            ArithmeticError,
            LookupError,
            TypeError,
            ValueError,
            RecursionError,
        ) as exc:
            raise TemplateError(f"{type(exc).__name__}: {exc}") from None
        finally:
            _limits.reset(token)


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


__all__ = ["TemplateError", "TextTemplate", "nest"]
