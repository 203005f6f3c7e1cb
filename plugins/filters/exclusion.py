"""Leave out the records that other campaigns or runs already had in their ledger."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import ColumnElement, exists, or_, select

from core import Recipient, hookimpl
from core.models import ItemStatus, Run, RunItem
from core.query import EntitySpec
from plugins.filters import TRANSLATIONS
from plugins.filters._common import RecordFilter, require_ids


class ExclusionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign_ids: list[int] = Field(
        [],
        description="Leave out recipients of these campaigns' runs",
        json_schema_extra={"x-options": "campaigns"},
    )
    run_ids: list[int] = Field([], description="Leave out recipients of these runs")
    only_done: bool = Field(
        True, description="Only recipients the action was done for; otherwise any ledger entry"
    )
    within_days: int | None = Field(
        None, ge=1, description="Only runs created within this many days"
    )

    @model_validator(mode="after")
    def _names_something(self) -> ExclusionParams:
        if not self.campaign_ids and not self.run_ids:
            raise ValueError("name at least one campaign (campaign_ids) or run (run_ids)")
        return self


class Exclusion(RecordFilter):
    name = "exclusion"
    title = "Exclude recipients of other campaigns or runs"
    description = (
        "Leaves out records that appear in the ledger of the chosen runs, or of any run of the "
        "chosen campaigns (the run being targeted, dry runs and voided runs never count)."
    )
    Params = ExclusionParams
    params: ExclusionParams

    def _in_ledger(self, entity: str, context: Any) -> list[ColumnElement[bool]]:
        """Conditions on a ledger row: of this entity, in one of the runs that count."""
        runs = select(Run.id).where(
            or_(Run.id.in_(self.params.run_ids), Run.campaign_id.in_(self.params.campaign_ids)),
            Run.dry_run.is_(False),
            Run.superseded_at.is_(None),  # a voided run's letters never went out
        )
        if context.run_id is not None:
            runs = runs.where(Run.id != context.run_id)
        if self.params.within_days is not None:
            runs = runs.where(Run.created_at >= context.now - timedelta(self.params.within_days))
        conditions = [RunItem.run_id.in_(runs), RunItem.entity == entity]
        if self.params.only_done:
            conditions.append(RunItem.status == ItemStatus.DONE)
        return conditions

    def expression(self, root: EntitySpec, context: Any) -> ColumnElement[bool]:
        return ~exists().where(
            *self._in_ledger(root.name, context), RunItem.entity_id == root.id_column
        )

    def check_imported(self, batch: list[Recipient], context: Any) -> list[bool]:
        ids = require_ids(batch, "the exclusion filter")
        listed = set(
            context.session.scalars(
                select(RunItem.entity_id).where(
                    *self._in_ledger(batch[0].entity, context), RunItem.entity_id.in_(ids)
                )
            )
        )
        return [record_id not in listed for record_id in ids]


@hookimpl
def register_recipient_filters(register):
    register(Exclusion)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
