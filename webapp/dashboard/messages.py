"""Texts of the dashboard."""

MESSAGES = {
    "dashboard.title": {"de": "Übersicht", "en": "Dashboard"},
    "dashboard.greeting": {"de": "Willkommen, {name}!", "en": "Welcome, {name}!"},
    "dashboard.role": {"de": "Ihre Rolle: {role}", "en": "Your role: {role}"},
    "dashboard.empty": {
        "de": "Hier erscheinen bald Ihre Kampagnen und Aufgaben.",
        "en": "Your campaigns and tasks will appear here soon.",
    },
}
