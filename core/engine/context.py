"""What plugins receive while a campaign is targeted or run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.engine.campaigns import CampaignConfig, build_plugins
from core.jobs.functions import worker_identity
from core.jobs.heartbeat import beating
from core.models import ItemKind, ItemStatus, Run, RunFile, RunItem

if TYPE_CHECKING:
    from core.documents.run_files import RunFiles
    from core.plugin_base import Channel, Recipient
    from core.runtime import Runtime

MEMBERS_AT_ONCE = 500
"""Group members an action walking a group gets loaded in one go."""


@dataclass
class RunContext:
    """Handed to data sources, filters and actions as ``context``.

    ``session`` is the unit of work in progress: what an action adds to it commits
    together with the ledger outcome of the recipient, so in-database effects
    happen exactly once.
    """

    runtime: Runtime
    session: Session
    campaign_id: int | None
    campaign_name: str
    run_id: int | None
    channel: Channel
    dry_run: bool = False
    entity: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Any:
        return self.runtime.settings

    @property
    def now(self) -> Any:
        return self.runtime.clock.now()

    @property
    def work_dir(self) -> Path:
        """A local directory of this run's own for files being rendered (created on first
        use). Nothing here is seen by another process: a file the run keeps goes to its run
        files (``save_run_file``) when it is done."""
        path = self.runtime.settings.data_dir / "work" / f"run-{self.run_id or 'preview'}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def run_files(self) -> RunFiles:
        return self.runtime.run_files

    def save_run_file(self, name: str, data: bytes | Iterable[bytes] | Path) -> RunFile:
        """Keep ``data`` (bytes, chunks, or a local file) as this run's file ``name``; it is
        visible when the context's session commits."""
        if isinstance(data, Path):
            return self.run_files.save_path(self.session, self.run_id, name, data)
        chunks = (data,) if isinstance(data, bytes) else data
        return self.run_files.save(self.session, self.run_id, name, chunks)

    def members(self, group_key: str | None) -> Iterator[Recipient]:
        """The recipients of one group, for actions that run once per group."""
        return iter_group_members(self, group_key)

    def member_ids(self, group_key: str | None, size: int = 100) -> Iterator[list[int]]:
        """The entity ids of one group's members, in ledger order, ``size`` at a time."""
        return group_member_pages(self, group_key, size)

    @contextmanager
    def claim_kept(self, key: str) -> Iterator[None]:
        """Keep this worker's claim on the row ``key`` fresh while the block runs.

        An action with outside effects whose work for one row can take minutes (a large
        upload) wraps it in this, so recovery does not report the row unclear while the
        worker is still at it. A worker that dies stops beating, and the claim goes stale.
        """
        with beating(lambda: keep_claimed(self.runtime, self.run_id, key)):
            yield


def group_member_pages(
    context: RunContext, group_key: str | None, size: int = MEMBERS_AT_ONCE
) -> Iterator[list[int]]:
    """The entity ids of one group's members in ledger order, ``size`` at a time, streamed
    from one query so memory stays flat however large the group; held-out members are left
    out, and so are members the reach rule skipped."""
    rows = context.session.execute(
        select(RunItem.entity_id)
        .where(
            RunItem.run_id == context.run_id,
            RunItem.kind == ItemKind.MEMBER,
            RunItem.group_key == group_key,
            RunItem.status.not_in([ItemStatus.HELD_OUT, ItemStatus.SKIPPED]),
        )
        .order_by(RunItem.id)
        .execution_options(yield_per=size)
    )
    for batch in rows.partitions():
        yield [row.entity_id for row in batch]


def iter_group_members(context: RunContext, group_key: str | None) -> Iterator[Recipient]:
    """Members of one group of the current run, loaded in batches."""
    built = build_plugins(
        context.runtime.plugins,
        CampaignConfig.from_snapshot(context.session.get(Run, context.run_id).config),
    )
    for batch in group_member_pages(context, group_key):
        loaded = built.datasource.load(context, batch)
        for entity_id in batch:
            if entity_id in loaded:
                yield loaded[entity_id]


def keep_claimed(runtime: Runtime, run_id: int, key: str) -> None:
    """Renew this worker's claim on a row, so that recovery does not take a long outside
    effect (a large upload) for the claim of a worker that died."""
    with runtime.database.session() as session:
        session.execute(
            update(RunItem)
            .where(
                RunItem.run_id == run_id,
                RunItem.key == key,
                RunItem.status == ItemStatus.CLAIMED,
                RunItem.claimed_by == worker_identity(),
            )
            .values(claimed_at=runtime.clock.now())
        )
