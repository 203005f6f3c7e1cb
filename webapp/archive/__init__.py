"""The document archive: every letter and e-mail filed with its contact."""

from webapp.archive.views import bp

__all__ = ["bp"]
