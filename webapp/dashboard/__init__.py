"""The start page of the web panel."""

from webapp.dashboard.messages import MESSAGES
from webapp.dashboard.views import bp

__all__ = ["MESSAGES", "bp"]
