"""Shared set-up of panel tests: the real app with the installation's plugins, one user per
role, a logged-in test client per role, and the engine's worker to run what the panel
started. Used by the Flask test-client tests and by the browser tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core.config import Settings
from core.db.database import Database
from core.models import Role
from core.plugins import PluginHost, load_plugins
from core.runtime import Runtime
from core.testing import disabled_plugins
from plugins.demo.default_reports import install_default_reports
from webapp import create_app, get_campaign
from webapp.accounts import create_user
from webapp.i18n import item_detail, set_anonymous_language, translate_stored, use_language
from webapp.testing import csrf_token_from, login

PASSWORD = "correct horse battery staple"
ROLE_USERS = {
    Role.VIEWER: "viola",
    Role.REVIEWER: "rita",
    Role.CAMPAIGN_MANAGER: "mia",
    Role.ADMIN: "adam",
}
"""One user per role, all with ``PASSWORD`` (the ``panel`` fixture)."""
ROLES = {
    "viewer": Role.VIEWER,
    "reviewer": Role.REVIEWER,
    "manager": Role.CAMPAIGN_MANAGER,
    "admin": Role.ADMIN,
}
"""Usernames of the users the ``panel_users`` fixture creates, one per role."""


def panel_plugins() -> PluginHost:
    """The built-in plugins and the installed third-party ones (``make install`` installs
    examples/campaign-hello), as an installation loads them, without those named in
    ``CAMPAIGN_DISABLE_PLUGINS`` (``make test`` runs the engine, action and campaign screen
    tests a second time with the process bundle disabled)."""
    host = load_plugins(disabled=disabled_plugins())
    assert not host.errors, host.errors
    return host


def build_panel(settings: Settings, plugins: PluginHost | None = None) -> Flask:
    return create_app(
        settings,
        plugins=plugins or panel_plugins(),
        overrides={"TESTING": True, "CAMPAIGN_LOGIN_LIMITER": "memory"},
    )


def add_role_users(database: Database, language: str = "de") -> None:
    with database.session() as session:
        for role, username in ROLE_USERS.items():
            create_user(session, username, PASSWORD, role=role, language=language)
        install_default_reports(session)


def client_for(app: Flask, role: Role) -> FlaskClient:
    client = app.test_client()
    response = login(client, ROLE_USERS[role], PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def shown_details(app: Flask, language: str, details: list[str]) -> list[str]:
    """Ledger rows' details as the panel's run pages show them in ``language``."""
    with app.test_request_context():
        set_anonymous_language(language)
        return [item_detail(detail) for detail in details]


def detail_in(language: str, detail: str, catalogs: Path) -> str:
    """A plugin's English detail as a run page shows it in ``language``, through the panel's
    catalog and the plugin package's ``catalogs``, without a panel."""
    with Flask(__name__).test_request_context():
        use_language(language)
        return translate_stored(detail, (catalogs,))


def body(response) -> str:
    return response.get_data(as_text=True)


def token(client: FlaskClient, path: str = "/") -> str:
    """A CSRF token of the client's session (every page with a form has one)."""
    return csrf_token_from(body(client.get(path)))


def post(client: FlaskClient, path: str, data: dict | None = None, **kwargs):
    """A form post with the session's CSRF token, not following redirects."""
    return client.post(path, data={"csrf_token": token(client), **(data or {})}, **kwargs)


def field_errors(html: str, name: str | None = None) -> list[str]:
    """The error messages shown under the input named ``name``, or under every field."""
    if name is None:
        return re.findall(r'<ul class="field-errors"[^>]*>\s*<li>(.*?)</li>', html, re.S)
    element = "sf-" + name.replace(".", "-") if "." in name else name
    found = re.search(
        rf'<ul class="field-errors" id="{re.escape(element)}-errors">(.*?)</ul>', html, re.S
    )
    if not found:
        return []
    return [
        re.sub(r"\s+", " ", item).strip()
        for item in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)
    ]


@dataclass
class Panel:
    """The app, its runtime (for running the worker) and a client per role."""

    app: Flask
    runtime: Runtime
    clients: dict[Role, FlaskClient] = field(default_factory=dict)

    def client(self, role: Role = Role.CAMPAIGN_MANAGER) -> FlaskClient:
        if role not in self.clients:
            self.clients[role] = client_for(self.app, role)
        return self.clients[role]

    def work(self) -> None:
        """Run a real forking RQ worker until the queues are empty."""
        from core.jobs.worker import build_worker

        build_worker(self.runtime).work(burst=True)


def open_panel(settings: Settings, plugins: PluginHost | None = None) -> Iterator[Panel]:
    """A panel on the test's database and Redis with users for every role."""
    from core.jobs.functions import install_runtime

    plugins = plugins or panel_plugins()
    app = build_panel(settings, plugins)
    web = get_campaign(app)
    add_role_users(web.database)
    runtime = Runtime.start(settings, plugins)
    install_runtime(runtime)
    try:
        yield Panel(app, runtime)
    finally:
        runtime.close()
        web.database.dispose()


def input_value(html: str, name: str) -> str | None:
    """The value of the text input named ``name`` (None if the page has none)."""
    for tag in re.findall(r"<input\b[^>]*>", html):
        if f'name="{name}"' in tag:
            found = re.search(r'value="([^"]*)"', tag)
            return found.group(1) if found else ""
    return None


@dataclass
class PageForm:
    """A form of a page: where and how it posts, its controls as a browser submits them
    (name, value, kind: the input's type, "select" or "textarea"), its named buttons and
    its file inputs."""

    action: str
    method: str
    enctype: str
    controls: list[tuple[str, str, str]] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def data(self) -> dict[str, str | list[str]]:
        """What a browser submits, untouched (a name sent more than once maps to the list
        of its values)."""
        data: dict[str, str | list[str]] = {}
        for name, value, _kind in self.controls:
            if name in data:
                previous = data[name]
                data[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                data[name] = value
        return data


class _FormReader(HTMLParser):
    """Each form's controls as a browser submits them: inputs with their value (checkboxes
    only when ticked), a select's selected option (else its first), a text area's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[PageForm] = []
        self.elsewhere: list[tuple[PageForm, str, str, str]] = []
        """Buttons posting their form elsewhere: form, ``formaction``, name and value."""
        self._ids: dict[str, PageForm] = {}
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self._textarea: list[str] | None = None
        self._textarea_name = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        name = found.get("name", "")
        if tag == "form":
            method, enctype = found.get("method", "get").lower(), found.get("enctype", "")
            self.forms.append(PageForm(found.get("action", ""), method, enctype))
            if found.get("id"):
                self._ids[found["id"]] = self.forms[-1]
            return
        if not self.forms:
            return
        form = self._ids.get(found.get("form", ""), self.forms[-1])
        kind = found.get("type", "submit" if tag == "button" else "text").lower()
        if tag in ("button", "input") and kind == "submit" and "formaction" in found:
            self.elsewhere.append((form, found["formaction"], name, found.get("value", "")))
        elif tag == "button" and name:
            form.buttons.append((name, found.get("value", "")))
        elif tag == "input" and name:
            if kind in ("submit", "button"):
                if kind == "submit":
                    form.buttons.append((name, found.get("value", "")))
                return
            if kind == "file":
                form.files.append(name)
                return
            if kind in ("checkbox", "radio") and "checked" not in found:
                return
            value = found.get("value", "on" if kind == "checkbox" else "")
            form.controls.append((name, value, kind))
        elif tag == "select" and name:
            self._select = (name, [])
        elif tag == "option" and self._select is not None:
            self._select[1].append((found.get("value", ""), "selected" in found))
        elif tag == "textarea" and name:
            self._textarea, self._textarea_name = [], name

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            name, options = self._select
            chosen = [value for value, selected in options if selected] or [
                value for value, _selected in options[:1]
            ]
            self.forms[-1].controls.extend((name, value, "select") for value in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._textarea).lstrip("\n")
            self.forms[-1].controls.append((self._textarea_name, text, "textarea"))
            self._textarea = None


def page_forms(html: str) -> list[PageForm]:
    """Every form of the page, in order, then one per button posting its form elsewhere
    (``formaction``: the query editor's export), with that button."""
    reader = _FormReader()
    reader.feed(html)
    return reader.forms + [
        PageForm(
            action,
            form.method,
            form.enctype,
            list(form.controls),
            [(name, value)] if name else [],
            list(form.files),
        )
        for form, action, name, value in reader.elsewhere
    ]


def browser_form(html: str, containing: str) -> dict[str, str | list[str]]:
    """What a browser submits, untouched, for the page's form that has a control named
    ``containing`` (a name sent more than once maps to the list of its values)."""
    for form in page_forms(html):
        if any(name == containing for name, _value, _kind in form.controls):
            return form.data()
    raise AssertionError(f"no form with a control named {containing!r}")


def load_demo_world(panel) -> tuple[int, int]:
    """The demo data (`campaign demo`, 40 contacts) after a dry run and a confirmed real run
    of the demo campaign, with a reply in the inbound mailbox, approvals asked of every role
    and a recurring campaign template; the demo campaign's id and its run's."""
    from core.clock import utcnow
    from core.models import Campaign, Run
    from plugins.demo import install_demo
    from plugins.workflows.inbound_mail.mailboxes import configured_mailbox

    with panel.runtime.database.session() as session:
        install_demo(session, panel.runtime.plugins, utcnow(), contacts=40)
        session.flush()
        campaign_id = session.scalar(select(Campaign.id).order_by(Campaign.id).limit(1))
    client = panel.client()
    post(client, f"/campaigns/{campaign_id}/start", {"mode": "dry_run"})
    panel.work()
    post(client, f"/campaigns/{campaign_id}/start", {"mode": "start"})
    panel.work()
    with panel.runtime.database.session() as session:
        run_id = session.scalar(select(Run.id).order_by(Run.id.desc()).limit(1))
    base = f"/campaigns/{campaign_id}/runs/{run_id}"
    count = re.search(r'name="count" value="(\d+)"', body(client.get(base)))
    if count:
        post(client, f"{base}/confirm", {"count": count.group(1)})
        panel.work()
    inbox = configured_mailbox(panel.runtime.settings.data_dir).path / "new"  # for inboundMail
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "1.reply").write_bytes(
        b"From: erika@example.org\r\nSubject: Re: Neuigkeiten\r\n\r\nNeuigkeiten\r\n"
    )
    ask_for_approvals(panel)
    plan_templates(panel, campaign_id, run_id)
    return campaign_id, run_id


def ask_for_approvals(panel) -> None:
    """Notifications for every user the walk logs in as, written by the bundle's services:
    a content approval asked of every role, rejected with a comment, and a reminder of a
    second one."""
    from core.models import User
    from plugins.processes.approvals import Reviewers, configure, record_reminder, reject, submit
    from plugins.processes.models import ApprovalMode, ApprovalStep, Delivery

    now = panel.runtime.clock.now()
    with panel.runtime.database.session() as session:
        users = {user.username: user for user in session.scalars(select(User))}
        first, second = session.scalars(select(Delivery).order_by(Delivery.id).limit(2))
        everyone = Reviewers.of(roles=[Role.VIEWER])
        for delivery in (first, second):
            configure(session, delivery, ApprovalStep.CONTENT, ApprovalMode.MANUAL, now, everyone)
        asked = submit(session, first, ApprovalStep.CONTENT, now, by=users["adam"])
        reject(session, asked.id, users["mia"], now, "Bitte den Betreff kürzen")
        record_reminder(session, submit(session, second, ApprovalStep.CONTENT, now), now)


def plan_templates(panel, campaign_id: int, run_id: int) -> None:
    """A recurring template of the demo campaign with a schedule line in every state: the
    started one with the demo's run, the planned one waiting for its approval and an
    operator; its next date lies beyond the horizon, so operationMgt adds no line and starts
    nothing."""
    from datetime import timedelta

    from plugins.processes.models import (
        CampaignTemplate,
        Frequency,
        OccurrenceState,
        TemplateKind,
        TemplateOccurrence,
    )

    now = panel.runtime.clock.now()
    with panel.runtime.database.session() as session:
        template = CampaignTemplate(
            name="Newsletter",
            kind=TemplateKind.RECURRING,
            campaign_id=campaign_id,
            frequency=Frequency.WEEKLY,
            every=2,
            first_at=now - timedelta(weeks=6),
            until=now + timedelta(weeks=52),
            to_be_approved=True,
            to_be_started=False,
        )
        session.add(template)
        session.flush()
        states = (
            OccurrenceState.STARTED,
            OccurrenceState.SKIPPED,
            OccurrenceState.CANCELLED,
            OccurrenceState.PLANNED,
        )
        for number, state in enumerate(states, start=1):
            line = TemplateOccurrence.for_template(
                template, number, now + timedelta(weeks=2 * number - 8)
            )
            line.state = state
            if state is OccurrenceState.STARTED:
                line.started_at, line.run_id = line.planned_at, run_id
            session.add(line)
