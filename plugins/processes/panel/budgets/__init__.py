"""Budgets: allocation against the booked, spent and invoiced costs, their expense lines."""

from plugins.processes.panel.budgets.views import bp

__all__ = ["bp"]
