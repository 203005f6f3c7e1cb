"""One exception for every problem in a stored query, so callers catch one thing and show it."""

from __future__ import annotations


class QueryError(ValueError):
    """A query that cannot be compiled; ``location`` says where in the JSON the problem is.

    It subclasses ``ValueError`` so that pydantic validators may raise it directly.
    """

    def __init__(self, problem: str, location: str | None = None):
        self.problem = problem
        self.location = location
        super().__init__(f"{location}: {problem}" if location else problem)

    def at(self, location: str) -> QueryError:
        """The same problem, placed at ``location`` (inner locations are kept behind it)."""
        if self.location:
            separator = "" if self.location.startswith("[") else "."
            location = f"{location}{separator}{self.location}"
        return QueryError(self.problem, location)
