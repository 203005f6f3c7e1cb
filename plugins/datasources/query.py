"""Data source "individual query": a query from the query editor, run again at every start."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.orm import Session

from core import DataSource, hookimpl
from core.messages import stored_for
from core.query import (
    CompiledQuery,
    QueryDefinition,
    QueryError,
    compile_query,
    compile_saved_query,
)
from plugins.datasources import TRANSLATIONS
from plugins.datasources.common import (
    EntityName,
    GroupBy,
    QueryDataSource,
    check_targets,
    invalid,
)

stored = stored_for(__name__)


class QueryParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    saved_query_id: int | None = Field(
        default=None,
        description="A query saved in the query editor; read again at every start.",
        json_schema_extra={"x-options": "saved_queries"},
    )
    definition: QueryDefinition | None = Field(
        default=None, description="A query written for this campaign alone."
    )
    entity: EntityName = Field(
        default="contacts",
        description=(
            "What the saved query returns (checked at every start, since the engine must know "
            "it before the query is read); an inline definition sets it to its root."
        ),
    )
    group_by: GroupBy = None

    @field_validator("definition", mode="before")
    @classmethod
    def _compiles(cls, value: Any) -> Any:
        if value is None:
            return None
        try:
            return compile_query(value).definition
        except QueryError as exc:
            raise invalid(exc.location, exc.reason) from None

    @model_validator(mode="after")
    def _one_query(self) -> QueryParams:
        if (self.saved_query_id is None) == (self.definition is None):
            raise invalid(None, stored("give exactly one of saved_query_id and definition"))
        if self.definition is not None:
            root = self.definition.root
            if "entity" in self.model_fields_set and self.entity != root:
                raise invalid(
                    "entity",
                    stored(
                        "the definition returns {root}, not {entity}", root=root, entity=self.entity
                    ),
                )
            self.entity = root
        check_targets(self.entity, self.group_by)
        return self


class QuerySource(QueryDataSource):
    name = "query"
    title = "Individual query"
    description = (
        "Records selected by a query from the query editor, saved or written for this "
        "campaign; the query runs again at every start."
    )
    Params = QueryParams
    params: QueryParams

    def compiled(self, session: Session) -> CompiledQuery:
        if self.params.definition is not None:
            return compile_query(self.params.definition)
        return compile_saved_query(session, self.params.saved_query_id)


@hookimpl
def register_datasources(register: Callable[[type[DataSource]], None]) -> None:
    register(QuerySource)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
