"""Stocks: lines with their levels and alerts, orders and consumption per campaign."""

from webapp.stocks.messages import MESSAGES
from webapp.stocks.views import bp

__all__ = ["MESSAGES", "bp"]
