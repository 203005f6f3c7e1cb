"""The technical workflows: on/off, schedule, last and next run, run now, history."""

from webapp.workflows.views import bp

__all__ = ["bp"]
