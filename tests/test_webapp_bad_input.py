"""Bad input never gives a 500: every form-posting endpoint of the panel, swept.

The panel is filled with the demo data (``load_demo_world``: a campaign with a confirmed
run and its archive, saved queries, reports, contacts, users and groups, deliveries,
approvals, budgets, plans, providers, stocks, a campaign template) and a few rows the demo
has none of, some in the states whose pages render a form the demo shows none of (a run
awaiting its confirmation, a delivery waiting for its start, a failed job: ``seed_states``).
Then, as the administrator, every rule of ``app.url_map`` that accepts POST (but those in
``SKIPPED``) is posted to, with its URL arguments filled with the ids of stored rows (an
endpoint's own where its form needs a row in a state of its own):

- an empty form (only the CSRF token), and the same at ids that do not exist (404);
- each form its blueprint's pages (or the answers of ``answered_pages``) render with that
  address as action (every endpoint's but those in ``UNRENDERED``), once per payload of
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
from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry
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

UNRENDERED = {
    "contacts.import_run": "its form, in the answer to an uploaded file, posts to the file's "
    "token: an address of its own each time",
    "sms_webhooks.inbound": "a gateway posts to it; no page has a form for it",
    "sms_webhooks.receipts": "a gateway posts to it; no page has a form for it",
    "workflows.change_settings": "no installed workflow declares settings to render a form of",
}
"""Endpoints whose form the sweep finds on no page of the seeded world, with the reason: it
posts them only the empty form and the missing id. Every other endpoint's form is found."""

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
        UserGroup,
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
            "block_id": TextBlock,
            "budget_id": Budget,
            "category_id": CostCategory,
            "contact_id": Contact,
            "delivery_id": Delivery,
            "document_id": ArchivedDocument,
            "group_id": UserGroup,
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
            ids[argument] = first(model) or MISSING_ID
        assert session.scalar(select(ArchivedDocument.id).limit(1)), "no archived document"
        assert session.get(Campaign, campaign_id) and session.get(Run, run_id)
    ids.update(seed_states(panel, ids))
    return ids


def _copy(row, **changes):
    """A new row of ``row``'s table with its column values, but ``changes``."""
    columns = {c.key: getattr(row, c.key) for c in row.__table__.columns if not c.primary_key}
    return type(row)(**{**columns, **changes})


def seed_states(panel, ids: dict[str, object]) -> dict[str, object]:
    """A failed job, and the rows in the states whose pages render the forms the demo world
    shows none of (a run awaiting its confirmation, a delivery waiting for its start, an
    unclear provider step, a closed campaign, a template line to approve...), by the
    endpoint whose form a page of theirs renders (``"campaigns.confirm.run_id"``)."""
    from sqlalchemy import func

    from core.messaging.unsubscribe import make_token
    from core.models import (
        Campaign,
        CampaignRecord,
        CampaignStatus,
        Contact,
        Notification,
        Report,
        ReportAsset,
        Run,
        RunState,
        SavedQuery,
    )
    from plugins.processes.models import (
        Approval,
        ApprovalState,
        CampaignTemplate,
        Delivery,
        DeliveryChannel,
        DeliveryState,
        OccurrenceState,
        ProviderStep,
        ProviderStepKind,
        ProviderStepStatus,
        ServiceProcess,
        TemplateOccurrence,
    )

    campaign_id, run_id = ids["campaign_id"], ids["run_id"]
    now = panel.runtime.clock.now()
    with Redis.from_url(panel.runtime.redis_url) as connection:
        queue = Queue("default", connection=connection)
        job = queue.create_job("builtins.int", args=("kein Betrag",))
        FailedJobRegistry(queue=queue).add(job, exc_string="ValueError: kein Betrag")
    with panel.runtime.database.session() as session:
        admin = session.scalar(select(User.id).where(User.username == ROLE_USERS[Role.ADMIN]))
        campaign, run = session.get(Campaign, campaign_id), session.get(Run, run_id)
        number = session.scalar(select(func.max(Run.number)).where(Run.campaign_id == campaign_id))
        runs = {
            state: _copy(
                run,
                number=number + offset,
                state=state,
                exclusive=False,  # beside the campaign's own active runs
                done=0,
                failed=1 if state is RunState.CANCELLED else 0,
                skipped=0,
                unclear=0,
                finished_at=now if state is RunState.CANCELLED else None,
                confirmed_by=None,
                confirmed_at=None,
            )
            for offset, state in enumerate(
                (RunState.AWAITING_CONFIRMATION, RunState.CANCELLED, RunState.RUNNING), start=1
            )
        }
        contact = session.scalar(select(Contact).order_by(Contact.id).limit(1))
        saved = session.scalar(select(SavedQuery).order_by(SavedQuery.id).limit(1))
        report = session.scalar(select(Report).order_by(Report.id.desc()).limit(1))
        template = session.scalar(select(CampaignTemplate).order_by(CampaignTemplate.id).limit(1))
        letter, sms = (
            session.scalar(select(Delivery).where(Delivery.channel == channel).limit(1))
            for channel in (DeliveryChannel.DIRECT_MAIL, DeliveryChannel.SMS)
        )
        rows = {
            "closed": _copy(campaign, name="Abgeschlossen", status=CampaignStatus.FINISHED),
            "unused query": _copy(saved, name="Unbenutzt"),
            "unused report": _copy(report, name="Entwurf"),
            "to confirm": _copy(sms, label="SMS zur Bestätigung", state=DeliveryState.EDITING),
            "file sent": _copy(
                letter, label="Brief beim Dienstleister", state=DeliveryState.EDITING
            ),
        }
        session.add_all([*runs.values(), *rows.values()])
        session.add(
            CampaignRecord(campaign_id=campaign_id, entity="contacts", entity_id=contact.id)
        )
        session.flush()
        unstarted = _copy(template, name="Einmalig", campaign_id=rows["closed"].id)
        session.add(unstarted)
        for delivery, states in (
            (rows["to confirm"], ("APPROVED", "PENDING_CONFIRMATION")),
            (rows["file sent"], ("APPROVED", "EXTRACTION_PENDING", "FILE_TO_APPROVE", "FILE_SENT")),
        ):
            for state in states:  # the states a delivery takes on its way, each flushed
                delivery.state = DeliveryState[state]
                session.flush()
        step = ProviderStep(
            key=f"run-{run_id}/upload",
            delivery_id=rows["file sent"].id,
            run_id=run_id,
            kind=ProviderStepKind.UPLOAD,
            status=ProviderStepStatus.UNCLEAR,
        )
        session.add(step)
        process = session.scalar(
            select(ServiceProcess).where(ServiceProcess.service_id == letter.provider_service_id)
        )
        process.result_format = {
            "delimiter": ";",
            "key_column": "Nummer",
            "status_column": "Status",
            "sent_values": ["OK"],
        }
        session.flush()
        planned = session.scalar(
            select(TemplateOccurrence.id).where(TemplateOccurrence.state == OccurrenceState.PLANNED)
        )
        return {
            "campaigns.confirm.run_id": runs[RunState.AWAITING_CONFIRMATION].id,
            "campaigns.discard.run_id": runs[RunState.AWAITING_CONFIRMATION].id,
            "campaigns.resume.run_id": runs[RunState.CANCELLED].id,
            "campaigns.retry.run_id": runs[RunState.CANCELLED].id,
            "campaigns.cancel.run_id": runs[RunState.RUNNING].id,
            "campaigns.delete.campaign_id": rows["closed"].id,  # the demo one has a run going
            "queries.delete.saved_query_id": rows["unused query"].id,
            "reports.delete.report_id": rows["unused report"].id,
            "asset_id": session.scalar(
                select(ReportAsset.id).where(ReportAsset.report_id == ids["report_id"]).limit(1)
            ),
            "approvals.answer.approval_id": session.scalar(
                select(Approval.id).where(Approval.state == ApprovalState.PENDING).limit(1)
            ),
            "notifications.notification_id": session.scalar(
                select(Notification.id).where(Notification.user_id == admin).limit(1)
            ),
            "deliveries.confirm_delivery.delivery_id": rows["to confirm"].id,
            "deliveries.upload_result_file.delivery_id": rows["file sent"].id,
            "deliveries.decide_step.delivery_id": rows["file sent"].id,
            "step_id": step.id,
            "deliveries.new_delivery.campaign_id": campaign_id,
            "plans.reopen.campaign_id": rows["closed"].id,
            "templates.approve_line.line_id": planned,
            "templates.skip_line.line_id": planned,
            "templates.start_line.line_id": planned,
            "templates.delete_template.template_id": unstarted.id,
            "unsubscribe.token": make_token(panel.runtime.settings.secret_key, contact.id, run_id),
        }


def id_of(rule: Rule, argument: str, ids: dict[str, object]) -> object:
    """The row ``argument`` of ``rule`` names: the endpoint's own, its blueprint's, or the
    first of the table (``"campaigns.confirm.run_id"``, ``"templates.line_id"``, ``"run_id"``)."""
    for key in (f"{rule.endpoint}.{argument}", f"{group_of(rule)}.{argument}", argument):
        if key in ids:
            return ids[key]
    return MISSING_ID


def address(
    panel, rule: Rule, ids: dict[str, object], missing: bool = False, query: dict | None = None
) -> str:
    values = dict(query or {})
    for argument in rule.arguments:
        value = id_of(rule, argument, ids)
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
    sweep: Sweep, panel, group: str, ids: dict[str, object], rules: list[Rule]
) -> dict[str, PageForm]:
    """The post forms the pages of the group's blueprints render, by the path they post to
    (the largest form where several do), each with its action made absolute. Pages are
    those of the group's GET rules, again with the rows of a posting rule of ``rules`` that
    has rows of its own (``"campaigns.confirm.run_id"``: the run page of that run), and the
    links they hold with a query string to an address of ``rules`` no form was found for
    yet (``/deliveries/new?campaign_id=1``)."""
    gets = [
        rule
        for rule in panel.app.url_map.iter_rules()
        if group_of(rule) in GROUPS[group] and "GET" in (rule.methods or ())
    ]
    pages = [address(panel, rule, ids) for rule in gets]
    for rule in rules:
        prefix = f"{rule.endpoint}."
        own = {k.removeprefix(prefix): v for k, v in ids.items() if k.startswith(prefix)}
        for get in gets:
            if own and (own.keys() <= get.arguments or get.endpoint == rule.endpoint):
                rows = {**ids, **{f"{get.endpoint}.{a}": value for a, value in own.items()}}
                query = {a: value for a, value in own.items() if a not in get.arguments}
                pages.append(address(panel, get, rows, query=query))
    pages = list(dict.fromkeys(pages))
    posted = {address(panel, rule, ids) for rule in rules}
    seen = set(pages)
    forms: dict[str, PageForm] = {}
    for endpoint, (url, data) in answered_pages(ids).items():
        if endpoint.split(".", 1)[0] in GROUPS[group]:
            answer = sweep.client.post(
                url, data={"csrf_token": sweep.csrf, **data}, content_type="multipart/form-data"
            )
            forms.update(
                (urlsplit(form.action).path, form)
                for form in page_forms(body(answer))
                if form.method == "post"
            )
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


def answered_pages(ids: dict[str, object]) -> dict[str, tuple[str, dict[str, object]]]:
    """The endpoints whose form is in the answer to a post, not on a page: endpoint → where
    to post what (the documents chosen on the archive's list, a file to import)."""
    csv = b"Nummer;Name;E-Mail\n1;Erika Muster;erika@example.org\n"
    return {
        "archive.delete": ("/archive/delete/confirm", {"document": str(ids["document_id"])}),
        "campaigns.confirm_import": (
            f"/campaigns/{ids['campaign_id']}/data/import",
            {"file": (BytesIO(csv), "daten.csv")},
        ),
    }


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
    forms = rendered_forms(sweep, panel, group, ids, rules)
    unrendered = {rule.endpoint for rule in rules if address(panel, rule, ids) not in forms}
    expected = UNRENDERED.keys() & {rule.endpoint for rule in rules}
    assert unrendered == expected, "a form is rendered, or no longer: update UNRENDERED"
    for rule in rules:
        url = address(panel, rule, ids)
        if any(isinstance(id_of(rule, a, ids), int) for a in rule.arguments):
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
