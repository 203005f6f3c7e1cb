"""Texts of the notifications (subjects and bodies come from the outbox, in English; the
kind is shown in the user's language)."""

MESSAGES = {
    "notifications.title": {"de": "Benachrichtigungen", "en": "Notifications"},
    "notifications.topbar": {"de": "Benachrichtigungen", "en": "Notifications"},
    "notifications.unread_count": {"de": "{count} ungelesen", "en": "{count} unread"},
    "notifications.intro": {
        "de": "Freigaben, Erinnerungen, Lager- und Budgetwarnungen für Sie.",
        "en": "Approvals, reminders, stock and budget warnings for you.",
    },
    "notifications.none": {"de": "Keine Benachrichtigungen.", "en": "No notifications."},
    "notifications.none_unread": {
        "de": "Keine ungelesenen Benachrichtigungen.",
        "en": "No unread notifications.",
    },
    "notifications.filter.all": {"de": "Alle", "en": "All"},
    "notifications.filter.unread": {"de": "Ungelesen", "en": "Unread"},
    "notifications.mark_read": {"de": "Als gelesen markieren", "en": "Mark as read"},
    "notifications.mark_all_read": {"de": "Alle als gelesen markieren", "en": "Mark all as read"},
    "notifications.marked": {"de": "Als gelesen markiert.", "en": "Marked as read."},
    "notifications.all_marked": {
        "de": "{count} Benachrichtigungen als gelesen markiert.",
        "en": "{count} notifications marked as read.",
    },
    "notifications.open": {"de": "Öffnen", "en": "Open"},
    "notifications.read_at": {"de": "gelesen {at}", "en": "read {at}"},
    "notifications.kind.approval_request": {"de": "Freigabe angefordert", "en": "Approval needed"},
    "notifications.kind.approval_answer": {"de": "Antwort auf Freigabe", "en": "Approval answered"},
    "notifications.kind.approval_reminder": {"de": "Erinnerung", "en": "Reminder"},
    "notifications.kind.stock_alert": {"de": "Lagerwarnung", "en": "Stock alert"},
    "notifications.kind.budget_over_allocated": {
        "de": "Budget überschritten",
        "en": "Budget over allocation",
    },
}
