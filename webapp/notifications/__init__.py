"""The user's notifications from the outbox, with the unread count in the top bar."""

from webapp.notifications.views import bp

__all__ = ["bp"]
