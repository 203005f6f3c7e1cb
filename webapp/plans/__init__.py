"""Plans, programs, the campaigns' process fields and their tasks."""

from webapp.plans import campaign_process  # noqa: F401  (registers its views on bp)
from webapp.plans.views import bp

__all__ = ["bp"]
