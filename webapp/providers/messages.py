"""Texts of the providers: services, cost categories and types, prices, provider processes."""

from core.costs import Basis, StructureKind
from core.models import CostCategoryKind, ProviderKind

_KINDS = {
    ProviderKind.PRINT_SHOP: ("Druckerei / Lettershop", "Print shop"),
    ProviderKind.ROUTER: ("Versanddienstleister (Router)", "Router"),
    ProviderKind.OTHER: ("Sonstiger Dienstleister", "Other provider"),
}
_CATEGORY_KINDS = {
    CostCategoryKind.DIRECT_MAIL: ("Direktmailing", "Direct mail"),
    CostCategoryKind.EMAIL: ("E-Mail", "E-mail"),
    CostCategoryKind.MOBILE: ("Mobil (SMS)", "Mobile (SMS)"),
    CostCategoryKind.TELEPHONE: ("Telefon", "Telephone"),
    CostCategoryKind.TASK: ("Aufgabe", "Task"),
}
_STRUCTURES = {
    StructureKind.FIXED: ("Festbetrag", "Fixed amount"),
    StructureKind.LINEAR: ("Linear (je Stück oder je Paket)", "Linear (per item or batch)"),
    StructureKind.LINEAR_THRESHOLD: ("Linear nach Staffel", "Linear by threshold"),
    StructureKind.CONSTANT_THRESHOLD: ("Fest nach Staffel", "Constant by threshold"),
    StructureKind.DAILY: ("Tagessatz", "Daily rate"),
    StructureKind.SURCHARGE: ("Zuschlag (Prozent)", "Surcharge (percent)"),
}
_BASES = {
    Basis.MESSAGES: ("Nachrichten (Briefe, SMS, E-Mails)", "Messages (letters, SMS, e-mails)"),
    Basis.UNITS: ("Einheiten (Seiten, SMS-Teile)", "Units (pages, SMS segments)"),
    Basis.DAYS: ("Tage", "Days"),
}


def _pairs(prefix: str, texts: dict) -> dict[str, dict[str, str]]:
    return {f"{prefix}.{key.value}": {"de": de, "en": en} for key, (de, en) in texts.items()}


MESSAGES = {
    **_pairs("providers.kind", _KINDS),
    **_pairs("providers.category_kind", _CATEGORY_KINDS),
    **_pairs("providers.structure", _STRUCTURES),
    **_pairs("providers.basis", _BASES),
    "menu.providers": {"de": "Dienstleister", "en": "Providers"},
    "providers.title": {"de": "Dienstleister", "en": "Providers"},
    "providers.intro": {
        "de": "Druckereien, Lettershops und Versanddienstleister mit ihren Leistungen, Preisen "
        "und Abläufen.",
        "en": "Print shops, letter shops and routers with their services, prices and processes.",
    },
    "providers.new": {"de": "Neuer Dienstleister", "en": "New provider"},
    "providers.edit": {"de": "Dienstleister bearbeiten", "en": "Edit provider"},
    "providers.none": {"de": "Noch kein Dienstleister angelegt.", "en": "No provider yet."},
    "providers.field.name": {"de": "Name", "en": "Name"},
    "providers.field.kind": {"de": "Art", "en": "Kind"},
    "providers.field.email": {"de": "E-Mail", "en": "E-mail"},
    "providers.field.description": {"de": "Beschreibung", "en": "Description"},
    "providers.field.active": {"de": "Aktiv", "en": "Active"},
    "providers.field.services": {"de": "Leistungen", "en": "Services"},
    "providers.inactive": {"de": "inaktiv", "en": "inactive"},
    "providers.bad_email": {
        "de": "„{value}“ ist keine E-Mail-Adresse.",
        "en": "“{value}” is not an e-mail address.",
    },
    "providers.created": {
        "de": "Dienstleister „{name}“ angelegt.",
        "en": "Provider “{name}” created.",
    },
    "providers.saved": {
        "de": "Dienstleister „{name}“ gespeichert.",
        "en": "Provider “{name}” saved.",
    },
    "services.new": {"de": "Neue Leistung", "en": "New service"},
    "services.edit": {"de": "Leistung bearbeiten", "en": "Edit service"},
    "services.none": {
        "de": "Dieser Dienstleister hat noch keine Leistungen.",
        "en": "This provider has no services yet.",
    },
    "services.created": {"de": "Leistung „{name}“ angelegt.", "en": "Service “{name}” created."},
    "services.saved": {"de": "Leistung „{name}“ gespeichert.", "en": "Service “{name}” saved."},
    "services.categories": {
        "de": "Kostenkategorien und Preise",
        "en": "Cost categories and prices",
    },
    "services.no_categories": {
        "de": "Noch keine Kostenkategorie: legen Sie eine an, um Preise zu hinterlegen.",
        "en": "No cost category yet: add one to enter prices.",
    },
    "categories.new": {"de": "Neue Kostenkategorie", "en": "New cost category"},
    "categories.edit": {"de": "Kostenkategorie bearbeiten", "en": "Edit cost category"},
    "categories.field.kind": {"de": "Nachrichtenart", "en": "Message type"},
    "categories.kind_help": {
        "de": "Ein Versand nutzt die Kategorien seines Kanals (Brief und Druck: Direktmailing, "
        "SMS: Mobil), Aufgaben die Kategorien „Aufgabe“.",
        "en": "A delivery uses the categories of its channel (letters: direct mail, SMS: "
        "mobile), tasks the “task” categories.",
    },
    "categories.field.expense_category": {"de": "Ausgabenkategorie", "en": "Expense category"},
    "categories.field.type_required": {
        "de": "Eine Kostenart muss gewählt werden",
        "en": "A cost type must be chosen",
    },
    "categories.field.default_type": {"de": "Standard-Kostenart", "en": "Default cost type"},
    "categories.choice": {"de": "Wahl der Kostenart", "en": "Choice of cost type"},
    "categories.choice_help": {
        "de": "Wählt ein Versand keine Kostenart dieser Kategorie, gilt die Standard-Kostenart. "
        "Ohne sie ist die Wahl Pflicht, wenn „Eine Kostenart muss gewählt werden“ gesetzt ist; "
        "sonst berechnet die Kategorie nichts. Eine Kategorie ohne Kostenarten gilt immer. "
        "Direkte Läufe einer Kampagne nutzen stets die Standard-Kostenart.",
        "en": "When a delivery chooses no cost type of this category, the default cost type "
        "applies. Without one, the choice is required if “A cost type must be chosen” is set; "
        "otherwise the category charges nothing. A category without cost types always "
        "applies. A campaign's direct runs always use the default cost type.",
    },
    "categories.unchosen_free": {
        "de": "ohne Wahl keine Kosten",
        "en": "no cost unless chosen",
    },
    "categories.created": {
        "de": "Kostenkategorie „{name}“ angelegt.",
        "en": "Cost category “{name}” created.",
    },
    "categories.saved": {
        "de": "Kostenkategorie „{name}“ gespeichert.",
        "en": "Cost category “{name}” saved.",
    },
    "categories.types": {"de": "Kostenarten", "en": "Cost types"},
    "categories.no_types": {"de": "keine Kostenarten", "en": "no cost types"},
    "categories.structures": {"de": "Preise", "en": "Prices"},
    "categories.no_structures": {"de": "Noch kein Preis.", "en": "No price yet."},
    "types.new": {"de": "Kostenart hinzufügen", "en": "Add a cost type"},
    "types.edit": {"de": "Kostenart bearbeiten", "en": "Edit cost type"},
    "types.field.stock_line": {"de": "Aus Lager", "en": "Taken from stock"},
    "types.no_stock": {"de": "(kein Lagerartikel)", "en": "(no stock line)"},
    "types.field.stock_basis": {"de": "Lagerabgang je", "en": "Stock taken per"},
    "types.created": {"de": "Kostenart „{name}“ angelegt.", "en": "Cost type “{name}” added."},
    "types.saved": {"de": "Kostenart „{name}“ gespeichert.", "en": "Cost type “{name}” saved."},
    "types.deleted": {"de": "Kostenart „{name}“ gelöscht.", "en": "Cost type “{name}” deleted."},
    "types.delete_confirm": {
        "de": "Kostenart und ihre Preise löschen?",
        "en": "Delete the cost type and its prices?",
    },
    "structures.new": {"de": "Preis hinzufügen", "en": "Add a price"},
    "structures.edit": {"de": "Preis bearbeiten", "en": "Edit price"},
    "structures.field.kind": {"de": "Preisart", "en": "Kind of price"},
    "structures.field.basis": {"de": "Gezählt wird", "en": "Counts"},
    "structures.field.label": {"de": "Bezeichnung", "en": "Label"},
    "structures.field.cost_type": {"de": "Nur für Kostenart", "en": "Only for cost type"},
    "structures.every_type": {"de": "(für jede Verwendung)", "en": "(for every use)"},
    "structures.field.position": {"de": "Reihenfolge", "en": "Position"},
    "structures.field.amount": {"de": "Betrag", "en": "Amount"},
    "structures.amount_help.fixed": {"de": "Einmal je Versand.", "en": "Once per delivery."},
    "structures.amount_help.linear": {
        "de": "Preis je Stück, oder je angefangenem Paket.",
        "en": "Price per item, or per started batch.",
    },
    "structures.amount_help.daily": {"de": "Preis je Tag.", "en": "Price per day."},
    "structures.field.batch_size": {"de": "Paketgröße", "en": "Batch size"},
    "structures.batch_help": {
        "de": "Leer: je Stück. Sonst je angefangenem Paket dieser Größe (501 Briefe bei 500 = 2 "
        "Pakete).",
        "en": "Empty: per item. Otherwise per started batch of this size (501 letters at 500 = "
        "2 batches).",
    },
    "structures.field.percent": {"de": "Zuschlag in Prozent", "en": "Surcharge in percent"},
    "structures.percent_help": {
        "de": "Prozent der übrigen Preise dieser Kostenkategorie.",
        "en": "Percent of the category's other prices.",
    },
    "structures.brackets": {"de": "Staffel", "en": "Brackets"},
    "structures.brackets_help": {
        "de": "„bis“ einschließlich; die letzte Zeile ohne „bis“ gilt für alles darüber.",
        "en": "“up to” inclusive; the last row without “up to” covers everything above.",
    },
    "structures.bracket_up_to": {"de": "bis (Anzahl)", "en": "up to (count)"},
    "structures.bracket_price.linear_threshold": {
        "de": "Preis je Stück (€)",
        "en": "Price per item (€)",
    },
    "structures.bracket_price.constant_threshold": {"de": "Betrag (€)", "en": "Amount (€)"},
    "structures.bracket_open": {"de": "darüber", "en": "above"},
    "structures.more_rows": {"de": "Weitere Zeilen", "en": "More rows"},
    "structures.apply": {"de": "Übernehmen", "en": "Apply"},
    "structures.need_bracket": {
        "de": "Mindestens eine Staffelzeile mit Preis.",
        "en": "At least one bracket with a price.",
    },
    "structures.last_open": {
        "de": "Die letzte Zeile darf kein „bis“ haben, damit jede Anzahl einen Preis hat.",
        "en": "The last row must have no “up to”, so every count has a price.",
    },
    "structures.only_last_open": {
        "de": "Nur die letzte Zeile darf ohne „bis“ sein.",
        "en": "Only the last row may have no “up to”.",
    },
    "structures.ascending": {
        "de": "Muss größer sein als {previous} (die Zeile davor).",
        "en": "Must be above {previous} (the row before).",
    },
    "structures.price_missing": {"de": "Preis fehlt.", "en": "Price missing."},
    "structures.created": {"de": "Preis hinzugefügt.", "en": "Price added."},
    "structures.saved": {"de": "Preis gespeichert.", "en": "Price saved."},
    "structures.deleted": {"de": "Preis gelöscht.", "en": "Price deleted."},
    "structures.delete_confirm": {"de": "Diesen Preis löschen?", "en": "Delete this price?"},
    "structures.rule": {"de": "Regel", "en": "Rule"},
    "structures.per_batch": {"de": "je {size} Stück", "en": "per {size}"},
    "structures.broken": {"de": "Unvollständig: {problem}", "en": "Incomplete: {problem}"},
    "provider_process.heading": {"de": "Ablauf beim Dienstleister", "en": "Provider process"},
    "provider_process.edit": {"de": "Ablauf bearbeiten", "en": "Edit the process"},
    "provider_process.none": {
        "de": "Noch nicht eingerichtet: Extraktionsdatei, Benachrichtigung und Übertragung.",
        "en": "Not set up yet: extraction file, notification and upload.",
    },
    "provider_process.export": {"de": "Extraktionsdatei", "en": "Extraction file"},
    "provider_process.export_help": {
        "de": "Die Spalten der Datei für den Dienstleister: Überschrift und Feld des Empfängers "
        "(z. B. postcode, partner.name).",
        "en": "The file's columns for the provider: header and the recipient's field (e.g. "
        "postcode, partner.name).",
    },
    "provider_process.column_header": {"de": "Überschrift", "en": "Header"},
    "provider_process.column_field": {"de": "Feld", "en": "Field"},
    "provider_process.file_name_pattern": {"de": "Dateiname", "en": "File name"},
    "provider_process.raw_values": {
        "de": "Rohwerte für Maschinen",
        "en": "Raw values for machines",
    },
    "provider_process.raw_values_help": {
        "de": "Nur wenn das Format des Dienstleisters es verlangt: Zellen, die mit =, +, -, @ "
        "beginnen, werden unverändert geschrieben. Sonst bekommen sie ein Hochkomma "
        "vorangestellt, damit eine Tabellenkalkulation sie nicht als Formel ausführt.",
        "en": "Only if the provider's format needs it: cells beginning with =, +, -, @ are "
        "written unchanged. Otherwise they get a leading single quote so that a spreadsheet "
        "does not run them as a formula.",
    },
    "provider_process.file_name_help": {
        "de": "Platzhalter: {campaign}, {delivery}, {delivery_id}, {run}, {run_id}, {date} "
        "(JJJJMMTT), {time} (HHMMSS), {year}, {month}, {day}, {hour}, {minute}, {second}.",
        "en": "Placeholders: {campaign}, {delivery}, {delivery_id}, {run}, {run_id}, {date} "
        "(YYYYMMDD), {time} (HHMMSS), {year}, {month}, {day}, {hour}, {minute}, {second}.",
    },
    "provider_process.pattern.too_long": {
        "de": "Das Muster hat {length} Zeichen; erlaubt sind höchstens {limit}.",
        "en": "The pattern has {length} characters; at most {limit} are allowed.",
    },
    "provider_process.pattern.unknown": {
        "de": "Unbekannter Platzhalter {names}. Verfügbar sind: {available}.",
        "en": "Unknown placeholder {names}. Available: {available}.",
    },
    "provider_process.pattern.not_a_placeholder": {
        "de": "„{text}“ ist kein Platzhalter. Schreiben Sie den Namen ohne Punkt, Doppelpunkt "
        "oder Ausrufezeichen in geschweifte Klammern, einen von: {available}.",
        "en": "“{text}” is not a placeholder. Write the name in braces without a dot, colon "
        "or exclamation mark, one of: {available}.",
    },
    "provider_process.pattern.unusable": {
        "de": "„{name}“ ist kein verwendbarer Dateiname: nur Buchstaben, Ziffern und . _ + = @ "
        ", - (kein Pfad, keine Leerzeichen), am Anfang ein Buchstabe oder eine Ziffer, "
        "höchstens 200 Zeichen.",
        "en": "“{name}” is not a usable file name: letters, digits and . _ + = @ , - only (no "
        "path, no spaces), starting with a letter or digit, at most 200 characters.",
    },
    "provider_process.notification": {
        "de": "Benachrichtigung an den Dienstleister",
        "en": "Notification to the provider",
    },
    "provider_process.subject": {"de": "Betreff", "en": "Subject"},
    "provider_process.template": {"de": "Text (Jinja2)", "en": "Text (Jinja2)"},
    "provider_process.template_help": {
        "de": "Platzhalter z. B. {{ campaign }}, {{ delivery }}, {{ count }}, {{ planned_start }}.",
        "en": "Placeholders such as {{ campaign }}, {{ delivery }}, {{ count }}, "
        "{{ planned_start }}.",
    },
    "provider_process.bad_template": {
        "de": "Die Vorlage ist fehlerhaft: {problem}",
        "en": "The template has an error: {problem}",
    },
    "provider_process.bad_template_line": {
        "de": "Die Vorlage ist in Zeile {line} fehlerhaft: {problem}",
        "en": "The template has an error in line {line}: {problem}",
    },
    "provider_process.recipients": {
        "de": "Empfänger (Router-Adressen)",
        "en": "Recipients (router addresses)",
    },
    "provider_process.upload": {"de": "Übertragung", "en": "Upload"},
    "provider_process.upload_target": {"de": "Ziel", "en": "Target"},
    "provider_process.no_upload": {"de": "(nur per E-Mail)", "en": "(by e-mail only)"},
    "provider_process.no_upload_targets": {
        "de": "Kein Übertragungs-Plugin installiert: Dateien gehen nur per E-Mail.",
        "en": "No upload target plugin installed: files go by e-mail only.",
    },
    "provider_process.upload_settings": {"de": "Einstellungen des Ziels", "en": "Target settings"},
    "provider_process.result": {"de": "Ergebnisdatei", "en": "Result file"},
    "provider_process.result_enabled": {
        "de": "Der Dienstleister liefert eine Ergebnisdatei (versendet/fehlgeschlagen je Zeile)",
        "en": "The provider returns a result file (sent/failed per line)",
    },
    "provider_process.result_delimiter": {"de": "Trennzeichen", "en": "Delimiter"},
    "provider_process.result_key": {"de": "Spalte mit dem Schlüssel", "en": "Key column"},
    "provider_process.result_status": {"de": "Spalte mit dem Status", "en": "Status column"},
    "provider_process.result_sent": {"de": "Werte für „versendet“", "en": "Values meaning “sent”"},
    "provider_process.saved": {"de": "Ablauf gespeichert.", "en": "Process saved."},
    "provider_process.none_set": {"de": "nicht festgelegt", "en": "not set"},
}
