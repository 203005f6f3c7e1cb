"""Logging in and out of the web panel."""

from webapp.auth.views import bp

__all__ = ["bp"]
