"""Texts of the reports area."""

MESSAGES = {
    "menu.reports": {"de": "Berichte", "en": "Reports"},
    "reports.title": {"de": "Berichte und Adressmuster", "en": "Reports and address patterns"},
    "reports.intro": {
        "de": "Druckvorlagen für Serienbriefe, nach Gruppen geordnet.",
        "en": "Print templates for mass letters, ordered by group.",
    },
    "reports.nav.label": {"de": "Bereiche der Berichte", "en": "Sections of reports"},
    "reports.nav.reports": {"de": "Berichte", "en": "Reports"},
    "reports.nav.patterns": {"de": "Adressmuster", "en": "Address patterns"},
    "reports.nav.texts": {"de": "Textbausteine", "en": "Text blocks"},
    "reports.new": {"de": "Neuer Bericht", "en": "New report"},
    "reports.search": {"de": "Suche", "en": "Search"},
    "reports.search.placeholder": {
        "de": "Name oder Beschreibung",
        "en": "Name or description",
    },
    "reports.filter": {"de": "Filtern", "en": "Filter"},
    "reports.filter.reset": {"de": "Zurücksetzen", "en": "Reset"},
    "reports.group.all": {"de": "Alle Gruppen", "en": "All groups"},
    "reports.group.none": {"de": "Ohne Gruppe", "en": "No group"},
    "reports.empty": {
        "de": "Noch keine Berichte. Legen Sie den ersten an.",
        "en": "No reports yet. Create the first one.",
    },
    "reports.empty.filtered": {
        "de": "Kein Bericht passt zu Suche und Filter.",
        "en": "No report matches the search and filter.",
    },
    "reports.updated_at": {"de": "Zuletzt geändert: {when}", "en": "Last changed: {when}"},
    "reports.field.name": {"de": "Name", "en": "Name"},
    "reports.field.group": {"de": "Gruppe", "en": "Group"},
    "reports.field.group.help": {
        "de": "Berichte werden in der Liste nach Gruppen geordnet.",
        "en": "The list orders reports by group.",
    },
    "reports.field.description": {"de": "Beschreibung", "en": "Description"},
    "reports.field.categories": {"de": "Kategorien", "en": "Categories"},
    "reports.field.page": {"de": "Seite", "en": "Page"},
    "reports.field.updated": {"de": "Geändert", "en": "Changed"},
    "reports.field.address_kind": {"de": "Verwendete Adresse", "en": "Address used"},
    "reports.field.address_kind.help": {
        "de": "Welche Anschrift des Empfängers der Ausdruck verwendet.",
        "en": "Which of the recipient's addresses the printout uses.",
    },
    "reports.address_kind.postal": {"de": "Postanschrift", "en": "Postal address"},
    "reports.address_kind.registered": {"de": "Meldeanschrift", "en": "Registered address"},
    "reports.category.mass_print": {"de": "Für Massendruck", "en": "Usable for mass print"},
    "reports.category.mass_print.help": {
        "de": "Wird unter „Aktion wählen“ beim Drucken angeboten.",
        "en": "Offered under “choose action” for printing.",
    },
    "reports.category.distribution_list": {
        "de": "Verteiler für Kampagne",
        "en": "Distribution list for campaign",
    },
    "reports.category.distribution_list.help": {
        "de": "Wird als Datenquelle einer Kampagne angeboten.",
        "en": "Offered as a campaign's data source.",
    },
    "reports.category.part": {"de": "Baustein", "en": "Building block"},
    "reports.field.page_format": {"de": "Seitenformat", "en": "Page format"},
    "reports.field.orientation": {"de": "Ausrichtung", "en": "Orientation"},
    "reports.format.a4": {"de": "DIN A4", "en": "A4"},
    "reports.format.a5": {"de": "DIN A5", "en": "A5"},
    "reports.format.letter": {"de": "US Letter", "en": "US Letter"},
    "reports.orientation.portrait": {"de": "Hochformat", "en": "Portrait"},
    "reports.orientation.landscape": {"de": "Querformat", "en": "Landscape"},
    "reports.field.margins": {"de": "Ränder in mm", "en": "Margins in mm"},
    "reports.field.margin_top": {"de": "Oben", "en": "Top"},
    "reports.field.margin_right": {"de": "Rechts", "en": "Right"},
    "reports.field.margin_bottom": {"de": "Unten", "en": "Bottom"},
    "reports.field.margin_left": {"de": "Links", "en": "Left"},
    "reports.field.address_window": {
        "de": "Adressfenster nach DIN 5008 (Form B)",
        "en": "DIN 5008 address window (form B)",
    },
    "reports.field.address_window.short": {"de": "mit Adressfenster", "en": "with address window"},
    "reports.field.address_window.help": {
        "de": "Hält auf der ersten Seite Anschriftfeld und Infoblock für Fensterumschläge "
        'frei; das Layout braucht dann <div id="address">. Nur A4 hoch.',
        "en": "Keeps the address field and information block free for window envelopes "
        'on the first page; the layout then needs <div id="address">. A4 portrait only.',
    },
    "reports.field.parts": {"de": "Unterberichte", "en": "Sub-reports"},
    "reports.field.letterhead": {"de": "Briefkopf", "en": "Letterhead"},
    "reports.field.letterhead.help": {
        "de": "Oben auf der ersten Seite.",
        "en": "At the top of the first page.",
    },
    "reports.field.header": {"de": "Kopfzeile", "en": "Header"},
    "reports.field.header.help": {
        "de": "Oben auf den Folgeseiten.",
        "en": "At the top of the following pages.",
    },
    "reports.field.footer": {"de": "Fußzeile", "en": "Footer"},
    "reports.field.footer.help": {
        "de": "Unten auf jeder Seite.",
        "en": "At the bottom of every page.",
    },
    "reports.sub_report.none": {"de": "(keiner)", "en": "(none)"},
    "reports.field.layout": {"de": "Layout (HTML)", "en": "Layout (HTML)"},
    "reports.field.layout.help": {
        "de": "HTML mit Platzhaltern wie {{ recipient.last_name }}; Felder rechts anklicken "
        "zum Einfügen.",
        "en": "HTML with placeholders such as {{ recipient.last_name }}; click a field on the "
        "right to insert it.",
    },
    "reports.field.stylesheet": {"de": "Stylesheet (CSS)", "en": "Stylesheet (CSS)"},
    "reports.field.stylesheet.help": {
        "de": 'Bilder und Schriften dieses Berichts: url("asset:DATEINAME").',
        "en": 'Images and fonts of this report: url("asset:FILENAME").',
    },
    "reports.field.sample": {"de": "Beispielempfänger", "en": "Sample recipient"},
    "reports.tab.general": {"de": "Allgemein", "en": "General"},
    "reports.tab.page": {"de": "Seite und Bausteine", "en": "Page and parts"},
    "reports.tab.design": {"de": "Gestaltung", "en": "Design"},
    "reports.tab.assets": {"de": "Bilder und Schriften", "en": "Images and fonts"},
    "reports.fields.title": {"de": "Felder einfügen", "en": "Insert fields"},
    "reports.fields.help": {
        "de": "Klick fügt an der Cursorposition ein.",
        "en": "A click inserts at the cursor.",
    },
    "reports.fields.letter": {"de": "Brief", "en": "Letter"},
    "reports.fields.recipient": {"de": "Empfänger", "en": "Recipient"},
    "reports.fields.related": {"de": "Vertriebspartner", "en": "Sales partner"},
    "reports.fields.texts": {"de": "Textbausteine", "en": "Text blocks"},
    "reports.placeholder.address": {"de": "Anschriftenblock", "en": "Address block"},
    "reports.placeholder.date": {"de": "Datum (lang)", "en": "Date (long)"},
    "reports.placeholder.number": {"de": "Laufende Nummer", "en": "Running number"},
    "reports.placeholder.campaign": {"de": "Kampagnenname", "en": "Campaign name"},
    "reports.placeholder.report": {"de": "Berichtsname", "en": "Report name"},
    "reports.save": {"de": "Speichern", "en": "Save"},
    "reports.cancel": {"de": "Abbrechen", "en": "Cancel"},
    "reports.back": {"de": "Zurück zum Bericht", "en": "Back to the report"},
    "reports.copy": {"de": "Kopieren", "en": "Copy"},
    "reports.copy_name": {"de": "Kopie von {name}", "en": "Copy of {name}"},
    "reports.delete": {"de": "Löschen", "en": "Delete"},
    "reports.used_by_campaigns": {
        "de": "Verwendet von den Kampagnen: {names}.",
        "en": "Used by the campaigns: {names}.",
    },
    "reports.used_by_reports": {
        "de": "Unterbericht von: {names}.",
        "en": "Sub-report of: {names}.",
    },
    "reports.error.not_saved": {
        "de": "Nicht gespeichert: Bitte die markierten Felder korrigieren.",
        "en": "Not saved: please correct the marked fields.",
    },
    "reports.error.name_taken": {
        "de": "Der Name „{name}“ ist schon vergeben.",
        "en": "The name “{name}” is already taken.",
    },
    "reports.error.window_needs_a4": {
        "de": "Das Adressfenster gibt es nur für DIN A4 im Hochformat.",
        "en": "The address window needs A4 portrait.",
    },
    "reports.error.window_needs_address": {
        "de": 'Mit Adressfenster braucht das Layout ein <div id="address"> für die Anschrift.',
        "en": 'With an address window the layout needs a <div id="address"> for the address.',
    },
    "reports.error.sub_report": {
        "de": "Bitte einen anderen, vorhandenen Bericht wählen.",
        "en": "Please choose another, existing report.",
    },
    "reports.error.template_line": {
        "de": "Zeile {line}: {reason}",
        "en": "Line {line}: {reason}",
    },
    "reports.error.template": {"de": "Vorlagenfehler: {reason}", "en": "Template error: {reason}"},
    "reports.flash.created": {"de": "„{name}“ wurde angelegt.", "en": "“{name}” was created."},
    "reports.flash.saved": {"de": "„{name}“ wurde gespeichert.", "en": "“{name}” was saved."},
    "reports.flash.copied": {
        "de": "Kopie „{name}“ wurde angelegt.",
        "en": "The copy “{name}” was created.",
    },
    "reports.flash.deleted": {"de": "„{name}“ wurde gelöscht.", "en": "“{name}” was deleted."},
    "reports.flash.in_use": {
        "de": "„{name}“ wird noch verwendet und kann nicht gelöscht werden.",
        "en": "“{name}” is still in use and cannot be deleted.",
    },
    "reports.delete.title": {"de": "„{name}“ löschen", "en": "Delete “{name}”"},
    "reports.delete.question": {
        "de": "Diesen Bericht endgültig löschen?",
        "en": "Delete this report for good?",
    },
    "reports.delete.text": {
        "de": "„{name}“ wird mit seinen {assets} Bildern und Schriften gelöscht. Bereits "
        "archivierte Briefe bleiben erhalten.",
        "en": "“{name}” is deleted with its {assets} images and fonts. Letters already "
        "archived are kept.",
    },
    "reports.delete.confirm": {"de": "Endgültig löschen", "en": "Delete for good"},
    "reports.delete.refused": {
        "de": "Dieser Bericht wird noch verwendet",
        "en": "This report is still in use",
    },
    "reports.delete.refused.text": {
        "de": "Ändern Sie zuerst die folgenden Kampagnen und Berichte, damit sie ihn nicht "
        "mehr verwenden.",
        "en": "First change the following campaigns and reports so that they no longer use it.",
    },
    "reports.delete.campaigns": {"de": "Kampagnen", "en": "Campaigns"},
    "reports.delete.reports": {
        "de": "Berichte (als Unterbericht)",
        "en": "Reports (as sub-report)",
    },
    "reports.preview.title": {"de": "Vorschau", "en": "Preview"},
    "reports.preview.sample": {"de": "Beispielempfänger", "en": "Sample recipient"},
    "reports.preview.sample.placeholder": {
        "de": "Kundennummer oder Name",
        "en": "Contact number or name",
    },
    "reports.preview.sample.help": {
        "de": "Leer: die Musterempfängerin Erika Mustermann.",
        "en": "Empty: the sample recipient Erika Mustermann.",
    },
    "reports.preview.refresh": {"de": "Vorschau aktualisieren", "en": "Refresh preview"},
    "reports.preview.show": {"de": "Vorschau zeigen", "en": "Show preview"},
    "reports.preview.hint": {
        "de": "Die Vorschau zeigt den Brief als PDF, wie er gedruckt würde (ohne laufende "
        "Nummer). Sie folgt Ihren Änderungen, ohne zu speichern.",
        "en": "The preview shows the letter as a PDF as it would be printed (without a "
        "running number). It follows your changes without saving them.",
    },
    "reports.preview.campaign": {"de": "Vorschau", "en": "Preview"},
    "reports.preview.failed": {
        "de": "Die Vorschau konnte nicht erstellt werden",
        "en": "The preview could not be rendered",
    },
    "reports.preview.in_field": {"de": "Im Feld „{field}“", "en": "In the field “{field}”"},
    "reports.preview.line": {"de": "Zeile {line}", "en": "line {line}"},
    "reports.preview.no_contact": {
        "de": "Kein Kontakt mit der Nummer oder dem Namen „{text}“.",
        "en": "No contact with the number or name “{text}”.",
    },
    "reports.asset.intro": {
        "de": "Logos und Schriften, die Layout und Stylesheet als asset:DATEINAME verwenden.",
        "en": "Logos and fonts the layout and stylesheet use as asset:FILENAME.",
    },
    "reports.asset.file": {"de": "Datei", "en": "File"},
    "reports.asset.kind": {"de": "Art", "en": "Kind"},
    "reports.asset.kind.image": {"de": "Bild", "en": "Image"},
    "reports.asset.kind.font": {"de": "Schrift", "en": "Font"},
    "reports.asset.use": {"de": "Verwendung", "en": "Use"},
    "reports.asset.size": {"de": "Größe", "en": "Size"},
    "reports.asset.actions": {"de": "Aktionen", "en": "Actions"},
    "reports.asset.delete": {"de": "Entfernen", "en": "Remove"},
    "reports.asset.none": {
        "de": "Dieser Bericht hat noch keine Bilder oder Schriften.",
        "en": "This report has no images or fonts yet.",
    },
    "reports.asset.upload": {"de": "Datei hochladen", "en": "Upload a file"},
    "reports.asset.upload.submit": {"de": "Hochladen", "en": "Upload"},
    "reports.asset.limits": {
        "de": "PNG, JPG, GIF oder TrueType-Schrift (.ttf), höchstens 2 MB je Datei und 8 MB je "
        "Bericht. Eine Datei gleichen Namens wird ersetzt.",
        "en": "PNG, JPG, GIF or a TrueType font (.ttf), at most 2 MB per file and 8 MB per "
        "report. A file of the same name is replaced.",
    },
    "reports.asset.uploaded": {"de": "„{name}“ wurde hochgeladen.", "en": "“{name}” was uploaded."},
    "reports.asset.deleted": {"de": "„{name}“ wurde entfernt.", "en": "“{name}” was removed."},
    "reports.asset.refused": {
        "de": "„{name}“ wurde nicht übernommen: {reason}",
        "en": "“{name}” was not accepted: {reason}",
    },
    "reports.asset.error.missing": {
        "de": "Bitte eine Datei auswählen.",
        "en": "Please choose a file.",
    },
    "reports.asset.error.type": {
        "de": "nur Dateien mit der Endung {types} sind erlaubt.",
        "en": "only files ending in {types} are allowed.",
    },
    "reports.asset.error.name": {
        "de": "der Dateiname darf nur Buchstaben, Ziffern, Punkt, Unterstrich und Bindestrich "
        "enthalten (höchstens 100 Zeichen).",
        "en": "the file name may contain only letters, digits, dot, underscore and hyphen "
        "(at most 100 characters).",
    },
    "reports.asset.error.empty": {"de": "die Datei ist leer.", "en": "the file is empty."},
    "reports.asset.error.size": {
        "de": "die Datei ist {size} groß, erlaubt sind höchstens {limit}.",
        "en": "the file has {size}, at most {limit} are allowed.",
    },
    "reports.asset.error.content": {
        "de": "der Inhalt ist keine {suffix}-Datei.",
        "en": "the content is not a {suffix} file.",
    },
    "reports.asset.error.total": {
        "de": "alle Dateien des Berichts zusammen dürfen höchstens {limit} groß sein.",
        "en": "all files of the report together may take at most {limit}.",
    },
    "reports.pattern.intro": {
        "de": "Adressmuster erzeugen den Anschriftenblock; das erste passende Land gewinnt, "
        "ein Muster ohne Länder gilt für alle übrigen.",
        "en": "Address patterns produce the address block; the first matching country wins, "
        "a pattern without countries covers all others.",
    },
    "reports.pattern.new": {"de": "Neues Adressmuster", "en": "New address pattern"},
    "reports.pattern.none": {"de": "Noch keine Adressmuster.", "en": "No address patterns yet."},
    "reports.pattern.countries": {"de": "Länder", "en": "Countries"},
    "reports.pattern.countries.help": {
        "de": "Ländercodes mit Komma getrennt, z. B. AT, CH; leer: alle übrigen Länder.",
        "en": "Country codes separated by commas, e.g. AT, CH; empty: every other country.",
    },
    "reports.pattern.error.countries": {
        "de": "Bitte zweistellige Ländercodes wie DE oder AT angeben.",
        "en": "Please give two-letter country codes such as DE or AT.",
    },
    "reports.pattern.template": {"de": "Vorlage", "en": "Template"},
    "reports.pattern.template.help": {
        "de": "Eine Zeile je Anschriftenzeile; leere Zeilen entfallen.",
        "en": "One line per address line; blank lines are dropped.",
    },
    "reports.pattern.fallback": {"de": "alle übrigen", "en": "all others"},
    "reports.pattern.fields": {"de": "Verfügbare Felder", "en": "Available fields"},
    "reports.pattern.fields.help": {
        "de": "Adressmuster sehen die Felder des Kontakts direkt:",
        "en": "Address patterns see the contact's fields directly:",
    },
    "reports.pattern.delete.confirm": {
        "de": "Adressmuster „{name}“ löschen?",
        "en": "Delete the address pattern “{name}”?",
    },
    "reports.text.intro": {
        "de": "Wiederverwendbare Absätze, die Berichte als {{ text.NAME }} einfügen.",
        "en": "Reusable paragraphs that reports insert as {{ text.NAME }}.",
    },
    "reports.text.new": {"de": "Neuer Textbaustein", "en": "New text block"},
    "reports.text.none": {"de": "Noch keine Textbausteine.", "en": "No text blocks yet."},
    "reports.text.placeholder": {"de": "Platzhalter", "en": "Placeholder"},
    "reports.text.body": {"de": "Text", "en": "Text"},
    "reports.text.body.help": {
        "de": "HTML mit Platzhaltern wie im Layout; Textbausteine können keine anderen "
        "Textbausteine einfügen.",
        "en": "HTML with placeholders as in the layout; text blocks cannot insert other text "
        "blocks.",
    },
    "reports.text.name.help": {
        "de": "Kleinbuchstaben, Ziffern und _, z. B. grussformel.",
        "en": "Lower-case letters, digits and _, e.g. closing.",
    },
    "reports.text.error.name": {
        "de": "Nur Kleinbuchstaben, Ziffern und _, beginnend mit einem Buchstaben.",
        "en": "Only lower-case letters, digits and _, starting with a letter.",
    },
    "reports.text.in_use": {
        "de": "„{name}“ wird noch in diesen Berichten verwendet: {reports}.",
        "en": "“{name}” is still used in these reports: {reports}.",
    },
    "reports.text.delete.confirm": {
        "de": "Textbaustein „{name}“ löschen?",
        "en": "Delete the text block “{name}”?",
    },
}
