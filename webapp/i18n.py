"""The panel's texts through gettext catalogs: German (the default) and English.

The panel's own texts live in ``webapp/translations/<language>/LC_MESSAGES/messages.po``
under symbolic message ids (``login.title``), complete in both languages; the titles of the
query entities and fields use their English whitelist titles as ids, with a German
translation. Every plugin package (built-in or third-party) registers a catalog directory of
its own through the ``register_translations`` hook; its message ids are its English texts.

The ``.po`` files are read and compiled in memory when a catalog is first used (Babel's
``read_po`` and ``write_mo``), so a fresh clone runs without a build step and no compiled
file can fall behind its source.

The language is the one chosen on the login page for this session, else the logged-in
user's ``language``; anonymous visitors see German unless they chose English with
``?lang=en``. ``t`` and ``tn`` are available in every template. A message id without a text
is returned as it is, so plugin menu titles (plain strings) pass through ``t`` unchanged.
"""

from __future__ import annotations

import gettext as gettext_module
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any, get_args

from babel import dates, numbers
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from flask import current_app, g, has_app_context, has_request_context, session
from pydantic_core import ErrorType, PydanticKnownError

from core import Plugin
from core.documents.templating import LOCAL_TIME
from core.messages import DetailText, KindMessage, StoredText, duration_in
from core.reach import SkipReason
from core.validation import PYDANTIC_PREFIXES, ValidationMessage
from webapp.context import _LANGUAGE, LANGUAGE_KEY, current_user

DEFAULT_LANGUAGE = "de"
SUPPORTED_LANGUAGES = ("de", "en")
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}
PANEL_CATALOGS = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"
DATE_PATTERNS = {"de": "dd.MM.yyyy", "en": "d MMM yyyy"}
"""Babel date patterns per language; month names come from Babel's locale data."""
DATETIME_SEPARATORS = {"de": " ", "en": ", "}
CHOSEN_KEY = "lang_chosen"
"""Session flag: the language was chosen on the login page and holds for the session."""


@cache
def _read(directory: Path, language: str) -> Catalog | None:
    """The ``.po`` file of ``directory`` for ``language`` (None if there is none)."""
    path = Path(directory) / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return None
    with path.open("rb") as source:
        return read_po(source, locale=language)


@cache
def load_catalog(directory: Path, language: str) -> gettext_module.NullTranslations:
    """The compiled catalog of ``directory`` for ``language`` (empty if there is none)."""
    catalog = _read(Path(directory), language)
    if catalog is None:
        return gettext_module.NullTranslations()
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@cache
def plural_ids(directory: Path, language: str) -> dict[str, str]:
    """The English plural (``msgid_plural``) of each plural entry of ``directory``'s catalog
    for ``language``, by its singular: a compiled catalog keeps only the singular."""
    catalog = _read(Path(directory), language)
    entries = () if catalog is None else catalog
    return {entry.id[0]: entry.id[1] for entry in entries if entry.pluralizable}


@cache
def catalog_ids(directory: Path, language: str) -> frozenset[str]:
    """The message ids with a translation in ``directory``'s catalog for ``language``."""
    return frozenset(key for key in _messages(directory, language) if isinstance(key, str))


@cache
def _messages(directory: Path, language: str) -> dict[Any, str]:
    """The translations of ``directory``'s catalog for ``language`` by message id (with
    ``context\x04`` before it, or ``(id, n)`` for a plural form)."""
    return getattr(load_catalog(Path(directory), language), "_catalog", {})


Directories = tuple[str, ...]
"""Catalog directories by their paths' text: the key of the caches that ``find`` and a
stored text's translation consult, hundreds of times on a page (paths hash and compare far
slower than text)."""


def _keys(directories: Iterable[Path | str]) -> Directories:
    return tuple(map(str, directories))


@cache
def _merged(directories: Directories, language: str) -> dict[Any, str]:
    """The translations of all ``directories`` in one, the first directory's winning."""
    merged: dict[Any, str] = {}
    for directory in reversed(directories):
        merged.update(_messages(Path(directory), language))
    return merged


def find(directories: Iterable[Path], language: str, message: str, context: str = "") -> str | None:
    """``message`` translated by the first of ``directories`` that knows it, else None."""
    key = f"{context}\x04{message}" if context else message
    return _merged(_keys(directories), language).get(key)


def find_plural(directories: Iterable[Path], language: str, message: str, count: int) -> str | None:
    """The plural form of ``message`` for ``count`` from the first catalog that has it."""
    for directory in directories:
        translations = load_catalog(Path(directory), language)
        if (message, 0) in _messages(directory, language):
            return translations.ngettext(message, message, count)
    return None


def date_in(value: date | datetime, language: str) -> str:
    """A date (a time's local date) as ``language`` writes it: 04.03.2026, 4 Mar 2026."""
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_TIME).date() if value.tzinfo else value.date()
    return dates.format_date(value, DATE_PATTERNS[language], locale=language)


def datetime_in(value: datetime, language: str) -> str:
    """A time in the installation's zone as ``language`` writes it: 04.03.2026 09:00."""
    local = value.astimezone(LOCAL_TIME) if value.tzinfo else value
    return f"{date_in(local, language)}{DATETIME_SEPARATORS[language]}{local:%H:%M}"


def normalize_language(value: object) -> str | None:
    """Turn "en", "en-GB" or "EN_us" into "en"; None for anything not supported."""
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return code if code in SUPPORTED_LANGUAGES else None


def get_language() -> str:
    """The language of this request: the one chosen for the session, else the user's."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    language = g.get(_LANGUAGE)
    if language is None:
        user = current_user()
        chosen = session.get(LANGUAGE_KEY)
        if user is not None and not session.get(CHOSEN_KEY):
            chosen = user.language
        language = normalize_language(chosen) or DEFAULT_LANGUAGE
        setattr(g, _LANGUAGE, language)
    return language


def set_anonymous_language(value: object, chosen: bool = False) -> None:
    """Remember a language for a visitor who is not logged in (ignored if unsupported);
    ``chosen`` marks a choice on the login page, which holds for the session after login."""
    language = normalize_language(value)
    if language is not None:
        session[LANGUAGE_KEY] = language
        session[CHOSEN_KEY] = chosen
        setattr(g, _LANGUAGE, language)


def use_language(value: object) -> None:
    """Speak ``value`` (if supported) for this request only, without touching the session:
    a public page in a recipient's language."""
    language = normalize_language(value)
    if language is not None:
        setattr(g, _LANGUAGE, language)


def chosen_language() -> str | None:
    """The language chosen on the login page, to carry into the session that login starts."""
    return session.get(LANGUAGE_KEY) if session.get(CHOSEN_KEY) else None


def keep_chosen_language(language: str | None) -> None:
    """Hold a login-page choice for the new session (after ``login_user`` cleared it)."""
    if language is not None:
        set_anonymous_language(language, chosen=True)


def forget_language() -> None:
    """Work out the request's language again from the user, e.g. after a change on the
    profile page, which replaces a choice made on the login page."""
    if has_request_context():
        session.pop(CHOSEN_KEY, None)
        session.pop(LANGUAGE_KEY, None)
        g.pop(_LANGUAGE, None)


def _panel_directories() -> tuple[Path, ...]:
    """The panel's catalog, then every loaded plugin's: a plugin's screens (the campaign
    processes' among them) name their texts with ``t`` under symbolic ids of their own."""
    return (PANEL_CATALOGS, *all_plugin_catalogs())


def known(key: str) -> bool:
    """The panel's or a loaded plugin's catalog has a text for ``key`` (for ids built from
    data)."""
    return any(key in catalog_ids(path, DEFAULT_LANGUAGE) for path in _panel_directories())


def known_ids(prefix: str) -> list[str]:
    """The ids starting with ``prefix`` that the panel's or a loaded plugin's catalog has, in
    order (for codes a catalog names, offered to choose from)."""
    ids = (catalog_ids(path, DEFAULT_LANGUAGE) for path in _panel_directories())
    return sorted({key for found in ids for key in found if key.startswith(prefix)})


def t(key: str, /, **params: object) -> str:
    """The text for ``key`` in the request's language, with ``{name}`` fields filled in."""
    text = find(_panel_directories(), get_language(), key)
    if text is None:
        text = key
    return text.format(**params) if params else text


COUNTED_KINDS = {"too_short": "min_length", "too_long": "max_length"}
"""pydantic's kinds whose message counts (list entries), by the field of the count: their
catalog entries are plural ones, said in the form for the count."""


def validation_text(message: str, translate: Callable[[str, str], str] | None = None) -> str:
    """A validation message in the user's language: pydantic's own messages by their kind
    (``validation.greater_than_equal``: "Mindestens {ge}."), a kind without a
    message of its own as a generic one (``validation.other``, whose English keeps pydantic's
    words), a validator's explained error as it explains itself, a validator's message
    through ``translate`` (the plugin's ``plugin_translator``) where given; never with
    pydantic's "Value error, " prefix. A message without a kind is shown as it is."""
    text = str(message)
    for prefix in PYDANTIC_PREFIXES:
        text = text.removeprefix(prefix)
    if not isinstance(message, ValidationMessage) or not message.kind:
        return text
    if message.explained is not None:
        return stored_text(message.explained)
    if message.own:
        return translate(text, "") if translate is not None else text
    return _kind_text(message, get_language(), _keys(_panel_directories()))


def _kind_text(message: KindMessage, language: str, directories: Directories) -> str:
    """pydantic's message by its kind in ``language``, its numbers without grouping and its
    choices joined with the language's "or": the same for a settings form's problem and a
    stored one."""
    text = str(message)
    key = f"validation.{message.kind}"
    count = message.context.get(COUNTED_KINDS.get(message.kind, ""))
    counted = isinstance(count, int) and find_plural(map(Path, directories), language, key, count)
    found = counted or find(directories, language, key)
    if found is None:
        other = find(directories, language, "validation.other")
        return other.format(message=text) if other is not None else text
    word_or = find(directories, language, "validation.or") or "or"
    context = {
        key: numbers.format_decimal(value, locale=language, group_separator=False)
        if isinstance(value, int | float | Decimal)
        else value.replace("' or '", f"' {word_or} '")
        for key, value in message.context.items()
    }
    try:
        return found.format(**context)
    except (KeyError, IndexError, ValueError):  # a context pydantic did not give this time
        return text


def tn(key: str, count: int, /, **params: object) -> str:
    """The plural form of ``key`` for ``count`` (``ngettext``), ``{count}`` filled in with
    the count as Babel writes numbers in the request's language."""
    language = get_language()
    text = find_plural(_panel_directories(), language, key, count) or key
    return text.format(count=numbers.format_decimal(count, locale=language), **params)


def _provider(cls: type[Plugin]) -> str | None:
    """The name of the plugin that registered ``cls`` in this app (None outside one)."""
    if not has_app_context():
        return None
    campaign = current_app.extensions.get("campaign")
    if campaign is None or cls.kind not in campaign.plugins.registries:
        return None
    registry = campaign.plugins.registries[cls.kind]
    return registry.provided_by(cls.name) if cls.name in registry else None


def plugin_catalogs(plugin: str | None) -> tuple[Path, ...]:
    """The catalog directories the plugin named ``plugin`` registered."""
    if plugin is None or not has_app_context():
        return ()
    campaign = current_app.extensions.get("campaign")
    return tuple(campaign.plugins.translations.get(plugin, ())) if campaign else ()


def plugin_translator(cls: type[Plugin]) -> Callable[[str, str], str]:
    """Translates ``cls``'s English texts through its plugin's catalogs: an entry with the
    class's name as context (``msgctxt``) first, then one without; untranslated text as is."""
    directories = plugin_catalogs(_provider(cls))

    def translate(message: str, context: str = "") -> str:
        if not message or not directories:
            return message
        language = get_language()
        own = f"{cls.name}|{context}" if context else cls.name
        for candidate in (own, context):
            text = find(directories, language, message, candidate)
            if text is not None:
                return text
        return message

    return translate


def plugin_text(cls: type[Plugin], what: str) -> str:
    """A plugin's ``title`` or ``description`` in the user's language."""
    return plugin_translator(cls)(getattr(cls, what) or "")


def workflow_title(name: str) -> str:
    """A workflow's title in the user's language; its name if no such workflow is loaded."""
    workflows = current_app.extensions["campaign"].plugins.workflows
    return plugin_text(workflows.get(name), "title") if name in workflows else name


FIELD = re.compile(r"\{(\w+)\}")
NUMBERED = re.compile(r"\{\d+\}")
HOLE = "\x00"
VALUE_KINDS = (re.compile(r"'[^']*'|\d+"), re.compile(r"'[^']*'"), re.compile(r"\d+"))
"""Where a stored text may hold a field's value: between single quotes or as a number; a
text is tried with both, then with quoted values only, then with numbers only."""
SEPARATORS = ("; ", ", ")
EXCEPTION_NAME = re.compile(r"([a-z_][a-z0-9_]*\.)*[A-Z][A-Za-z0-9]*(Error|Exception)")
"""An exception's class name, as a traceback's last line writes it: with its module unless
it is a built-in (``FileNotFoundError``, ``plugins.x.mailboxes.MailboxError``)."""
SETTING_NAME = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z0-9_]+|\[\d+\])*")
"""A plugin setting's name before its problem, as ``SettingsError`` writes it (``url``,
``gateway_settings.url``, ``filters[0].settings.field``)."""
TARGET_WHERE = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*) \((.+)\)")
"""An upload target by its name and where it delivers, as the upload wrapper names it
(``"folder (/srv/out)"``)."""
AMOUNT = re.compile(r"(-?\d+)\.(\d+)( [A-Z]{3})?")
"""A decimal amount, perhaps with its currency code (``"2.53 EUR"``), as the platform writes it."""
STORED_DATE = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})")
"""A date as the templates' ``format_date`` writes it (``"booking date: 01.04.2026"``)."""


def _stored_part(directories: Directories, language: str, text: str) -> str | None:
    """One part of a stored text: an exact catalog entry, an amount or a date in the locale's
    format, or a text written from an id with fields (``_filled``)."""
    exact = find(directories, language, text)
    if exact is not None:
        return exact
    if text in _ids(directories):  # an English id the language's catalog leaves as it is
        return text
    day = STORED_DATE.fullmatch(text)
    if day is not None:
        try:
            return date_in(date(*map(int, reversed(day.groups()))), language)
        except ValueError:  # not a day of the calendar: a code that looks like one
            return text
    amount = AMOUNT.fullmatch(text)
    if amount is not None:
        whole, places, currency = amount.groups()
        pattern = f"#,##0.{'0' * len(places)}"
        shown = numbers.format_decimal(Decimal(f"{whole}.{places}"), pattern, locale=language)
        return shown + (currency or "")
    kind = _validation_kinds().get(text)
    if kind is not None:
        return _kind_text(KindMessage(text, kind), language, directories)
    return _filled(directories, language, text)


@cache
def _validation_kinds() -> dict[str, str]:
    """pydantic's messages without values (``"Field required"``) by their kind, to say one
    inside a stored English text (a plugin's settings refused at sending time) by its kind."""
    kinds: dict[str, str] = {}
    for kind in get_args(ErrorType):
        try:
            kinds.setdefault(PydanticKnownError(kind).message_template, kind)
        except TypeError:  # a message with values, as pydantic words it case by case
            continue
    return kinds


@cache
def _ids(directories: Directories) -> frozenset[str]:
    """Every message id of the catalogs, in any language."""
    return frozenset().union(
        *(
            catalog_ids(Path(path), language)
            for path in directories
            for language in SUPPORTED_LANGUAGES
        )
    )


@cache
def _plurals(directories: Directories) -> dict[str, str]:
    """The English plural of every plural entry of the catalogs, by its singular."""
    return {
        singular: plural
        for directory in reversed(directories)
        for language in SUPPORTED_LANGUAGES
        for singular, plural in plural_ids(Path(directory), language).items()
    }


@cache
def _shapes(directories: Directories) -> dict[str, tuple[str, str]]:
    """The catalogs' message ids with fields, by their text with each field a hole; the
    first directory's id wins, as in ``find``. An English id needs no English entry. In an
    id with numbered fields (``{0}``) only those are fields, its translation a format string.
    Each shape leads to the id written in it and the entry's id: a plural entry's singular and
    plural (``"{0} page"``, ``"{0} pages"``) both to its singular."""
    shapes: dict[str, tuple[str, str]] = {}
    for directory in reversed(directories):
        ids = (catalog_ids(Path(directory), language) for language in SUPPORTED_LANGUAGES)
        plurals = {
            singular: plural
            for language in SUPPORTED_LANGUAGES
            for singular, plural in plural_ids(Path(directory), language).items()
        }
        forms = ((message, message) for message in frozenset().union(*ids))
        counted = (
            (form, singular) for singular, plural in plurals.items() for form in (singular, plural)
        )
        for form, message in sorted({*forms, *counted}):
            if "\x04" in form:
                continue
            if NUMBERED.search(form):
                shapes[NUMBERED.sub(HOLE, form)] = form, message
            elif "{" in form and "{{" not in form:
                shapes[FIELD.sub(HOLE, form)] = form, message
    return shapes


def _filled(directories: Directories, language: str, text: str) -> str | None:
    """A text written from a message id with fields (``"unknown placeholder '{name}'"``,
    ``"{0} pages"``), its values between quotes or numbers: the id's translation with the
    same values in its fields; a plural entry's in the form for its count (the value of its
    ``{0}`` or ``{count}``)."""
    shapes = _shapes(directories)
    for kind in VALUE_KINDS:
        shape, values = _holed(kind, text)
        found = shapes.get(shape) if values else None
        if found is None:
            continue
        written, message = found
        if NUMBERED.search(written):
            return _form(directories, language, message, values[0]).format(*values)
        filled = _named(written, values)
        if filled is None:
            continue
        translation = _form(directories, language, message, filled.get("count"))
        return FIELD.sub(lambda match, by=filled: by.get(match[1], match[0]), translation)
    return None


def _named(written: str, values: list[str]) -> dict[str, str] | None:
    """The values of the named fields of the id ``written``, in order; None if a field named
    twice was given two values."""
    filled: dict[str, str] = {}
    for name, value in zip(FIELD.findall(written), values, strict=True):
        if filled.setdefault(name, value) != value:
            return None
    return filled


def _form(directories: Directories, language: str, message: str, count: str | None) -> str:
    """``message``'s translation, else ``message``; a plural entry's in the form for
    ``count`` (the English form where the language's catalog has none)."""
    plural = _plurals(directories).get(message)
    if plural is None:
        return find(directories, language, message) or message
    number = int(count) if count is not None and count.isdigit() else 2
    found = find_plural(map(Path, directories), language, message, number)
    return found or (message if number == 1 else plural)


def _holed(kind: re.Pattern[str], text: str) -> tuple[str, list[str]]:
    """``text`` with each value ``kind`` finds a hole (a quoted one keeps its quotes), and the
    values."""
    values: list[str] = []

    def hole(match: re.Match[str]) -> str:
        value = match.group(0)
        quoted = value.startswith("'")
        values.append(value[1:-1] if quoted else value)
        return f"'{HOLE}'" if quoted else HOLE

    return kind.sub(hole, text), values


def _prefixed(directories: Directories, language: str, text: str) -> str | None:
    """``"<prefix>: <rest>"`` whose prefix is a catalog entry (``"cannot print: …"``): the
    prefix translated, the rest as ``_translated`` does (often another library's error); or
    an exception's class name (``"FileNotFoundError: …"``) or a setting's name (``"sender: …"``),
    kept before the rest translated; or whose rest is an amount after a label someone named
    (``"Porto: 85.00"``)."""
    prefix, colon, rest = text.partition(": ")
    if not colon:
        return None
    head = _stored_part(directories, language, prefix)
    if head is None and (EXCEPTION_NAME.fullmatch(prefix) or SETTING_NAME.fullmatch(prefix)):
        head = prefix
    head = head or _upload_target(prefix)
    if head is None:
        named = AMOUNT.fullmatch(rest) and not any(separator in prefix for separator in SEPARATORS)
        return f"{prefix}: {_stored_part(directories, language, rest)}" if named else None
    return f"{head}: {_translated(directories, language, rest)}"


def _upload_target(text: str) -> str | None:
    """``"folder (/srv/out)"`` with a loaded upload target's title for its name."""
    match = TARGET_WHERE.fullmatch(text)
    campaign = current_app.extensions.get("campaign") if has_app_context() else None
    if match is None or campaign is None or match[1] not in campaign.plugins.upload_targets:
        return None
    return f"{plugin_text(campaign.plugins.upload_targets.get(match[1]), 'title')} ({match[2]})"


def _translated(directories: Directories, language: str, text: str) -> str:
    """``text`` as a whole or as ``prefix: rest``, else part by part between ``"; "``, then
    between ``", "`` (which pydantic's messages hold); each step goes on with a shorter text,
    so it ends."""
    whole = _stored_part(directories, language, text) or _prefixed(directories, language, text)
    if whole is not None:
        return whole
    for separator in SEPARATORS:
        if separator in text:
            parts = text.split(separator)
            return separator.join(_translated(directories, language, part) for part in parts)
    return text


def translate_stored(text: str | None, directories: Iterable[Path] = ()) -> str:
    """A text the platform stored in English (a run item's detail, a workflow's summary) in
    the request's language: as a whole, as ``prefix: rest`` with a known prefix, else part by
    part between ``"; "`` and ``", "``, through the panel's catalog and ``directories``; a
    part no catalog knows stays as is."""
    if not text:
        return ""
    return _translated(_keys((*_panel_directories(), *directories)), get_language(), text)


def all_plugin_catalogs() -> tuple[Path, ...]:
    """Every catalog directory a loaded plugin registered."""
    if not has_app_context():
        return ()
    campaign = current_app.extensions.get("campaign")
    if campaign is None:
        return ()
    return tuple(path for paths in campaign.plugins.translations.values() for path in paths)


def item_detail(detail: str | None) -> str:
    """A ledger row's detail as the panel shows it: a skip reason of the reach rule
    (``core.reach.SkipReason``) or a result the engine or an action wrote in English
    (``"3 page(s)"``), in the user's language through the catalogs; any other as it is."""
    if detail and detail in {reason.value for reason in SkipReason}:
        return t(detail)
    return translate_stored(detail, all_plugin_catalogs())


def workflow_summary(name: str, summary: str | None) -> str:
    """A workflow run's stored summary in the user's language, through its plugin's catalog."""
    workflows = current_app.extensions["campaign"].plugins.workflows
    plugin = workflows.provided_by(name) if name in workflows else None
    return translate_stored(summary, plugin_catalogs(plugin))


def run_actor(by: str | None) -> str:
    """Who confirmed a run (``Run.confirmed_by``): a user's name as it is; a workflow's
    ``"<workflow>:<on what>"`` (``"operationMgt:approved delivery 3"``) with what it went
    ahead on in the user's language, through the workflow's catalog."""
    name, colon, what = (by or "").partition(":")
    workflows = current_app.extensions["campaign"].plugins.workflows
    if not colon or name not in workflows:
        return by or ""
    return f"{name}: {translate_stored(what, plugin_catalogs(workflows.provided_by(name)))}"


def _writer_catalogs(
    domain: str | None, catalogs: Mapping[str, Iterable[Path]]
) -> tuple[Path, ...]:
    """The catalogs of the plugin that wrote a stored text (its module or a package above it
    is the plugin), the panel's, then every other plugin's."""
    everything = [path for paths in catalogs.values() for path in paths]
    own = [
        path
        for name, paths in catalogs.items()
        if domain is not None and (domain == name or domain.startswith(f"{name}."))
        for path in paths
    ]
    return (*own, PANEL_CATALOGS, *everything)


def render_stored(
    text: StoredText, language: str | None, catalogs: Mapping[str, Iterable[Path]]
) -> str:
    """``text`` in ``language`` (the default language if unsupported or None) through the
    plugins' ``catalogs`` (``PluginHost.translations``) and the panel's; a text with a plural
    in the form the language uses for its ``count``; numbers, amounts, dates and durations as
    the language writes them. An id no catalog knows is shown in English."""
    language = normalize_language(language) or DEFAULT_LANGUAGE
    directories = _writer_catalogs(text.domain, catalogs)
    template = (
        find(directories, language, text.id)
        if text.plural is None
        else find_plural(directories, language, text.id, text.params["count"])
    )
    values = {
        name: _rendered_param(value, language, catalogs) for name, value in text.params.items()
    }
    try:
        return (template or text.english_form()).format(**values)
    except (KeyError, IndexError, ValueError):  # a translation naming a field the id has not
        return text.english_form().format(**values)


def _rendered_param(value: object, language: str, catalogs: Mapping[str, Iterable[Path]]) -> str:
    if isinstance(value, StoredText):
        return render_stored(value, language, catalogs)
    if isinstance(value, KindMessage):
        everything = (path for paths in catalogs.values() for path in paths)
        return _kind_text(value, language, _keys((PANEL_CATALOGS, *everything)))
    if isinstance(value, DetailText):
        everything = (path for paths in catalogs.values() for path in paths)
        return _translated(_keys((PANEL_CATALOGS, *everything)), language, value)
    if isinstance(value, list):
        return ", ".join(_rendered_param(item, language, catalogs) for item in value)
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int | float | Decimal):
        return numbers.format_decimal(value, locale=language, decimal_quantization=False)
    if isinstance(value, datetime):
        return datetime_in(value, language)
    if isinstance(value, date):
        return date_in(value, language)
    if isinstance(value, timedelta):
        return duration_in(value, language)
    return str(value)


def stored_text(message: StoredText | Mapping[str, object] | None, english: str | None = "") -> str:
    """A stored text for the page in the request's language: a stored column's JSON (a
    notification's subject, an audit summary) or a ``StoredText`` itself (a service's error
    a plugin's screen shows); a row written before texts were stored that way, or a name,
    shows its English text as it is."""
    text = message if isinstance(message, StoredText) else StoredText.from_json(message)
    if text is None:
        return english or ""
    campaign = current_app.extensions.get("campaign") if has_app_context() else None
    catalogs = campaign.plugins.translations if campaign is not None else {}
    return render_stored(text, get_language(), catalogs)


def workflow_log(messages: list[Mapping[str, object]] | None, lines: list[str]) -> list[str]:
    """A workflow pass's log lines in the request's language; a pass recorded before its
    lines were stored as messages shows its English lines."""
    if messages is None:
        return list(lines)
    return [stored_text(message) for message in messages]
