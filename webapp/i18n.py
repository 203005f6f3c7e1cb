"""The panel's texts in German (the default) and English, and ``t(key)`` to look them up.

The texts shared by every page live here; each area of the panel keeps its own in a
``MESSAGES`` dict of its package (``webapp/<area>/messages.py``), added by
:func:`add_messages` when the app is built.

The language is the logged-in user's ``language``; anonymous visitors (the login
page) see German unless they chose English with ``?lang=en`` on the login page.
``t`` is available in every template. A key without a text is returned as it is,
so plugin menu titles (plain strings) pass through ``t`` unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import g, has_request_context, session

from core.reach import reason_text
from webapp.context import _LANGUAGE, LANGUAGE_KEY, current_user

DEFAULT_LANGUAGE = "de"
SUPPORTED_LANGUAGES = ("de", "en")
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}

MESSAGES: dict[str, dict[str, str]] = {
    "app.name": {"de": "Campaign", "en": "Campaign"},
    "app.tagline": {"de": "Kampagnen-Verwaltung", "en": "Campaign management"},
    "nav.label": {"de": "Hauptnavigation", "en": "Main navigation"},
    "nav.skip": {"de": "Zum Inhalt springen", "en": "Skip to content"},
    "nav.logout": {"de": "Abmelden", "en": "Sign out"},
    "nav.signed_in_as": {"de": "Angemeldet als", "en": "Signed in as"},
    "menu.dashboard": {"de": "Übersicht", "en": "Dashboard"},
    "login.title": {"de": "Anmelden", "en": "Sign in"},
    "login.intro": {
        "de": "Bitte melden Sie sich mit Ihrem Benutzerkonto an.",
        "en": "Please sign in with your user account.",
    },
    "login.username": {"de": "Benutzername", "en": "Username"},
    "login.password": {"de": "Passwort", "en": "Password"},
    "login.submit": {"de": "Anmelden", "en": "Sign in"},
    "login.invalid": {
        "de": "Ungültiger Benutzername oder ungültiges Passwort.",
        "en": "Invalid username or password.",
    },
    "login.missing": {
        "de": "Bitte Benutzername und Passwort eingeben.",
        "en": "Please enter your username and password.",
    },
    "login.rate_limited": {
        "de": "Zu viele fehlgeschlagene Anmeldeversuche. "
        "Bitte versuchen Sie es in {minutes} Minuten erneut.",
        "en": "Too many failed sign-in attempts. Please try again in {minutes} minutes.",
    },
    "logout.done": {"de": "Sie wurden abgemeldet.", "en": "You have been signed out."},
    "role.viewer": {"de": "Betrachter", "en": "Viewer"},
    "role.reviewer": {"de": "Prüfer", "en": "Reviewer"},
    "role.campaign_manager": {"de": "Kampagnenmanager", "en": "Campaign manager"},
    "role.admin": {"de": "Administrator", "en": "Administrator"},
    "pagination.label": {"de": "Seiten", "en": "Pages"},
    "pagination.summary": {
        "de": "{first} bis {last} von {total}",
        "en": "{first} to {last} of {total}",
    },
    "pagination.previous": {"de": "Zurück", "en": "Previous"},
    "pagination.next": {"de": "Weiter", "en": "Next"},
    "forms.optional": {"de": "optional", "en": "optional"},
    "forms.none_selected": {"de": "(bitte wählen)", "en": "(please choose)"},
    "forms.no_choices": {"de": "Keine Einträge vorhanden.", "en": "Nothing to choose from."},
    "forms.no_settings": {"de": "Keine Einstellungen.", "en": "No settings."},
    "forms.one_per_line": {"de": "Ein Wert pro Zeile.", "en": "One value per line."},
    "forms.json_hint": {"de": "Als JSON.", "en": "As JSON."},
    "forms.required": {"de": "Bitte ausfüllen.", "en": "Please fill in."},
    "forms.too_long": {
        "de": "Höchstens {limit} Zeichen.",
        "en": "At most {limit} characters.",
    },
    "forms.not_a_number": {
        "de": "„{value}“ ist keine Zahl.",
        "en": "“{value}” is not a number.",
    },
    "forms.not_an_integer": {
        "de": "„{value}“ ist keine ganze Zahl.",
        "en": "“{value}” is not a whole number.",
    },
    "forms.at_least": {"de": "Mindestens {minimum}.", "en": "At least {minimum}."},
    "forms.too_many_places": {
        "de": "Höchstens {places} Nachkommastellen.",
        "en": "At most {places} decimal places.",
    },
    "forms.too_large": {"de": "Der Wert ist zu groß.", "en": "The value is too large."},
    "forms.not_a_date": {
        "de": "„{value}“ ist kein Datum (TT.MM.JJJJ).",
        "en": "“{value}” is not a date (YYYY-MM-DD).",
    },
    "forms.not_a_datetime": {
        "de": "„{value}“ ist kein Zeitpunkt.",
        "en": "“{value}” is not a date and time.",
    },
    "forms.not_a_choice": {
        "de": "„{value}“ steht nicht zur Auswahl.",
        "en": "“{value}” is not one of the choices.",
    },
    "forms.end_before_start": {
        "de": "Das Ende liegt vor dem Beginn.",
        "en": "The end is before the start.",
    },
    "forms.fix_errors": {
        "de": "Bitte korrigieren Sie die markierten Felder.",
        "en": "Please correct the marked fields.",
    },
    "forms.taken": {
        "de": "Dieser Name ist bereits vergeben.",
        "en": "This name is already taken.",
    },
    "forms.save": {"de": "Speichern", "en": "Save"},
    "forms.cancel": {"de": "Abbrechen", "en": "Cancel"},
    "forms.edit": {"de": "Bearbeiten", "en": "Edit"},
    "forms.delete": {"de": "Löschen", "en": "Delete"},
    "forms.none": {"de": "(keine Angabe)", "en": "(none)"},
    "error.back": {"de": "Zur Übersicht", "en": "Back to the dashboard"},
    "error.to_login": {"de": "Zur Anmeldung", "en": "Go to sign-in"},
    "error.csrf": {
        "de": "Das Formular ist abgelaufen oder ungültig. Bitte laden Sie die Seite neu "
        "und versuchen Sie es erneut.",
        "en": "The form has expired or is invalid. Please reload the page and try again.",
    },
    "error.400.title": {"de": "Ungültige Anfrage", "en": "Bad request"},
    "error.400.text": {
        "de": "Die Anfrage konnte nicht verarbeitet werden.",
        "en": "The request could not be processed.",
    },
    "error.nul_field": {
        "de": "Das Feld „{field}“ enthält ein NUL-Zeichen (\\0). Dieses Steuerzeichen ist in "
        "keiner Eingabe erlaubt; bitte entfernen Sie es.",
        "en": "The field “{field}” contains a NUL character (\\0). This control character is "
        "not allowed in any input; please remove it.",
    },
    "error.nul_address": {
        "de": "Die Adresse enthält ein NUL-Zeichen (%00). Dieses Steuerzeichen ist nicht erlaubt.",
        "en": "The address contains a NUL character (%00). This control character is not allowed.",
    },
    "error.403.title": {"de": "Keine Berechtigung", "en": "Access denied"},
    "error.403.text": {
        "de": "Ihre Rolle erlaubt den Zugriff auf diese Seite nicht.",
        "en": "Your role does not allow access to this page.",
    },
    "error.404.title": {"de": "Seite nicht gefunden", "en": "Page not found"},
    "error.404.text": {
        "de": "Die angeforderte Seite existiert nicht.",
        "en": "The requested page does not exist.",
    },
    "error.405.title": {"de": "Methode nicht erlaubt", "en": "Method not allowed"},
    "error.405.text": {
        "de": "Diese Seite kann so nicht aufgerufen werden.",
        "en": "This page cannot be requested this way.",
    },
    "error.413.title": {"de": "Anfrage zu groß", "en": "Request too large"},
    "error.413.text": {
        "de": "Die gesendeten Daten sind zu groß.",
        "en": "The data sent is too large.",
    },
    "error.413.limit": {
        "de": "Die gesendeten Daten sind größer als die erlaubten {limit}. Bitte teilen Sie "
        "die Datei auf oder wenden Sie sich an die Administration.",
        "en": "The data sent is larger than the {limit} allowed. Please split the file or ask "
        "your administrator.",
    },
    "error.429.title": {"de": "Zu viele Anfragen", "en": "Too many requests"},
    "error.429.text": {
        "de": "Bitte warten Sie einen Moment und versuchen Sie es erneut.",
        "en": "Please wait a moment and try again.",
    },
}


def add_messages(catalog: Mapping[str, Mapping[str, str]], origin: str) -> None:
    """Add an area's texts; a text missing a language, or a key another area already
    defines differently, stops the app from starting with a message naming both."""
    for key, texts in catalog.items():
        missing = [language for language in SUPPORTED_LANGUAGES if not texts.get(language)]
        if missing:
            raise ValueError(f"{origin}: the text {key!r} has no {', '.join(missing)} version")
        existing = MESSAGES.get(key)
        if existing is not None and existing != texts:
            raise ValueError(f"{origin}: the text {key!r} is already defined differently")
        MESSAGES[key] = dict(texts)


def normalize_language(value: object) -> str | None:
    """Turn "en", "en-GB" or "EN_us" into "en"; None for anything not supported."""
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return code if code in SUPPORTED_LANGUAGES else None


def get_language() -> str:
    """The language of this request: the user's, else the one chosen on the login page."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    language = g.get(_LANGUAGE)
    if language is None:
        user = current_user()
        chosen = user.language if user is not None else session.get(LANGUAGE_KEY)
        language = normalize_language(chosen) or DEFAULT_LANGUAGE
        setattr(g, _LANGUAGE, language)
    return language


def set_anonymous_language(value: object) -> None:
    """Remember a language choice of a visitor who is not logged in (ignored if unsupported)."""
    language = normalize_language(value)
    if language is not None:
        session[LANGUAGE_KEY] = language
        setattr(g, _LANGUAGE, language)


def t(key: str, /, **params: object) -> str:
    """The text for ``key`` in the request's language, with ``{name}`` fields filled in."""
    texts = MESSAGES.get(key)
    if texts is None:
        return key
    text = texts.get(get_language()) or texts[DEFAULT_LANGUAGE]
    return text.format(**params) if params else text


def forget_language() -> None:
    """Work out the request's language again, e.g. after the user chose another one."""
    if has_request_context():
        g.pop(_LANGUAGE, None)


def item_detail(detail: str | None) -> str:
    """A ledger row's detail as the panel shows it: a skip reason of the reach rule
    (``core.reach.SkipReason``) in the user's language, any other detail as it is."""
    return reason_text(detail, get_language())
