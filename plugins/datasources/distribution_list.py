"""Data source "predefined distribution list": a saved query flagged for campaigns, reusable
by any number of campaigns and read again at every start."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import Field
from sqlalchemy.orm import Session

from core import DataSource, hookimpl
from core.query import CompiledQuery, compile_saved_query
from plugins.datasources import TRANSLATIONS
from plugins.datasources.common import QueryDataSource, TargetParams


class DistributionListParams(TargetParams):
    list_id: int = Field(
        description='A saved query flagged "distribution list for campaign".',
        json_schema_extra={"x-options": "distribution_lists"},
    )


class DistributionList(QueryDataSource):
    name = "distribution_list"
    title = "Predefined distribution list"
    description = (
        'A saved query flagged "distribution list for campaign"; the list is read again at '
        "every start, so every campaign using it gets its current records."
    )
    Params = DistributionListParams
    params: DistributionListParams

    def compiled(self, session: Session) -> CompiledQuery:
        return compile_saved_query(session, self.params.list_id, distribution_list=True)


@hookimpl
def register_datasources(register: Callable[[type[DataSource]], None]) -> None:
    register(DistributionList)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
