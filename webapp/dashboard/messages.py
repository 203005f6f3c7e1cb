"""Texts of the dashboard."""

MESSAGES = {
    "dashboard.title": {"de": "Übersicht", "en": "Dashboard"},
    "dashboard.greeting": {"de": "Willkommen, {name}!", "en": "Welcome, {name}!"},
    "dashboard.role": {"de": "Ihre Rolle: {role}", "en": "Your role: {role}"},
    "dashboard.empty": {
        "de": "Hier erscheinen bald Ihre Kampagnen und Aufgaben.",
        "en": "Your campaigns and tasks will appear here soon.",
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
