"""The HTTP API under ``/api/v1/`` (docs/api.md): JSON resources for the systems around the
installation, authenticated by API tokens, described by the OpenAPI document at
``/api/v1/openapi.json`` and its reference page at ``/api/v1/``."""

from webapp.api import archive, campaigns, contacts, queries, reference, runs  # noqa: F401
from webapp.api.blueprint import bp

__all__ = ["bp"]
