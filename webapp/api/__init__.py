"""The HTTP API under ``/api/v1/`` (docs/api.md): JSON resources for the systems around the
installation, authenticated by API tokens, described by the OpenAPI document at
``/api/v1/openapi.json`` and its reference page at ``/api/v1/``."""

from webapp.api import (  # noqa: F401  (their operations join the blueprint)
    archive,
    campaigns,
    contacts,
    queries,
    reference,
    runs,
    workflows,
)
from webapp.api.blueprint import bp

__all__ = ["bp"]
