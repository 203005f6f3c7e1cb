"""Texts of the administration."""

_KINDS = {
    "datasource": ("Datenquelle", "Data source"),
    "recipient_filter": ("Empfängerfilter", "Recipient filter"),
    "action": ("Aktion", "Action"),
    "workflow": ("Workflow", "Workflow"),
    "sms_gateway": ("SMS-Gateway", "SMS gateway"),
    "upload_target": ("Upload-Ziel", "Upload target"),
    "document_store": ("Dokumentablage", "Document store"),
}

MESSAGES = {
    "menu.admin": {"de": "Administration", "en": "Administration"},
    "admin.title": {"de": "Administration", "en": "Administration"},
    "admin.intro": {
        "de": "Benutzer, Plugins, Warteschlangen und das Protokoll aller Änderungen.",
        "en": "Users, plugins, queues and the log of every change.",
    },
    "admin.nav.label": {"de": "Bereiche der Administration", "en": "Sections of administration"},
    "admin.nav.overview": {"de": "Übersicht", "en": "Overview"},
    "admin.nav.users": {"de": "Benutzer", "en": "Users"},
    "admin.nav.plugins": {"de": "Plugins", "en": "Plugins"},
    "admin.nav.queues": {"de": "Warteschlangen", "en": "Queues"},
    "admin.nav.audit": {"de": "Protokoll", "en": "Audit log"},
    "admin.filter": {"de": "Filtern", "en": "Filter"},
    "admin.filter.reset": {"de": "Zurücksetzen", "en": "Reset"},
    "admin.save": {"de": "Speichern", "en": "Save"},
    "admin.cancel": {"de": "Abbrechen", "en": "Cancel"},
    "admin.stat.users": {"de": "aktive Benutzer", "en": "active users"},
    "admin.stat.plugins": {"de": "geladene Plugins", "en": "plugins loaded"},
    "admin.stat.plugin_errors": {"de": "Plugin-Ladefehler", "en": "plugin load errors"},
    "admin.stat.failed_jobs": {"de": "fehlgeschlagene Jobs", "en": "failed jobs"},
    "admin.users.intro": {
        "de": "Wer das Panel nutzt und mit welcher Rolle.",
        "en": "Who uses the panel, and in which role.",
    },
    "admin.users.new": {"de": "Neuer Benutzer", "en": "New user"},
    "admin.users.create": {"de": "Benutzer anlegen", "en": "Create user"},
    "admin.users.search": {"de": "Suche", "en": "Search"},
    "admin.users.none": {"de": "Keine Benutzer gefunden.", "en": "No users found."},
    "admin.user.username": {"de": "Benutzername", "en": "Username"},
    "admin.user.username.help": {
        "de": "2 bis 80 Buchstaben, Ziffern oder _ . @ -",
        "en": "2 to 80 letters, digits or _ . @ -",
    },
    "admin.user.display_name": {"de": "Anzeigename", "en": "Display name"},
    "admin.user.email": {"de": "E-Mail", "en": "E-mail"},
    "admin.user.role": {"de": "Rolle", "en": "Role"},
    "admin.user.role.help": {
        "de": "Betrachter lesen, Prüfer geben frei, Kampagnenmanager bearbeiten und starten, "
        "Administratoren verwalten.",
        "en": "Viewers read, reviewers approve, campaign managers edit and start, "
        "administrators administer.",
    },
    "admin.user.language": {"de": "Sprache", "en": "Language"},
    "admin.user.status": {"de": "Status", "en": "Status"},
    "admin.user.active": {"de": "aktiv", "en": "active"},
    "admin.user.inactive": {"de": "deaktiviert", "en": "deactivated"},
    "admin.user.active_label": {"de": "Konto aktiv", "en": "Account active"},
    "admin.user.active.help": {
        "de": "Ein deaktivierter Benutzer kann sich nicht mehr anmelden; offene Sitzungen "
        "enden sofort.",
        "en": "A deactivated user cannot sign in any more; open sessions end at once.",
    },
    "admin.user.last_login": {"de": "Letzte Anmeldung", "en": "Last sign-in"},
    "admin.user.last_login_at": {"de": "letzte Anmeldung {when}", "en": "last sign-in {when}"},
    "admin.user.created": {"de": "Angelegt {when}", "en": "Created {when}"},
    "admin.user.myself": {
        "de": "Das ist Ihr eigenes Konto: Sie können sich weder die Administratorrolle "
        "nehmen noch sich deaktivieren.",
        "en": "This is your own account: you can neither take the administrator role from "
        "yourself nor deactivate yourself.",
    },
    "admin.user.settings": {"de": "Einstellungen", "en": "Settings"},
    "admin.user.password": {"de": "Passwort", "en": "Password"},
    "admin.user.new_password": {"de": "Neues Passwort", "en": "New password"},
    "admin.user.password_repeat": {"de": "Passwort wiederholen", "en": "Repeat the password"},
    "admin.user.password.help": {
        "de": "Mindestens 10 Zeichen.",
        "en": "At least 10 characters.",
    },
    "admin.user.reset_password": {"de": "Passwort zurücksetzen", "en": "Reset the password"},
    "admin.user.reset_password.help": {
        "de": "Der Benutzer wird überall abgemeldet und meldet sich mit dem neuen Passwort an.",
        "en": "The user is signed out everywhere and signs in with the new password.",
    },
    "admin.user.reset_password.submit": {"de": "Passwort setzen", "en": "Set password"},
    "admin.user.history": {"de": "Änderungen an diesem Konto", "en": "Changes to this account"},
    "admin.error.self_admin": {
        "de": "Sie können sich die Administratorrolle nicht selbst nehmen.",
        "en": "You cannot take the administrator role from yourself.",
    },
    "admin.error.self_deactivate": {
        "de": "Sie können sich nicht selbst deaktivieren.",
        "en": "You cannot deactivate yourself.",
    },
    "admin.error.email": {
        "de": "Das ist keine gültige E-Mail-Adresse.",
        "en": "This is not a valid e-mail address.",
    },
    "admin.error.username": {
        "de": "2 bis 80 Buchstaben, Ziffern oder die Zeichen _ . @ -",
        "en": "2 to 80 letters, digits or the characters _ . @ -",
    },
    "admin.error.username_taken": {
        "de": "Diesen Benutzernamen gibt es schon.",
        "en": "This username already exists.",
    },
    "admin.error.password": {
        "de": "Das Passwort braucht mindestens 10 Zeichen.",
        "en": "The password needs at least 10 characters.",
    },
    "admin.flash.user_created": {
        "de": "Benutzer „{name}“ wurde angelegt.",
        "en": "User “{name}” was created.",
    },
    "admin.flash.user_saved": {"de": "„{name}“ wurde gespeichert.", "en": "“{name}” was saved."},
    "admin.flash.unchanged": {"de": "Nichts geändert.", "en": "Nothing changed."},
    "admin.flash.password_reset": {
        "de": "Das Passwort von „{name}“ wurde neu gesetzt.",
        "en": "The password of “{name}” was reset.",
    },
    "admin.plugins.intro": {
        "de": "Geladene Plugins und was sie registrieren, abgeschaltete Plugins und Ladefehler "
        "(wie „campaign plugins“).",
        "en": "Loaded plugins and what they register, disabled plugins and load errors (as "
        "“campaign plugins” shows them).",
    },
    "admin.plugins.loaded": {"de": "Geladene Plugins", "en": "Loaded plugins"},
    "admin.plugins.errors": {"de": "Nicht geladen", "en": "Not loaded"},
    "admin.plugins.disabled": {
        "de": "Abgeschaltet mit CAMPAIGN_DISABLE_PLUGINS: {names}",
        "en": "Disabled with CAMPAIGN_DISABLE_PLUGINS: {names}",
    },
    "admin.plugins.plugin": {"de": "Plugin", "en": "Plugin"},
    "admin.plugins.reason": {"de": "Grund", "en": "Reason"},
    "admin.plugins.source": {"de": "Herkunft", "en": "Source"},
    "admin.plugins.builtin": {"de": "mitgeliefert", "en": "built-in"},
    "admin.plugins.registers": {"de": "Registriert", "en": "Registers"},
    "admin.plugins.hooks": {"de": "Weitere Hooks", "en": "Other hooks"},
    "admin.queues.intro": {
        "de": "Die RQ-Warteschlangen, ihre Worker und fehlgeschlagene Jobs.",
        "en": "The RQ queues, their workers and failed jobs.",
    },
    "admin.queues.unavailable": {
        "de": "Redis ist nicht erreichbar: {reason}",
        "en": "Redis cannot be reached: {reason}",
    },
    "admin.queues.queue": {"de": "Warteschlange {name}", "en": "Queue {name}"},
    "admin.queues.counts": {
        "de": "wartend · {running} laufend",
        "en": "waiting · {running} running",
    },
    "admin.queues.failed_count": {"de": "{count} fehlgeschlagen", "en": "{count} failed"},
    "admin.queues.workers": {"de": "Worker", "en": "Workers"},
    "admin.queues.worker": {"de": "Name", "en": "Name"},
    "admin.queues.state": {"de": "Zustand", "en": "State"},
    "admin.queues.listens": {"de": "Warteschlangen", "en": "Queues"},
    "admin.queues.current": {"de": "Aktueller Job", "en": "Current job"},
    "admin.queues.heartbeat": {"de": "Letztes Lebenszeichen", "en": "Last heartbeat"},
    "admin.queues.done": {"de": "Erledigt / fehlgeschlagen", "en": "Done / failed"},
    "admin.queues.no_workers": {
        "de": "Kein Worker läuft: Jobs bleiben liegen, bis einer startet (campaign worker).",
        "en": "No worker is running: jobs wait until one starts (campaign worker).",
    },
    "admin.queues.failed": {
        "de": "Fehlgeschlagene Jobs in „{name}“",
        "en": "Failed jobs in “{name}”",
    },
    "admin.queues.failed_at": {"de": "Fehlgeschlagen", "en": "Failed at"},
    "admin.queues.job": {"de": "Job", "en": "Job"},
    "admin.queues.error": {"de": "Fehler", "en": "Error"},
    "admin.queues.actions": {"de": "Aktionen", "en": "Actions"},
    "admin.queues.requeue": {"de": "Erneut einreihen", "en": "Requeue"},
    "admin.queues.delete": {"de": "Löschen", "en": "Delete"},
    "admin.queues.delete.confirm": {
        "de": "Job {job} endgültig löschen?",
        "en": "Delete job {job} for good?",
    },
    "admin.queues.no_failed": {"de": "Keine fehlgeschlagenen Jobs.", "en": "No failed jobs."},
    "admin.flash.job_requeue": {
        "de": "Job {job} wurde erneut eingereiht.",
        "en": "Job {job} was requeued.",
    },
    "admin.flash.job_delete": {"de": "Job {job} wurde gelöscht.", "en": "Job {job} was deleted."},
    "admin.flash.job_gone": {
        "de": "Job {job} ist kein fehlgeschlagener Job mehr.",
        "en": "Job {job} is no longer a failed job.",
    },
    "admin.audit.intro": {
        "de": "Wer was gestartet, freigegeben, geändert oder gelöscht hat.",
        "en": "Who started, approved, changed or deleted what.",
    },
    "admin.audit.latest": {"de": "Letzte Änderungen", "en": "Latest changes"},
    "admin.audit.all": {"de": "Ganzes Protokoll", "en": "Whole log"},
    "admin.audit.at": {"de": "Zeitpunkt", "en": "When"},
    "admin.audit.actor": {"de": "Benutzer", "en": "User"},
    "admin.audit.action": {"de": "Aktion", "en": "Action"},
    "admin.audit.action.placeholder": {"de": "z. B. report.", "en": "e.g. report."},
    "admin.audit.target": {"de": "Objekt", "en": "Target"},
    "admin.audit.target_type": {"de": "Objektart", "en": "Target type"},
    "admin.audit.target_id": {"de": "Objekt-Nr.", "en": "Target id"},
    "admin.audit.summary": {"de": "Beschreibung", "en": "Summary"},
    "admin.audit.system": {"de": "System", "en": "System"},
    "admin.audit.none": {"de": "Keine Einträge.", "en": "No entries."},
    **{
        f"admin.plugins.kind.{kind}": {"de": german, "en": english}
        for kind, (german, english) in _KINDS.items()
    },
}
