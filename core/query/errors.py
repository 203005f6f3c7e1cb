"""One exception for every problem in a stored query, so callers catch one thing and show it."""

from __future__ import annotations

from core.messages import ExplainedError, StoredText, stored


def join_location(outer: str | None, inner: str | None) -> str:
    """``where.conditions[0]`` + ``values[1]``, or + ``[1]`` without a dot."""
    if not outer or not inner:
        return outer or inner or ""
    return f"{outer}{inner}" if inner.startswith("[") else f"{outer}.{inner}"


class QueryError(ExplainedError):
    """A query that cannot be compiled: ``location`` says where in the JSON, ``reason`` what
    in the reader's language (for a screen that names the place in its own words),
    ``problem`` the same in English. A ``ValueError``, so pydantic validators may raise it.
    """

    def __init__(self, reason: StoredText, location: str | None = None):
        self.reason = reason
        self.location = location
        super().__init__(
            stored("{field}: {problem}", field=location, problem=reason) if location else reason
        )

    @property
    def problem(self) -> str:
        return self.reason.english()

    def at(self, location: str) -> QueryError:
        """The same problem, placed inside ``location``."""
        return QueryError(self.reason, join_location(location, self.location) or None)
