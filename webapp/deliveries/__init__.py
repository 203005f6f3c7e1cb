"""Deliveries: their list, their page with approvals, runs, counts and costs, their form."""

from webapp.deliveries import confirmation, submission  # noqa: F401  (views join the blueprint)
from webapp.deliveries.views import bp

__all__ = ["bp"]
