"""Built-in SMS gateways: "http" for providers with a JSON API, "outbox" for development."""
