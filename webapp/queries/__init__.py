"""The query editor ("queries and lists"): saved queries, distribution lists, CSV export."""

from webapp.queries.views import bp

__all__ = ["bp"]
