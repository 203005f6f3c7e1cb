"""Hold out a control group: recorded in the run's ledger, never reached."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Select

from core import Recipient, RecipientFilter, hookimpl
from core.query import SortKey
from plugins.filters import TRANSLATIONS
from plugins.filters._common import Selection, check_mode, query_root


class ControlGroupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["random", "top"] = Field(
        "random",
        description="random sample: a share or number drawn by the seed; "
        "the first after sorting: the first so many by the sort field",
    )
    percentage: float | None = Field(
        None, gt=0, lt=100, description="Share to hold out, in % (random sample)"
    )
    count: int | None = Field(
        None, ge=1, description="How many to hold out (with percentage: at most this many)"
    )
    sort: SortKey | None = Field(
        None, description='Field and direction for "the first after sorting"'
    )
    seed: int = Field(0, description="Another seed draws another group; the same one, the same")

    @model_validator(mode="after")
    def _fits_mode(self) -> ControlGroupParams:
        check_mode(
            self,
            required={"top": ("count", "sort")},
            only_for={"percentage": ("random",), "sort": ("top",)},
        )
        if self.percentage is None and self.count is None:
            raise ValueError("mode 'random' needs percentage or count")
        return self


class ControlGroup(RecipientFilter):
    name = "control_group"
    title = "Control group"
    description = (
        "Holds out a random percentage or number of recipients, or the first N after sorting: "
        "they are recorded in the run as held out and not reached. Must be the last filter."
    )
    Params = ControlGroupParams
    params: ControlGroupParams
    holds_out = True

    @property
    def selection(self) -> Selection:
        return Selection(
            "control_group",
            self.params.seed,
            self.params.count,
            self.params.percentage,
            self.params.sort,
        )

    def narrow(self, query: Select, context: Any) -> Select | None:
        """The recipients that are reached (the engine records the rest as held out)."""
        root = query_root(context.entity)
        return None if root is None else query.where(~self.selection.chosen(query, root))

    def apply(self, recipients: Iterator[Recipient], context: Any) -> Iterator[Recipient]:
        for recipient, chosen in self.selection.partition(recipients, context):
            yield replace(recipient, held_out=True) if chosen else recipient


@hookimpl
def register_recipient_filters(register):
    register(ControlGroup)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
