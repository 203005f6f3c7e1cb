"""Texts of the campaign screen, and German titles for the built-in plugins' forms."""

from core.models import ItemKind, ItemStatus, RunState

_STATES = {
    RunState.QUEUED: ("Wartet", "Queued"),
    RunState.TARGETING: ("Zielgruppe wird ermittelt", "Targeting"),
    RunState.AWAITING_CONFIRMATION: ("Wartet auf Bestätigung", "Awaiting confirmation"),
    RunState.RUNNING: ("Läuft", "Running"),
    RunState.FINISHING: ("Wird abgeschlossen", "Finishing"),
    RunState.COMPLETED: ("Abgeschlossen", "Completed"),
    RunState.COMPLETED_WITH_ERRORS: ("Mit Fehlern abgeschlossen", "Completed with errors"),
    RunState.FAILED: ("Fehlgeschlagen", "Failed"),
    RunState.CANCELLED: ("Abgebrochen", "Cancelled"),
}
_ITEMS = {
    ItemStatus.PENDING: ("Offen", "Pending"),
    ItemStatus.CLAIMED: ("In Arbeit", "In progress"),
    ItemStatus.DONE: ("Erledigt", "Done"),
    ItemStatus.FAILED: ("Fehlgeschlagen", "Failed"),
    ItemStatus.SKIPPED: ("Übersprungen", "Skipped"),
    ItemStatus.HELD_OUT: ("Kontrollgruppe", "Held out"),
    ItemStatus.UNCLEAR: ("Unklar", "Unclear"),
}
_KINDS = {
    ItemKind.RECIPIENT: ("Empfänger", "Recipient"),
    ItemKind.GROUP: ("Gruppe", "Group"),
    ItemKind.MEMBER: ("Gruppenmitglied", "Group member"),
}


def _pairs(prefix: str, texts: dict) -> dict[str, dict[str, str]]:
    return {f"{prefix}.{key.value}": {"de": de, "en": en} for key, (de, en) in texts.items()}


# (kind, name) → (German title, German description, {field: (label, help)})
_PLUGINS: dict[tuple[str, str], tuple[str, str, dict[str, tuple[str, str]]]] = {
    ("datasource", "query"): (
        "Individuelle Abfrage",
        "Datensätze einer Abfrage aus dem Abfrage-Editor; sie wird bei jedem Start neu ausgeführt.",
        {
            "saved_query_id": ("Gespeicherte Abfrage", "Wird bei jedem Start neu gelesen."),
            "definition": ("Eigene Abfrage", "Eine Abfrage nur für diese Kampagne (JSON)."),
            "entity": ("Datensätze", "Was die Abfrage liefert."),
            "group_by": ("Gruppieren nach", "Feld, nach dem die Empfänger gruppiert werden."),
        },
    ),
    ("datasource", "distribution_list"): (
        "Vordefinierter Verteiler",
        "Eine gespeicherte Abfrage mit dem Kennzeichen „Verteiler für Kampagne“; sie wird bei "
        "jedem Start neu gelesen.",
        {
            "list_id": ("Verteiler", "Nur Abfragen mit dem Kennzeichen „Verteiler für Kampagne“."),
            "entity": ("Datensätze", "Was der Verteiler liefert."),
            "group_by": ("Gruppieren nach", "Feld, nach dem die Empfänger gruppiert werden."),
        },
    ),
    ("datasource", "static"): (
        "Statische Daten",
        "Datensätze, die der Kampagne von Hand oder aus einer Abfrage hinzugefügt wurden; "
        "die Liste ändert sich nicht von selbst.",
        {
            "entity": ("Datensätze", "Welche Art von Datensätzen gespeichert ist."),
            "group_by": ("Gruppieren nach", "Feld, nach dem die Empfänger gruppiert werden."),
        },
    ),
    ("datasource", "file_import"): (
        "Dateiimport",
        "Zeilen einer importierten CSV-Datei (Reiter „Daten“).",
        {"group_by": ("Gruppieren nach", "Spalte, nach der die Zeilen gruppiert werden.")},
    ),
    ("recipient_filter", "channel"): (
        "Hat einen nutzbaren Kanal",
        "Nur Empfänger mit gültiger E-Mail-Adresse, Mobilnummer oder vollständiger Anschrift.",
        {
            "channel": ("Kanal", "Der Kanal der Aktion, oder Post, E-Mail bzw. Mobil."),
            "region": ("Land", "Für Rufnummern ohne Ländervorwahl (ISO-Code, z. B. DE)."),
        },
    ),
    ("recipient_filter", "consent"): (
        "Einwilligung und Versandsperre",
        "Lässt Kontakte mit Versandsperre oder Widerspruch für den Kanal weg.",
        {"channel": ("Kanal", "Wessen Widerspruch zählt.")},
    ),
    ("recipient_filter", "dedupe"): (
        "Dubletten entfernen",
        "Ein Empfänger je E-Mail, Mobilnummer, Name und Anschrift oder Feld.",
        {
            "key": ("Schlüssel", "email, mobile, name_and_address oder ein Feld wie number."),
            "keep": ("Behalten", "Welcher Datensatz von Dubletten bleibt."),
        },
    ),
    ("recipient_filter", "exclusion"): (
        "Ausschluss",
        "Lässt Empfänger anderer Kampagnen oder Läufe weg.",
        {
            "campaign_ids": ("Kampagnen", "Empfänger aller Läufe dieser Kampagnen weglassen."),
            "run_ids": ("Läufe", "Empfänger dieser Läufe (Nummern) weglassen."),
            "only_done": ("Nur erledigte", "Nur Empfänger, für die die Aktion erledigt wurde."),
            "within_days": ("Innerhalb von Tagen", "Nur Läufe der letzten Tage."),
        },
    ),
    ("recipient_filter", "condition"): (
        "Feldbedingung",
        "Eine Bedingung mit den 16 Bedingungstypen des Abfrage-Editors.",
        {"condition": ("Bedingung", "Bedingung oder Block wie im Abfrage-Editor (JSON).")},
    ),
    ("recipient_filter", "limit"): (
        "Begrenzung",
        "Eine Zufallsstichprobe, die ersten N nach Sortierung oder ein Prozentsatz.",
        {
            "mode": ("Art", "random, top oder percentage."),
            "count": ("Anzahl", "Wie viele Empfänger bleiben."),
            "percentage": ("Prozent", "Anteil, der bleibt."),
            "sort": ("Sortierung", "Feld und Richtung für „top“."),
            "sort.field": ("Feld", ""),
            "sort.descending": ("Absteigend", ""),
            "seed": ("Startwert", "Gleicher Startwert, gleiche Stichprobe."),
        },
    ),
    ("recipient_filter", "control_group"): (
        "Kontrollgruppe",
        "Hält einen Teil der Empfänger zurück; sie werden erfasst, aber nie angeschrieben.",
        {
            "mode": ("Art", "random oder top."),
            "percentage": ("Prozent", "Anteil, der zurückgehalten wird."),
            "count": ("Anzahl", "Wie viele zurückgehalten werden."),
            "sort": ("Sortierung", "Feld und Richtung für „top“."),
            "sort.field": ("Feld", ""),
            "sort.descending": ("Absteigend", ""),
            "seed": ("Startwert", "Gleicher Startwert, gleiche Gruppe."),
        },
    ),
    ("action", "print_reports"): (
        "Berichte drucken",
        "Druckt einen Bericht als persönlichen Brief je Empfänger, archiviert ihn beim "
        "Kontakt und erstellt eine Sammeldatei mit Begleitliste für den Druckdienstleister.",
        {
            "report": ("Bericht", "Für den Massendruck freigegebene Berichte."),
            "archive": ("Berichte archivieren", "Jeden Brief beim Kontakt ablegen."),
            "archive_only": ("Nur archivieren", "Keine Sammeldatei, nichts wird gedruckt."),
            "route_email_preferring_to_email": (
                "E-Mail-Bevorzuger auslassen",
                "Empfänger, die E-Mail bevorzugen, überspringen.",
            ),
            "printer": ("Drucker", "CUPS-Drucker für die Sammeldatei (lp -d)."),
            "store": ("Dokumentablage", "Wo die archivierten Briefe liegen."),
        },
    ),
    ("action", "sms"): (
        "SMS",
        "Ein Text je Empfänger über ein SMS-Gateway.",
        {
            "gateway": ("Gateway", "Über welches Gateway gesendet wird."),
            "gateway_settings": ("Gateway-Einstellungen", "Einstellungen des Gateways (JSON)."),
            "template": ("Text", "Mit Platzhaltern wie {{ first_name }}."),
            "sender": ("Absender", "Name (bis 11 Zeichen) oder Nummer."),
            "region": ("Land", "Für Nummern ohne Ländervorwahl."),
            "max_segments": ("Höchstens Teile", "Längere Texte werden abgelehnt."),
        },
    ),
}


def _plugin_texts() -> dict[str, dict[str, str]]:
    """German texts for the built-in plugins; English keeps the plugin's own words."""
    from core.plugins import load_plugins

    host = load_plugins(entry_points=False)
    registries = {
        "datasource": host.datasources,
        "recipient_filter": host.recipient_filters,
        "action": host.actions,
    }
    texts: dict[str, dict[str, str]] = {}
    for (kind, name), (title, description, fields) in _PLUGINS.items():
        registry = registries[kind]
        if name not in registry:
            continue
        cls = registry.get(name)
        schema = cls.params_schema()
        properties = schema.get("properties", {})
        base = f"plugin.{kind}.{name}"
        texts[f"{base}.title"] = {"de": title, "en": cls.title}
        texts[f"{base}.description"] = {"de": description, "en": cls.description or title}
        for path, (label, help_text) in fields.items():
            own = properties.get(path.split(".")[0], {})
            texts[f"{base}.{path}.label"] = {"de": label, "en": own.get("title", label)}
            if help_text:
                texts[f"{base}.{path}.help"] = {
                    "de": help_text,
                    "en": own.get("description", help_text),
                }
    for (kind, name, path), names in _CHOICES.items():
        for value, (german, english) in names.items():
            texts[f"plugin.{kind}.{name}.{path}.choice.{value}"] = {"de": german, "en": english}
    return texts


_CHANNELS = {
    "action": ("Kanal der Aktion", "The action's channel"),
    "postal": ("Post", "Post"),
    "email": ("E-Mail", "E-mail"),
    "mobile": ("Mobil", "Mobile"),
}
# (kind, name, field) → {value: (German, English)}: names for a field's choices
_CHOICES = {
    ("recipient_filter", "channel", "channel"): _CHANNELS,
    ("recipient_filter", "consent", "channel"): _CHANNELS,
}


MESSAGES = {
    "menu.campaigns": {"de": "Kampagnen", "en": "Campaigns"},
    "campaigns.title": {"de": "Kampagnen", "en": "Campaigns"},
    "campaigns.tabs": {"de": "Bereiche der Kampagne", "en": "Campaign sections"},
    "campaigns.tab.general": {"de": "Allgemein", "en": "General"},
    "campaigns.tab.setup": {"de": "Kampagne", "en": "Campaign"},
    "campaigns.tab.data": {"de": "Daten", "en": "Data"},
    "campaigns.tab.runs": {"de": "Läufe", "en": "Runs"},
    "campaigns.list.label": {"de": "Kampagnenliste", "en": "Campaign list"},
    "campaigns.list.search": {"de": "Kampagnen suchen", "en": "Search campaigns"},
    "campaigns.list.status": {"de": "Status", "en": "Status"},
    "campaigns.list.state": {"de": "Kampagnenstatus", "en": "Campaign state"},
    "campaigns.list.all_states": {"de": "Alle Kampagnenstatus", "en": "Every campaign state"},
    "campaigns.start.closed": {
        "de": "Die Kampagne hat den Status „{state}“: Öffnen Sie sie unter „Planung und "
        "Kosten“ wieder, bevor Sie einen Lauf starten.",
        "en": "The campaign's state is “{state}”: reopen it under “Planning and costs” "
        "before starting a run.",
    },
    "campaigns.list.all": {"de": "Alle", "en": "All"},
    "campaigns.list.filter": {"de": "Filtern", "en": "Filter"},
    "campaigns.list.empty": {"de": "Keine Kampagnen gefunden.", "en": "No campaigns found."},
    "campaigns.status.never": {"de": "Noch nie ausgeführt", "en": "Never run"},
    "campaigns.status.active": {"de": "Läuft gerade", "en": "Running now"},
    **{
        f"campaigns.status.{state.value}": {"de": de, "en": en}
        for state, (de, en) in _STATES.items()
    },
    "campaigns.none_selected.title": {"de": "Keine Kampagne gewählt", "en": "No campaign selected"},
    "campaigns.none_selected.text": {
        "de": "Wählen Sie links eine Kampagne oder legen Sie eine neue an.",
        "en": "Choose a campaign on the left or create a new one.",
    },
    "campaigns.new.button": {"de": "Neue Kampagne", "en": "New campaign"},
    "campaigns.new.title": {"de": "Neue Kampagne", "en": "New campaign"},
    "campaigns.new.create": {"de": "Kampagne anlegen", "en": "Create campaign"},
    "campaigns.new.name_help": {
        "de": "Automatisch vergeben; Sie können ihn ändern.",
        "en": "Generated automatically; you may change it.",
    },
    "campaigns.new.freeze_note": {
        "de": "Beim Anlegen wird die aktuelle Ergebnisliste der Abfrage als statische Daten "
        "gespeichert.",
        "en": "Creating the campaign stores the query's current result as static data.",
    },
    "campaigns.new.bad_query": {
        "de": "Die Abfrage ist ungültig: {reason}",
        "en": "The query is invalid: {reason}",
    },
    "campaigns.created": {"de": "Kampagne „{name}“ angelegt.", "en": "Campaign “{name}” created."},
    "campaigns.saved": {"de": "Gespeichert.", "en": "Saved."},
    "campaigns.save": {"de": "Speichern", "en": "Save"},
    "campaigns.cancel": {"de": "Abbrechen", "en": "Cancel"},
    "campaigns.copy": {"de": "Kopieren", "en": "Copy"},
    "campaigns.copied": {
        "de": "Kopie „{name}“ angelegt.",
        "en": "Copy “{name}” created.",
    },
    "campaigns.delete": {"de": "Löschen …", "en": "Delete …"},
    "campaigns.delete.heading": {
        "de": "Kampagne „{name}“ löschen?",
        "en": "Delete the campaign “{name}”?",
    },
    "campaigns.delete.text": {
        "de": "Die Kampagne, ihre {runs} Läufe mit allen Ergebnissen und ihre statischen "
        "Daten werden gelöscht. Archivierte Briefe bleiben beim Kontakt erhalten.",
        "en": "The campaign, its {runs} runs with all results and its static data are "
        "deleted. Archived letters stay with their contacts.",
    },
    "campaigns.delete.confirm": {"de": "Endgültig löschen", "en": "Delete for good"},
    "campaigns.delete.refused": {
        "de": "Lauf #{number} ist noch aktiv. Warten Sie ihn ab oder brechen Sie ihn ab, "
        "bevor Sie die Kampagne löschen.",
        "en": "Run #{number} is still active. Wait for it or cancel it before deleting "
        "the campaign.",
    },
    "campaigns.deleted": {"de": "Kampagne „{name}“ gelöscht.", "en": "Campaign “{name}” deleted."},
    "campaigns.unknown_plugin": {
        "de": "Das Plugin „{name}“ ist nicht geladen.",
        "en": "The plugin “{name}” is not loaded.",
    },
    "campaigns.general.heading": {"de": "Allgemein", "en": "General"},
    "campaigns.general.overview": {"de": "Überblick", "en": "Overview"},
    "campaigns.field.name": {"de": "Name", "en": "Name"},
    "campaigns.field.description": {"de": "Beschreibung", "en": "Description"},
    "campaigns.field.last_execution": {"de": "Letzte Ausführung", "en": "Last execution"},
    "campaigns.field.runs": {"de": "Läufe", "en": "Runs"},
    "campaigns.field.datasource": {"de": "Datenquelle", "en": "Data source"},
    "campaigns.field.action": {"de": "Aktion", "en": "Action"},
    "campaigns.field.created": {"de": "Angelegt", "en": "Created"},
    "campaigns.field.updated": {"de": "Zuletzt geändert", "en": "Last changed"},
    "campaigns.setup.datasource": {"de": "Datenquelle wählen", "en": "Choose the data source"},
    "campaigns.setup.datasource_choice": {"de": "Datenquelle", "en": "Data source"},
    "campaigns.setup.apply": {"de": "Übernehmen", "en": "Apply"},
    "campaigns.setup.groups": {"de": "Datengruppen für Aktionen", "en": "Groups for actions"},
    "campaigns.setup.records_now": {
        "de": "Datensätze liefert die Datenquelle zurzeit.",
        "en": "records come from the data source now.",
    },
    "campaigns.setup.groups_help": {
        "de": "Die Aktion läuft nur für die angehakten Gruppen; ohne Haken für alle.",
        "en": "The action runs for the ticked groups only; with none ticked, for all.",
    },
    "campaigns.setup.no_groups": {
        "de": "Die Datenquelle ist nicht gruppiert: Die Aktion läuft für alle Datensätze.",
        "en": "The data source is not grouped: the action runs for every record.",
    },
    "campaigns.setup.groups_error": {
        "de": "Die Datenquelle kann zurzeit nicht gezählt werden: {reason}",
        "en": "The data source cannot be counted now: {reason}",
    },
    "campaigns.setup.filters": {"de": "Empfängerauswahl", "en": "Selection of recipients"},
    "campaigns.setup.filters_help": {
        "de": "Die Filter wirken nacheinander in dieser Reihenfolge.",
        "en": "The filters apply one after another in this order.",
    },
    "campaigns.setup.no_filters": {
        "de": "Keine Filter: Alle Datensätze der Datenquelle werden Empfänger.",
        "en": "No filters: every record of the data source becomes a recipient.",
    },
    "campaigns.setup.add_filter": {"de": "Filter hinzufügen", "en": "Add filter"},
    "campaigns.setup.up": {"de": "Nach oben", "en": "Move up"},
    "campaigns.setup.down": {"de": "Nach unten", "en": "Move down"},
    "campaigns.setup.remove": {"de": "Entfernen", "en": "Remove"},
    "campaigns.setup.action": {"de": "Aktion wählen", "en": "Choose the action"},
    "campaigns.setup.action_choice": {"de": "Aktion", "en": "Action"},
    "campaigns.setup.save_hint": {
        "de": "Änderungen gelten ab dem nächsten Start.",
        "en": "Changes apply from the next start.",
    },
    "campaigns.setup.fix_errors": {
        "de": "Bitte korrigieren Sie die markierten Angaben.",
        "en": "Please correct the marked entries.",
    },
    "campaigns.start.heading": {"de": "Starten", "en": "Start"},
    "campaigns.start.start": {"de": "Start", "en": "Start"},
    "campaigns.start.dry_run": {"de": "Probelauf", "en": "Dry run"},
    "campaigns.start.limit": {"de": "Höchstens Empfänger", "en": "At most recipients"},
    "campaigns.start.limit_help": {
        "de": "Nur die ersten N Empfänger bearbeiten.",
        "en": "Process only the first N recipients.",
    },
    "campaigns.start.help": {
        "de": "Start ermittelt zuerst die Empfänger und zeigt ihre Zahl; gesendet wird erst, "
        "wenn Sie bestätigen. Der Probelauf ermittelt die Empfänger und zeigt eine Vorschau, "
        "ohne etwas zu drucken, zu senden oder zu archivieren.",
        "en": "Start first determines the recipients and shows their number; nothing is sent "
        "until you confirm. A dry run selects the recipients and shows a preview without "
        "printing, sending or archiving anything.",
    },
    "campaigns.start.not_allowed": {
        "de": "Nur Kampagnenmanager können Läufe starten.",
        "en": "Only campaign managers can start runs.",
    },
    "campaigns.start.active": {
        "de": "Lauf #{number} ist aktiv ({state}).",
        "en": "Run #{number} is active ({state}).",
    },
    "campaigns.start.watch": {"de": "Fortschritt ansehen", "en": "Watch its progress"},
    "campaigns.start.started": {"de": "Lauf #{number} gestartet.", "en": "Run #{number} started."},
    "campaigns.start.analysing": {
        "de": "Lauf #{number}: Die Empfänger werden ermittelt. Danach bestätigen Sie den "
        "Versand; vorher wird nichts gesendet.",
        "en": "Run #{number}: the recipients are being determined. Then you confirm the "
        "send; nothing is sent before.",
    },
    "campaigns.start.refused": {
        "de": "Der Lauf wurde nicht gestartet: {reason}",
        "en": "The run was not started: {reason}",
    },
    "campaigns.start.bad_limit": {
        "de": "„{value}“ ist keine ganze Zahl.",
        "en": "“{value}” is not a whole number.",
    },
    "campaigns.start.queue_down": {
        "de": "Die Auftragswarteschlange ist nicht erreichbar: {reason}",
        "en": "The job queue cannot be reached: {reason}",
    },
    "campaigns.service.label": {"de": "Servicekommunikation", "en": "Service communication"},
    "campaigns.service.active": {
        "de": "Diese Kampagne ist als Servicekommunikation markiert (Vertragsänderung, "
        "gesetzlich vorgeschriebene Mitteilung): Widersprüche werden übergangen, "
        "Versandsperren nie.",
        "en": "This campaign is marked as service communication (a contract change, a "
        "legally required notice): opt-outs are passed, dispatch blocks never.",
    },
    "campaigns.service.inactive": {
        "de": "Empfänger mit Versandsperre oder Widerspruch für den Kanal werden übersprungen.",
        "en": "Recipients with a dispatch block or an opt-out of the channel are skipped.",
    },
    "campaigns.service.set": {
        "de": "Als Servicekommunikation markieren",
        "en": "Mark as service communication",
    },
    "campaigns.service.unset": {
        "de": "Markierung Servicekommunikation aufheben",
        "en": "Unmark service communication",
    },
    "campaigns.service.on": {
        "de": "Die Kampagne ist jetzt Servicekommunikation.",
        "en": "The campaign is now service communication.",
    },
    "campaigns.service.off": {
        "de": "Die Kampagne ist keine Servicekommunikation mehr.",
        "en": "The campaign is no longer service communication.",
    },
    "campaigns.data.heading": {"de": "Statische Daten", "en": "Static data"},
    "campaigns.data.help": {
        "de": "Diese Datensätze ändern sich nur, wenn Sie sie hier ändern.",
        "en": "These records only change when you change them here.",
    },
    "campaigns.data.empty": {"de": "Noch keine Datensätze.", "en": "No records yet."},
    "campaigns.data.record": {"de": "Datensatz", "en": "Record"},
    "campaigns.data.place": {"de": "Ort", "en": "Place"},
    "campaigns.data.source": {"de": "Herkunft", "en": "Origin"},
    "campaigns.data.source.manual": {"de": "von Hand", "en": "by hand"},
    "campaigns.data.source.frozen": {"de": "aus Abfrage", "en": "from a query"},
    "campaigns.data.source.import": {"de": "Import", "en": "import"},
    "campaigns.data.gone": {"de": "(gelöscht)", "en": "(deleted)"},
    "campaigns.data.remove": {"de": "Markierte entfernen", "en": "Remove selected"},
    "campaigns.data.removed": {"de": "{count} entfernt.", "en": "{count} removed."},
    "campaigns.data.none_selected": {
        "de": "Bitte wählen Sie Datensätze aus.",
        "en": "Please select records.",
    },
    "campaigns.data.add_heading": {"de": "Nach Nummer hinzufügen", "en": "Add by id"},
    "campaigns.data.entity": {"de": "Art", "en": "Kind"},
    "campaigns.data.ids": {"de": "IDs", "en": "Ids"},
    "campaigns.data.ids_help": {
        "de": "Durch Komma, Semikolon, Leerzeichen oder Zeilen getrennt.",
        "en": "Separated by commas, semicolons, spaces or lines.",
    },
    "campaigns.data.bad_ids": {
        "de": "Nur ganze Zahlen als IDs, getrennt durch Komma oder Zeilen.",
        "en": "Ids must be whole numbers separated by commas or lines.",
    },
    "campaigns.data.no_ids": {"de": "Bitte IDs eingeben.", "en": "Please enter ids."},
    "campaigns.data.add": {"de": "Hinzufügen", "en": "Add"},
    "campaigns.data.added": {"de": "{count} hinzugefügt.", "en": "{count} added."},
    "campaigns.data.freeze_heading": {
        "de": "Aktuelle Liste speichern",
        "en": "Store the current list",
    },
    "campaigns.data.saved_query": {"de": "Gespeicherte Abfrage", "en": "Saved query"},
    "campaigns.data.freeze_help": {
        "de": "Ersetzt die früher aus Abfragen gespeicherten Datensätze; von Hand "
        "hinzugefügte bleiben.",
        "en": "Replaces the records stored from queries before; those added by hand stay.",
    },
    "campaigns.data.freeze": {"de": "Ergebnis speichern", "en": "Store the result"},
    "campaigns.data.choose_query": {
        "de": "Bitte wählen Sie eine Abfrage.",
        "en": "Please choose a query.",
    },
    "campaigns.data.frozen": {
        "de": "{count} Datensätze aus der Abfrage gespeichert.",
        "en": "{count} records stored from the query.",
    },
    "campaigns.import.heading": {"de": "CSV-Datei importieren", "en": "Import a CSV file"},
    "campaigns.import.file": {"de": "Datei", "en": "File"},
    "campaigns.import.help": {
        "de": "Erste Zeile mit Spaltennamen (z. B. Vorname; Nachname; PLZ; Ort; E-Mail). "
        "Sie sehen vor dem Import eine Vorschau.",
        "en": "First line with column names (e.g. first name, last name, postcode, city, "
        "e-mail). You see a preview before anything is imported.",
    },
    "campaigns.import.check": {"de": "Prüfen", "en": "Check"},
    "campaigns.import.no_file": {
        "de": "Bitte wählen Sie eine Datei.",
        "en": "Please choose a file.",
    },
    "campaigns.import.not_csv": {
        "de": "„{name}“ ist keine CSV-Datei (.csv oder .txt).",
        "en": "“{name}” is not a CSV file (.csv or .txt).",
    },
    "campaigns.import.too_large": {
        "de": "Die Datei ist größer als {megabytes} MB.",
        "en": "The file is larger than {megabytes} MB.",
    },
    "campaigns.import.expired": {
        "de": "Die hochgeladene Datei ist nicht mehr vorhanden; bitte erneut hochladen.",
        "en": "The uploaded file is gone; please upload it again.",
    },
    "campaigns.import.preview": {"de": "Vorschau: {name}", "en": "Preview: {name}"},
    "campaigns.import.rows": {"de": "Zeilen", "en": "Rows"},
    "campaigns.import.errors": {"de": "Fehlerhafte Zeilen", "en": "Rows with errors"},
    "campaigns.import.encoding": {"de": "Zeichensatz", "en": "Encoding"},
    "campaigns.import.delimiter": {"de": "Trennzeichen", "en": "Delimiter"},
    "campaigns.import.mapping": {"de": "Spaltenzuordnung", "en": "Column mapping"},
    "campaigns.import.ignored": {"de": "nicht übernommen", "en": "ignored"},
    "campaigns.import.line": {"de": "Zeile", "en": "Line"},
    "campaigns.import.error_report": {
        "de": "Diese Zeilen haben Fehler",
        "en": "These rows have errors",
    },
    "campaigns.import.all_or_nothing": {
        "de": "Ein Import übernimmt alle Zeilen oder keine. Korrigieren Sie die Datei, oder "
        "importieren Sie ausdrücklich nur die fehlerfreien Zeilen.",
        "en": "An import stores every row or none. Correct the file, or explicitly import only "
        "the valid rows.",
    },
    "campaigns.import.confirm": {
        "de": "{count} Zeilen importieren",
        "en": "Import {count} rows",
    },
    "campaigns.import.only_valid": {
        "de": "Nur die {count} fehlerfreien Zeilen importieren, {errors} Zeilen auslassen",
        "en": "Import only the {count} valid rows, leave out {errors} rows",
    },
    "campaigns.import.refused": {
        "de": "Nichts importiert: {count} Zeilen haben Fehler. Nur die fehlerfreien Zeilen zu "
        "importieren müssen Sie ausdrücklich wählen.",
        "en": "Nothing imported: {count} rows have errors. Importing only the valid rows must "
        "be chosen explicitly.",
    },
    "campaigns.import.done_all": {
        "de": "Alle {count} Zeilen importiert.",
        "en": "All {count} rows imported.",
    },
    "campaigns.import.done_left_out": {
        "de": "{count} Zeilen importiert; {errors} Zeilen mit Fehlern ausgelassen (Zeilen "
        "{lines}), im Protokoll vermerkt.",
        "en": "{count} rows imported; {errors} rows with errors left out (lines {lines}), "
        "recorded in the audit log.",
    },
    "runs.heading": {"de": "Alle Läufe", "en": "Every run"},
    "runs.all": {"de": "Alle Läufe", "en": "Every run"},
    "runs.none": {"de": "Diese Kampagne ist noch nie gelaufen.", "en": "This campaign never ran."},
    "runs.go_start": {"de": "Zum Start", "en": "Go to start"},
    "runs.number": {"de": "Lauf", "en": "Run"},
    "runs.run": {"de": "Lauf #{number}", "en": "Run #{number}"},
    "runs.state": {"de": "Status", "en": "State"},
    "runs.progress": {"de": "Fortschritt", "en": "Progress"},
    "runs.started": {"de": "Gestartet", "en": "Started"},
    "runs.started_by": {"de": "von", "en": "by"},
    "runs.finished": {"de": "Beendet", "en": "Finished"},
    "runs.dry_run": {"de": "Probelauf", "en": "Dry run"},
    "runs.limit": {"de": "max. {limit}", "en": "max. {limit}"},
    "runs.error": {"de": "Fehler", "en": "Error"},
    "runs.live": {
        "de": "Diese Seite aktualisiert sich, solange der Lauf aktiv ist.",
        "en": "This page updates itself while the run is active.",
    },
    **_pairs("runs.state", _STATES),
    **_pairs("runs.item", _ITEMS),
    **_pairs("runs.kind", _KINDS),
    "runs.count.targeted": {"de": "Empfänger", "en": "Recipients"},
    "runs.count.done": {"de": "Erledigt", "en": "Done"},
    "runs.count.failed": {"de": "Fehlgeschlagen", "en": "Failed"},
    "runs.count.skipped": {"de": "Übersprungen", "en": "Skipped"},
    "runs.count.unclear": {"de": "Unklar", "en": "Unclear"},
    "runs.count.held_out": {"de": "Kontrollgruppe", "en": "Held out"},
    "runs.confirm.heading": {"de": "Versand bestätigen", "en": "Confirm the send"},
    "runs.confirm.intro": {
        "de": "Die Empfänger sind ermittelt; gesendet wurde noch nichts. Bitte prüfen Sie die "
        "Zahlen.",
        "en": "The recipients are determined; nothing has been sent yet. Please check the numbers.",
    },
    "runs.confirm.reached": {
        "de": "Empfänger, die erreicht würden",
        "en": "Recipients that would be reached",
    },
    "runs.confirm.reached_groups": {
        "de": "Gruppen, die erreicht würden",
        "en": "Groups that would be reached",
    },
    "runs.confirm.members": {
        "de": "{count} Empfänger in diesen Gruppen",
        "en": "{count} recipients in these groups",
    },
    "runs.confirm.skipped": {"de": "Übersprungen, nach Grund", "en": "Skipped, by reason"},
    "runs.confirm.no_skips": {"de": "Niemand wird übersprungen.", "en": "Nobody is skipped."},
    "runs.confirm.no_reason": {"de": "ohne Angabe", "en": "no reason given"},
    "runs.confirm.held_out": {"de": "Kontrollgruppe", "en": "Held out (control group)"},
    "runs.confirm.channel": {"de": "Kanal", "en": "Channel"},
    "runs.confirm.cost": {"de": "Kostenschätzung", "en": "Cost estimate"},
    "runs.confirm.cost_service": {
        "de": "{amount} nach den Preisen von „{service}“",
        "en": "{amount} at the prices of “{service}”",
    },
    "runs.confirm.cost_estimate": {
        "de": "{amount} (geschätzte Kosten der Kampagne)",
        "en": "{amount} (the campaign's estimated cost)",
    },
    "runs.confirm.cost_none": {
        "de": "Keine Schätzung: Weder ein Dienstleister-Service mit Preisen noch geschätzte "
        "Kosten sind hinterlegt.",
        "en": "No estimate: neither a provider service with prices nor an estimated cost is set.",
    },
    "runs.confirm.cost_error": {
        "de": "Keine Schätzung: Die Preise von „{service}“ lassen sich nicht berechnen "
        "({problem}).",
        "en": "No estimate: the prices of “{service}” cannot be calculated ({problem}).",
    },
    "runs.confirm.send": {"de": "An {count} Empfänger senden", "en": "Send to {count} recipients"},
    "runs.confirm.send_groups": {
        "de": "An {count} Gruppen senden",
        "en": "Send to {count} groups",
    },
    "runs.confirm.expires": {
        "de": "Ohne Bestätigung wird diese Auswertung nach 24 Stunden verworfen.",
        "en": "Without a confirmation this analysis is discarded after 24 hours.",
    },
    "runs.confirm.done": {
        "de": "Lauf #{number} bestätigt: Versand an {count} Empfänger.",
        "en": "Run #{number} confirmed: sending to {count} recipients.",
    },
    "runs.confirm.refused": {"de": "Nicht gesendet: {reason}", "en": "Not sent: {reason}"},
    "runs.confirm.bad_count": {
        "de": "„{value}“ ist keine Anzahl; nichts wurde gesendet.",
        "en": "“{value}” is not a count; nothing was sent.",
    },
    "runs.channel.postal": {"de": "Post", "en": "Post"},
    "runs.channel.email": {"de": "E-Mail", "en": "E-mail"},
    "runs.channel.mobile": {"de": "SMS (Mobil)", "en": "SMS (mobile)"},
    "runs.channel.none": {
        "de": "kein Kanal (die Aktion stellt niemandem etwas zu)",
        "en": "none (the action delivers nothing to anyone)",
    },
    "runs.discard.button": {"de": "Verwerfen", "en": "Discard"},
    "runs.discard.confirm": {
        "de": "Diese Auswertung verwerfen? Es wird nichts gesendet.",
        "en": "Discard this analysis? Nothing will be sent.",
    },
    "runs.discard.done": {
        "de": "Lauf #{number} verworfen; es wurde nichts gesendet.",
        "en": "Run #{number} discarded; nothing was sent.",
    },
    "runs.discard.refused": {"de": "Nicht verworfen: {reason}", "en": "Not discarded: {reason}"},
    "runs.cancel.button": {"de": "Abbrechen", "en": "Cancel run"},
    "runs.cancel.confirm": {
        "de": "Lauf wirklich abbrechen? Erledigtes bleibt erledigt.",
        "en": "Really cancel the run? What is done stays done.",
    },
    "runs.cancel.done": {"de": "Lauf #{number} abgebrochen.", "en": "Run #{number} cancelled."},
    "runs.cancel.refused": {
        "de": "Nicht abgebrochen: {reason}",
        "en": "Not cancelled: {reason}",
    },
    "runs.resume.button": {"de": "Fortsetzen", "en": "Resume"},
    "runs.resume.done": {"de": "Lauf #{number} wird fortgesetzt.", "en": "Run #{number} resumed."},
    "runs.resume.refused": {"de": "Nicht fortgesetzt: {reason}", "en": "Not resumed: {reason}"},
    "runs.retry.button": {
        "de": "Fehlgeschlagene wiederholen ({count})",
        "en": "Retry the failed ({count})",
    },
    "runs.retry.unclear": {"de": "auch unklare", "en": "unclear ones too"},
    "runs.retry.done": {
        "de": "{count} Empfänger werden erneut bearbeitet.",
        "en": "{count} recipients are processed again.",
    },
    "runs.retry.refused": {"de": "Nicht wiederholt: {reason}", "en": "Not retried: {reason}"},
    "runs.deferred": {
        "de": "Lauf #{number} ist gespeichert, aber die Auftragswarteschlange antwortet nicht "
        "({reason}). Der Scheduler übergibt ihn den Workern, sobald sie wieder erreichbar ist.",
        "en": "Run #{number} is saved, but the job queue does not answer ({reason}). The "
        "scheduler hands it to the workers as soon as the queue is back.",
    },
    "runs.files.heading": {"de": "Dateien des Laufs", "en": "Files of the run"},
    "runs.files.none": {"de": "Dieser Lauf hat keine Dateien erzeugt.", "en": "No files."},
    "runs.archive.heading": {"de": "Archivierte Dokumente", "en": "Archived documents"},
    "runs.archive.none": {
        "de": "Dieser Lauf hat nichts archiviert.",
        "en": "This run archived nothing.",
    },
    "runs.archive.select": {"de": "Auswählen", "en": "Select"},
    "runs.archive.document": {"de": "Dokument", "en": "Document"},
    "runs.archive.created": {"de": "Abgelegt", "en": "Filed"},
    "runs.archive.reason": {"de": "Grund (für das Protokoll)", "en": "Reason (for the log)"},
    "runs.archive.delete_selected": {"de": "Markierte löschen", "en": "Delete selected"},
    "runs.archive.delete_all": {"de": "Alle {count} löschen", "en": "Delete all {count}"},
    "runs.archive.confirm": {
        "de": "Archiveinträge endgültig löschen? Der Vorgang wird protokolliert.",
        "en": "Delete the archive entries for good? This is logged.",
    },
    "runs.archive.none_selected": {
        "de": "Bitte wählen Sie Dokumente aus.",
        "en": "Please select documents.",
    },
    "runs.archive.deleted": {
        "de": "{count} Archiveinträge gelöscht.",
        "en": "{count} archive entries deleted.",
    },
    "runs.skipped_by_reason": {
        "de": "Übersprungen nach Grund (Gruppenmitglieder eingeschlossen)",
        "en": "Skipped by reason (group members included)",
    },
    "runs.items.heading": {"de": "Ergebnisse je Empfänger", "en": "Results per recipient"},
    "runs.items.recipient": {"de": "Empfänger", "en": "Recipient"},
    "runs.items.name": {"de": "Name", "en": "Name"},
    "runs.items.status": {"de": "Status", "en": "Status"},
    "runs.items.detail": {"de": "Grund / Detail", "en": "Reason / detail"},
    "runs.items.document": {"de": "Dokument", "en": "Document"},
    "runs.items.open": {"de": "Öffnen", "en": "Open"},
    "runs.items.none": {"de": "Keine Einträge.", "en": "No entries."},
    **_plugin_texts(),
}
