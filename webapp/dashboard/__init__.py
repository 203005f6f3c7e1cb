"""The start page of the web panel."""

from webapp.dashboard.views import bp

__all__ = ["bp"]
