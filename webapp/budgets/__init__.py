"""Budgets: allocation against the booked, spent and invoiced costs, their expense lines."""

from webapp.budgets.views import bp

__all__ = ["bp"]
