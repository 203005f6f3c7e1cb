"""Stocks: lines with their levels and alerts, orders and consumption per campaign."""

from plugins.processes.panel.stocks.views import bp

__all__ = ["bp"]
