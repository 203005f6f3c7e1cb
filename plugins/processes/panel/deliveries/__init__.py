"""Deliveries: their list, their page with approvals, runs, counts and costs, their form."""

from plugins.processes.panel.deliveries import (  # noqa: F401  (views join the blueprint)
    confirmation,
    provider_steps,
    result_file,
    submission,
)
from plugins.processes.panel.deliveries.views import bp

__all__ = ["bp"]
