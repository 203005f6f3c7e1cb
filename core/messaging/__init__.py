"""Reaching people by mail and SMS: building and sending e-mail, the SMS rules, what a
sender can tell about one message, bounces and replies, and one-click unsubscribe."""
