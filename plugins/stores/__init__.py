"""Built-in document stores: where the bytes of archived documents are kept."""

from pathlib import Path

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
"""This package's gettext catalogs (``<language>/LC_MESSAGES/messages.po``), registered by each
of its plugin modules."""
