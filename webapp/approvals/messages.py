"""Texts of the approvals inbox (step, mode and state names live with the deliveries)."""

MESSAGES = {
    "menu.approvals": {"de": "Freigaben", "en": "Approvals"},
    "inbox.title": {"de": "Freigaben", "en": "Approvals"},
    "inbox.intro": {
        "de": "Versände, die auf Ihre Freigabe warten: die erste Antwort gilt.",
        "en": "Deliveries waiting for your approval: the first answer counts.",
    },
    "inbox.empty": {
        "de": "Keine offenen Freigaben für Sie.",
        "en": "No approvals waiting for you.",
    },
    "inbox.overdue": {"de": "überfällig", "en": "overdue"},
    "inbox.count": {"de": "{count} offen", "en": "{count} pending"},
    "inbox.warnings": {"de": "Warnungen: {count}", "en": "Warnings: {count}"},
    "inbox.open": {"de": "Prüfen", "en": "Review"},
    "inbox.field.delivery": {"de": "Versand", "en": "Delivery"},
    "inbox.field.campaign": {"de": "Kampagne", "en": "Campaign"},
    "inbox.field.submitted_by": {"de": "Eingereicht von", "en": "Submitted by"},
    "inbox.field.at": {"de": "Zeitpunkt", "en": "Time"},
    "inbox.field.event": {"de": "Ereignis", "en": "Event"},
    "inbox.field.user": {"de": "Benutzer", "en": "User"},
    "inbox.log": {"de": "Protokoll aller Freigaben", "en": "Log of all approvals"},
    "inbox.log_intro": {
        "de": "Jede Einrichtung, Einreichung, Antwort und Erinnerung, neueste zuerst.",
        "en": "Every set-up, submission, answer and reminder, newest first.",
    },
    "approval.title": {"de": "Freigabe: {step}", "en": "Approval: {step}"},
    "approval.preview": {
        "de": "Vorschau für Beispielempfänger",
        "en": "Preview for sample recipients",
    },
    "approval.preview_intro": {
        "de": "Aus dem Probelauf #{number} ({count} Empfänger); er versendet nichts.",
        "en": "From dry run #{number} ({count} recipients); it sends nothing.",
    },
    "approval.preview_letter": {"de": "Brief als PDF öffnen", "en": "Open the letter (PDF)"},
    "approval.preview_pending": {
        "de": "Die Vorschau wird vorbereitet: Der Workflow „Kampagnenjobs“ startet für diese "
        "Einreichung einen Probelauf. Laden Sie die Seite später neu.",
        "en": "The preview is being prepared: the “Campaign jobs” workflow starts a dry run for "
        "this submission. Reload the page later.",
    },
    "approval.preview_running": {
        "de": "Der Probelauf #{number} läuft noch; laden Sie die Seite später neu.",
        "en": "Dry run #{number} is still running; reload the page later.",
    },
    "approval.preview_none": {
        "de": "Der Probelauf #{number} hat keinen Empfänger gefunden, an den etwas ginge.",
        "en": "Dry run #{number} found no recipient anything would be sent to.",
    },
    "approval.answer": {"de": "Ihre Antwort", "en": "Your answer"},
    "approval.comment": {"de": "Kommentar", "en": "Comment"},
    "approval.comment_help": {
        "de": "Bei einer Ablehnung erforderlich: was soll geändert werden?",
        "en": "Required for a rejection: what should change?",
    },
    "approval.approve": {"de": "Freigeben", "en": "Approve"},
    "approval.reject": {"de": "Ablehnen", "en": "Reject"},
    "approval.reject_needs_comment": {
        "de": "Bitte begründen Sie die Ablehnung.",
        "en": "Please say why you reject it.",
    },
    "approval.approved": {
        "de": "„{step}“ von „{delivery}“ freigegeben.",
        "en": "“{step}” of “{delivery}” approved.",
    },
    "approval.rejected": {
        "de": "„{step}“ von „{delivery}“ abgelehnt.",
        "en": "“{step}” of “{delivery}” rejected.",
    },
    "approval.already_answered": {
        "de": "Diese Freigabe wurde bereits von {user} am {at} beantwortet ({state}). "
        "Ihre Antwort wurde nicht gespeichert.",
        "en": "This approval was already answered by {user} at {at} ({state}). "
        "Your answer was not saved.",
    },
    "approval.resubmitted": {
        "de": "Diese Freigabe wurde inzwischen erneut eingereicht (Runde {round}). Bitte "
        "prüfen Sie die neue Einreichung.",
        "en": "This approval was submitted again meanwhile (round {round}). Please look at "
        "the new submission.",
    },
    "approval.not_pending": {
        "de": "Diese Freigabe wartet nicht auf eine Antwort.",
        "en": "This approval is not waiting for an answer.",
    },
    "approval.not_reviewer": {
        "de": "Sie gehören nicht zu den Prüfern dieser Freigabe.",
        "en": "You are not one of the reviewers of this approval.",
    },
    "approval.waiting_for_others": {
        "de": "Diese Freigabe wartet auf eine Antwort anderer Prüfer.",
        "en": "This approval is waiting for other reviewers.",
    },
    "approval.answered_by": {
        "de": "{state} von {user} am {at}.",
        "en": "{state} by {user} at {at}.",
    },
    "approval.delivery": {"de": "Versand", "en": "Delivery"},
    "approval.to_delivery": {"de": "Zum Versand", "en": "To the delivery"},
    "approval.analysed_cost": {
        "de": "Kosten für die analysierte Zielgruppe",
        "en": "Cost for the analysed target",
    },
    "approval.analysed_cost_help": {
        "de": "{count} Empfänger laut Analyse (Lauf #{run}, {at}), berechnet mit den "
        "Preisen des Dienstleisters (eine Einheit je Empfänger).",
        "en": "{count} recipients by the analysis (run #{run}, {at}), priced with the "
        "provider's prices (one unit per recipient).",
    },
    "approval.analysed_cost_problem": {
        "de": "Nicht berechenbar: {problem}",
        "en": "Cannot be priced: {problem}",
    },
    "approval.analysed_total": {"de": "Summe", "en": "Total"},
    "approval.surcharge": {"de": "Aufschlag", "en": "Amount to surcharge"},
    "approval.not_analysed": {
        "de": "Die Zielgruppe ist noch nicht analysiert: die Budgetfreigabe wird danach "
        "mit den berechneten Kosten gestellt.",
        "en": "The target is not analysed yet: the budget approval is asked afterwards, "
        "with the cost computed.",
    },
}
