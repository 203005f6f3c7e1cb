"""Built-in SMS gateways: "http" for providers with a JSON API, "outbox" for development."""

from pathlib import Path

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
"""This package's gettext catalogs (``<language>/LC_MESSAGES/messages.po``), registered by each
of its plugin modules."""
