"""Data source "combined queries": the records of several saved queries or distribution lists,
in any of them (union) or in all of them (intersection), minus those of others; every query
runs again at every start.

The combination is one SQL statement: the root table's targets narrowed to the ids of the
queries' ``UNION`` or ``INTERSECT`` and not in the ``UNION`` of the excluded ones, so filters,
groups and counts work on it as on a single query.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from sqlalchemy import Select, intersect, union
from sqlalchemy.orm import Session

from core import DataSource, hookimpl
from core.messages import ExplainedError, stored_for
from core.models import SavedQuery
from core.query import QueryDefinition, compile_query, compile_saved_query
from plugins.datasources import TRANSLATIONS
from plugins.datasources.common import GroupedSource, TargetParams, invalid, root_targets

stored = stored_for(__name__)
MAX_QUERIES = 20
"""Queries one setting may name: more is a statement no database plans well."""


class CombinedParams(TargetParams):
    queries: list[int] = Field(
        min_length=1,
        max_length=MAX_QUERIES,
        description="Saved queries or distribution lists whose records are combined.",
        json_schema_extra={"x-options": "saved_queries"},
    )
    combine: Literal["any", "all"] = Field(
        default="any",
        description=(
            "any: the records in at least one of the queries (union); all: the records in "
            "every one of them (intersection)."
        ),
    )
    excluded: list[int] = Field(
        default=[],
        max_length=MAX_QUERIES,
        description="The records in any of these saved queries or distribution lists are left out.",
        json_schema_extra={"x-options": "saved_queries"},
    )

    @model_validator(mode="after")
    def _each_query_once(self) -> CombinedParams:
        self.queries = list(dict.fromkeys(self.queries))
        self.excluded = list(dict.fromkeys(self.excluded))
        both = [query_id for query_id in self.excluded if query_id in self.queries]
        if both:
            raise invalid(
                "excluded",
                stored(
                    "saved query {id} is both combined and excluded; choose it in one list",
                    id=str(both[0]),
                ),
            )
        return self


class CombinedQueries(GroupedSource):
    name = "combined"
    title = "Combined queries"
    description = (
        "The records of several saved queries or distribution lists: in any of them or in "
        "all of them, without those of the excluded ones; every query runs again at every start."
    )
    Params = CombinedParams
    params: CombinedParams

    def entity(self) -> str:
        return self.params.entity

    def ids_of(self, session: Session, query_id: int) -> Select[Any]:
        """The root ids the saved query finds now; refused if it returns another entity."""
        query = compile_saved_query(session, query_id)
        if query.root.name != self.entity():
            raise ExplainedError(
                stored(
                    "saved query '{name}' now returns {returned}, but the campaign expects "
                    "{expected}",
                    name=session.get(SavedQuery, query_id).name,
                    returned=query.root.name,
                    expected=self.entity(),
                )
            )
        ids = query.select_targets().order_by(None).with_only_columns(query.root.id_column)
        return ids.correlate(None)  # its own table, never the outer select's rows

    def select(self, context: Any) -> Select[Any]:
        session = context.session
        chosen = [self.ids_of(session, query_id) for query_id in self.params.queries]
        root_id = compile_query(QueryDefinition(root=self.entity())).root.id_column
        targets = root_targets(self.entity(), self.params.group_by).where(
            root_id.in_(_combined(chosen, intersect if self.params.combine == "all" else union))
        )
        excluded = [self.ids_of(session, query_id) for query_id in self.params.excluded]
        if excluded:
            targets = targets.where(root_id.not_in(_combined(excluded, union)))
        return targets


def _combined(selects: list[Select[Any]], operation: Callable[..., Any]) -> Any:
    """The ids of ``selects`` as one statement: the one itself, or their union or intersection."""
    return selects[0] if len(selects) == 1 else operation(*selects)


@hookimpl
def register_datasources(register: Callable[[type[DataSource]], None]) -> None:
    register(CombinedQueries)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
