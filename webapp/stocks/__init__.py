"""Stocks: lines with their levels and alerts, orders and consumption per campaign."""

from webapp.stocks.views import bp

__all__ = ["bp"]
