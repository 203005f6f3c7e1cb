"""What plugins receive while a campaign is targeted or run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from core.plugin_kinds import Channel, Recipient
    from core.runtime import Runtime


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
    def run_dir(self) -> Path:
        """A directory of this run's own for files it produces (created on first use)."""
        path = self.runtime.settings.data_dir / "runs" / str(self.run_id or "preview")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def members(self, group_key: str | None) -> Iterator[Recipient]:
        """The recipients of one group, for actions that run once per group."""
        from core.engine.dispatch import iter_group_members

        return iter_group_members(self, group_key)

    def member_ids(self, group_key: str | None, size: int = 100) -> Iterator[list[int]]:
        """The entity ids of one group's members, in ledger order, ``size`` at a time."""
        from core.engine.dispatch import group_member_pages

        return group_member_pages(self, group_key, size)

    @contextmanager
    def claim_kept(self, key: str) -> Iterator[None]:
        """Keep this worker's claim on the row ``key`` fresh while the block runs.

        An action with outside effects whose work for one row can take minutes (a large
        upload) wraps it in this, so recovery does not report the row unclear while the
        worker is still at it. A worker that dies stops beating, and the claim goes stale.
        """
        from core.engine.dispatch import keep_claimed
        from core.heartbeat import beating

        with beating(lambda: keep_claimed(self.runtime, self.run_id, key)):
            yield
