"""Texts of the technical workflows page, and German titles of the five workflows."""

from core.models import WorkflowRunStatus, WorkflowTrigger

_STATUS = {
    WorkflowRunStatus.QUEUED: ("Wartet", "Queued"),
    WorkflowRunStatus.RUNNING: ("Läuft", "Running"),
    WorkflowRunStatus.SUCCEEDED: ("Erfolgreich", "Succeeded"),
    WorkflowRunStatus.FAILED: ("Fehlgeschlagen", "Failed"),
    WorkflowRunStatus.SKIPPED: ("Übersprungen", "Skipped"),
}
_TRIGGERS = {
    WorkflowTrigger.SCHEDULED: ("Zeitplan", "Scheduled"),
    WorkflowTrigger.MANUAL: ("Von Hand", "Manual"),
}
_TITLES = {
    "budgetMgt": (
        ("Kostenberechnung", "Cost calculation"),
        (
            "Berechnet Ausgaben- und Kostenzeilen für Versände und Aufgaben, die Kosten von "
            "Kampagnen, Programmen und Plänen und bucht sie nach Verbindlichkeit in Budgets.",
            "Computes expense and cost lines for deliveries and tasks, the costs of campaigns, "
            "programs and plans, and books them into budgets by commitment level.",
        ),
    ),
    "stockMgt": (
        ("Lager: Bestellungen und Warnungen", "Stock: orders and alerts"),
        (
            "Verbucht fällige Bestellungen, berechnet Verbrauch und Bestand und benachrichtigt "
            "die Gruppe des Lagers einmal, wenn ein Artikel den Meldebestand erreicht.",
            "Books due order lines into stock, computes what deliveries consumed and what is "
            "left, and alerts the stock's group once when a line reaches its alert level.",
        ),
    ),
    "deliveryMgt": (("Jobs für Versände in Kampagnen", "Jobs on deliveries in campaigns"), None),
    "operationMgt": (("Kampagnen-Jobs", "Campaign jobs"), None),
    "supplierMgt": (("Jobs für Dienstleister", "Jobs on service providers"), None),
}


def _workflow_texts() -> dict[str, dict[str, str]]:
    texts = {}
    for name, (title, description) in _TITLES.items():
        texts[f"plugin.workflow.{name}.title"] = {"de": title[0], "en": title[1]}
        if description is not None:
            texts[f"plugin.workflow.{name}.description"] = {
                "de": description[0],
                "en": description[1],
            }
    return texts


MESSAGES = {
    **{f"workflows.status.{k.value}": {"de": de, "en": en} for k, (de, en) in _STATUS.items()},
    **{f"workflows.trigger.{k.value}": {"de": de, "en": en} for k, (de, en) in _TRIGGERS.items()},
    **_workflow_texts(),
    "menu.workflows": {"de": "Technische Workflows", "en": "Technical workflows"},
    "workflows.title": {"de": "Technische Workflows", "en": "Technical workflows"},
    "workflows.intro": {
        "de": "Die Hintergrundprozesse der Kampagnen: sie müssen gestartet sein, damit Kosten, "
        "Lager, Versände und Dienstleister bearbeitet werden.",
        "en": "The campaigns' background processes: they must be started for costs, stocks, "
        "deliveries and providers to be processed.",
    },
    "workflows.none": {
        "de": "Kein Workflow-Plugin geladen.",
        "en": "No workflow plugin is loaded.",
    },
    "workflows.stopped_warning": {
        "de": "Gestoppt: {names}. Solange diese Workflows gestoppt sind, laufen die "
        "zugehörigen Kampagnenprozesse nicht.",
        "en": "Stopped: {names}. Campaign processes that depend on them will not run until "
        "they are started again.",
    },
    "workflows.state.started": {"de": "Gestartet", "en": "Started"},
    "workflows.state.stopped": {"de": "Gestoppt", "en": "Stopped"},
    "workflows.schedule": {"de": "Zeitplan", "en": "Schedule"},
    "workflows.every": {"de": "alle {duration}", "en": "every {duration}"},
    "workflows.cron": {"de": "Cron {cron} ({zone})", "en": "cron {cron} ({zone})"},
    "workflows.next_run": {"de": "Nächster Lauf", "en": "Next run"},
    "workflows.last_run": {"de": "Letzter Lauf", "en": "Last run"},
    "workflows.never": {"de": "noch nie", "en": "never"},
    "workflows.not_scheduled": {"de": "nicht geplant", "en": "not scheduled"},
    "workflows.changed": {
        "de": "Zuletzt geändert von {user} am {at}",
        "en": "Last changed by {user} at {at}",
    },
    "workflows.run_now": {"de": "Jetzt ausführen", "en": "Run now"},
    "workflows.start": {"de": "Starten", "en": "Start"},
    "workflows.stop": {"de": "Stoppen", "en": "Stop"},
    "workflows.stop_confirm": {
        "de": "Workflow stoppen? Die abhängigen Kampagnenprozesse laufen dann nicht mehr.",
        "en": "Stop the workflow? The campaign processes that depend on it will stall.",
    },
    "workflows.history": {"de": "Verlauf", "en": "History"},
    "workflows.edit_schedule": {"de": "Zeitplan ändern", "en": "Change the schedule"},
    "workflows.expression": {"de": "Zeitplan", "en": "Schedule"},
    "workflows.expression_help": {
        "de": "Ein Intervall wie 15m, 2h, 1h30m oder ein Cron-Ausdruck wie „0 6 * * 1-5“; "
        "„default“ stellt den Standard des Workflows wieder her.",
        "en": "An interval such as 15m, 2h, 1h30m or a cron expression such as “0 6 * * 1-5”; "
        "“default” restores the workflow's own schedule.",
    },
    "workflows.timezone": {"de": "Zeitzone (Cron)", "en": "Time zone (cron)"},
    "workflows.timezone_help": {
        "de": "Leer: {zone}.",
        "en": "Empty: {zone}.",
    },
    "workflows.schedule_saved": {
        "de": "Zeitplan von „{title}“: {schedule}.",
        "en": "Schedule of “{title}”: {schedule}.",
    },
    "workflows.started": {"de": "„{title}“ gestartet.", "en": "“{title}” started."},
    "workflows.stopped": {"de": "„{title}“ gestoppt.", "en": "“{title}” stopped."},
    "workflows.queued": {
        "de": "„{title}“ wartet auf einen Worker (Lauf {run}).",
        "en": "“{title}” is waiting for a worker (run {run}).",
    },
    "workflows.queue_down": {
        "de": "Der Lauf konnte nicht eingereiht werden: {reason}",
        "en": "The run could not be queued: {reason}",
    },
    "workflows.runs": {"de": "Läufe", "en": "Runs"},
    "workflows.no_runs": {"de": "Noch keine Läufe.", "en": "No runs yet."},
    "workflows.run.id": {"de": "Lauf", "en": "Run"},
    "workflows.run.trigger": {"de": "Auslöser", "en": "Trigger"},
    "workflows.run.status": {"de": "Status", "en": "Status"},
    "workflows.run.enqueued": {"de": "Angefordert", "en": "Requested"},
    "workflows.run.duration": {"de": "Dauer", "en": "Duration"},
    "workflows.run.summary": {"de": "Ergebnis", "en": "Summary"},
    "workflows.run.log": {"de": "Protokoll ({count} Zeilen)", "en": "Log ({count} lines)"},
    "workflows.run.error": {"de": "Fehler", "en": "Error"},
    "workflows.run.worker": {"de": "Worker", "en": "Worker"},
    "workflows.run.by": {"de": "von {user}", "en": "by {user}"},
    "workflows.seconds": {"de": "{value} s", "en": "{value} s"},
    "workflows.live": {
        "de": "Die Seite aktualisiert sich, bis der Lauf beendet ist.",
        "en": "The page updates itself until the run has ended.",
    },
}
