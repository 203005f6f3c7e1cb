"""The campaign screen ("Kampagnen und Massendruck"): campaigns, their runs and static data."""

from webapp.campaigns import data, runs  # noqa: F401  (their views join the blueprint)
from webapp.campaigns.views import bp

__all__ = ["bp"]
