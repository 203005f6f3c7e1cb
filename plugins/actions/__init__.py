"""The built-in action plugins; ``translations/`` holds the catalogs of their texts."""

from pathlib import Path

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
"""This package's gettext catalogs, registered by each of its plugin modules."""
