"""Providers: their services, cost categories, cost types, prices and provider processes."""

from plugins.processes.panel.providers import prices  # noqa: F401  (its views join the blueprint)
from plugins.processes.panel.providers.views import bp

__all__ = ["bp"]
