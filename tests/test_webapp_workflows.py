"""The technical workflows page through the Flask test client, on SQLite and PostgreSQL, with
a real Redis and a real worker: state, schedules with their errors next to the input, run
now, the history with logs, and who may do what."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Literal

import pytest
from pydantic import BaseModel, Field
from sqlalchemy import select

from core import Workflow, hookimpl
from core.models import (
    Role,
    User,
    WorkflowRun,
    WorkflowRunStatus,
    WorkflowSchedule,
    WorkflowTrigger,
)

from panel_helpers import body, field_errors, open_panel, panel_plugins, post
from process_panel_helpers import audit_actions


def card(html: str, name: str) -> str:
    start = html.index(f'id="workflow-{name}"')
    return html[start : html.index("</section>", start)]


def test_every_workflow_with_its_state_schedule_and_last_run(panel):
    now = panel.runtime.clock.now()
    with panel.runtime.database.session() as session:
        session.add(
            WorkflowRun(
                workflow="stockMgt",
                trigger=WorkflowTrigger.SCHEDULED,
                status=WorkflowRunStatus.FAILED,
                enqueued_at=now - timedelta(minutes=5),
                finished_at=now,
                error="Traceback ...\nValueError: kaputt",
            )
        )
    html = body(panel.client(Role.VIEWER).get("/workflows/"))
    budget = card(html, "budgetMgt")
    assert "Kostenberechnung" in budget and 'data-state="started">Gestartet' in budget
    assert 'data-field="schedule">stündlich</dd>' in budget
    assert "noch nie" in budget
    stock = card(html, "stockMgt")
    assert "Lager: Bestellungen und Warnungen" in stock
    assert "Fehlgeschlagen" in stock and "ValueError: kaputt" in stock
    assert "Jetzt ausführen" not in html and "Stoppen" not in html  # a viewer only reads
    manager = body(panel.client(Role.CAMPAIGN_MANAGER).get("/workflows/"))
    assert "Jetzt ausführen" in manager and "Stoppen" not in manager
    assert "Zeitplan ändern" in body(panel.client(Role.ADMIN).get("/workflows/"))


def test_stopping_warns_everywhere_and_starting_again_clears_it(panel):
    admin = panel.client(Role.ADMIN)
    assert post(admin, "/workflows/stockMgt/state", {"started": "false"}).status_code == 302
    html = body(admin.get("/workflows/"))
    assert "Gestoppt: Lager: Bestellungen und Warnungen." in html
    assert 'class="card workflow-card is-stopped" id="workflow-stockMgt"' in html
    assert 'id="stopped-workflows"' in body(admin.get("/"))
    assert post(admin, "/workflows/stockMgt/state", {"started": "true"}).status_code == 302
    assert "Gestoppt:" not in body(admin.get("/workflows/"))
    assert audit_actions(panel) == ["workflow.start", "workflow.stop"]


def test_a_new_schedule_is_checked_and_the_problem_shown_next_to_the_input(panel):
    admin = panel.client(Role.ADMIN)
    path = "/workflows/budgetMgt/schedule"
    for expression, zone, field, message in (
        (
            "jede Woche",
            "",
            "expression",
            "'jede Woche' ist kein Zeitplan: erwartet wird ein "
            "Intervall wie „15m“, „2h“, „1h30m“ oder „every 1d“ oder ein Cron-Ausdruck",
        ),
        ("*/5 * * * *", "", "expression", "öfter als das Minimum von 15 Minuten"),
        ("30m", "Europe/Berlin", "timezone", "Eine Zeitzone gilt nur für Cron-Ausdrücke"),
        ("0 6 * * 1-5", "Mars/Olympus", "timezone", "'Mars/Olympus' ist keine bekannte Zeitzone"),
        ("", "", "expression", "Bitte ausfüllen."),
        ("9999999999d", "", "expression", "'9999999999d' ist kein Zeitplan"),  # was a 500
        ("every 3000000d", "", "expression", "'3000000d' ist länger als zehn Jahre"),
    ):
        refused = post(admin, path, {"expression": expression, "timezone": zone})
        assert refused.status_code == 422, expression
        html = card(body(refused), "budgetMgt")
        assert 'class="disclosure workflow-schedule" open' in html
        assert message in unescape(field_errors(html, field)[0]), expression
    saved = post(admin, path, {"expression": "0 6 * * 1-5", "timezone": "Europe/Berlin"})
    assert saved.status_code == 302
    assert "Zeitplan von „Kostenberechnung“: Cron 0 6 * * 1-5 (Europe/Berlin)." in body(
        admin.get("/workflows/")
    )
    with panel.runtime.database.session() as session:
        row = session.scalar(select(WorkflowSchedule).where(WorkflowSchedule.name == "budgetMgt"))
        assert (row.cron, row.timezone, row.changed_by) == ("0 6 * * 1-5", "Europe/Berlin", "adam")
    assert post(admin, path, {"expression": "default"}).status_code == 302
    assert audit_actions(panel) == ["workflow.schedule", "workflow.schedule"]


def test_an_interval_reads_as_words_in_the_readers_language(panel):
    admin = panel.client(Role.ADMIN)

    def shown(expression: str) -> str:
        assert (
            post(admin, "/workflows/budgetMgt/schedule", {"expression": expression}).status_code
            == 302
        )
        found = re.search(
            r'data-field="schedule">([^<]*)</dd>', card(body(admin.get("/workflows/")), "budgetMgt")
        )
        return found.group(1)

    assert shown("1h") == "stündlich"
    assert shown("2h") == "alle 2 Stunden"
    assert shown("90m") == "alle 1 Std. 30 Min."
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "adam")).language = "en"
    assert shown("60m") == "every hour"
    assert shown("45m") == "every 45 minutes"
    assert shown("1h30m") == "every 1 hr 30 min"


def test_run_now_hands_the_run_to_a_worker_and_the_history_shows_it(panel):
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    started = post(manager, "/workflows/stockMgt/run")
    assert started.headers["Location"] == "/workflows/stockMgt"
    html = body(manager.get("/workflows/stockMgt"))
    assert "„Lager: Bestellungen und Warnungen“ wartet auf einen Worker" in html
    assert "data-status-url=" in html and "Wartet" in html
    with panel.runtime.database.session() as session:
        run_id = session.scalar(select(WorkflowRun.id))
    status = manager.get(f"/workflows/stockMgt/runs/{run_id}.json").get_json()
    assert (status["status"], status["finished"]) == ("queued", False)
    panel.work()
    status = manager.get(f"/workflows/stockMgt/runs/{run_id}.json").get_json()
    assert (status["status"], status["finished"]) == ("succeeded", True)
    history = body(manager.get("/workflows/stockMgt"))
    assert "Erfolgreich" in history and "Von Hand" in history and "von mia" in history
    assert "data-status-url=" not in history
    assert manager.get(f"/workflows/budgetMgt/runs/{run_id}.json").status_code == 404
    assert manager.get("/workflows/nosuchWorkflow").status_code == 404
    away = post(manager, "/workflows/stockMgt/run", {"next": "//elsewhere.example/"})
    assert away.headers["Location"] == "/workflows/stockMgt"  # never off the site


def test_the_history_pages_through_runs_with_logs_and_errors(panel):
    now = panel.runtime.clock.now()
    with panel.runtime.database.session() as session:
        for number in range(45):
            session.add(
                WorkflowRun(
                    workflow="budgetMgt",
                    trigger=WorkflowTrigger.SCHEDULED,
                    status=WorkflowRunStatus.SUCCEEDED,
                    enqueued_at=now,
                    started_at=now,
                    finished_at=now + timedelta(seconds=2),
                    summary=f"pass {number:02d}",
                    log=[f"line {number}"],
                )
            )
        session.add(
            WorkflowRun(
                workflow="budgetMgt",
                trigger=WorkflowTrigger.MANUAL,
                status=WorkflowRunStatus.FAILED,
                enqueued_at=now,
                error="Traceback\nRuntimeError: no prices",
            )
        )
    client = panel.client(Role.VIEWER)
    first = body(client.get("/workflows/budgetMgt"))
    assert "1 bis 20 von 46" in first
    assert "RuntimeError: no prices" in first and "pass 44" in first
    assert "Protokoll (1 Zeile)" in first and "2,0 s" in first
    last = body(client.get("/workflows/budgetMgt?page=99"))
    assert "pass 00" in last and "41 bis 46 von 46" in last
    assert re.search(r"Jetzt ausführen", first) is None


def test_a_run_the_platform_failed_says_why_in_the_readers_language(panel):
    now = panel.runtime.clock.now()
    with panel.runtime.database.session() as session:
        for minutes, error in (
            (2, "could not be queued: Connection refused"),
            (1, "the worker stopped before the pass finished (its lock lapsed)"),
        ):
            session.add(
                WorkflowRun(
                    workflow="stockMgt",
                    trigger=WorkflowTrigger.SCHEDULED,
                    status=WorkflowRunStatus.FAILED,
                    enqueued_at=now - timedelta(minutes=minutes),
                    error=error,
                )
            )
    client = panel.client(Role.VIEWER)

    def errors() -> tuple[str, list[str]]:
        card_ = card(body(client.get("/workflows/")), "stockMgt")
        history = body(client.get("/workflows/stockMgt"))
        return (
            re.search(r'<p class="workflow-summary text-error">(.*?)</p>', card_).group(1),
            re.findall(r'<span class="text-error">(.*?)</span>', history),
        )

    lapsed = "der Worker hat vor dem Ende des Durchlaufs aufgehört (seine Sperre ist abgelaufen)"
    assert errors() == (
        lapsed,
        [lapsed, "konnte nicht in die Warteschlange gestellt werden: Connection refused"],
    )
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "viola")).language = "en"
    lapsed = "the worker stopped before the pass finished (its lock lapsed)"
    assert errors() == (lapsed, [lapsed, "could not be queued: Connection refused"])


def test_the_lines_a_summary_names_are_introduced_in_the_readers_language(panel):
    """The German history said "low: Lager Köln/Papier (70)" and "over their allocation:"."""
    now = panel.runtime.clock.now()
    with panel.runtime.database.session() as session:
        for workflow, summary in (
            ("stockMgt", "booked 0 order lines (+0); 1 alert raised, 0 resolved; "
                         "1 change; low: Lager Köln/Papier (70)"),
            ("budgetMgt", "costed 1 delivery, 0 tasks, 0 direct runs, 1 campaign, 1 budget; "
                          "3 changes; over their allocation: Infobrief"),
            ("budgetMgt", "costed 2 deliveries, 1 tasks, 0 direct runs, 1 campaigns and 1 "
                          "budgets; 1 changes"),  # written before the summary had plurals
        ):  # fmt: skip
            session.add(
                WorkflowRun(
                    workflow=workflow,
                    trigger=WorkflowTrigger.SCHEDULED,
                    status=WorkflowRunStatus.SUCCEEDED,
                    enqueued_at=now,
                    summary=summary,
                )
            )
    client = panel.client(Role.VIEWER)
    assert "; Meldebestand erreicht: Lager Köln/Papier (70)" in body(
        client.get("/workflows/stockMgt")
    )
    budget = body(client.get("/workflows/budgetMgt"))
    assert "; über ihrer Zuweisung: Infobrief" in budget
    assert (
        "Kosten berechnet für 1 Versand, 0 Aufgaben, 0 direkte Läufe, 1 Kampagne, 1 Budget; "
        "3 Änderungen" in budget
    )
    assert (
        "Kosten berechnet für 2 Versände, 1 Aufgabe, 0 direkte Läufe, 1 Kampagnen und 1 Budgets; "
        "1 Änderung" in budget
    )


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.VIEWER, set()),
        (Role.REVIEWER, set()),
        (Role.CAMPAIGN_MANAGER, {"run"}),
        (Role.ADMIN, {"run", "state", "schedule"}),
    ],
)
def test_who_may_run_stop_and_reschedule(panel, role, allowed):
    client = panel.client(role)
    forms = {
        "run": ("/workflows/stockMgt/run", {}),
        "state": ("/workflows/stockMgt/state", {"started": "true"}),
        "schedule": ("/workflows/stockMgt/schedule", {"expression": "2h"}),
    }
    for action, (path, data) in forms.items():
        status = post(client, path, data).status_code
        assert (status == 302) == (action in allowed), (role, action, status)
        assert status in (302, 403)


class Reminders(Workflow):
    name = "test_reminders"
    title = "Send reminders"

    class Params(BaseModel):
        days_before: int = Field(3, description="Days before the appointment.")
        mode: Literal["mail", "sms"] = "mail"

    def run(self, context):
        return f"reminded {self.params.days_before} days before"


class RemindersPlugin:
    @hookimpl
    def register_workflows(self, register):
        register(Reminders)


@pytest.fixture
def reminders_panel(settings, redis_url):
    plugins = panel_plugins()
    plugins.add(RemindersPlugin(), "reminders", "test")
    yield from open_panel(settings, plugins)


class Greetings(Workflow):
    name = "test_greetings"
    title = "Send greetings"

    class Params(BaseModel):
        texts: dict[str, str] = Field(default_factory=dict, description="Greeting per language.")

    def run(self, context):
        return "greeted"


class GreetingsPlugin:
    @hookimpl
    def register_workflows(self, register):
        register(Greetings)


@pytest.fixture
def greetings_panel(settings, redis_url):
    plugins = panel_plugins()
    plugins.add(GreetingsPlugin(), "greetings", "test")
    yield from open_panel(settings, plugins)


def test_a_setting_typed_as_json_that_does_not_parse_is_explained_at_its_field(greetings_panel):
    panel = greetings_panel
    path = "/workflows/test_greetings/settings"
    form = {"settings-test_greetings.texts": '{"de": "Hallo"} {"en": "Hello"}'}
    refused = post(panel.client(Role.ADMIN), path, form)
    assert refused.status_code == 422
    assert field_errors(body(refused), "settings-test_greetings.texts") == [
        "kein gültiges JSON: weitere Zeichen nach dem Ende der JSON-Daten (Zeile 1, Spalte 17)"
    ]
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "adam")).language = "en"
    english = body(post(panel.client(Role.ADMIN), path, form))
    assert field_errors(english, "settings-test_greetings.texts") == [
        "not valid JSON: Extra data: line 1 column 17 (char 16)"
    ]


def test_a_workflow_shows_the_settings_its_parameter_model_declares(reminders_panel):
    html = body(reminders_panel.client(Role.VIEWER).get("/workflows/"))

    reminders = card(html, "test_reminders")
    assert "Einstellungen" in reminders
    assert "<dt>Days before</dt><dd><code>3</code>" in reminders
    assert "Days before the appointment." in reminders
    assert "<dt>Mode</dt><dd><code>mail</code>" in reminders
    assert "Einstellungen" not in card(html, "budgetMgt"), "a workflow without settings"


def test_an_administrator_changes_a_workflows_settings_with_errors_per_field(reminders_panel):
    panel = reminders_panel
    assert "settings-test_reminders.days_before" not in body(
        panel.client(Role.CAMPAIGN_MANAGER).get("/workflows/")
    ), "only administrators change settings"
    admin = panel.client(Role.ADMIN)
    form = card(body(admin.get("/workflows/")), "test_reminders")
    assert 'name="settings-test_reminders.days_before"' in form
    assert 'name="settings-test_reminders.mode"' in form

    path = "/workflows/test_reminders/settings"
    refused = post(
        admin,
        path,
        {"settings-test_reminders.days_before": "drei", "settings-test_reminders.mode": "fax"},
    )
    assert refused.status_code == 422
    html = body(refused)
    assert field_errors(html, "settings-test_reminders.days_before") == [
        "Bitte eine ganze Zahl angeben."
    ]
    mode_errors = field_errors(html, "settings-test_reminders.mode")
    assert [unescape(error) for error in mode_errors] == ["Erlaubt: 'mail' oder 'sms'."]
    assert "Value error" not in html and "drei" in html, "what was typed is kept"

    saved = post(
        admin,
        path,
        {"settings-test_reminders.days_before": "5", "settings-test_reminders.mode": "sms"},
    )
    assert saved.status_code == 302
    shown = card(body(panel.client(Role.VIEWER).get("/workflows/")), "test_reminders")
    assert "<dt>Days before</dt><dd><code>5</code>" in shown
    assert "<dt>Mode</dt><dd><code>sms</code>" in shown
    assert "workflow.settings" in audit_actions(panel)
    with panel.runtime.database.session() as session:
        row = session.scalar(
            select(WorkflowSchedule).where(WorkflowSchedule.name == "test_reminders")
        )
        assert row.settings == {"days_before": 5, "mode": "sms"}
    assert post(panel.client(Role.CAMPAIGN_MANAGER), path, {}).status_code == 403
