"""Texts of the document archive."""

MESSAGES = {
    "menu.archive": {"de": "Dokumentenarchiv", "en": "Document archive"},
    "archive.title": {"de": "Dokumentenarchiv", "en": "Document archive"},
    "archive.intro": {
        "de": "Archivierte Briefe, E-Mails und Dateien, abgelegt beim Kontakt.",
        "en": "Archived letters, e-mails and files, filed with the contact.",
    },
    "archive.nav.label": {"de": "Bereiche des Archivs", "en": "Sections of the archive"},
    "archive.nav.documents": {"de": "Dokumente", "en": "Documents"},
    "archive.nav.deletions": {"de": "Löschprotokoll", "en": "Deletion log"},
    "archive.filter": {"de": "Suchen", "en": "Search"},
    "archive.filter.reset": {"de": "Zurücksetzen", "en": "Reset"},
    "archive.filter.all": {"de": "Alle", "en": "All"},
    "archive.filter.contact": {"de": "Kontakt", "en": "Contact"},
    "archive.filter.contact.placeholder": {
        "de": "Kundennummer oder Name",
        "en": "Contact number or name",
    },
    "archive.filter.campaign": {"de": "Kampagne", "en": "Campaign"},
    "archive.filter.run": {"de": "Lauf-Nr.", "en": "Run id"},
    "archive.filter.report": {"de": "Bericht", "en": "Report"},
    "archive.filter.kind": {"de": "Art", "en": "Kind"},
    "archive.filter.from": {"de": "Von", "en": "From"},
    "archive.filter.to": {"de": "Bis", "en": "To"},
    "archive.kind.letter": {"de": "Brief", "en": "Letter"},
    "archive.kind.email": {"de": "E-Mail", "en": "E-mail"},
    "archive.kind.sms": {"de": "SMS", "en": "SMS"},
    "archive.kind.phone_call": {"de": "Anruf", "en": "Phone call"},
    "archive.kind.file": {"de": "Datei", "en": "File"},
    "archive.field.date": {"de": "Datum", "en": "Date"},
    "archive.field.document": {"de": "Dokument", "en": "Document"},
    "archive.field.contact": {"de": "Kontakt", "en": "Contact"},
    "archive.field.campaign": {"de": "Kampagne", "en": "Campaign"},
    "archive.field.run": {"de": "Lauf", "en": "Run"},
    "archive.field.report": {"de": "Bericht", "en": "Report"},
    "archive.field.kind": {"de": "Art", "en": "Kind"},
    "archive.field.size": {"de": "Größe", "en": "Size"},
    "archive.field.actions": {"de": "Aktionen", "en": "Actions"},
    "archive.field.number": {"de": "Laufende Nummer", "en": "Running number"},
    "archive.field.pages": {"de": "Seiten", "en": "Pages"},
    "archive.field.type": {"de": "Dateityp", "en": "File type"},
    "archive.field.checksum": {"de": "Prüfsumme (SHA-256)", "en": "Checksum (SHA-256)"},
    "archive.field.store": {"de": "Ablage", "en": "Store"},
    "archive.field.created_by": {"de": "Abgelegt von", "en": "Filed by"},
    "archive.field.id": {"de": "Dokument-Nr.", "en": "Document id"},
    "archive.checksum.ok": {"de": "geprüft", "en": "verified"},
    "archive.run": {"de": "Lauf {number} (#{id})", "en": "run {number} (#{id})"},
    "archive.pages": {"de": "{count} S.", "en": "{count} p."},
    "archive.download": {"de": "Herunterladen", "en": "Download"},
    "archive.details": {"de": "Angaben", "en": "Details"},
    "archive.no_preview": {
        "de": "Für diese Art Datei gibt es keine Ansicht; bitte herunterladen.",
        "en": "This kind of file cannot be shown; please download it.",
    },
    "archive.email.html_source": {
        "de": "Die E-Mail hat nur einen HTML-Teil; er wird als Quelltext gezeigt.",
        "en": "The e-mail has an HTML part only; it is shown as source text.",
    },
    "archive.email.attachments": {"de": "Anhänge", "en": "Attachments"},
    "archive.empty": {"de": "Das Archiv ist leer.", "en": "The archive is empty."},
    "archive.empty.filtered": {
        "de": "Kein Dokument passt zur Suche.",
        "en": "No document matches the search.",
    },
    "archive.select": {"de": "„{title}“ auswählen", "en": "Select “{title}”"},
    "archive.select.all": {
        "de": "Alle auf dieser Seite auswählen",
        "en": "Select all on this page",
    },
    "archive.error.title": {
        "de": "Das Dokument kann nicht gelesen werden",
        "en": "The document cannot be read",
    },
    "archive.error.checksum": {
        "de": "Die gespeicherte Datei stimmt nicht mehr mit der Prüfsumme überein, die beim "
        "Archivieren festgehalten wurde: Sie wurde verändert oder beschädigt und wird deshalb "
        "nicht ausgeliefert.",
        "en": "The stored file no longer matches the checksum recorded when it was archived: "
        "it was changed or damaged and is therefore not delivered.",
    },
    "archive.error.missing": {
        "de": "Die gespeicherte Datei fehlt in der Ablage.",
        "en": "The stored file is missing from the store.",
    },
    "archive.error.advice": {
        "de": "Bitte wenden Sie sich an die Administration; die Datei lässt sich aus einer "
        "Sicherung wiederherstellen.",
        "en": "Please contact your administrator; the file can be restored from a backup.",
    },
    "archive.delete.selected": {"de": "Auswahl löschen …", "en": "Delete selected …"},
    "archive.delete.run": {
        "de": "Alle {count} Dokumente dieses Laufs löschen …",
        "en": "Delete all {count} documents of this run …",
    },
    "archive.delete.nothing": {
        "de": "Bitte zuerst Dokumente auswählen.",
        "en": "Please select documents first.",
    },
    "archive.delete.title": {"de": "Dokumente löschen", "en": "Delete documents"},
    "archive.delete.question": {
        "de": "Diese {count} Dokumente endgültig löschen?",
        "en": "Delete these {count} documents for good?",
    },
    "archive.delete.run_question": {
        "de": "Alle {count} Dokumente von Lauf {number} (#{id}) endgültig löschen?",
        "en": "Delete all {count} documents of run {number} (#{id}) for good?",
    },
    "archive.delete.run_campaign": {"de": "Kampagne: {name}", "en": "Campaign: {name}"},
    "archive.delete.more": {"de": "… und {count} weitere.", "en": "… and {count} more."},
    "archive.delete.warning": {
        "de": "Die Dateien werden aus der Ablage entfernt und sind auch beim Kontakt nicht "
        "mehr zu sehen. Das Löschen wird protokolliert.",
        "en": "The files are removed from the store and no longer shown on the contact. The "
        "deletion is logged.",
    },
    "archive.delete.reason": {"de": "Grund", "en": "Reason"},
    "archive.delete.reason.placeholder": {
        "de": "z. B. Fehldruck, Widerruf",
        "en": "e.g. misprint, withdrawal",
    },
    "archive.delete.confirm": {"de": "Endgültig löschen", "en": "Delete for good"},
    "archive.delete.done": {
        "de": "{count} Dokumente wurden gelöscht.",
        "en": "{count} documents were deleted.",
    },
    "archive.delete.gone": {
        "de": "Einige der gewählten Dokumente gibt es nicht mehr; es wurde nichts gelöscht.",
        "en": "Some of the chosen documents no longer exist; nothing was deleted.",
    },
    "archive.cancel": {"de": "Abbrechen", "en": "Cancel"},
    "archive.deletions.intro": {
        "de": "Wer wann welche archivierten Dokumente gelöscht hat.",
        "en": "Who deleted which archived documents, and when.",
    },
    "archive.deletions.when": {"de": "Gelöscht am", "en": "Deleted at"},
    "archive.deletions.who": {"de": "Von", "en": "By"},
    "archive.deletions.count": {"de": "Dokumente", "en": "Documents"},
    "archive.deletions.none": {
        "de": "Es wurden noch keine Dokumente gelöscht.",
        "en": "No documents have been deleted yet.",
    },
}
