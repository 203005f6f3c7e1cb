"""Keep the records that meet a condition built like those of the query editor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement

from core import hookimpl
from core.query import Block, Condition, EntitySpec, condition_expression, parse_node
from plugins.filters import TRANSLATIONS
from plugins.filters._common import RecordFilter


class ConditionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    condition: Condition | Block = Field(
        description=(
            "A condition {field, type, values} or a block {op: and|or, conditions: [...]}, "
            "with the 16 condition types and semantics of the query editor"
        )
    )

    @field_validator("condition", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Condition | Block:
        """As the query editor parses a where: one clear message naming the bad part."""
        return parse_node(value)


class FieldCondition(RecordFilter):
    name = "condition"
    title = "Field condition"
    description = (
        "Keeps the records that meet a condition or block of conditions, exactly as the query "
        "editor evaluates it; fields are checked against the data source's entity."
    )
    Params = ConditionParams
    params: ConditionParams

    def expression(self, root: EntitySpec, context: Any) -> ColumnElement[bool]:
        """Checked against the root here, because only the data source knows the root."""
        return condition_expression(root.name, self.params.condition, "condition")


@hookimpl
def register_recipient_filters(register):
    register(FieldCondition)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
