"""Deliveries: their list, their page with approvals, runs, counts and costs, their form."""

from webapp.deliveries import confirmation, submission  # noqa: F401  (views join the blueprint)
from webapp.deliveries.messages import MESSAGES
from webapp.deliveries.views import bp

__all__ = ["MESSAGES", "bp"]
