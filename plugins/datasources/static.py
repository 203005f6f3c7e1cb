"""Data source "static data": records added to the campaign by hand or stored once from a query
("store current list"); see webapp.campaigns.records for adding, removing and freezing them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select

from core import DataSource, hookimpl
from core.models import CampaignRecord
from core.query import get_entity
from plugins.datasources import TRANSLATIONS
from plugins.datasources.common import GroupedSource, TargetParams, root_targets


class StaticData(GroupedSource):
    name = "static"
    title = "Static data"
    description = (
        "Records stored with the campaign; the list only changes when records are added, "
        "removed or the current list of a query is stored again."
    )
    dynamic = False
    Params = TargetParams
    params: TargetParams

    def entity(self) -> str:
        return self.params.entity

    def select(self, context: Any) -> Select[Any]:
        stored = select(CampaignRecord.entity_id).where(
            CampaignRecord.campaign_id == context.campaign_id,
            CampaignRecord.entity == self.entity(),
        )
        id_column = get_entity(self.entity()).id_column
        return root_targets(self.entity(), self.params.group_by).where(id_column.in_(stored))


@hookimpl
def register_datasources(register: Callable[[type[DataSource]], None]) -> None:
    register(StaticData)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
