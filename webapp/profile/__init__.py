"""The user's own settings: interface language and password."""

from webapp.profile.messages import MESSAGES
from webapp.profile.views import bp

__all__ = ["MESSAGES", "bp"]
