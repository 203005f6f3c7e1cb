"""Providers: their services, cost categories, cost types, prices and provider processes."""

from webapp.providers import prices  # noqa: F401  (its views join the blueprint)
from webapp.providers.views import bp

__all__ = ["bp"]
