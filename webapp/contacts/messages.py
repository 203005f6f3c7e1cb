"""Texts of the contacts area."""

_FIELDS = {
    "number": ("Kundennummer", "Contact number"),
    "salutation": ("Anrede", "Salutation"),
    "title": ("Titel", "Title"),
    "first_name": ("Vorname", "First name"),
    "last_name": ("Nachname", "Last name"),
    "company_name": ("Firma", "Company"),
    "street": ("Straße", "Street"),
    "address_extra": ("Adresszusatz", "Address extra"),
    "postcode": ("PLZ", "Postcode"),
    "city": ("Ort", "City"),
    "country": ("Land", "Country"),
    "email": ("E-Mail", "E-mail"),
    "phone": ("Telefon", "Phone"),
    "mobile": ("Mobil", "Mobile"),
    "language": ("Sprache", "Language"),
    "kind": ("Art", "Kind"),
    "status": ("Status", "Status"),
    "preferred_channel": ("Versandweg", "Preferred channel"),
    "dispatch_block": ("Versandsperre", "Dispatch block"),
    "opt_out_post": ("Keine Post", "Opt-out post"),
    "opt_out_email": ("Keine E-Mail", "Opt-out e-mail"),
    "opt_out_sms": ("Keine SMS", "Opt-out SMS"),
    "opt_out_phone": ("Keine Anrufe", "Opt-out phone"),
    "birth_date": ("Geburtsdatum", "Birth date"),
}

MESSAGES = {
    "menu.contacts": {"de": "Kontakte", "en": "Contacts"},
    "contacts.title": {"de": "Kontakte", "en": "Contacts"},
    "contacts.count": {"de": "{count} Kontakte", "en": "{count} contacts"},
    "contacts.import": {"de": "CSV importieren", "en": "Import CSV"},
    "contacts.search": {"de": "Suche", "en": "Search"},
    "contacts.search.placeholder": {
        "de": "Name, Kundennummer, E-Mail, Ort oder PLZ",
        "en": "Name, contact number, e-mail, city or postcode",
    },
    "contacts.filter": {"de": "Filtern", "en": "Filter"},
    "contacts.filter.all": {"de": "Alle", "en": "All"},
    "contacts.filter.reset": {"de": "Zurücksetzen", "en": "Reset"},
    "contacts.sort": {"de": "Sortierung", "en": "Sort by"},
    "contacts.sort.name": {"de": "Name", "en": "Name"},
    "contacts.sort.number": {"de": "Kundennummer", "en": "Contact number"},
    "contacts.sort.city": {"de": "Ort", "en": "City"},
    "contacts.empty": {"de": "Das Adressbuch ist leer.", "en": "The address book is empty."},
    "contacts.empty.filtered": {
        "de": "Kein Kontakt passt zu Suche und Filter.",
        "en": "No contact matches the search and filters.",
    },
    "contacts.field.name": {"de": "Name", "en": "Name"},
    "contacts.field.number": {"de": "Nummer", "en": "Number"},
    "contacts.field.address": {"de": "Anschrift", "en": "Address"},
    "contacts.field.company": {"de": "Firma", "en": "Company"},
    "contacts.field.email": {"de": "E-Mail", "en": "E-mail"},
    "contacts.field.phone": {"de": "Telefon", "en": "Phone"},
    "contacts.field.mobile": {"de": "Mobil", "en": "Mobile"},
    "contacts.field.birth_date": {"de": "Geburtsdatum", "en": "Birth date"},
    "contacts.field.language": {"de": "Sprache", "en": "Language"},
    "contacts.field.created": {"de": "Angelegt", "en": "Created"},
    "contacts.field.kind": {"de": "Art", "en": "Kind"},
    "contacts.field.status": {"de": "Status", "en": "Status"},
    "contacts.field.preferred_channel": {"de": "Versandweg", "en": "Preferred channel"},
    "contacts.field.dispatch_block": {"de": "Versandsperre", "en": "Dispatch block"},
    "contacts.field.dispatch_block.help": {
        "de": "Keine Kampagne erreicht diesen Kontakt, auf keinem Weg.",
        "en": "No campaign reaches this contact, on any channel.",
    },
    "contacts.field.has_email": {"de": "Mit E-Mail", "en": "Has e-mail"},
    "contacts.field.opt_outs": {"de": "Widersprüche", "en": "Opt-outs"},
    "contacts.kind.person": {"de": "Person", "en": "Person"},
    "contacts.kind.company": {"de": "Firma", "en": "Company"},
    "contacts.status.prospect": {"de": "Interessent", "en": "Prospect"},
    "contacts.status.customer": {"de": "Kunde", "en": "Customer"},
    "contacts.channel.post": {"de": "Post", "en": "Post"},
    "contacts.channel.email": {"de": "E-Mail", "en": "E-mail"},
    "contacts.channel.web": {"de": "Web", "en": "Web"},
    "contacts.yes_no.yes": {"de": "Ja", "en": "Yes"},
    "contacts.yes_no.no": {"de": "Nein", "en": "No"},
    "contacts.blocked": {"de": "Versandsperre", "en": "Blocked"},
    "contacts.opt_out.post": {"de": "Keine Werbung per Post", "en": "No mail by post"},
    "contacts.opt_out.email": {"de": "Keine Werbung per E-Mail", "en": "No e-mail"},
    "contacts.opt_out.sms": {"de": "Keine SMS", "en": "No SMS"},
    "contacts.opt_out.phone": {"de": "Keine Anrufe", "en": "No phone calls"},
    "contacts.consent.save": {"de": "Einwilligungen speichern", "en": "Save consent"},
    "contacts.flash.consent_saved": {
        "de": "Die Einwilligungen wurden gespeichert.",
        "en": "The consent settings were saved.",
    },
    "contacts.flash.consent_unchanged": {
        "de": "Nichts geändert.",
        "en": "Nothing changed.",
    },
    "contacts.section.master": {"de": "Stammdaten", "en": "Master data"},
    "contacts.section.partner": {"de": "Vertriebspartner", "en": "Sales partner"},
    "contacts.section.consent": {"de": "Versand und Einwilligungen", "en": "Dispatch and consent"},
    "contacts.section.contracts": {"de": "Verträge", "en": "Contracts"},
    "contacts.section.history": {
        "de": "Dokumente und Ereignisse",
        "en": "Documents and events",
    },
    "contacts.partner.none": {
        "de": "Kein Vertriebspartner zugeordnet.",
        "en": "No sales partner assigned.",
    },
    "contacts.contract.number": {"de": "Vertrag", "en": "Contract"},
    "contacts.contract.product": {"de": "Produkt", "en": "Product"},
    "contacts.contract.signed_on": {"de": "Abgeschlossen", "en": "Signed"},
    "contacts.contract.amount": {"de": "Betrag", "en": "Amount"},
    "contacts.contract.status.active": {"de": "aktiv", "en": "active"},
    "contacts.contract.status.cancelled": {"de": "gekündigt", "en": "cancelled"},
    "contacts.contracts.none": {"de": "Keine Verträge.", "en": "No contracts."},
    "contacts.documents.all": {
        "de": "Alle Dokumente im Archiv",
        "en": "All documents in the archive",
    },
    "contacts.event.change": {"de": "Änderung", "en": "Change"},
    "contacts.history.none": {
        "de": "Noch keine Dokumente oder Ereignisse.",
        "en": "No documents or events yet.",
    },
    "contacts.history.limited": {
        "de": "Es werden die letzten {count} Einträge gezeigt; alle Dokumente im Archiv.",
        "en": "The latest {count} entries are shown; all documents are in the archive.",
    },
    "contacts.cancel": {"de": "Abbrechen", "en": "Cancel"},
    "contacts.import.title": {"de": "Kontakte importieren", "en": "Import contacts"},
    "contacts.import.intro": {
        "de": "Eine CSV-Datei mit Kopfzeile; Sie sehen vor dem Import, was geschehen wird.",
        "en": "A CSV file with a header line; you see what will happen before importing.",
    },
    "contacts.import.file": {"de": "CSV-Datei", "en": "CSV file"},
    "contacts.import.file.help": {
        "de": "Bis 20 MB und 100.000 Zeilen; jede Zeile braucht eine Kundennummer.",
        "en": "Up to 20 MB and 100,000 rows; every row needs a contact number.",
    },
    "contacts.import.encoding": {"de": "Zeichensatz", "en": "Encoding"},
    "contacts.import.encoding.auto": {"de": "automatisch erkennen", "en": "detect"},
    "contacts.import.encoding.utf-8": {"de": "UTF-8", "en": "UTF-8"},
    "contacts.import.encoding.cp1252": {
        "de": "Windows (cp1252, Excel)",
        "en": "Windows (cp1252, Excel)",
    },
    "contacts.import.encoding.latin-1": {"de": "ISO-8859-1", "en": "ISO-8859-1"},
    "contacts.import.delimiter": {"de": "Trennzeichen", "en": "Delimiter"},
    "contacts.import.delimiter.auto": {"de": "automatisch erkennen", "en": "detect"},
    "contacts.import.delimiter.semicolon": {"de": "Semikolon ;", "en": "Semicolon ;"},
    "contacts.import.delimiter.comma": {"de": "Komma ,", "en": "Comma ,"},
    "contacts.import.delimiter.tab": {"de": "Tabulator", "en": "Tab"},
    "contacts.import.delimiter.pipe": {"de": "Senkrechter Strich |", "en": "Pipe |"},
    "contacts.import.update": {
        "de": "Vorhandene Kontakte aktualisieren",
        "en": "Update existing contacts",
    },
    "contacts.import.update.help": {
        "de": "Zeilen, die zu einem vorhandenen Kontakt passen (Kundennummer, E-Mail oder Name "
        "und Anschrift), überschreiben dessen Felder (leere Zellen ändern nichts). Sonst sind "
        "sie Fehler.",
        "en": "Rows that match an existing contact (contact number, e-mail or name and "
        "address) overwrite its fields (empty cells change nothing). Otherwise they are errors.",
    },
    "contacts.import.match_on": {
        "de": "Vorhandene Kontakte erkennen an",
        "en": "Recognise existing contacts by",
    },
    "contacts.import.match.number": {"de": "Kundennummer", "en": "Contact number"},
    "contacts.import.match.email": {"de": "E-Mail-Adresse", "en": "E-mail address"},
    "contacts.import.match.name_address": {
        "de": "Name und Anschrift (Vorname, Nachname oder Firma, Straße, PLZ)",
        "en": "Name and address (first and last name or company, street, postcode)",
    },
    "contacts.import.numbers_assigned": {
        "de": "{count} neue Kontakte ohne Kundennummer erhalten eine neue Nummer (K-…).",
        "en": "{count} new contacts without a contact number get a new number (K-…).",
    },
    "contacts.import.all_or_nothing": {
        "de": "Ein Import übernimmt alle Zeilen oder keine: {count} Zeilen haben Fehler (unten "
        "aufgelistet). Korrigieren Sie die Datei, oder importieren Sie ausdrücklich nur die "
        "fehlerfreien Zeilen.",
        "en": "An import stores every row or none: {count} rows have errors (listed below). "
        "Correct the file, or explicitly import only the valid rows.",
    },
    "contacts.import.only_valid": {
        "de": "Nur die fehlerfreien Zeilen importieren; die {count} Zeilen mit Fehlern auslassen",
        "en": "Import only the valid rows; leave out the {count} rows with errors",
    },
    "contacts.import.left_out": {
        "de": "Ausgelassene Zeilen (im Protokoll vermerkt)",
        "en": "Rows left out (recorded in the audit log)",
    },
    "contacts.import.error.size": {
        "de": "Die Datei ist größer als {limit} und wurde nicht gelesen.",
        "en": "The file is larger than {limit} and was not read.",
    },
    "contacts.import.error.rows": {
        "de": "Nichts importiert: {count} Zeilen haben Fehler. Nur die fehlerfreien Zeilen zu "
        "importieren müssen Sie ausdrücklich wählen.",
        "en": "Nothing imported: {count} rows have errors. Importing only the valid rows must "
        "be chosen explicitly.",
    },
    "contacts.import.check": {"de": "Datei prüfen", "en": "Check the file"},
    "contacts.import.columns": {"de": "Erkannte Spalten", "en": "Recognised columns"},
    "contacts.import.columns.help": {
        "de": "Spalten mit diesen Namen werden automatisch zugeordnet (auch in Englisch); "
        "die Zuordnung lässt sich in der Vorschau ändern.",
        "en": "Columns with these names are mapped automatically (German or English); the "
        "preview lets you change the mapping.",
    },
    "contacts.import.error.missing": {
        "de": "Bitte eine Datei wählen.",
        "en": "Please choose a file.",
    },
    "contacts.import.error.type": {
        "de": "Nur CSV-Dateien (.csv oder .txt) können importiert werden.",
        "en": "Only CSV files (.csv or .txt) can be imported.",
    },
    "contacts.import.error.fatal": {
        "de": "Die Datei kann nicht importiert werden, es wurde nichts übernommen: {reason}",
        "en": "The file cannot be imported, nothing was imported: {reason}",
    },
    "contacts.import.error.expired": {
        "de": "Die hochgeladene Datei ist nicht mehr vorhanden; bitte erneut hochladen.",
        "en": "The uploaded file is no longer there; please upload it again.",
    },
    "contacts.import.preview": {"de": "Import prüfen", "en": "Check the import"},
    "contacts.import.preview.file": {
        "de": "{name} · Zeichensatz {encoding} · Trennzeichen „{delimiter}“",
        "en": "{name} · encoding {encoding} · delimiter “{delimiter}”",
    },
    "contacts.import.stat.rows": {"de": "Zeilen in der Datei", "en": "Rows in the file"},
    "contacts.import.stat.new": {"de": "neue Kontakte", "en": "new contacts"},
    "contacts.import.stat.updates": {"de": "Aktualisierungen", "en": "updates"},
    "contacts.import.stat.errors": {"de": "Zeilen mit Fehlern", "en": "rows with errors"},
    "contacts.import.stat.created": {"de": "angelegt", "en": "created"},
    "contacts.import.stat.updated": {"de": "aktualisiert", "en": "updated"},
    "contacts.import.mapping": {"de": "Zuordnung der Spalten", "en": "Column mapping"},
    "contacts.import.column": {"de": "Spalte der Datei", "en": "Column of the file"},
    "contacts.import.field": {"de": "Feld", "en": "Field"},
    "contacts.import.ignore": {"de": "(nicht importieren)", "en": "(do not import)"},
    "contacts.import.remap": {"de": "Zuordnung übernehmen", "en": "Apply mapping"},
    "contacts.import.run": {"de": "{count} Kontakte importieren", "en": "Import {count} contacts"},
    "contacts.import.first_rows": {
        "de": "Die ersten {count} Zeilen",
        "en": "The first {count} rows",
    },
    "contacts.import.errors": {
        "de": "Zeilen, die nicht importiert werden",
        "en": "Rows that are not imported",
    },
    "contacts.import.line": {"de": "Zeile", "en": "Line"},
    "contacts.import.problem": {"de": "Problem", "en": "Problem"},
    "contacts.import.done": {"de": "Import abgeschlossen", "en": "Import finished"},
    "contacts.import.to_list": {"de": "Zu den Kontakten", "en": "To the contacts"},
    **{
        f"contacts.import.field.{name}": {"de": german, "en": english}
        for name, (german, english) in _FIELDS.items()
    },
}
