"""Settings forms drawn from a plugin's parameter schema (``Plugin.params_schema()``).

A plugin describes its settings as a pydantic model; the panel turns the model's JSON schema
into form fields, reads the submitted form back into a dict for ``validate_params``, and puts
each ``SettingsError`` problem next to the field it names. No plugin needs template code:

- text, numbers, booleans (checkbox), enums (select), optional fields (an empty input is
  ``None``), lists of simple values (one per line), nested objects (a fieldset; an optional
  one left empty or at its defaults is ``None``);
- ``description`` becomes the help text, ``default`` the initial value;
- anything the form cannot draw field by field (free dicts, lists of objects, recursive
  models such as a query) is edited as JSON text, checked on submit;
- ``json_schema_extra={"x-options": SOURCE}`` offers the values of an option source
  (``OPTION_SOURCES``: reports, saved queries, campaigns, plugins of a kind ...) as a
  select, or as checkboxes for a list; ``{"x-widget": "textarea"}`` asks for a text area.

Input names are ``<prefix>.<path>`` (``act.report``, ``f0.sort.field``), so several plugins'
forms live in one HTML form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_decimal_symbol
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from core import Plugin, SettingsError, json_text
from core.messages import stored
from core.models import Campaign, Report, SavedQuery
from core.plugins import PluginHost
from core.query import ENTITIES
from core.validation import ValidationMessage
from webapp.i18n import get_language, plugin_text, t, validation_text

TEXTAREA_MIN_LENGTH = 200
"""A string that may be longer than this gets a text area."""
PLUGIN_MARKER = "__plugin"
"""Hidden input ``<prefix>.__plugin`` naming whose settings the inputs hold."""

Choices = list[tuple[str, str]]


@dataclass
class FormField:
    """One input (or fieldset) of a settings form, ready for ``_schema_form.html``."""

    name: str
    path: str
    label: str
    help: str
    widget: str
    """text, textarea, integer, number, checkbox, select, checkboxes, lines, object, json"""
    value: Any = ""
    required: bool = False
    nullable: bool = False
    choices: Choices = field(default_factory=list)
    children: list[FormField] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class SettingsForm:
    """The fields of one plugin's settings and the problems no field could take."""

    prefix: str
    plugin: str
    fields: list[FormField]
    errors: list[str] = field(default_factory=list)

    @property
    def marker_name(self) -> str:
        return f"{self.prefix}.{PLUGIN_MARKER}"

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(_field_has_errors(item) for item in self.fields)


def _field_has_errors(form_field: FormField) -> bool:
    return bool(form_field.errors) or any(_field_has_errors(c) for c in form_field.children)


# ---------------------------------------------------------------------------------------------
# Option sources for "x-options"


def _reports(session: Session, plugins: PluginHost) -> Choices:
    names = session.scalars(
        select(Report.name).where(Report.usable_for_mass_print).order_by(Report.name)
    )
    return [(name, name) for name in names]


def _saved_queries(session: Session, plugins: PluginHost, lists_only: bool = False) -> Choices:
    query = select(SavedQuery.id, SavedQuery.name).order_by(SavedQuery.name)
    if lists_only:
        query = query.where(SavedQuery.is_distribution_list)
    return [(str(row.id), row.name) for row in session.execute(query)]


def _campaigns(session: Session, plugins: PluginHost) -> Choices:
    rows = session.execute(select(Campaign.id, Campaign.name).order_by(Campaign.name))
    return [(str(row.id), row.name) for row in rows]


def _registry(attribute: str) -> Callable[[Session, PluginHost], Choices]:
    def choices(session: Session, plugins: PluginHost) -> Choices:
        return [(cls.name, plugin_text(cls, "title")) for cls in getattr(plugins, attribute)]

    return choices


OPTION_SOURCES: dict[str, Callable[[Session, PluginHost], Choices]] = {
    "reports": _reports,
    "saved_queries": _saved_queries,
    "distribution_lists": lambda session, plugins: _saved_queries(session, plugins, True),
    "campaigns": _campaigns,
    "entities": lambda session, plugins: [(n, entity_title(n)) for n in ENTITIES],
    "sms_gateways": _registry("sms_gateways"),
    "document_stores": _registry("document_stores"),
    "upload_targets": _registry("upload_targets"),
}
"""Named lists of (value, label) a schema field can offer with ``x-options``."""


def entity_title(name: str) -> str:
    """An entity's name in the user's language (its English title is the catalog's id)."""
    return t(ENTITIES[name].title)


class OptionResolver:
    """Looks option sources up once per request."""

    def __init__(self, session: Session, plugins: PluginHost):
        self.session = session
        self.plugins = plugins
        self._cache: dict[str, Choices] = {}

    def __call__(self, source: str) -> Choices | None:
        if source not in OPTION_SOURCES:
            return None
        if source not in self._cache:
            self._cache[source] = OPTION_SOURCES[source](self.session, self.plugins)
        return self._cache[source]


# ---------------------------------------------------------------------------------------------
# Reading the schema


@dataclass
class _Spec:
    """A property of the schema reduced to what the form needs."""

    kind: str
    """string, integer, number, decimal, boolean, enum, string_or_integer, lines, object, json"""
    schema: Mapping[str, Any]
    nullable: bool = False
    choices: Choices = field(default_factory=list)
    item_kind: str = "string"
    properties: dict[str, _Spec] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    options: str | None = None


_SCALARS = {"string", "integer", "number", "boolean"}


def _resolve(node: Mapping[str, Any], defs: Mapping[str, Any], seen: tuple[str, ...]):
    """The node with its $ref followed; None for a reference back into itself."""
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node, seen
    name = ref.rsplit("/", 1)[-1]
    if name in seen or name not in defs:
        return None, seen
    # a model's own title is its class name: the field is named by its key instead
    own = {k: v for k, v in defs[name].items() if k != "title"}
    merged = {**own, **{k: v for k, v in node.items() if k != "$ref"}}
    return merged, (*seen, name)


def _spec(node: Mapping[str, Any], defs: Mapping[str, Any], seen: tuple[str, ...] = ()) -> _Spec:
    original = node
    resolved, seen = _resolve(node, defs, seen)
    if resolved is None:
        return _Spec("json", original)
    node = resolved
    options = node.get("x-options")
    widget = node.get("x-widget")
    if widget == "json":
        return _Spec("json", node)
    variants = node.get("anyOf") or node.get("oneOf")
    if variants:
        nullable = any(v.get("type") == "null" for v in variants)
        rest = [v for v in variants if v.get("type") != "null"]
        if len(rest) == 1:
            inner = _spec({**rest[0], **_outer_keys(node)}, defs, seen)
            inner.nullable = inner.nullable or nullable
            return inner
        types = {v.get("type") for v in rest}
        if types == {"number", "string"}:  # pydantic's Decimal: a number or its text
            number = next(v for v in rest if v.get("type") == "number")
            return _Spec("decimal", {**number, **_outer_keys(node)}, nullable, options=options)
        if types == {"string", "integer"}:
            return _Spec("string_or_integer", node, nullable, options=options)
        return _Spec("json", node, nullable)
    if "enum" in node or "const" in node:
        values = node.get("enum") or [node.get("const")]
        return _Spec("enum", node, choices=[(_text(v), _text(v)) for v in values])
    kind = node.get("type")
    if kind in _SCALARS:
        return _Spec(kind, node, options=options)
    if kind == "array":
        items, _ = _resolve(node.get("items", {}), defs, seen)
        item_kind = (items or {}).get("type")
        if items is not None and ("enum" in items or item_kind in _SCALARS - {"boolean"}):
            return _Spec(
                "lines",
                node,
                item_kind="enum" if "enum" in items else item_kind,
                choices=[(_text(v), _text(v)) for v in items.get("enum", [])],
                options=options,
            )
        return _Spec("json", node)
    if kind == "object" and "properties" in node and not node.get("additionalProperties"):
        properties = {
            name: _spec(prop, defs, seen) for name, prop in node.get("properties", {}).items()
        }
        if seen and any(prop.kind in ("json", "object") for prop in properties.values()):
            return _Spec("json", node)  # a nested model that is itself nested: edit it whole
        return _Spec("object", node, properties=properties, required=set(node.get("required", [])))
    return _Spec("json", node)


def _outer_keys(node: Mapping[str, Any]) -> dict[str, Any]:
    """What a wrapper (anyOf with null) says about the field itself."""
    keys = ("title", "description", "default", "x-options", "x-widget")
    return {key: node[key] for key in keys if key in node}


def root_spec(schema: Mapping[str, Any]) -> _Spec:
    return _spec(schema, schema.get("$defs", {}))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------------------------------
# Building the fields


Label = Callable[[str, str], str | None]
"""(English text, context) → the text in the user's language: a field's title or description
with no context, a choice's value with the context ``choice``."""


def build_form(
    schema: Mapping[str, Any],
    prefix: str,
    plugin: str,
    values: Mapping[str, Any] | None = None,
    problems: Iterable[tuple[str, str]] = (),
    options: Callable[[str], Choices | None] | None = None,
    label: Label | None = None,
) -> SettingsForm:
    """The fields for ``schema`` showing ``values`` (defaults where a value is missing)."""
    spec = root_spec(schema)
    form = SettingsForm(prefix, plugin, [])
    if spec.kind == "object":
        form.fields = _object_fields(
            spec, prefix, "", values or {}, options or (lambda _s: None), label
        )
    _place_problems(form, problems, label)
    return form


def _object_fields(
    spec: _Spec,
    prefix: str,
    base: str,
    values: Mapping[str, Any],
    options: Callable[[str], Choices | None],
    label: Label | None,
) -> list[FormField]:
    fields = []
    for key, prop in spec.properties.items():
        path = f"{base}{key}"
        has_value = key in values
        value = values[key] if has_value else prop.schema.get("default")
        fields.append(_field(prop, prefix, path, value, key in spec.required, options, label, key))
    return fields


def _named(spec: _Spec, path: str, label: Label | None) -> Choices:
    """The schema's own choices, each under its translated name where there is one."""
    return [
        (value, (label(str(text), "choice") if label else None) or text)
        for value, text in spec.choices
    ]


def _field(
    spec: _Spec,
    prefix: str,
    path: str,
    value: Any,
    required: bool,
    options: Callable[[str], Choices | None],
    label: Label | None,
    key: str,
) -> FormField:
    schema = spec.schema
    title = schema.get("title") or key.replace("_", " ").capitalize()
    help_text = schema.get("description", "")
    if label is not None:
        title, help_text = label(title, ""), label(help_text, "")
    form_field = FormField(
        name=f"{prefix}.{path}",
        path=path,
        label=title,
        help=help_text,
        widget="text",
        required=required,
        nullable=spec.nullable,
    )
    listed = options(spec.options) if spec.options else None
    if spec.kind == "object":
        form_field.widget = "object"
        form_field.children = _object_fields(
            spec, prefix, f"{path}.", value if isinstance(value, Mapping) else {}, options, label
        )
    elif spec.kind == "boolean":
        form_field.widget = "checkbox"
        form_field.value = value is True or value in ("true", "on", "1")
    elif spec.kind == "lines":
        items = value if isinstance(value, list) else []
        if listed is not None or spec.choices:
            form_field.widget = "checkboxes"
            form_field.choices = _with_current(listed or _named(spec, path, label), items)
            form_field.value = [_text(item) for item in items]
        else:
            form_field.widget = "lines"
            form_field.value = "\n".join(_text(item) for item in items)
    elif spec.kind == "json":
        form_field.widget = "json"
        form_field.value = (
            value
            if isinstance(value, str)
            else ""
            if value is None
            else json.dumps(value, indent=2, ensure_ascii=False)
        )
    elif spec.kind == "enum" or listed is not None:
        form_field.widget = "select"
        choices = listed if listed is not None else _named(spec, path, label)
        form_field.choices = _with_current(choices, [value])
        form_field.value = _text(value)
    else:
        form_field.widget = {"integer": "integer", "number": "number", "decimal": "number"}.get(
            spec.kind, "text"
        )
        max_length = schema.get("maxLength")
        if spec.kind == "string" and (
            schema.get("x-widget") == "textarea"
            or (isinstance(max_length, int) and max_length > TEXTAREA_MIN_LENGTH)
        ):
            form_field.widget = "textarea"
        form_field.value = (
            _number_text(value) if form_field.widget in ("integer", "number") else _text(value)
        )
    return form_field


def _number_text(value: Any) -> str:
    """A number with the decimal sign of the user's language ("1,20" in German); what the
    user typed and could not be read is shown as typed."""
    text = _text(value)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return text
    try:
        Decimal(text)
    except InvalidOperation:
        return text
    return text.replace(".", get_decimal_symbol(get_language()))


def _with_current(choices: Choices, current: Sequence[Any]) -> Choices:
    """The choices, plus a stored value that is no longer among them (so it is not lost)."""
    known = {value for value, _label in choices}
    extra = [(_text(v), _text(v)) for v in current if v not in (None, "") and _text(v) not in known]
    return [*choices, *extra]


def _all_fields(fields: Iterable[FormField]) -> Iterable[FormField]:
    for form_field in fields:
        yield form_field
        yield from _all_fields(form_field.children)


def _place_problems(
    form: SettingsForm, problems: Iterable[tuple[str, str]], label: Label | None = None
) -> None:
    """Each problem at the deepest field its location starts with, else on the form; in the
    user's language (``validation_text``)."""
    by_path = {form_field.path: form_field for form_field in _all_fields(form.fields)}
    translate = (lambda text, context: label(text, context) or text) if label else None
    for location, raw in problems:
        message = validation_text(raw, translate)
        target, rest = None, location
        for path in sorted(by_path, key=len, reverse=True):
            if location == path or location.startswith((f"{path}.", f"{path}[")):
                target, rest = by_path[path], location[len(path) :].lstrip(".")
                break
        text = f"{rest}: {message}" if rest and not rest.isdigit() else message
        if target is None:
            form.errors.append(message if location in ("", "(settings)") else text)
        else:
            target.errors.append(text)


# ---------------------------------------------------------------------------------------------
# Reading the submitted form


def all_problems(
    cls: type[Plugin], settings: Mapping[str, Any], problems: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The problems of reading a form (``parse_form``) and those of validating what was
    read, so every field's problem is shown at once; a field that could not be read is
    not reported a second time."""
    try:
        cls.validate_params(settings)
    except SettingsError as exc:
        unread = [location for location, _ in problems]
        return [
            *problems,
            *(
                (location, message)
                for location, message in exc.problems
                if not any(location == bad or location.startswith(f"{bad}.") for bad in unread)
            ),
        ]
    return list(problems)


def submitted_plugin(form: MultiDict[str, str], prefix: str) -> str | None:
    """Whose settings the form's inputs under ``prefix`` hold (from the hidden marker)."""
    return form.get(f"{prefix}.{PLUGIN_MARKER}")


def parse_form(
    schema: Mapping[str, Any], form: MultiDict[str, str], prefix: str
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The submitted settings as a dict for ``validate_params``, and the problems found
    while reading them (JSON that does not parse).

    Empty inputs are left out so that the model's default applies (or "required" is
    reported); an empty optional input is ``None``, and so is an optional nested object
    whose inputs are all empty or still at their defaults.
    """
    spec = root_spec(schema)
    problems: list[tuple[str, str]] = []
    if spec.kind != "object":
        return {}, problems
    return _parse_object(spec, form, prefix, "", problems), problems


_EMPTY = object()


def _parse_object(
    spec: _Spec,
    form: MultiDict[str, str],
    prefix: str,
    base: str,
    problems: list[tuple[str, str]],
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, prop in spec.properties.items():
        value = _parse_value(prop, form, prefix, f"{base}{key}", problems)
        if value is not _EMPTY:
            data[key] = value
        elif prop.nullable:
            data[key] = None
    return data


def _parse_value(
    spec: _Spec, form: MultiDict[str, str], prefix: str, path: str, problems: list
) -> Any:
    name = f"{prefix}.{path}"
    if spec.kind == "object":
        inner = _parse_object(spec, form, prefix, f"{path}.", problems)
        if spec.nullable and all(
            _untouched(prop, inner.get(key)) for key, prop in spec.properties.items()
        ):
            return _EMPTY
        return inner
    if spec.kind == "boolean":
        return form.get(name) in ("true", "on", "1")
    if spec.kind == "lines":
        if spec.options or spec.choices:
            raw_items = form.getlist(name)
        else:
            raw_items = [line.strip() for line in form.get(name, "").splitlines()]
        items = [item for item in raw_items if item]
        return [_scalar(spec.item_kind, item) for item in items]
    raw = form.get(name, "")
    if spec.kind == "json":
        if not raw.strip():
            return _EMPTY
        try:
            return json_text.loads(raw)
        except ValueError as exc:
            text = stored("not valid JSON: {problem}", problem=json_text.problem(exc))
            problems.append((path, ValidationMessage(text.english(), "json_invalid", None, text)))
            return _EMPTY
    raw = raw.strip()
    if raw == "":
        return _EMPTY
    if spec.kind == "enum":
        return _enum_value(spec, raw)
    return _scalar(spec.kind, raw)


def _untouched(spec: _Spec, value: Any) -> bool:
    """An input of an optional sub-form left empty or at the default the form showed it
    with: a select without an empty choice always sends a value, so only a changed input
    says that the user means the object."""
    if value is None or value == "" or value == []:
        return True
    default = spec.schema.get("default", False if spec.kind == "boolean" else None)
    return value == default and isinstance(value, bool) == isinstance(default, bool)


def read_number(raw: str) -> Decimal | None:
    """A number typed in German or English: the last of "," and "." is the decimal sign
    when both appear or when it appears once; a sign repeated ("1.234.567") groups digits."""
    text = raw.strip().replace(" ", "").replace("\u00a0", "").replace("'", "")
    last = max(text.rfind(","), text.rfind("."))
    if last >= 0:
        sign = text[last]
        if text.count(sign) > 1:  # only grouping signs
            text = text.replace(sign, "")
        else:
            text = text[:last].replace(",", "").replace(".", "") + "." + text[last + 1 :]
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _enum_value(spec: _Spec, raw: str) -> Any:
    for value in spec.schema.get("enum") or [spec.schema.get("const")]:
        if _text(value) == raw:
            return value
    return raw


_WHOLE_NUMBER = re.compile(r"^-?[0-9]{1,18}$")
"""A whole number as a choice of a report's id or name is typed: ASCII digits ("²" is a digit
to ``str.isdigit`` but no number to ``int``), few enough for a BIGINT."""


def _scalar(kind: str, raw: str) -> Any:
    """Numbers as the panel's users type them ("12,5", "1.234,50" or "1,234.50"); what
    cannot be read stays as typed, so that pydantic reports it and the form shows it again."""
    if kind in ("integer", "number", "decimal"):
        number = read_number(raw)
        if number is None:
            return raw
        if kind == "integer":
            return int(number) if number == number.to_integral_value() else raw
        return float(number) if kind == "number" else str(number)
    if kind == "string_or_integer" and _WHOLE_NUMBER.match(raw):
        return int(raw)
    return raw
