"""The public one-click unsubscribe page of campaign e-mails (RFC 8058)."""

from webapp.unsubscribe.views import bp

__all__ = ["bp"]
