"""The user's own settings: interface language and password."""

from webapp.profile.views import bp

__all__ = ["bp"]
