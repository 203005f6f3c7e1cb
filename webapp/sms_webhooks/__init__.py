"""The SMS gateways' public webhooks: delivery receipts and inbound messages."""

from webapp.sms_webhooks.views import bp

__all__ = ["bp"]
