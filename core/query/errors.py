"""One exception for every problem in a stored query, so callers catch one thing and show it."""

from __future__ import annotations

from core.messages import ExplainedError, StoredText, stored


class QueryError(ExplainedError):
    """A query that cannot be compiled; ``location`` says where in the JSON the problem is,
    ``reason`` what, without the place (for a screen that names it in its own words), in the
    reader's language; ``problem`` is its English.

    It subclasses ``ValueError`` so that pydantic validators may raise it directly.
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
        """The same problem, placed at ``location`` (inner locations are kept behind it)."""
        if self.location:
            separator = "" if self.location.startswith("[") else "."
            location = f"{location}{separator}{self.location}"
        return QueryError(self.reason, location)
