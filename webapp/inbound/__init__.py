"""The panel's "Inbound e-mail": what came back to the bounce mailbox, and the mail nobody
could match, kept for a person to read."""

from webapp.inbound.views import bp

__all__ = ["bp"]
