"""Texts of the dashboard."""

MESSAGES = {
    "dashboard.title": {"de": "Übersicht", "en": "Dashboard"},
    "dashboard.greeting": {"de": "Willkommen, {name}!", "en": "Welcome, {name}!"},
    "dashboard.role": {"de": "Ihre Rolle: {role}", "en": "Your role: {role}"},
    "dashboard.runs.title": {"de": "Laufende Kampagnen", "en": "Running campaigns"},
    "dashboard.runs.campaign": {"de": "Kampagne", "en": "Campaign"},
    "dashboard.runs.state": {"de": "Zustand", "en": "State"},
    "dashboard.runs.progress": {"de": "Fortschritt", "en": "Progress"},
    "dashboard.runs.started": {"de": "Gestartet", "en": "Started"},
    "dashboard.runs.run": {"de": "Lauf {number}", "en": "Run {number}"},
    "dashboard.runs.dry": {"de": "Probelauf", "en": "dry run"},
    "dashboard.runs.failed": {"de": "{count} fehlgeschlagen", "en": "{count} failed"},
    "dashboard.runs.skipped": {"de": "{count} übersprungen", "en": "{count} skipped"},
    "dashboard.runs.none": {
        "de": "Gerade läuft keine Kampagne.",
        "en": "No campaign is running right now.",
    },
    "dashboard.state.queued": {"de": "wartet", "en": "queued"},
    "dashboard.state.targeting": {"de": "Zielgruppe", "en": "targeting"},
    "dashboard.state.running": {"de": "läuft", "en": "running"},
    "dashboard.state.finishing": {"de": "schließt ab", "en": "finishing"},
    "dashboard.failed_jobs": {"de": "fehlgeschlagene Jobs", "en": "failed jobs"},
    "dashboard.queues_unavailable": {
        "de": "Warteschlangen nicht erreichbar",
        "en": "queues unreachable",
    },
    "dashboard.documents.title": {"de": "Zuletzt archiviert", "en": "Recently archived"},
    "dashboard.documents.all": {"de": "Zum Archiv", "en": "To the archive"},
    "dashboard.documents.none": {
        "de": "Noch keine archivierten Dokumente.",
        "en": "No archived documents yet.",
    },
    "dashboard.workflows_stopped.title": {
        "de": "Workflows gestoppt:",
        "en": "Workflows stopped:",
    },
    "dashboard.workflows_stopped.text": {
        "de": "{names}. Solange sie gestoppt sind, laufen die Kampagnenprozesse nicht "
        "(starten mit: campaign workflows start NAME).",
        "en": "{names}. Campaign processes will not run until they are started again "
        "(campaign workflows start NAME).",
    },
}
