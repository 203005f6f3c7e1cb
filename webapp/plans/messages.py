"""Texts of plans, programs, the campaigns' process fields and tasks."""

from core.models import BudgetStatus, CampaignStatus, CommitmentLevel, TaskState
from webapp.charts import MESSAGES as CHART_MESSAGES

_CAMPAIGN_STATUS = {
    CampaignStatus.EDITING: ("In Bearbeitung", "Being edited"),
    CampaignStatus.TO_VALIDATE: ("Zu prüfen", "To validate"),
    CampaignStatus.IN_PROGRESS: ("Läuft", "In progress"),
    CampaignStatus.FINISHED: ("Abgeschlossen", "Finished"),
    CampaignStatus.CANCELLED: ("Abgebrochen", "Cancelled"),
}
_BUDGET_STATUS = {
    BudgetStatus.EDITING: ("In Bearbeitung", "Being edited"),
    BudgetStatus.SPECIFIED: ("Festgelegt", "Specified"),
}
_LEVELS = {
    CommitmentLevel.PLANNED: ("1 geplant", "1 planned"),
    CommitmentLevel.RESERVED: ("2 reserviert", "2 reserved"),
    CommitmentLevel.COMMITTED: ("3 verpflichtet", "3 committed"),
}
_TASK_STATES = {
    TaskState.SCHEDULED: ("Geplant", "Scheduled"),
    TaskState.IN_PROGRESS: ("In Arbeit", "In progress"),
    TaskState.PENDING_APPROVAL: ("Wartet auf Abnahme", "Pending approval"),
    TaskState.FINISHED: ("Erledigt", "Finished"),
    TaskState.REJECTED: ("Abgelehnt", "Rejected"),
    TaskState.CANCELLED: ("Storniert", "Cancelled"),
}


def _pairs(prefix: str, texts: dict) -> dict[str, dict[str, str]]:
    return {
        f"{prefix}.{getattr(key, 'value', key)}": {"de": de, "en": en}
        for key, (de, en) in texts.items()
    }


MESSAGES = {
    **CHART_MESSAGES,
    **_pairs("process.campaign_status", _CAMPAIGN_STATUS),
    "plans.filter.state": {"de": "Kampagnen im Status", "en": "Campaigns in state"},
    "plans.filter.all_states": {"de": "Alle", "en": "All"},
    "process.state_help": {
        "de": "Der Status folgt den Versänden, Läufen und Aufgaben (Workflow „Kampagnenjobs“); "
        "abbrechen und wieder öffnen entscheiden Sie hier.",
        "en": "The state follows the deliveries, runs and tasks (workflow “Campaign jobs”); "
        "cancelling and reopening are decided here.",
    },
    "process.cancel": {"de": "Kampagne abbrechen", "en": "Cancel the campaign"},
    "process.cancel_help": {
        "de": "Eine abgebrochene Kampagne startet keine Läufe mehr, bis sie wieder geöffnet wird.",
        "en": "A cancelled campaign starts no runs until it is reopened.",
    },
    "process.cancelled": {
        "de": "Kampagne „{name}“ abgebrochen.",
        "en": "Campaign “{name}” cancelled.",
    },
    "process.reopen": {"de": "Wieder öffnen", "en": "Reopen"},
    "process.reopen_help": {
        "de": "Mit einem Enddatum ab heute (oder keinem), damit sie nicht gleich wieder "
        "abgeschlossen wird.",
        "en": "With an end date from today on (or none), so that it does not finish again at once.",
    },
    "process.reopened": {
        "de": "Kampagne „{name}“ wieder geöffnet: {state}.",
        "en": "Campaign “{name}” reopened: {state}.",
    },
    "process.not_closed": {
        "de": "Die Kampagne ist nicht abgeschlossen oder abgebrochen.",
        "en": "The campaign is not finished or cancelled.",
    },
    "process.already_closed": {
        "de": "Die Kampagne ist bereits abgeschlossen oder abgebrochen.",
        "en": "The campaign is already finished or cancelled.",
    },
    "process.end_passed": {
        "de": "Das Enddatum ist vorbei: Geben Sie ein späteres an oder keines.",
        "en": "The end date has passed: give a later one or none.",
    },
    "process.active_run": {
        "de": "Die Kampagne hat einen laufenden Lauf: Brechen Sie ihn zuerst ab.",
        "en": "The campaign has a run in progress: cancel it first.",
    },
    **_pairs("process.budget_status", _BUDGET_STATUS),
    **_pairs("process.level", _LEVELS),
    **_pairs("task.state", _TASK_STATES),
    "menu.plans": {"de": "Planung", "en": "Plans"},
    "plans.title": {"de": "Planung", "en": "Plans"},
    "plans.intro": {
        "de": "Marketingpläne mit ihren Programmen und Kampagnen im Zeitverlauf.",
        "en": "Marketing plans with their programs and campaigns over time.",
    },
    "plans.new": {"de": "Neuer Plan", "en": "New plan"},
    "plans.edit": {"de": "Plan bearbeiten", "en": "Edit plan"},
    "plans.timeline": {"de": "Zeitplan", "en": "Timeline"},
    "plans.list": {"de": "Alle Pläne", "en": "All plans"},
    "plans.none": {
        "de": "Noch kein Plan angelegt.",
        "en": "No plan yet.",
    },
    "plans.field.name": {"de": "Name", "en": "Name"},
    "plans.field.description": {"de": "Beschreibung", "en": "Description"},
    "plans.field.start": {"de": "Beginn", "en": "Start"},
    "plans.field.end": {"de": "Ende", "en": "End"},
    "plans.field.period": {"de": "Zeitraum", "en": "Period"},
    "plans.field.manager": {"de": "Verantwortlich", "en": "Manager"},
    "plans.field.plan": {"de": "Plan", "en": "Plan"},
    "plans.field.programs": {"de": "Programme", "en": "Programs"},
    "plans.field.campaigns": {"de": "Kampagnen", "en": "Campaigns"},
    "plans.field.cost": {"de": "Kosten", "en": "Cost"},
    "plans.field.budget": {"de": "Budget", "en": "Budget"},
    "plans.cost_help": {
        "de": "Summe der festgelegten Kampagnen, berechnet vom Workflow „Kostenberechnung“.",
        "en": "Sum of the specified campaigns, computed by the cost calculation workflow.",
    },
    "plans.created": {"de": "Plan „{name}“ angelegt.", "en": "Plan “{name}” created."},
    "plans.saved": {"de": "Plan „{name}“ gespeichert.", "en": "Plan “{name}” saved."},
    "plans.budgets": {"de": "Budgets", "en": "Budgets"},
    "plans.no_budget": {"de": "Kein Budget zugeordnet.", "en": "No budget assigned."},
    "plans.new_budget": {"de": "Budget anlegen", "en": "Add a budget"},
    "programs.title": {"de": "Programme", "en": "Programs"},
    "programs.new": {"de": "Neues Programm", "en": "New program"},
    "programs.edit": {"de": "Programm bearbeiten", "en": "Edit program"},
    "programs.none": {
        "de": "Dieser Plan hat noch keine Programme.",
        "en": "This plan has no programs yet.",
    },
    "programs.created": {
        "de": "Programm „{name}“ angelegt.",
        "en": "Program “{name}” created.",
    },
    "programs.saved": {
        "de": "Programm „{name}“ gespeichert.",
        "en": "Program “{name}” saved.",
    },
    "programs.no_campaigns": {
        "de": "Diesem Programm ist noch keine Kampagne zugeordnet. Ordnen Sie Kampagnen "
        "unter „Planung und Kosten“ einer Kampagne zu.",
        "en": "No campaign belongs to this program yet. Assign campaigns on a campaign's "
        "“Planning and costs” page.",
    },
    "process.title": {"de": "Planung und Kosten", "en": "Planning and costs"},
    "process.intro": {
        "de": "Programm, Zeitraum, Verantwortung und Kosten der Kampagne, ihre Versände "
        "und Aufgaben.",
        "en": "The campaign's program, period, manager and costs, its deliveries and tasks.",
    },
    "process.to_campaign": {"de": "Zur Kampagne", "en": "To the campaign"},
    "process.fields": {"de": "Prozessdaten", "en": "Process fields"},
    "process.field.program": {"de": "Programm", "en": "Program"},
    "process.no_program": {"de": "(ohne Programm)", "en": "(no program)"},
    "process.field.status": {"de": "Status", "en": "Status"},
    "process.field.budget_status": {"de": "Budgetstatus", "en": "Budget status"},
    "process.budget_status_help": {
        "de": "Nur festgelegte Kampagnen werden in Budgets, Programme und Pläne gebucht.",
        "en": "Only specified campaigns are booked into budgets, programs and plans.",
    },
    "process.field.commitment_level": {"de": "Verbindlichkeit", "en": "Commitment level"},
    "process.field.estimated_cost": {"de": "Geschätzte Kosten", "en": "Estimated cost"},
    "process.field.service": {
        "de": "Dienstleistung für direkte Läufe",
        "en": "Service for direct runs",
    },
    "process.service_help": {
        "de": "Ein Start ohne Versand wird einmal mit den Preisen dieser Dienstleistung "
        "gebucht (je Kategorie die Standard-Kostenart) und verbraucht deren Lager; ohne "
        "Dienstleistung zählt die Schätzung.",
        "en": "A Start without a delivery is booked once with this service's prices (each "
        "category's default cost type) and takes from its stock; without a service the "
        "estimate counts.",
    },
    "process.field.calculated_cost": {"de": "Berechnete Kosten", "en": "Calculated cost"},
    "process.saved": {
        "de": "Prozessdaten von „{name}“ gespeichert.",
        "en": "Process fields of “{name}” saved.",
    },
    "process.deliveries": {"de": "Versände", "en": "Deliveries"},
    "process.no_deliveries": {
        "de": "Diese Kampagne hat noch keine Versände.",
        "en": "This campaign has no deliveries yet.",
    },
    "process.tasks": {"de": "Aufgaben", "en": "Tasks"},
    "process.no_tasks": {
        "de": "Diese Kampagne hat noch keine Aufgaben.",
        "en": "This campaign has no tasks yet.",
    },
    "tasks.new": {"de": "Neue Aufgabe", "en": "New task"},
    "tasks.edit": {"de": "Aufgabe bearbeiten", "en": "Edit task"},
    "tasks.field.name": {"de": "Name", "en": "Name"},
    "tasks.field.state": {"de": "Status", "en": "State"},
    "tasks.field.days_worked": {"de": "Geleistete Tage", "en": "Days worked"},
    "tasks.days_help": {
        "de": "Mit dem Tagessatz des Dienstleisters berechnet, sobald die Aufgabe erledigt ist.",
        "en": "Priced with the provider's daily rate once the task is finished.",
    },
    "tasks.field.service": {"de": "Dienstleistung", "en": "Provider service"},
    "tasks.field.budget": {"de": "Budget", "en": "Budget"},
    "tasks.budget_default": {
        "de": "das der Kampagne (sonst Programm, Plan)",
        "en": "the campaign's (else program's, plan's)",
    },
    "tasks.budget_help": {
        "de": "Die Kosten zählen in genau diesem einen Budget.",
        "en": "The cost counts in exactly this one budget.",
    },
    "tasks.field.estimated_cost": {"de": "Geschätzte Kosten", "en": "Estimated cost"},
    "tasks.field.real_cost": {"de": "Tatsächliche Kosten (Rechnung)", "en": "Real cost (invoice)"},
    "tasks.field.commitment_level": {"de": "Verbindlichkeit", "en": "Commitment level"},
    "tasks.level_of_campaign": {"de": "(wie die Kampagne)", "en": "(as the campaign)"},
    "tasks.field.cost": {"de": "Kosten", "en": "Cost"},
    "tasks.created": {"de": "Aufgabe „{name}“ angelegt.", "en": "Task “{name}” created."},
    "tasks.saved": {"de": "Aufgabe „{name}“ gespeichert.", "en": "Task “{name}” saved."},
    "tasks.bad_state": {
        "de": "Von „{current}“ aus ist „{wanted}“ nicht möglich.",
        "en": "“{wanted}” is not possible from “{current}”.",
    },
}
