"""Reports ("Berichte und Adressmuster"): print templates, address patterns, text blocks."""

from webapp.reports import blocks as _blocks  # noqa: F401  (registers its views on bp)
from webapp.reports.views import bp

__all__ = ["bp"]
