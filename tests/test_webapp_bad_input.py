"""Bad input never gives a 500: every form-posting endpoint of the panel, swept.

The panel is filled with the demo data (``load_demo_world``: a campaign with a confirmed
run and its archive, saved queries, reports, contacts, users and groups, deliveries,
approvals, budgets, plans, providers, stocks, a campaign template) and a few rows the demo
has none of. Then, as the administrator, every rule of ``app.url_map`` that accepts POST
(but those in ``SKIPPED``) is posted to, with its URL arguments filled with the ids of
stored rows:

- an empty form (only the CSRF token), and the same at ids that do not exist (404);
- each form its blueprint's pages render with that address as action, once per payload of
  ``PAYLOADS`` put into every text, number, date and hidden control, once with three
  values in each, once per text control with one payload in it alone (the others as
  rendered), once with every choice (select, radio, checkbox, button) set to a number no
  column holds, and once with a file that is no file of any kind in every file input.

Every answer must be below 500. One test per group of blueprints (``GROUPS``), so a failure
names the endpoint group, and its message names each endpoint, address and payload that
failed.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from html import unescape
from io import BytesIO
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from werkzeug.routing import Rule

from core.models import Role, User

from panel_helpers import (
    ROLE_USERS,
    PageForm,
    body,
    build_panel,
    load_demo_world,
    page_forms,
    token,
)

SKIPPED = {
    "auth.login": "the login form has its own tests (rate limits, lockout)",
    "auth.logout": "ends the session the sweep posts with",
    "static": "no form",
}
"""Endpoints accepting POST that the sweep leaves out, with the reason; the token area
(``/api/``) is left out as a whole: the API's tests send it bad JSON."""

GROUPS = {
    "admin": ("admin", "webhooks"),
    "campaigns": ("campaigns", "archive"),
    "contacts-queries": ("contacts", "queries"),
    "deliveries": ("deliveries", "approvals", "notifications"),
    "plans": ("plans", "budgets", "templates"),
    "providers-stocks": ("providers", "stocks"),
    "reports": ("reports",),
    "account-public-workflows": ("profile", "unsubscribe", "sms_webhooks", "workflows"),
}
"""The blueprints with form-posting endpoints, in one test per group (each on a world of
its own: a group's deletions do not take the rows of another's)."""

PAYLOADS = {
    "10,000 characters": "A" * 10_000,
    "a NUL character": "x\0y",
    "-1": "-1",
    "a number no column holds": "99999999999999999999999",
    "1e309": "1e309",
    "NaN": "NaN",
    "30 February": "2026-02-30",
    "markup": "<script>x</script>",
    "blanks": "  ",
    "a lone emoji": "\U0001f4a9",
}
THREE_VALUES = "a list of 3 values"
CHOICE_KINDS = {"select", "radio", "checkbox"}
NOT_A_FILE = b"\xff\xfe\x00\x01 not a file of any kind \x89PNG%PDF-"
MISSING_ID = 999_999
"""An id no row has (the seeded world has a few hundred rows per table at most)."""


def post_endpoints(app) -> list[Rule]:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if "POST" in (rule.methods or ())
            and rule.endpoint not in SKIPPED
            and not rule.rule.startswith("/api/")
        ),
        key=lambda rule: (_destroys(rule), rule.rule),
    )


def _destroys(rule: Rule) -> bool:
    """Deleting, cancelling and revoking endpoints go last, so the rows the others post to
    are still there."""
    words = ("delete", "remove", "revoke", "cancel", "discard", "reset_password")
    return any(word in rule.endpoint for word in words)


def group_of(rule: Rule) -> str:
    return rule.endpoint.split(".", 1)[0]


def test_every_form_posting_endpoint_is_swept(settings, redis_url):
    """A new blueprint with a form is swept once it is added to ``GROUPS``."""
    app = build_panel(settings)
    blueprints = {group_of(rule) for rule in post_endpoints(app)}
    swept = {blueprint for group in GROUPS.values() for blueprint in group}
    assert blueprints == swept, f"add to GROUPS: {sorted(blueprints - swept)}"


def seed(panel) -> dict[str, object]:
    """The demo world and the rows it has none of; URL argument → value of a stored row
    (``"<blueprint>.<argument>"`` where a blueprint means other rows by the same name)."""
    from datetime import date, timedelta

    from core.models import (
        AddressPattern,
        ApiToken,
        ArchivedDocument,
        Campaign,
        Contact,
        Notification,
        Report,
        Run,
        SavedQuery,
        TextBlock,
    )
    from plugins.processes.models import (
        Approval,
        Budget,
        CampaignTemplate,
        CostCategory,
        CostStructure,
        CostType,
        Delivery,
        Plan,
        Program,
        Provider,
        ProviderService,
        ProviderStep,
        Stock,
        StockLine,
        StockOrder,
        Task,
        TemplateOccurrence,
    )
    from plugins.webhooks.models import Webhook, WebhookAllowedHost

    campaign_id, run_id = load_demo_world(panel)
    now = panel.runtime.clock.now()
    with panel.runtime.database.session() as session:
        users = {user.username: user for user in session.scalars(select(User))}
        line = session.scalar(select(StockLine).order_by(StockLine.id).limit(1))
        session.add_all(
            [
                Webhook(url="https://hooks.example.de/x", secret="s" * 32, events=["run.finished"]),
                WebhookAllowedHost(host="intern.example.de"),
                ApiToken(
                    user_id=users[ROLE_USERS[Role.ADMIN]].id,
                    name="Skript",
                    token_hash="0" * 64,
                    prefix="cmp_0000",
                    role=Role.ADMIN,
                    expires_at=now + timedelta(days=30),
                ),
                StockOrder(stock_line=line, delivery_date=date(2026, 3, 1), quantity=10),
                TextBlock(name="gruss", body="Mit freundlichen Grüßen"),
            ]
        )
        session.flush()

        def first(model):
            return session.scalar(select(model.id).order_by(model.id).limit(1))

        ids: dict[str, object] = {
            "campaign_id": campaign_id,
            "run_id": run_id,
            "user_id": users[ROLE_USERS[Role.VIEWER]].id,
            "token": "kein-gueltiges-token",
            "gateway": "http",
            "name": panel.runtime.plugins.workflows.names()[0],
            "templates.line_id": first(TemplateOccurrence),
        }
        models = {
            "approval_id": Approval,
            "asset_id": None,
            "block_id": TextBlock,
            "budget_id": Budget,
            "category_id": CostCategory,
            "contact_id": Contact,
            "delivery_id": Delivery,
            "host_id": WebhookAllowedHost,
            "line_id": StockLine,
            "notification_id": Notification,
            "order_id": StockOrder,
            "pattern_id": AddressPattern,
            "plan_id": Plan,
            "program_id": Program,
            "provider_id": Provider,
            "report_id": Report,
            "saved_query_id": SavedQuery,
            "service_id": ProviderService,
            "step_id": ProviderStep,
            "stock_id": Stock,
            "structure_id": CostStructure,
            "task_id": Task,
            "template_id": CampaignTemplate,
            "token_id": ApiToken,
            "type_id": CostType,
            "webhook_id": Webhook,
        }
        for argument, model in models.items():
            ids[argument] = (first(model) if model else None) or MISSING_ID
        assert session.scalar(select(ArchivedDocument.id).limit(1)), "no archived document"
        assert session.get(Campaign, campaign_id) and session.get(Run, run_id)
    return ids


def address(panel, rule: Rule, ids: dict[str, object], missing: bool = False) -> str:
    values = {}
    for argument in rule.arguments:
        value = ids.get(f"{group_of(rule)}.{argument}", ids.get(argument, MISSING_ID))
        values[argument] = MISSING_ID if missing and isinstance(value, int) else value
    with panel.app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


class Sweep:
    """Posts as the administrator, logging in again whenever a post ended the session, and
    collects every answer of 500 or more (or exception) with what was posted."""

    def __init__(self, panel) -> None:
        self.panel = panel
        self.failures: list[str] = []
        self.posts = 0
        self._login()

    def _login(self) -> None:
        self.panel.clients.pop(Role.ADMIN, None)
        self.client = self.panel.client(Role.ADMIN)
        self.csrf = token(self.client)

    def post(self, endpoint: str, url: str, label: str, data: dict, files: bool = False) -> None:
        self.posts += 1
        payload = {"csrf_token": self.csrf, **data}
        try:
            response = self.client.post(
                url, data=payload, content_type="multipart/form-data" if files else None
            )
            status = response.status_code
        except Exception as exc:  # the test app re-raises what would be a 500
            where = traceback.extract_tb(exc.__traceback__)[-1]
            self.failures.append(
                f"{endpoint} {url} ({label}): {type(exc).__name__}: {str(exc)[:200]} "
                f"at {where.filename}:{where.lineno}"
            )
            return
        if status >= 500:
            self.failures.append(f"{endpoint} {url} ({label}): {status}")
        if status in (302, 303) and "/login" in response.headers.get("Location", ""):
            self._login()

    def get(self, url: str) -> str | None:
        try:
            response = self.client.get(url)
        except Exception:
            return None
        if response.status_code != 200 or response.mimetype != "text/html":
            return None
        return body(response)


LINK = re.compile(r'href="([^"]+)"')


def rendered_forms(
    sweep: Sweep, panel, group: str, ids: dict[str, object], posted: set[str]
) -> dict[str, PageForm]:
    """The post forms the pages of the group's blueprints render, by the path they post to
    (the largest form where several do), each with its action made absolute. Pages are
    those of the group's GET rules, and the links they hold with a query string to an
    address of ``posted`` no form was found for yet (``/deliveries/new?campaign_id=1``)."""
    pages = [
        address(panel, rule, ids)
        for rule in panel.app.url_map.iter_rules()
        if group_of(rule) in GROUPS[group] and "GET" in (rule.methods or ())
    ]
    seen = set(pages)
    forms: dict[str, PageForm] = {}
    while pages:
        page = pages.pop(0)
        html = sweep.get(page)
        if html is None:
            continue
        for form in page_forms(html):
            if form.method != "post":
                continue
            form.action = form.action or page
            path = urlsplit(form.action).path
            known = forms.get(path)
            if known is None or len(form.controls) > len(known.controls):
                forms[path] = form
        for link in map(unescape, LINK.findall(html)):
            parts = urlsplit(link)
            wanted = parts.query and parts.path in posted and parts.path not in forms
            if wanted and link not in seen:
                seen.add(link)
                pages.append(link)
    return forms


def hostile(form: PageForm, payload: str | None) -> dict[str, object]:
    """The form with ``payload`` in every text control (``None``: three values in each)."""
    data: dict[str, object] = {}
    for name, value, kind in form.controls:
        if kind in CHOICE_KINDS or name == "csrf_token":
            data.setdefault(name, value)
        else:
            data[name] = [value, "-1", "x"] if payload is None else payload
    return data


ONE_FIELD_PAYLOADS = (
    "a number no column holds",
    "1e309",
    "-1",
    "30 February",
    "NaN",
    "10,000 characters",
)
"""What goes into one text control at a time, the others as rendered (a view that checks
its fields one after the other stops at the first): a payload each, in turn."""


def one_field_at_a_time(form: PageForm) -> Iterator[tuple[str, dict[str, object]]]:
    names = [
        name
        for name, _value, kind in form.controls
        if kind not in CHOICE_KINDS and name != "csrf_token"
    ]
    for index, name in enumerate(dict.fromkeys(names)):
        label = ONE_FIELD_PAYLOADS[index % len(ONE_FIELD_PAYLOADS)]
        yield f"{name}: {label}", {**form.data(), name: PAYLOADS[label]}


def choices_replaced(form: PageForm) -> dict[str, object]:
    data: dict[str, object] = {}
    for name, value, kind in form.controls:
        if name != "csrf_token":
            data[name] = PAYLOADS["a number no column holds"] if kind in CHOICE_KINDS else value
    for name, _value in form.buttons:
        data[name] = PAYLOADS["a number no column holds"]
    return data


@pytest.mark.parametrize("group", GROUPS)
def test_bad_input_to_every_form_is_refused_without_a_500(panel, group):
    ids = seed(panel)
    sweep = Sweep(panel)
    rules = [rule for rule in post_endpoints(panel.app) if group_of(rule) in GROUPS[group]]
    assert rules
    posted = {address(panel, rule, ids) for rule in rules}
    forms = rendered_forms(sweep, panel, group, ids, posted)
    for rule in rules:
        url = address(panel, rule, ids)
        if rule.arguments and any(isinstance(ids.get(a), int) for a in rule.arguments):
            sweep.post(rule.endpoint, address(panel, rule, ids, missing=True), "no such row", {})
        form = forms.get(url)
        if form is not None:
            target, button = form.action, dict(form.buttons[:1])
            for label, payload in PAYLOADS.items():
                sweep.post(rule.endpoint, target, label, {**button, **hostile(form, payload)})
            sweep.post(rule.endpoint, target, THREE_VALUES, {**button, **hostile(form, None)})
            sweep.post(rule.endpoint, target, "unknown choices", choices_replaced(form))
            for label, data in one_field_at_a_time(form):
                sweep.post(rule.endpoint, target, label, {**button, **data})
            if form.files:
                files = {name: (BytesIO(NOT_A_FILE), "daten.csv") for name in form.files}
                data = {**button, **form.data(), **files}
                sweep.post(rule.endpoint, target, "not a file", data, files=True)
        sweep.post(rule.endpoint, url, "empty form", {})
    assert not sweep.failures, "\n".join(sweep.failures)
