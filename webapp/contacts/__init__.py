"""Contacts: the address book's search, each contact's record and consent, CSV import."""

from webapp.contacts.views import bp

__all__ = ["bp"]
