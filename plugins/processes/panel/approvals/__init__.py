"""The reviewers' inbox: approvals waiting for the user's answer, and the approval log."""

from plugins.processes.panel.approvals.views import bp

__all__ = ["bp"]
