"""Data source "file import": the rows of a CSV upload stored with the campaign (the panel's
Data tab imports them); they reference no record, so the recipients are the rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, String, cast, func, null, select

from core import DataSource, Recipient, hookimpl
from core.models import IMPORT_ENTITY, IMPORT_FIELDS, CampaignRecord
from core.query.compiler import EMPTY_TEXT
from plugins.datasources import TRANSLATIONS
from plugins.datasources.common import GroupedSource


class FileImportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_by: Literal[IMPORT_FIELDS] | None = Field(  # type: ignore[valid-type]
        default=None,
        description="Split the imported rows into groups by this field (e.g. city).",
    )


class FileImport(GroupedSource):
    name = "file_import"
    title = "File import"
    description = (
        "Rows imported from a CSV file into the campaign; they stay as imported until "
        "a file is imported again."
    )
    dynamic = False
    Params = FileImportParams
    params: FileImportParams

    def entity(self) -> str:
        return IMPORT_ENTITY

    def _campaign_rows(self, context: Any) -> tuple[ColumnElement[bool], ...]:
        return (
            CampaignRecord.campaign_id == context.campaign_id,
            CampaignRecord.entity == IMPORT_ENTITY,
        )

    def select(self, context: Any) -> Select[Any]:
        group_by = self.params.group_by
        key = (
            cast(null(), String)
            if group_by is None
            else func.coalesce(CampaignRecord.data[group_by].as_string(), EMPTY_TEXT)
        )
        return (
            select(CampaignRecord.id.label("id"), key.label("group_key"))
            .where(*self._campaign_rows(context))
            .order_by(CampaignRecord.id)
        )

    def load(self, context: Any, ids: Sequence[int]) -> dict[int, Recipient]:
        rows = context.session.execute(
            select(CampaignRecord.id, CampaignRecord.data).where(
                CampaignRecord.id.in_(ids), *self._campaign_rows(context)
            )
        )
        return {
            row.id: Recipient(f"{IMPORT_ENTITY}:{row.id}", IMPORT_ENTITY, row.id, row.data or {})
            for row in rows
        }


@hookimpl
def register_datasources(register: Callable[[type[DataSource]], None]) -> None:
    register(FileImport)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
