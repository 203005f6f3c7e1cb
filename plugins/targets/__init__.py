"""Built-in upload targets: a folder (local or mounted), an SFTP server, an HTTP endpoint."""

from pathlib import Path

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
"""This package's gettext catalogs (``<language>/LC_MESSAGES/messages.po``), registered by each
of its plugin modules."""
