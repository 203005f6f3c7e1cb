"""Texts of the budgets: allocations, amounts per commitment level, expense and cost lines."""

from webapp.charts import MESSAGES as CHART_MESSAGES

MESSAGES = {
    **CHART_MESSAGES,
    "menu.budgets": {"de": "Budgets", "en": "Budgets"},
    "budgets.title": {"de": "Budgets", "en": "Budgets"},
    "budgets.intro": {
        "de": "Zugewiesene Mittel gegen geplante, reservierte, verpflichtete, ausgegebene und "
        "abgerechnete Kosten; berechnet vom Workflow „Kostenberechnung“.",
        "en": "Allocated money against planned, reserved, committed, spent and invoiced costs, "
        "computed by the cost calculation workflow.",
    },
    "budgets.new": {"de": "Neues Budget", "en": "New budget"},
    "budgets.edit": {"de": "Budget bearbeiten", "en": "Edit budget"},
    "budgets.none": {"de": "Noch kein Budget angelegt.", "en": "No budget yet."},
    "budgets.over": {"de": "überschritten", "en": "over budget"},
    "budgets.within": {"de": "im Rahmen", "en": "within budget"},
    "budgets.over_alert": {
        "de": "Dieses Budget ist um {amount} € überschritten (seit {since}).",
        "en": "This budget is {amount} € over its allocation (since {since}).",
    },
    "budgets.over_alert_now": {
        "de": "Dieses Budget ist um {amount} € überschritten.",
        "en": "This budget is {amount} € over its allocation.",
    },
    "budgets.field.name": {"de": "Name", "en": "Name"},
    "budgets.field.description": {"de": "Beschreibung", "en": "Description"},
    "budgets.field.owner": {"de": "Gehört zu", "en": "Belongs to"},
    "budgets.owner_help": {
        "de": "Das Budget erhält die Kosten aller festgelegten Kampagnen darunter.",
        "en": "The budget receives the costs of every specified campaign under it.",
    },
    "budgets.owner.plan": {"de": "Pläne", "en": "Plans"},
    "budgets.owner.program": {"de": "Programme", "en": "Programs"},
    "budgets.owner.campaign": {"de": "Kampagnen", "en": "Campaigns"},
    "budgets.field.start": {"de": "Beginn", "en": "Start"},
    "budgets.field.end": {"de": "Ende", "en": "End"},
    "budgets.field.period": {"de": "Zeitraum", "en": "Period"},
    "budgets.field.allocated": {"de": "Zugewiesen", "en": "Allocated"},
    "budgets.field.booked": {"de": "Gebucht", "en": "Booked"},
    "budgets.field.available": {"de": "Verfügbar", "en": "Available"},
    "budgets.field.spent": {"de": "Ausgegeben", "en": "Spent"},
    "budgets.field.invoiced": {"de": "Abgerechnet", "en": "Invoiced"},
    "budgets.field.responsible": {"de": "Verantwortlich", "en": "Responsible"},
    "budgets.responsible_help": {
        "de": "Wird benachrichtigt, wenn das Budget überschritten wird.",
        "en": "Is notified when the budget goes over its allocation.",
    },
    "budgets.field.usage": {"de": "Auslastung", "en": "Usage"},
    "budgets.chart": {"de": "Budget und Kosten", "en": "Budget and costs"},
    "budgets.chart_caption": {
        "de": "Gestrichelte Linie: zugewiesenes Budget. Gebucht = geplant + reserviert + "
        "verpflichtet.",
        "en": "Dashed line: the allocation. Booked = planned + reserved + committed.",
    },
    "budgets.by_category": {"de": "Nach Ausgabenkategorie", "en": "By expense category"},
    "budgets.no_categories": {
        "de": "Noch keine Aufteilung nach Ausgabenkategorien.",
        "en": "Not broken down by expense category yet.",
    },
    "budgets.allocations": {
        "de": "Aufteilung nach Ausgabenkategorie",
        "en": "Allocation by expense category",
    },
    "budgets.allocations_help": {
        "de": "Leer lassen, was nicht zugewiesen wird.",
        "en": "Leave empty what is not allocated.",
    },
    "budgets.category": {"de": "Ausgabenkategorie", "en": "Expense category"},
    "budgets.expense_lines": {"de": "Kostenzeilen", "en": "Expense and cost lines"},
    "budgets.no_expense_lines": {
        "de": "Noch keine berechneten Kosten: Versände werden bei der Analyse, Aufgaben nach "
        "Abschluss berechnet.",
        "en": "No calculated costs yet: deliveries are costed when analysed, tasks when finished.",
    },
    "budgets.line.source": {"de": "Versand / Aufgabe", "en": "Delivery / task"},
    "budgets.line.campaign": {"de": "Kampagne", "en": "Campaign"},
    "budgets.line.basis": {"de": "Grundlage", "en": "Basis"},
    "budgets.line.quantity": {"de": "Menge", "en": "Quantity"},
    "budgets.line.calculated": {"de": "Berechnet", "en": "Calculated"},
    "budgets.line.real": {"de": "Rechnung", "en": "Invoice"},
    "budgets.line.amount": {"de": "Zählt", "en": "Counts"},
    "budgets.line.task": {"de": "Aufgabe", "en": "Task"},
    "budgets.line.run": {"de": "Direkter Lauf #{number}", "en": "Direct run #{number}"},
    "budgets.field.roll_up": {"de": "Kosten darunter", "en": "Costs below"},
    "budgets.roll_up_help": {
        "de": "Kosten darunter: die Summe der festgelegten Kampagnen, zur Übersicht. Gebucht "
        "ist hier nur, was keinem näheren Budget zufällt: jede Kosten zählen in genau einem "
        "Budget (dem des Versands oder der Aufgabe, sonst der Kampagne, des Programms, des Plans).",
        "en": "Costs below: the sum of the specified campaigns, for the overview. Booked here is "
        "only what falls to no nearer budget: every cost counts in exactly one budget (the "
        "delivery's or task's, else the campaign's, the program's, the plan's).",
    },
    "budgets.created": {"de": "Budget „{name}“ angelegt.", "en": "Budget “{name}” created."},
    "budgets.saved": {"de": "Budget „{name}“ gespeichert.", "en": "Budget “{name}” saved."},
    "budgets.categories": {"de": "Ausgabenkategorien", "en": "Expense categories"},
    "budgets.categories_intro": {
        "de": "Überschriften, nach denen Budgets aufgeteilt werden; Kostenkategorien der "
        "Dienstleister buchen in eine davon.",
        "en": "Headings budgets are broken down by; the providers' cost categories book into "
        "one of them.",
    },
    "budgets.category_new": {"de": "Kategorie anlegen", "en": "Add a category"},
    "budgets.category_created": {
        "de": "Ausgabenkategorie „{name}“ angelegt.",
        "en": "Expense category “{name}” created.",
    },
    "budgets.no_expense_categories": {
        "de": "Noch keine Ausgabenkategorien.",
        "en": "No expense categories yet.",
    },
}
