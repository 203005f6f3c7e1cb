"""Every text a panel page shows went through a translation catalog, in German and English.

A pseudo-locale marks every text that comes out of a catalog (the panel's or a plugin's)
with invisible brackets; the test then renders the panel's pages on the demo data as every
role and reads each text node and user-visible attribute (title, placeholder, aria-label,
alt, button values). What is left once the marked parts are taken out must be data of the
fixtures (a word of some stored value), a number, a date, punctuation, or on the short
list ``PROPER_NAMES``. Pages are found from the app's URL map (routes without arguments)
and from the links and forms of the pages rendered, so new pages are covered as soon as
something links to them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from babel import dates, units
from flask import Flask
from sqlalchemy import Enum, String, Text, func, select

from core.models import Base, Role
from webapp import i18n
from webapp.testing import csrf_token, login

from panel_helpers import PASSWORD, ROLE_USERS, body, load_demo_world, post, shown_details

OPEN, CLOSE = "\ue000", "\ue001"
MARKED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
WORD = re.compile(r"[^\W\d_]{2,}")
VISIBLE_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
BUTTON_TYPES = {"submit", "button", "reset"}
SKIPPED_ELEMENTS = {"script", "style", "textarea", "code"}
"""Content no catalog can translate: code, and what the user typed; so is an element marked
``translate="no"`` (HTML's own flag for names such as a plugin's module path)."""
VOID_ELEMENTS = {
    "area",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}
TEMPLATE_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
"""Placeholders of the report templates (``{{ recipient.city }}``), shown as code."""

PROPER_NAMES = {
    # names of the product, languages and formats, the same in every language
    "Campaign",
    "Deutsch",
    "English",
    "CSV",
    "PDF",
    "SMS",
    "JSON",
    "HTML",
    "CUPS",
    "SFTP",
    "HTTP",
    "HTTPS",
    "URL",
    "ID",
    "Jinja",
    "Cron",
    "cron",
    "Redis",
    "RQ",
    "UTF",
    "XML",
    # units
    "KB",
    "MB",
}

CALENDAR_NAMES = {
    name
    for language in ("de", "en")
    for width in ("abbreviated", "wide")
    for names in (dates.get_month_names, dates.get_day_names)
    for name in names(width, locale=language).values()
}
"""Dates and sending windows are written by Babel with the locale's month and day names,
not by a catalog."""

UNIT_NAMES = {
    word
    for language in ("de", "en")
    for length in ("long", "short")
    for unit in ("duration-day", "duration-hour", "duration-minute", "duration-second")
    for count in (1, 2)
    for word in WORD.findall(units.format_unit(count, unit, length=length, locale=language))
}
"""Durations (a workflow's interval) are written by Babel with the locale's unit names."""

UNCOVERED_ENDPOINTS = {
    # not reached yet: the demo data has no page linking to them
    "approvals.approval",  # an approval waiting for the walking user
    "campaigns.data",  # a campaign with static data
    "deliveries.confirm",  # a delivery waiting for its confirmation
    "providers.edit_type",  # a cost type's edit link
    # no page text: files, JSON polled by scripts, previews of stored documents
    "archive.inline",
    "campaigns.run_status",
    "queries.export_saved",
    "reports.stored_preview",
    "workflows.run_status",
    # no page of its own: a notification e-mail's link, read and sent on to what it is about
    "notifications.open_notification",
}
"""Endpoints with a GET route the walk does not render, each with the reason."""

UNCHECKED_PAGES: dict[str, str] = {}
"""Pages rendered but not checked yet, each with what still reaches them untranslated."""


FIELD = re.compile(r"(\{[^{}]*\})")


@pytest.fixture
def pseudo_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every text a catalog gives is bracketed; a German text with no English entry (the
    query editor's English titles are their own ids, a counted result's English its
    singular or plural id) counts as translated too. A stored
    text (a notification, a log line, an audit summary) is bracketed around its words but
    not its ``{fields}``, so a parameter that is not data or a catalog's text shows."""
    find, find_plural, render_stored = i18n.find, i18n.find_plural, i18n.render_stored
    rendering: list[bool] = []

    def marked_find(directories, language, message, context=""):
        directories = tuple(directories)
        text = find(directories, language, message, context)
        if text is None and find(directories, "de", message, context) is not None:
            text = message
        if text is None:
            return None
        if rendering:
            return "".join(
                part if FIELD.fullmatch(part) else f"{OPEN}{part}{CLOSE}"
                for part in FIELD.split(text)
                if part
            )
        return f"{OPEN}{text}{CLOSE}"

    def marked_render(text, language, catalogs):
        rendering.append(True)
        try:
            return render_stored(text, language, catalogs)
        finally:
            rendering.pop()

    def marked_plural(directories, language, message, count):
        directories = tuple(directories)
        text = find_plural(directories, language, message, count)
        if text is None and find_plural(directories, "de", message, count) is not None:
            plurals = (i18n.plural_ids(Path(path), "de") for path in directories)
            text = message if count == 1 else next(p[message] for p in plurals if message in p)
        if text is None or not rendering:
            return None if text is None else f"{OPEN}{text}{CLOSE}"
        return "".join(
            part if FIELD.fullmatch(part) else f"{OPEN}{part}{CLOSE}"
            for part in FIELD.split(text)
            if part
        )

    monkeypatch.setattr(i18n, "find", marked_find)
    monkeypatch.setattr(i18n, "find_plural", marked_plural)
    monkeypatch.setattr(i18n, "render_stored", marked_render)


@pytest.fixture
def demo_panel(panel) -> Flask:
    """The panel on the demo data (`campaign demo`) after a dry run and a real run of the
    demo campaign and a run of every workflow, so run results, logs and notifications exist."""
    load_demo_world(panel)
    client = panel.client()
    for name in panel.app.extensions["campaign"].plugins.workflows.names():
        post(client, f"/workflows/{name}/run")
    panel.work()
    return panel


SYSTEM_TEXT = {
    "audit_log.action",
    "audit_log.summary",
    "audit_log.target_type",
    "contacts.language",
    "cost_lines.detail",
    "file_deliveries.detail",
    "notifications.body",
    "notifications.email_error",
    "notifications.subject",
    "provider_steps.detail",
    "run_items.detail",
    "runs.error",
    "runs.superseded_reason",
    "users.language",
    "workflow_runs.error",
    "workflow_runs.summary",
}
"""Stored texts the platform writes (results, summaries, logs) and codes: what they say
must reach the page through a catalog, so their words do not count as data."""


ENTERED_JSON = {"service_processes.export_columns"}
"""JSON columns that hold what a user or the demo entered (an extraction file's headers)."""


def fixture_words(database) -> set[str]:
    """Every word of every stored text a user or the demo entered: what the pages may show
    untranslated as data. Choice values (enum columns) and ``SYSTEM_TEXT`` are left out."""
    words: set[str] = set()
    with database.session() as session:
        for table in Base.metadata.sorted_tables:
            columns = [
                c
                for c in table.columns
                if (
                    isinstance(c.type, String | Text)
                    and not isinstance(c.type, Enum)
                    and f"{table.name}.{c.name}" not in SYSTEM_TEXT
                )
                or f"{table.name}.{c.name}" in ENTERED_JSON
            ]
            if not columns:
                continue
            for row in session.execute(select(*columns)):
                for text in (text for value in row for text in _strings(value)):
                    words.update(WORD.findall(text))
    return words


def _strings(value: object) -> list[str]:
    """The strings in a value: itself, or those in its items (a JSON column's lists)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [text for item in value for text in _strings(item)]
    return []


def stored_texts_shown(database) -> dict[str, int]:
    """How many texts stored as messages the pages show: every walking user's notifications,
    workflow log lines, audit summaries."""
    from core.models import AuditEntry, Notification, User, WorkflowRun

    with database.session() as session:
        counts = {
            f"notifications of {name}": session.scalar(
                select(func.count())
                .select_from(Notification)
                .join(User, Notification.user_id == User.id)
                .where(User.username == name, Notification.subject_message.is_not(None))
            )
            for name in ROLE_USERS.values()
        }
        counts["workflow log lines"] = sum(
            len(lines or []) for lines in session.scalars(select(WorkflowRun.log_messages))
        )
        counts["audit summaries"] = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.summary_message.is_not(None))
        )
    return counts


class VisibleText(HTMLParser):
    """The texts of a page a user reads: text nodes and the visible attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[tuple[str, str]] = []
        self.links: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in VOID_ELEMENTS:
            pass
        elif tag in SKIPPED_ELEMENTS or values.get("translate") == "no" or self._skipping:
            self._skipping.append(tag)
        for name in VISIBLE_ATTRIBUTES & values.keys():
            self.texts.append((f"<{tag} {name}>", values[name]))
        if tag == "input" and values.get("type") in BUTTON_TYPES and "value" in values:
            self.texts.append((f"<{tag} value>", values["value"]))
        if tag == "a" and "href" in values:
            self.links.append(values["href"])

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipping and data.strip():
            self.texts.append(("text", data))


def unmarked(text: str) -> str:
    """What is left of ``text`` once every marked part (innermost first) and every template
    placeholder is taken out."""
    text = TEMPLATE_CODE.sub(" ", text)
    while True:
        reduced = MARKED.sub(" ", text)
        if reduced == text:
            return reduced.replace(OPEN, " ").replace(CLOSE, " ")
        text = reduced


def untranslated(text: str, data: set[str]) -> list[str]:
    """The words of ``text`` that came from no catalog and are neither data nor names."""
    return [
        word
        for word in WORD.findall(unmarked(text))
        if word not in data
        and word not in PROPER_NAMES
        and word not in CALENDAR_NAMES
        and word not in UNIT_NAMES
    ]


def start_urls(app: Flask) -> Iterator[str]:
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and not rule.arguments and rule.endpoint != "static":
            yield rule.rule


def stored_object_urls(database) -> list[str]:
    """Pages of stored objects that no link of the demo data leads to."""
    from core.models import Campaign
    from plugins.processes.models import Approval, CostType, Delivery

    with database.session() as session:
        first = {
            model: session.scalar(select(model.id).order_by(model.id).limit(1))
            for model in (Approval, Campaign, CostType, Delivery)
        }
    pages = {
        Approval: "/approvals/{}",
        Campaign: "/campaigns/{}/data",
        CostType: "/providers/types/{}/edit",
        Delivery: "/deliveries/{}/confirm",
    }
    return [url.format(first[model]) for model, url in pages.items() if first[model]]


def walk(
    app: Flask, username: str, limit: int, rendered: set[str], extra: list[str]
) -> Iterator[tuple[str, str]]:
    """(url, html) of the pages reachable for ``username``: the URL map's routes without
    arguments and ``extra``, then the links found on the pages, one page per endpoint and
    argument set."""
    client = app.test_client()
    assert login(client, username, PASSWORD).status_code == 302
    adapter = app.url_map.bind("localhost")
    queue = [*start_urls(app), *extra]
    seen_urls: set[str] = set()
    seen_shapes: set[tuple[str, tuple[str, ...]]] = set()
    while queue and len(seen_urls) < limit:
        url = urldefrag(queue.pop(0)).url
        parts = urlsplit(url)
        if parts.netloc or not parts.path.startswith("/") or url in seen_urls:
            continue
        try:
            endpoint, arguments = adapter.match(parts.path, method="GET")
        except Exception:
            continue
        shape = (endpoint, tuple(sorted(arguments)), parts.query.split("=")[0])
        if endpoint == "static" or endpoint in UNCOVERED_ENDPOINTS or shape in seen_shapes:
            continue
        seen_shapes.add(shape)
        seen_urls.add(url)
        response = client.get(url)
        if response.status_code != 200:
            continue
        rendered.add(endpoint)  # a download or JSON has no page text to check
        if response.mimetype != "text/html" or endpoint in UNCHECKED_PAGES:
            continue
        html = response.get_data(as_text=True)
        yield url, html
        parser = VisibleText()
        parser.feed(html)
        queue.extend(parser.links)


BAD_ROWS = (
    b"Kundennummer;Vorname;Nachname;E-Mail;PLZ;Land;Art\n"
    b"K-1;Ada;Lovelace;not-an-address;1234567;Narnia;martian\n"
    b"K-2;Bob\n"
)
"""A contact import whose rows have a problem in every checked field."""


def posted_pages(panel, language: str) -> Iterator[tuple[str, str]]:
    """Pages the walk cannot reach by links: the login page, the unsubscribe pages of an
    e-mail's link, CSV import problems, the settings form of every action and data source,
    JSON that does not parse in the query editor and in a setting, a grouped query's preview
    and its problems."""
    from core.messaging.unsubscribe import make_token
    from core.models import Contact

    visitor = panel.app.test_client()
    yield "/login", body(visitor.get(f"/login?lang={language}"))
    with panel.runtime.database.session() as session:
        contact_id = session.scalar(select(Contact.id).order_by(Contact.id).limit(1))
    link = f"/u/{make_token(panel.runtime.settings.secret_key, contact_id, None)}?lang={language}"
    yield "/u/<token>", body(visitor.get(link))
    yield "POST /u/<token>", body(visitor.post(link, data={"List-Unsubscribe": "One-Click"}))
    yield "/u/<invalid>", body(visitor.get(f"/u/invalid?lang={language}"))
    client = panel.client()
    response = client.post(
        "/contacts/import",
        data={
            "csrf_token": csrf_token(client, "/contacts/import"),
            "file": (BytesIO(BAD_ROWS), "bad.csv"),
        },
        content_type="multipart/form-data",
    )
    yield "POST /contacts/import (problems)", response.get_data(as_text=True)
    with panel.runtime.database.session() as session:
        from core.models import Campaign

        campaign_id = session.scalar(select(Campaign.id).order_by(Campaign.id).limit(1))
    for action in panel.app.extensions["campaign"].plugins.actions.names():
        form = {"action": action, "act.__plugin": action, "intent": "refresh"}
        response = post(client, f"/campaigns/{campaign_id}/setup", form)
        yield f"POST /campaigns/{campaign_id}/setup ({action} form)", body(response)
    for source in panel.app.extensions["campaign"].plugins.datasources.names():
        form = {"datasource": source, "ds.__plugin": source, "intent": "refresh"}
        response = post(client, f"/campaigns/{campaign_id}/setup", form)
        yield f"POST /campaigns/{campaign_id}/setup ({source} source form)", body(response)
    broken = "[1 2]"  # JSON that does not parse, without words of its own
    yield "POST /queries/new (not JSON)", body(post(client, "/queries/new", {"definition": broken}))
    grouped = {
        "root": "contracts",
        "group_by": ["partner.name", "product.name"],
        "aggregates": [
            {"function": "count"},
            *({"function": name, "field": "amount"} for name in ("sum", "avg", "min", "max")),
        ],
    }
    for name, definition in (
        ("grouped", grouped),
        ("a bad aggregate", grouped | {"aggregates": [{"function": "avg"}]}),
        ("no aggregate", grouped | {"aggregates": []}),
    ):
        response = post(client, "/queries/new", {"definition": json.dumps(definition)})
        yield f"POST /queries/new ({name})", body(response)
    form = {"datasource": "query", "ds.__plugin": "query", "ds.definition": broken}
    response = post(client, f"/campaigns/{campaign_id}/setup", form | {"intent": "save"})
    yield f"POST /campaigns/{campaign_id}/setup (a setting not JSON)", body(response)
    admin = panel.client(Role.ADMIN)
    for name in panel.app.extensions["campaign"].plugins.workflows.names():
        yield f"/workflows/{name} (its passes' logs)", body(admin.get(f"/workflows/{name}"))


def problems_on(html: str, place: str, data: set[str], problems: dict[str, set[str]]) -> None:
    parser = VisibleText()
    parser.feed(html)
    for where, text in parser.texts:
        if untranslated(text, data):
            problems.setdefault(f"{place} {where}", set()).add(unmarked(text).strip())


@pytest.mark.parametrize("language", ["de", "en"])
def test_every_text_on_every_page_comes_from_a_catalog(
    demo_panel, pseudo_locale: None, language: str
):
    from core.models import User

    database = demo_panel.runtime.database
    with database.session() as session:
        for user in session.scalars(select(User)):
            user.language = language
    stored_rows = stored_texts_shown(database)
    assert all(stored_rows.values()), stored_rows
    data = fixture_words(database)
    data |= set(WORD.findall(BAD_ROWS.decode()))  # the uploaded file's own words
    problems: dict[str, set[str]] = {}
    pages = 0
    rendered: set[str] = set()
    extra = stored_object_urls(database)
    for username in ROLE_USERS.values():
        for url, html in walk(demo_panel.app, username, 400, rendered, extra):
            pages += 1
            problems_on(html, url, data, problems)
    for place, html in posted_pages(demo_panel, language):
        problems_on(html, place, data, problems)
    assert pages > 50
    pages_with_html = {
        rule.endpoint
        for rule in demo_panel.app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.endpoint.rpartition(".")[2] != "static"
    }
    public = {"auth.login", "unsubscribe.page"}  # rendered by posted_pages
    api = {  # JSON for API tokens (plugins' operations too), never for a session; tests call them
        rule.endpoint
        for rule in demo_panel.app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
    } - {"api.reference"}
    assert sorted(pages_with_html - rendered - public - api - UNCOVERED_ENDPOINTS) == []
    assert sorted(UNCOVERED_ENDPOINTS & rendered) == []  # covered now: shorten the list
    report = "\n".join(f"{place}: {sorted(texts)}" for place, texts in sorted(problems.items()))
    if problems:
        pytest.fail(f"{len(problems)} places show text from no catalog:\n{report}", False)


def test_every_text_of_every_built_in_plugin_has_a_german_translation(panel_app: Flask, database):
    """What ``pybabel extract`` (method ``campaign_plugin``) finds in a built-in plugin, its
    package's German catalog translates."""
    from core.plugin_texts import plugin_texts

    host = panel_app.extensions["campaign"].plugins
    missing = []
    with panel_app.test_request_context():
        for registry in host.registries.values():
            for name in registry.names():
                cls = registry.get(name)
                directories = i18n.plugin_catalogs(registry.provided_by(name))
                for context, text in plugin_texts(cls):
                    if i18n.find(directories, "de", text, context) is None:
                        missing.append(f"{cls.kind} {name}: {context} {text!r}")
    assert missing == []


def test_every_stored_text_has_a_catalog_entry():
    """Every id a module stores for later (``stored("...")``, ``context.log("...")``) and
    every message a built-in plugin's settings validator raises (looked up as it is) is in
    its package's catalogs, German and (where the package has one) English: the panel's for
    the core and the panel, a plugin package's own for its modules; a text with a plural
    (``stored.plural``) as a plural entry."""

    from core.plugin_texts import stored_texts, validator_texts

    root = Path(__file__).resolve().parent.parent
    sources = {root / "webapp" / "translations": [root / "core", root / "webapp"]}
    for catalogs in sorted((root / "plugins").glob("*/translations")):
        sources[catalogs] = [catalogs.parent]
    missing = []
    for catalogs, packages in sources.items():
        languages = [path.name for path in sorted(catalogs.iterdir()) if path.is_dir()]
        own = validator_texts if catalogs.parent.parent.name == "plugins" else lambda _source: ()
        for path in sorted(file for package in packages for file in package.rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            for line, text in [*stored_texts(source), *own(source)]:
                for language in languages:
                    if _catalog_text(catalogs, language, text) is None:
                        missing.append(f"{path.relative_to(root)}:{line} {language} {text!r}")
    assert missing == []


def test_every_catalog_says_one_in_the_singular_and_any_other_count_in_the_plural():
    """German and English plural forms in every catalog's header, which ``ngettext`` reads."""

    root = Path(__file__).resolve().parent.parent
    catalogs = sorted(
        path
        for folder in ("webapp", "plugins", "examples")
        for path in (root / folder).rglob("translations/*/LC_MESSAGES/messages.po")
    )
    assert len(catalogs) > 10
    wrong = [
        str(path.relative_to(root))
        for path in catalogs
        if '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"' not in path.read_text(encoding="utf-8")
    ]
    assert wrong == []


def _catalog_text(catalogs, language: str, text: str | tuple[str, str]) -> str | None:
    """The entry for a stored text's id, or the plural form for 2 of a singular and plural."""
    if isinstance(text, str):
        return i18n.find((catalogs,), language, text)
    return i18n.find_plural((catalogs,), language, text[0], 2)


@pytest.mark.parametrize(
    ("language", "one", "many"),
    [("de", "1 Kontakt", "12.345 Kontakte"), ("en", "1 contact", "12,345 contacts")],
)
def test_plural_forms_and_numbers_follow_the_language(panel_app: Flask, language, one, many):
    with panel_app.test_request_context():
        i18n.set_anonymous_language(language)
        assert (i18n.tn("contacts.count", 1), i18n.tn("contacts.count", 12345)) == (one, many)


@pytest.mark.parametrize(
    ("language", "one", "many"),
    [
        ("de", "1 Brief aus Lauf #3", "1.200 Briefe aus Lauf #3"),
        ("en", "1 letter from run #3", "1,200 letters from run #3"),
    ],
)
def test_a_stored_text_with_a_plural_reads_in_the_form_of_its_count(
    panel_app: Flask, language, one, many
):
    """A plugin's text with a plural, through its catalogs, in the reader's language."""
    from core.messages import stored_for

    letters = stored_for("plugins.workflows.supplier").plural
    catalogs = panel_app.extensions["campaign"].plugins.translations
    texts = [
        letters("{count} letter from run #{number}", "{count} letters from run #{number}",
                count=count, number="3")
        for count in (1, 1200)
    ]  # fmt: skip
    assert [i18n.render_stored(text, language, catalogs) for text in texts] == [one, many]


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        (
            "de",
            [
                "1 Seite",
                "3 Seiten",
                "run upload: a.csv; Zeitüberschreitung; nach 1 Versuch",
                "run upload: a.csv; Zeitüberschreitung; nach 3 Versuchen",
                "1 Datei gesendet, 3 Dateien gesendet; 1 Problem (siehe Protokoll)",
                "3 Seite(n)",
                "1 Datei(en) gesendet; 3 Problem(e) (siehe Protokoll)",
            ],
        ),
        (
            "en",
            [
                "1 page",
                "3 pages",
                "run upload: a.csv; timed out; after 1 attempt",
                "run upload: a.csv; timed out; after 3 attempts",
                "1 file sent, 3 files sent; 1 problem (see the log)",
                "3 page(s)",
                "1 file(s) sent; 3 problem(s) (see the log)",
            ],
        ),
    ],
)
def test_a_counted_result_reads_in_the_form_of_its_count(panel_app: Flask, language, shown):
    """A run item's detail or a workflow's summary counts in plain English ("1 page", "3
    pages"); the panel picks the reader's form by the number it finds. Rows written with
    "(s)" before read as they did."""
    details = [
        "1 page",
        "3 pages",
        "run upload: a.csv; timed out; after 1 attempt",
        "run upload: a.csv; timed out; after 3 attempts",
        "1 file sent, 3 files sent; 1 problem (see the log)",
        "3 page(s)",
        "1 file(s) sent; 3 problem(s) (see the log)",
    ]
    assert shown_details(panel_app, language, details) == shown


def test_a_catalog_is_read_from_its_po_file_without_a_build_step(tmp_path):
    """A ``.po`` file is the only source: the panel compiles it when first used."""
    catalog = tmp_path / "de" / "LC_MESSAGES" / "messages.po"
    catalog.parent.mkdir(parents=True)
    catalog.write_text('msgid "Hello"\nmsgstr "Hallo"\n', encoding="utf-8")
    assert i18n.find((tmp_path,), "de", "Hello") == "Hallo"
    assert i18n.find((tmp_path,), "en", "Hello") is None


def test_a_stored_text_with_a_known_prefix_is_translated_on_both_sides_of_its_colon(panel_app):
    """A known prefix and what follows it, again and again; an unknown prefix and an unknown
    rest stay as written, the other parts are translated as before."""
    details = [
        "preview: skipped: reach.no_email",
        "preview: Weird: dry run",
        "Unknown: dry run, 3 page(s)",
    ]
    assert shown_details(panel_app, "de", details) == [
        "Vorschau: übersprungen: Keine gültige E-Mail-Adresse",
        "Vorschau: Weird: dry run",
        "Unknown: dry run, 3 Seite(n)",
    ]


def test_a_stored_text_is_translated_with_the_values_it_quotes_or_counts(panel_app):
    """An action writes its result from a message id with fields; the panel finds the id by
    the text's quoted values and numbers and fills its translation with them. A text no id
    has the shape of stays as written; an exception's class name before it too, with its module
    as a failed workflow pass's error line writes it."""
    details = [
        "text body: unknown placeholder 'Anrede'",
        "unknown placeholder 'x': contacts has no such field",
        "2 page(s), 'quoted' but unknown",
        "TemplateError: unknown placeholder 'y'",
        "core.rendering.TemplateError: unknown placeholder 'z'",
    ]
    assert shown_details(panel_app, "de", details) == [
        "Textteil: unbekannter Platzhalter „Anrede“",
        "unbekannter Platzhalter „x“: contacts has no such field",
        "2 Seite(n), 'quoted' but unknown",
        "TemplateError: unbekannter Platzhalter „y“",
        "core.rendering.TemplateError: unbekannter Platzhalter „z“",
    ]


def test_a_plugin_that_is_not_loaded_or_refuses_its_settings_is_named_in_german(panel_app):
    """A run item that failed on a plugin's code name or on its settings: the kind and the
    refusal are translated, pydantic's own message by its kind as a settings form says it,
    the setting's name and the plugin's code names stay as written."""
    details = [
        "SettingsError: invalid settings for action 'sms': sender: the gateway 'silent' "
        "takes no sender",
        "unknown upload_target 'ftp'; available: folder, http, sftp",
        "invalid settings for sms_gateway 'http': url: Field required",
        "invalid settings for sms_gateway 'http': timeout: Input should be a valid number, "
        "unable to parse string as a number; extra: Extra inputs are not permitted",
    ]
    assert shown_details(panel_app, "de", details) == [
        "SettingsError: ungültige Einstellungen der Aktion „sms“: sender: das Gateway „silent“ "
        "nimmt keinen Absender",
        "unbekanntes Upload-Ziel „ftp“; verfügbar: folder, http, sftp",
        "ungültige Einstellungen des SMS-Gateways „http“: url: Bitte ausfüllen.",
        "ungültige Einstellungen des SMS-Gateways „http“: timeout: Bitte eine Zahl angeben.; "
        "extra: Dieses Feld gibt es hier nicht.",
    ]
    assert shown_details(panel_app, "en", details) == [
        *details[:2],
        "invalid settings for sms_gateway 'http': url: Please fill in.",
        "invalid settings for sms_gateway 'http': timeout: Please give a number.; "
        "extra: There is no such field here.",
    ]


def test_an_operating_system_error_after_a_translated_label_reads_in_german(panel_app):
    """Python's English for the errors a mail server, a folder or a gateway most often meets
    is in the catalog with its number; the path it names is quoted as the language quotes."""
    details = [
        "cannot connect to the mail server '127.0.0.1:25': [Errno 111] Connection refused",
        "FileNotFoundError: [Errno 2] No such file or directory: '/srv/out'",
        "[Errno -2] Name or service not known; after 3 attempt(s)",
    ]
    assert shown_details(panel_app, "de", details) == [
        "keine Verbindung zum Mailserver „127.0.0.1:25“: [Errno 111] Verbindungsaufbau abgelehnt",
        "FileNotFoundError: [Errno 2] Datei oder Verzeichnis nicht gefunden: „/srv/out“",
        "[Errno -2] Der Name oder der Dienst ist nicht bekannt; nach 3 Versuch(en)",
    ]
    assert shown_details(panel_app, "en", details) == details
