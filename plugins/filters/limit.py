"""Keep a reproducible random sample, the top N after sorting, or a percentage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Select

from core import Recipient, RecipientFilter, hookimpl
from core.query import SortKey
from plugins.filters import TRANSLATIONS
from plugins.filters._common import Selection, check_mode, query_root, restricted


class LimitParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["random", "top", "percentage"] = Field(
        "random",
        description="random sample: so many at random; the first after sorting: so many by "
        "the sort field; percentage: a random share (at most so many, if a count is given)",
    )
    count: int | None = Field(None, ge=1, description="How many recipients to keep")
    percentage: float | None = Field(None, gt=0, le=100, description="Share to keep, in %")
    sort: SortKey | None = Field(
        None, description='Field and direction for "the first after sorting"'
    )
    seed: int = Field(0, description="Another seed draws another sample; the same one, the same")

    @model_validator(mode="after")
    def _fits_mode(self) -> LimitParams:
        check_mode(
            self,
            required={
                "random": ("count",),
                "top": ("count", "sort"),
                "percentage": ("percentage",),
            },
            only_for={"percentage": ("percentage",), "sort": ("top",)},
        )
        return self


class Limit(RecipientFilter):
    name = "limit"
    title = "Limit"
    description = (
        "Keeps a random sample of N, the first N after sorting by a field, or a random "
        "percentage. Samples depend only on the ids and the seed, so they are reproducible."
    )
    Params = LimitParams
    params: LimitParams

    @property
    def selection(self) -> Selection:
        return Selection(
            "limit", self.params.seed, self.params.count, self.params.percentage, self.params.sort
        )

    def narrow(self, query: Select, context: Any) -> Select | None:
        root = query_root(context.entity)
        if root is None:
            return None
        chosen = self.selection.chosen(query, root)
        if self.selection.picks_from_population:
            return restricted(query, chosen)
        return query.where(chosen)

    def apply(self, recipients: Iterator[Recipient], context: Any) -> Iterator[Recipient]:
        return (
            recipient
            for recipient, chosen in self.selection.partition(recipients, context)
            if chosen
        )


@hookimpl
def register_recipient_filters(register):
    register(Limit)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
