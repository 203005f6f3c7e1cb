"""The reviewers' inbox: approvals waiting for the user's answer, and the approval log."""

from webapp.approvals.views import bp

__all__ = ["bp"]
