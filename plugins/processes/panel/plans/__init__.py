"""Plans, programs, the campaigns' process fields and their tasks."""

from plugins.processes.panel.plans import campaign_process  # noqa: F401  (registers its views on bp)
from plugins.processes.panel.plans.views import bp

__all__ = ["bp"]
