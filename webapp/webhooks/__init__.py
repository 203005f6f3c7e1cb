"""Webhooks (administrators only): URLs that receive the installation's events."""

from webapp.webhooks.views import bp

__all__ = ["bp"]
