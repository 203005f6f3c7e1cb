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
from core.reach import SkipReason, refusals

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
    started_by: str | None = None
    """Who started the run (a user name, or a workflow such as ``operationMgt #3``): what
    the run adds to the books and the archive is recorded as made by them."""
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Any:
        return self.runtime.settings

    @property
    def now(self) -> Any:
        return self.runtime.clock.now()

    @property
    def work_dir(self) -> Path:
        """This run's own local directory for files being rendered, seen by no other
        process: a file the run keeps goes to its run files (``save_run_file``)."""
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
        """The recipients of one group, for actions that run once per group. A member who
        refuses the channel now (a block or an opt-out set since targeting) is left out and
        its row skipped with the reason, in the action's transaction."""
        for found, refused in self.checked_members(group_key):
            if refused:
                self.skip_members(group_key, refused)
            yield from (recipient for recipient in found if recipient.id not in refused)

    def refused_members(self, group_key: str | None) -> dict[int, SkipReason]:
        """The members of one group (entity id: reason) who refuse the channel now, read
        without writing anything: for an action that must leave them out before its own
        sessions write (an upload's record) and records them after (``skip_members``)."""
        refused: dict[int, SkipReason] = {}
        for _found, page in self.checked_members(group_key):
            refused.update(page)
        return refused

    def checked_members(
        self, group_key: str | None
    ) -> Iterator[tuple[list[Recipient], dict[int, SkipReason]]]:
        """The members of one group a page at a time, each page with those of them who
        refuse the channel now (entity id: reason); nothing is written."""
        run = self.session.get(Run, self.run_id)
        datasource = build_plugins(
            self.runtime.plugins, CampaignConfig.from_snapshot(run.config)
        ).datasource
        service = bool(run.config.get("service_communication", False))
        for batch in self.member_ids(group_key, MEMBERS_AT_ONCE):
            loaded = datasource.load(self, batch)
            found = [loaded[entity_id] for entity_id in batch if entity_id in loaded]
            by_key = refusals(self.session, found, self.channel, service=service)
            yield found, {r.id: by_key[r.key] for r in found if r.key in by_key}

    def skip_members(self, group_key: str | None, reasons: dict[int, SkipReason]) -> None:
        """Record members the reach rule leaves out at dispatch (entity id: reason), counted
        in the run's skips."""
        skipped = 0
        for entity_id, reason in reasons.items():
            skipped += self.session.execute(
                update(RunItem)
                .where(
                    RunItem.run_id == self.run_id,
                    RunItem.kind == ItemKind.MEMBER,
                    RunItem.group_key.is_not_distinct_from(group_key),
                    RunItem.entity_id == entity_id,
                    RunItem.status == ItemStatus.PENDING,
                )
                .values(status=ItemStatus.SKIPPED, detail=reason.value, finished_at=self.now)
                .execution_options(synchronize_session=False)
            ).rowcount
        if skipped:
            self.session.execute(
                update(Run)
                .where(Run.id == self.run_id)
                .values(skipped=Run.skipped + skipped)
                .execution_options(synchronize_session=False)
            )

    def member_ids(self, group_key: str | None, size: int = 100) -> Iterator[list[int]]:
        """The entity ids of one group's members in ledger order, ``size`` at a time, streamed
        from one query so memory stays flat; held-out and skipped members are left out."""
        rows = self.session.execute(
            select(RunItem.entity_id)
            .where(
                RunItem.run_id == self.run_id,
                RunItem.kind == ItemKind.MEMBER,
                RunItem.group_key == group_key,
                RunItem.status.not_in([ItemStatus.HELD_OUT, ItemStatus.SKIPPED]),
            )
            .order_by(RunItem.id)
            .execution_options(yield_per=size)
        )
        for batch in rows.partitions():
            yield [row.entity_id for row in batch]

    @contextmanager
    def claim_kept(self, key: str) -> Iterator[None]:
        """Keep this worker's claim on the row ``key`` fresh while the block runs, so that
        recovery does not report a row unclear whose outside effect takes minutes (a large
        upload); a worker that dies stops beating, and the claim goes stale."""
        with beating(lambda: keep_claimed(self.runtime, self.run_id, key)):
            yield


def keep_claimed(runtime: Runtime, run_id: int, key: str) -> None:
    """Renew this worker's claim on a row."""
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
