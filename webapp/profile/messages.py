"""Texts of the user's own settings."""

MESSAGES = {
    "nav.profile": {"de": "Eigene Einstellungen", "en": "My settings"},
    "profile.title": {"de": "Eigene Einstellungen", "en": "My settings"},
    "profile.save": {"de": "Speichern", "en": "Save"},
    "profile.language": {"de": "Sprache der Oberfläche", "en": "Interface language"},
    "profile.language.help": {
        "de": "Gilt für alle Seiten des Panels, sobald Sie speichern.",
        "en": "Applies to every page of the panel as soon as you save.",
    },
    "profile.language.label": {"de": "Sprache", "en": "Language"},
    "profile.password": {"de": "Passwort ändern", "en": "Change password"},
    "profile.password.help": {
        "de": "Andere Sitzungen mit dem alten Passwort werden beendet.",
        "en": "Other sessions with the old password are ended.",
    },
    "profile.password.current": {"de": "Aktuelles Passwort", "en": "Current password"},
    "profile.password.new": {"de": "Neues Passwort", "en": "New password"},
    "profile.password.repeat": {
        "de": "Neues Passwort wiederholen",
        "en": "Repeat the new password",
    },
    "profile.password.policy": {"de": "Mindestens 10 Zeichen.", "en": "At least 10 characters."},
    "profile.password.submit": {"de": "Passwort ändern", "en": "Change password"},
    "profile.error.current": {
        "de": "Das aktuelle Passwort stimmt nicht.",
        "en": "The current password is not correct.",
    },
    "profile.error.policy": {
        "de": "Das neue Passwort braucht mindestens 10 Zeichen.",
        "en": "The new password needs at least 10 characters.",
    },
    "profile.flash.language": {
        "de": "Die Sprache wurde gespeichert.",
        "en": "The language was saved.",
    },
    "profile.flash.password": {
        "de": "Ihr Passwort wurde geändert.",
        "en": "Your password was changed.",
    },
}
