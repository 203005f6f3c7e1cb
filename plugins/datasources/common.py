"""What the built-in data sources share: settings checks that name the field, groups, and the
base of the sources that run a query at every start."""

from __future__ import annotations

from abc import abstractmethod
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core import DataSource, Group
from core.messages import ExplainedError, StoredText, stored_for
from core.query import ENTITIES, CompiledQuery, QueryDefinition, QueryError, compile_query

stored = stored_for(__name__)
EMPTY_GROUP_LABEL = "(empty)"
"""Label of the group ``''``: the records without a value in the group field."""

EntityName = Annotated[
    str,
    Field(
        description="What the recipients are records of: " + ", ".join(ENTITIES) + ".",
        json_schema_extra={"x-options": "entities"},
    ),
]
GroupBy = Annotated[
    str | None,
    Field(
        description=(
            "Split the recipients into groups by this field of the records or of a to-one "
            "relation (e.g. city, partner.name); the campaign then runs on the ticked groups."
        ),
    ),
]


def invalid(location: str | None, problem: StoredText) -> ValidationError:
    """A validation error at ``location`` (dotted text such as "where.conditions[0].field", kept
    whole); raised inside a validator, pydantic puts it under the field being validated, so the
    campaign's error reads "datasource.settings.definition.where.conditions[0].field: ...". The
    problem goes along as an explained error, as pydantic keeps a validator's ValueError, so a
    screen says it in the reader's language."""
    error = PydanticCustomError(
        "datasource_settings",
        "{problem}",
        {"problem": problem.english(), "error": ExplainedError(problem)},
    )
    return ValidationError.from_exception_data(
        "settings",
        [{"type": error, "loc": (location,) if location else (), "input": None}],
    )


def root_targets(entity: str, group_by: str | None) -> Select[Any]:
    """Every record of ``entity`` as the engine's targets (``id``, ``group_key``)."""
    return compile_query(QueryDefinition(root=entity)).select_targets(group_by)


def check_targets(entity: str, group_by: str | None) -> None:
    """Refuse an unknown entity or a group field it does not have, naming the setting."""
    if entity not in ENTITIES:
        raise invalid(
            "entity",
            stored(
                "unknown entity '{entity}'; known: {known}", entity=entity, known=list(ENTITIES)
            ),
        )
    try:
        root_targets(entity, group_by)
    except QueryError as exc:
        raise invalid(exc.location, exc.reason) from None


class TargetParams(BaseModel):
    """Settings of a source whose records are of one entity, optionally grouped."""

    model_config = ConfigDict(extra="forbid")

    entity: EntityName = "contacts"
    group_by: GroupBy = None

    @model_validator(mode="after")
    def _known_entity_and_group(self) -> TargetParams:
        check_targets(self.entity, self.group_by)
        return self


def count_groups(session: Session, targets: Select[Any]) -> list[Group]:
    """The groups of a targets select with their sizes, by key; the empty group last."""
    rows = targets.order_by(None).subquery("targets")
    key = rows.c.group_key
    counted = session.execute(
        select(key, func.count()).group_by(key).order_by(key == "", key)
    ).all()
    return [Group(value, value or EMPTY_GROUP_LABEL, count) for value, count in counted]


class GroupedSource(DataSource):
    """A source with a ``group_by`` setting whose ``select`` carries the group key."""

    def list_groups(self, context: Any) -> list[Group]:
        if self.params.group_by is None:
            return []
        return count_groups(context.session, self.select(context))


class QueryDataSource(GroupedSource):
    """Recipients of a query compiled at every start, so changes to the data (and to a saved
    query) show up in the next run."""

    def entity(self) -> str:
        return self.params.entity

    @abstractmethod
    def compiled(self, session: Session) -> CompiledQuery:
        """The query as it is now."""

    def select(self, context: Any) -> Select[Any]:
        query = self.compiled(context.session)
        if query.root.name != self.entity():
            raise ExplainedError(
                stored(
                    "the query now returns {returned}, but the campaign expects {expected}; "
                    "save the campaign with entity '{returned}'",
                    returned=query.root.name,
                    expected=self.entity(),
                )
            )
        return query.select_targets(self.params.group_by)
