"""Texts of the deliveries: channels, states, approval steps and the delivery screens."""

from core.models import (
    ApprovalEventKind,
    ApprovalMode,
    ApprovalState,
    ApprovalStep,
    DeliveryChannel,
    DeliveryState,
    SentCounting,
)

_CHANNELS = {
    DeliveryChannel.EMAIL: ("E-Mail", "E-mail"),
    DeliveryChannel.SMS: ("SMS", "SMS"),
    DeliveryChannel.DIRECT_MAIL: ("Direktmailing (Lettershop)", "Direct mail (letter shop)"),
    DeliveryChannel.PRINT: ("Massendruck (intern)", "Mass print (in-house)"),
}
_STATES = {
    DeliveryState.EDITING: ("In Bearbeitung", "Being edited"),
    DeliveryState.TO_VALIDATE: ("Zu prüfen", "To validate"),
    DeliveryState.APPROVED: ("Freigegeben", "Approved"),
    DeliveryState.PENDING_CONFIRMATION: ("Wartet auf Bestätigung", "Pending confirmation"),
    DeliveryState.START_PENDING: ("Start steht bevor", "Start pending"),
    DeliveryState.IN_PROGRESS: ("Läuft", "In progress"),
    DeliveryState.PAUSED: ("Angehalten", "Paused"),
    DeliveryState.EXTRACTION_PENDING: ("Extraktion steht an", "Extraction pending"),
    DeliveryState.FILE_TO_APPROVE: ("Datei freizugeben", "File to approve"),
    DeliveryState.PROOF_TO_SUBMIT: ("Korrekturabzug einzureichen", "Proof to submit"),
    DeliveryState.PROOF_TO_VALIDATE: ("Korrekturabzug zu prüfen", "Proof to validate"),
    DeliveryState.FILE_SENT: ("Datei an Dienstleister", "File sent"),
    DeliveryState.FINISHED: ("Abgeschlossen", "Finished"),
    DeliveryState.STOPPED: ("Gestoppt", "Stopped"),
    DeliveryState.FAILED: ("Fehlgeschlagen", "Failed"),
}
_STEPS = {
    ApprovalStep.TARGETING: ("Zielgruppe", "Targeting"),
    ApprovalStep.CONTENT: ("Inhalt", "Content"),
    ApprovalStep.BUDGET: ("Budget", "Budget"),
    ApprovalStep.EXTRACTION: ("Extraktionsdatei", "Extraction file"),
    ApprovalStep.PROOF: ("Korrekturabzug", "Proof"),
    ApprovalStep.START: ("Versandstart", "Delivery start"),
}
_MODES = {
    ApprovalMode.AUTOMATIC: ("Automatisch", "Automatic"),
    ApprovalMode.MANUAL: ("Manuell", "Manual"),
}
_APPROVAL_STATES = {
    ApprovalState.NOT_SUBMITTED: ("Nicht eingereicht", "Not submitted"),
    ApprovalState.PENDING: ("Wartet auf Antwort", "Pending"),
    ApprovalState.APPROVED: ("Freigegeben", "Approved"),
    ApprovalState.REJECTED: ("Abgelehnt", "Rejected"),
}
_EVENTS = {
    ApprovalEventKind.CONFIGURED: ("eingerichtet", "configured"),
    ApprovalEventKind.SUBMITTED: ("eingereicht", "submitted"),
    ApprovalEventKind.APPROVED: ("freigegeben", "approved"),
    ApprovalEventKind.REJECTED: ("abgelehnt", "rejected"),
    ApprovalEventKind.REMINDED: ("erinnert", "reminded"),
}
_COUNTING = {
    SentCounting.ON_CONFIRMATION: (
        "Bei Bestätigung (Datei an Dienstleister)",
        "On confirmation (file sent)",
    ),
    SentCounting.RESULT_FILE: ("Laut Ergebnisdatei des Dienstleisters", "By the result file"),
}


def _pairs(prefix: str, texts: dict) -> dict[str, dict[str, str]]:
    return {f"{prefix}.{key.value}": {"de": de, "en": en} for key, (de, en) in texts.items()}


MESSAGES = {
    **_pairs("deliveries.channel", _CHANNELS),
    **_pairs("deliveries.state", _STATES),
    **_pairs("approvals.step", _STEPS),
    **_pairs("approvals.mode", _MODES),
    **_pairs("approvals.state", _APPROVAL_STATES),
    **_pairs("approvals.event", _EVENTS),
    **_pairs("deliveries.counting", _COUNTING),
    "menu.deliveries": {"de": "Versände", "en": "Deliveries"},
    "deliveries.title": {"de": "Versände", "en": "Deliveries"},
    "deliveries.intro": {
        "de": "Alle Versände der Kampagnen mit ihrem Status, ihren Freigaben und Kosten.",
        "en": "Every delivery of the campaigns with its state, approvals and costs.",
    },
    "deliveries.new": {"de": "Neuer Versand", "en": "New delivery"},
    "deliveries.edit": {"de": "Versand bearbeiten", "en": "Edit delivery"},
    "deliveries.none": {
        "de": "Keine Versände gefunden.",
        "en": "No deliveries found.",
    },
    "deliveries.filter.search": {"de": "Suche", "en": "Search"},
    "deliveries.filter.search_hint": {
        "de": "Versand oder Kampagne",
        "en": "Delivery or campaign",
    },
    "deliveries.filter.state": {"de": "Status", "en": "State"},
    "deliveries.filter.channel": {"de": "Kanal", "en": "Channel"},
    "deliveries.filter.campaign_state": {"de": "Kampagnenstatus", "en": "Campaign state"},
    "deliveries.filter.all": {"de": "Alle", "en": "All"},
    "deliveries.filter.apply": {"de": "Filtern", "en": "Filter"},
    "deliveries.field.label": {"de": "Bezeichnung", "en": "Label"},
    "deliveries.field.campaign": {"de": "Kampagne", "en": "Campaign"},
    "deliveries.field.channel": {"de": "Kanal", "en": "Channel"},
    "deliveries.field.state": {"de": "Status", "en": "State"},
    "deliveries.field.action": {"de": "Aktion", "en": "Action"},
    "deliveries.campaign_action": {
        "de": "(Aktion der Kampagne: {title})",
        "en": "(the campaign's action: {title})",
    },
    "deliveries.action_help": {
        "de": "Eine eigene Aktion ersetzt beim Start dieses Versands die Aktion der Kampagne.",
        "en": "An action of its own replaces the campaign's action when this delivery runs.",
    },
    "deliveries.action_settings": {"de": "Einstellungen der Aktion", "en": "Action settings"},
    "deliveries.field.service": {"de": "Dienstleistung", "en": "Provider service"},
    "deliveries.service_help": {
        "de": "Nur Dienstleistungen mit Kostenkategorien für diesen Kanal.",
        "en": "Only services with cost categories for this channel.",
    },
    "deliveries.field.cost_types": {"de": "Kostenarten", "en": "Cost types"},
    "deliveries.cost_types_help": {
        "de": "Ohne Auswahl gelten alle Kostenarten einer Kategorie, außer die Kategorie "
        "verlangt eine Auswahl.",
        "en": "Without a choice every cost type of a category applies, unless the category "
        "requires one.",
    },
    "deliveries.choice_required": {"de": "Auswahl erforderlich", "en": "choice required"},
    "deliveries.choose_service_first": {
        "de": "Wählen Sie zuerst eine Dienstleistung.",
        "en": "Choose a provider service first.",
    },
    "deliveries.field.planned_start": {"de": "Geplanter Start", "en": "Planned start"},
    "deliveries.field.surcharge": {"de": "Aufschlag", "en": "Amount to surcharge"},
    "deliveries.surcharge_help": {
        "de": "Wird zu den berechneten Kosten addiert.",
        "en": "Added to the calculated cost.",
    },
    "deliveries.field.estimated_cost": {"de": "Geschätzte Kosten", "en": "Estimated cost"},
    "deliveries.field.calculated_cost": {"de": "Berechnete Kosten", "en": "Calculated cost"},
    "deliveries.field.real_cost": {
        "de": "Tatsächliche Kosten (Rechnung)",
        "en": "Real cost (invoice)",
    },
    "deliveries.field.cost": {"de": "Kosten", "en": "Cost"},
    "deliveries.field.budget": {"de": "Budget", "en": "Budget"},
    "deliveries.budget_default": {
        "de": "das der Kampagne (sonst Programm, Plan)",
        "en": "the campaign's (else program's, plan's)",
    },
    "deliveries.budget_help": {
        "de": "Die Kosten zählen in genau diesem einen Budget.",
        "en": "The cost counts in exactly this one budget.",
    },
    "deliveries.field.sent_counting": {"de": "Als versendet zählen", "en": "Count as sent"},
    "deliveries.field.proof_required": {
        "de": "Korrekturabzug der Dienstleister-E-Mail erforderlich",
        "en": "Proof of the e-mail to the provider required",
    },
    "deliveries.field.started": {"de": "Gestartet", "en": "Started"},
    "deliveries.field.finished": {"de": "Beendet", "en": "Finished"},
    "deliveries.field.analysed": {"de": "Analysiert", "en": "Analysed"},
    "deliveries.apply": {"de": "Übernehmen", "en": "Apply"},
    "deliveries.channel_fixed": {
        "de": "Der Kanal lässt sich nur ändern, solange der Versand in Bearbeitung ist.",
        "en": "The channel can only change while the delivery is being edited.",
    },
    "deliveries.created": {
        "de": "Versand „{label}“ angelegt.",
        "en": "Delivery “{label}” created.",
    },
    "deliveries.saved": {
        "de": "Versand „{label}“ gespeichert.",
        "en": "Delivery “{label}” saved.",
    },
    "deliveries.changed_meanwhile": {
        "de": "Der Versand wurde inzwischen geändert (Status: {state}). Bitte prüfen Sie die "
        "Angaben und speichern Sie erneut.",
        "en": "The delivery was changed meanwhile (state: {state}). Please check the values "
        "and save again.",
    },
    "deliveries.counts": {"de": "Zahlen", "en": "Counts"},
    "deliveries.count.targeted": {"de": "Zielgruppe", "en": "Targeted"},
    "deliveries.count.sent": {"de": "Versendet", "en": "Sent"},
    "deliveries.count.units": {"de": "Einheiten", "en": "Units"},
    "deliveries.costs": {"de": "Kosten", "en": "Costs"},
    "deliveries.no_expense": {
        "de": "Noch nicht berechnet: bis zur Analyse gilt die Schätzung.",
        "en": "Not calculated yet: until it is analysed the estimate counts.",
    },
    "deliveries.expense.basis": {"de": "Grundlage", "en": "Basis"},
    "deliveries.expense.basis.targeted": {"de": "Zielgruppe", "en": "Targeted"},
    "deliveries.expense.basis.sent": {"de": "Versendet", "en": "Sent"},
    "deliveries.expense.basis.days": {"de": "Tage", "en": "Days"},
    "deliveries.expense.category": {"de": "Kostenkategorie", "en": "Cost category"},
    "deliveries.expense.detail": {"de": "Berechnung", "en": "Calculation"},
    "deliveries.expense.total": {"de": "Summe", "en": "Total"},
    "deliveries.runs": {"de": "Läufe", "en": "Runs"},
    "deliveries.no_runs": {
        "de": "Dieser Versand ist noch nicht gelaufen.",
        "en": "This delivery has not run yet.",
    },
    "deliveries.run.number": {"de": "Lauf", "en": "Run"},
    "deliveries.run.state": {"de": "Status", "en": "State"},
    "deliveries.run.targeted": {"de": "Zielgruppe", "en": "Targeted"},
    "deliveries.run.done": {"de": "Erledigt", "en": "Done"},
    "deliveries.run.failed": {"de": "Fehler", "en": "Failed"},
    "deliveries.run.skipped": {"de": "Übersprungen", "en": "Skipped"},
    "deliveries.run.created": {"de": "Gestartet", "en": "Started"},
    "deliveries.run.dry_run": {"de": "Testlauf", "en": "Dry run"},
    "deliveries.warnings": {"de": "Warnungen", "en": "Warnings"},
    "deliveries.stock_warning": {
        "de": "Lager „{stock}“, {line}: noch {in_stock} (Meldebestand {alert_level}).",
        "en": "Stock “{stock}”, {line}: {in_stock} left (alert level {alert_level}).",
    },
    "deliveries.stock_needed": {
        "de": "Dieser Versand benötigt {needed}.",
        "en": "This delivery needs {needed}.",
    },
    "deliveries.budget_warning.over": {
        "de": "Budget „{budget}“ ist um {amount} € überschritten.",
        "en": "Budget “{budget}” is {amount} € over its allocation.",
    },
    "deliveries.budget_warning.would_exceed": {
        "de": "Budget „{budget}“ würde mit diesem Versand um {amount} € überschritten.",
        "en": "With this delivery, budget “{budget}” would be {amount} € over its allocation.",
    },
    "deliveries.to_stock": {"de": "Zum Lager", "en": "To the stock"},
    "deliveries.to_budget": {"de": "Zum Budget", "en": "To the budget"},
    "deliveries.facts": {"de": "Angaben", "en": "Details"},
    "deliveries.no_warnings": {
        "de": "Keine Lager- oder Budgetwarnungen.",
        "en": "No stock or budget warnings.",
    },
    "approvals.heading": {"de": "Freigaben", "en": "Approvals"},
    "approvals.field.step": {"de": "Schritt", "en": "Step"},
    "approvals.field.mode": {"de": "Modus", "en": "Mode"},
    "approvals.field.reviewers": {"de": "Prüfer", "en": "Reviewers"},
    "approvals.field.state": {"de": "Status", "en": "State"},
    "approvals.field.deadline": {"de": "Frist", "en": "Deadline"},
    "approvals.field.answered": {"de": "Antwort", "en": "Answer"},
    "approvals.field.round": {"de": "Runde", "en": "Round"},
    "approvals.field.submitted": {"de": "Eingereicht", "en": "Submitted"},
    "approvals.default_reviewers": {
        "de": "Kampagnenverantwortliche(r)",
        "en": "The campaign's manager",
    },
    "approvals.not_configured": {
        "de": "automatisch (Standard)",
        "en": "automatic (default)",
    },
    "approvals.configure": {"de": "Freigabe einrichten", "en": "Set up an approval"},
    "approvals.configure_help": {
        "de": "Manuelle Schritte warten beim Einreichen auf eine Antwort der Prüfer. Ohne "
        "Prüfer entscheidet die/der Kampagnenverantwortliche.",
        "en": "Manual steps wait for a reviewer's answer when submitted. Without reviewers "
        "the campaign's manager decides.",
    },
    "approvals.reviewer_roles": {"de": "Rollen", "en": "Roles"},
    "approvals.reviewer_groups": {"de": "Gruppen", "en": "Groups"},
    "approvals.reviewer_users": {"de": "Benutzer", "en": "Users"},
    "approvals.configured": {
        "de": "Freigabe „{step}“ eingerichtet.",
        "en": "Approval “{step}” set up.",
    },
    "approvals.submit": {"de": "Zur Freigabe einreichen", "en": "Submit for approval"},
    "approvals.submit_help": {
        "de": "Reicht die Schritte vor dem Start ein (Zielgruppe, Inhalt, Budget, Start). "
        "Automatische Schritte werden sofort freigegeben.",
        "en": "Submits the steps before the start (targeting, content, budget, start). "
        "Automatic steps are approved at once.",
    },
    "approvals.deadline_help": {
        "de": "Leer: drei Tage nach dem Einreichen.",
        "en": "Empty: three days after submission.",
    },
    "approvals.submitted": {
        "de": "Zur Freigabe eingereicht: {steps}.",
        "en": "Submitted for approval: {steps}.",
    },
    "approvals.all_approved": {
        "de": "Alle Schritte sind freigegeben; der Versand ist freigegeben.",
        "en": "Every step is approved; the delivery is approved.",
    },
    "approvals.cannot_submit": {
        "de": "Ein Versand im Status „{state}“ kann nicht eingereicht werden.",
        "en": "A delivery in the state “{state}” cannot be submitted.",
    },
    "approvals.nothing_to_submit": {
        "de": "Nichts neu eingereicht: die übrigen Schritte warten noch auf eine Antwort.",
        "en": "Nothing new submitted: the other steps are still waiting for an answer.",
    },
    "approvals.field.deadline_optional": {"de": "Frist", "en": "Deadline"},
    "approvals.deadline_past": {
        "de": "Die Frist muss in der Zukunft liegen.",
        "en": "The deadline must be in the future.",
    },
    "approvals.log": {"de": "Freigabeprotokoll", "en": "Approval log"},
    "approvals.no_log": {"de": "Noch keine Einträge.", "en": "No entries yet."},
    "approvals.by_system": {"de": "System", "en": "System"},
    "confirm.title": {"de": "Start bestätigen", "en": "Confirm the start"},
    "confirm.question": {
        "de": "Diesen Versand jetzt starten?",
        "en": "Start this delivery now?",
    },
    "confirm.why": {
        "de": "Die Freigaben wurden erst nach dem geplanten Start erteilt, oder der Versand hat "
        "keinen geplanten Start. Er startet deshalb nicht von selbst: Prüfen Sie Kanal und "
        "Empfängerzahl und bestätigen Sie den Start.",
        "en": "The approvals were complete only after the planned start, or the delivery has no "
        "planned start. So it does not start by itself: check the channel and the number of "
        "recipients and confirm the start.",
    },
    "confirm.recipients": {
        "de": "Empfänger (Datenquelle jetzt)",
        "en": "Recipients (data source now)",
    },
    "confirm.dry_run": {"de": "Letzter Probelauf", "en": "Latest dry run"},
    "confirm.dry_run_count": {
        "de": "{count} Empfänger (Lauf #{number})",
        "en": "{count} recipients (run #{number})",
    },
    "confirm.approved_at": {"de": "Freigaben vollständig", "en": "Approvals complete"},
    "confirm.button": {
        "de": "Start bestätigen: {count} Empfänger per {channel}",
        "en": "Confirm the start: {count} recipients by {channel}",
    },
    "confirm.not_allowed": {
        "de": "Nur der Kampagnenverantwortliche oder ein Administrator kann den Start bestätigen.",
        "en": "Only the campaign's manager or an admin can confirm the start.",
    },
    "confirm.not_waiting": {
        "de": "Dieser Versand wartet nicht auf eine Bestätigung.",
        "en": "This delivery is not waiting for a confirmation.",
    },
    "confirm.no_count": {
        "de": "Die Empfänger lassen sich gerade nicht zählen; ohne Zahl kein Start.",
        "en": "The recipients cannot be counted right now; no start without a count.",
    },
    "confirm.count_changed": {
        "de": "Die Empfängerzahl hat sich geändert: {seen} angezeigt, jetzt {count}. Bitte "
        "prüfen und erneut bestätigen.",
        "en": "The number of recipients changed: {seen} shown, now {count}. Check and confirm "
        "again.",
    },
    "confirm.started": {
        "de": "Start bestätigt: Der Versand an {count} Empfänger läuft.",
        "en": "Start confirmed: the delivery to {count} recipients is running.",
    },
    "confirm.waiting": {
        "de": "Start bestätigt; der Lauf wartet: {reason}",
        "en": "Start confirmed; the run waits: {reason}",
    },
    "confirm.refused": {
        "de": "Start bestätigt, aber der Lauf kann nicht starten: {reason}",
        "en": "Start confirmed, but the run cannot start: {reason}",
    },
    "confirm.queue_down": {
        "de": "Start bestätigt; die Warteschlange ist nicht erreichbar ({reason}). Der "
        "Versand-Workflow startet ihn beim nächsten Durchlauf.",
        "en": "Start confirmed; the queue is not reachable ({reason}). The delivery workflow "
        "starts it on its next pass.",
    },
    "confirm.waiting_note": {
        "de": "Dieser Versand ist freigegeben, startet aber nicht von selbst: Der "
        "Kampagnenverantwortliche muss den Start bestätigen.",
        "en": "This delivery is approved but does not start by itself: the campaign's manager "
        "has to confirm the start.",
    },
    "confirm.confirmed": {"de": "Start bestätigt", "en": "Start confirmed"},
    "confirm.changed": {
        "de": "Der Versand wurde inzwischen geändert; bitte prüfen Sie ihn erneut.",
        "en": "The delivery was changed meanwhile; check it again.",
    },
}
