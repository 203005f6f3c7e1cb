"""Chunk jobs: the action for each ledger row, exactly once, and the finishing step.

In-database effects commit with their batch's claim and outcomes; outside effects are
claimed in a commit before them, so a dead worker's unsettled rows are reported unclear,
never repeated (docs/engine.md, "Send-once").
"""

from __future__ import annotations

import enum
import functools
import itertools
import json
import logging
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    Integer,
    Row,
    Update,
    bindparam,
    cast,
    column,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from core.engine import hourly_limit
from core.engine.campaigns import CampaignConfig, CampaignPlugins, build_plugins
from core.engine.context import RunContext
from core.engine.events import notify, run_event
from core.engine.leases import (
    FINISHING_STEP,
    LEASE,
    HeldLease,
    held,
    recover_abandoned,
    report_claims_unclear,
)
from core.engine.runs import (
    discard_unconfirmed,
    enqueue_attempts,
    enqueue_chunks,
    finish_if_complete,
    open_chunks,
)
from core.engine.sending_window import SendingWindow
from core.events import ItemEvent
from core.jobs.functions import current_runtime, worker_identity
from core.models import ChunkLease, ItemKind, ItemStatus, Run, RunItem, RunState
from core.plugin_base import Action, Outcome, Recipient
from core.reach import SkipReason, refusals
from core.runtime import Runtime

log = logging.getLogger(__name__)

run_items = RunItem.__table__
runs = Run.__table__
BATCH = 500
"""Rows per transaction for in-database effects; also how many recipients load at once."""
STALE_CLAIM = timedelta(minutes=2)
MAX_CLAIM = 100
"""Rows of outside effects one commit claims at most: what a killed worker leaves unclear."""
CLAIM_WINDOW = 0.2
"""Seconds of effects one claim aims at; a row slower than that is claimed alone."""
STATE_CHECK = 0.05
"""Seconds between reads of the run's state during a claim's effects: how late a cancel acts."""
LEDGER_FIELDS = tuple(run_items.c[name] for name in ("id", "key", "kind", "entity_id", "group_key"))
"""What the dispatcher needs of a ledger row to process it."""
OUTCOME_FIELDS = ("status", "detail", "units", "reference", "billed_on_delivery")

# The ledger statements run once per batch or row: built once, so SQLAlchemy's compiled
# cache is hit without rebuilding and re-keying an expression every time. Ids are rendered
# into the statement: binding hundreds of them costs the drivers more than the update.
_PENDING = run_items.c.status == ItemStatus.PENDING.value
_MINE = run_items.c.claimed_by == bindparam("worker")
_IN_IDS = run_items.c.id.in_(bindparam("item_ids", expanding=True, literal_execute=True))
_CLAIMED_NOW = {"claimed_by": bindparam("worker"), "claimed_at": bindparam("now")}
_OUTCOME = {name: bindparam(f"new_{name}") for name in OUTCOME_FIELDS}
_OUTCOME_NOW = _OUTCOME | {"finished_at": bindparam("now")} | _CLAIMED_NOW
_RECORD_SHARED_OUTCOME = run_items.update().where(_IN_IDS, _PENDING).values(_OUTCOME_NOW)
_RECORD_OWN_OUTCOME = (
    run_items.update().where(run_items.c.id == bindparam("item_id"), _PENDING).values(_OUTCOME_NOW)
)
_CLAIM = (
    run_items.update()
    .where(_IN_IDS, _PENDING)
    .values(status=ItemStatus.CLAIMED.value, **_CLAIMED_NOW)
    .returning(run_items.c.id)
)
_RELEASE = (
    run_items.update()
    .where(_IN_IDS, _MINE, run_items.c.status == ItemStatus.CLAIMED.value)
    .values(status=ItemStatus.PENDING.value, claimed_by=None, claimed_at=None)
)
_SETTLE_MEMBERS = (
    run_items.update()
    .where(
        run_items.c.run_id == bindparam("run"),
        run_items.c.kind == ItemKind.MEMBER.value,
        run_items.c.group_key.is_not_distinct_from(bindparam("group")),
        _PENDING,
    )
    .values(status=bindparam("new_status"), finished_at=bindparam("now"))
)
_RUN_STATE = select(runs.c.state).where(runs.c.id == bindparam("run"))


def _record_held_statement(dialect: str) -> Update:
    """Record the outcomes in the JSON list ``outcomes`` on the rows this worker holds as
    ``held_as``: one statement and one bound value per claim, whatever the outcomes."""
    names = ["item_id", *(f"new_{name}" for name in OUTCOME_FIELDS)]
    if dialect == "postgresql":
        columns = [column("item_id", Integer)]
        columns += [column(f"new_{name}", run_items.c[name].type) for name in OUTCOME_FIELDS]
        table = (
            func.json_to_recordset(cast(bindparam("outcomes"), JSON))
            .table_valued(*columns)
            .render_derived(name="outcomes", with_types=True)
        )
        fields = {name: table.c[name] for name in names}
    else:  # SQLite
        table = func.json_each(bindparam("outcomes")).table_valued("value", name="outcomes")
        fields = {name: func.json_extract(table.c.value, literal(f"$.{name}")) for name in names}
    return (
        run_items.update()
        .where(
            run_items.c.id == fields["item_id"], _MINE, run_items.c.status == bindparam("held_as")
        )
        .values(
            {name: fields[f"new_{name}"] for name in OUTCOME_FIELDS}
            | {"finished_at": bindparam("now")}
        )
        .returning(run_items.c.id)
    )


_RECORD_HELD = {dialect: _record_held_statement(dialect) for dialect in ("postgresql", "sqlite")}


@functools.cache
def _count_statement(counters: tuple[str, ...]) -> Update:
    """Add to the run's counters, beat its heartbeat and say whether it still runs."""
    return (
        runs.update()
        .where(runs.c.id == bindparam("run"))
        .values(
            heartbeat_at=bindparam("now"),
            **{name: runs.c[name] + bindparam(f"add_{name}") for name in counters},
        )
        .returning(runs.c.state)
    )


def _pending_rows(session: Session, *where, limit: int | None = None) -> list[Row]:
    query = select(*LEDGER_FIELDS).where(*where, _PENDING).order_by(run_items.c.id)
    return list(session.execute(query.limit(limit)))


def process_chunk(run_id: int, chunk: int, attempt: int | None = None) -> str:
    """RQ job: run the action for the pending rows of one chunk, holding its lease."""
    runtime = current_runtime()
    with held(runtime, run_id, chunk, attempt) as lease:
        if lease is None:
            return f"run {run_id} chunk {chunk}: attempt {attempt} was replaced; skipped"
        with runtime.database.pinned_session() as session:
            with session.begin():
                run = session.get(Run, run_id)
                if run is None or run.state != RunState.RUNNING:
                    state = run.state if run else "gone"
                    return f"run {run_id} chunk {chunk}: skipped, run is {state}"
                if opens_at := _keep_to_window(runtime, run, lease):
                    return f"run {run_id} chunk {chunk}: waits for its window ({opens_at})"
                worker = _dispatcher(runtime, run, lease)
                items = _pending_rows(
                    session, run_items.c.run_id == run_id, run_items.c.chunk == chunk
                )
            if worker.built.action.external_effects:
                processed = worker.run_claimed_in_batches(session, items)
            else:
                processed = worker.run_in_batches(session, items)
        stopped = lease.should_stop()
    finish_if_complete(runtime, run_id)
    suffix = ", stopped early" if stopped else ""
    return f"run {run_id} chunk {chunk}: {processed} processed{suffix}"


def _keep_to_window(runtime: Runtime, run: Run, lease: HeldLease) -> datetime | None:
    """Pause the chunk where the run's sending window closes; when it opens again if it is
    closed now (returned: the chunk waits)."""
    window = SendingWindow.from_json(run.config.get("sending_window"))
    if window is None or run.dry_run:
        return None
    zone, now = ZoneInfo(runtime.settings.timezone), runtime.clock.now()
    if opens_at := window.waits_until(now, zone):
        lease.pause(now, opens_at)
        return opens_at
    closes_at = window.closes_at(now, zone)
    lease.pause(closes_at, window.opens_at(closes_at, zone))
    return None


WARMED_RUNS = 16
"""Runs whose action a worker remembers having warmed up (``warm_up``)."""
_warmed: deque[tuple[str, int, datetime]] = deque(maxlen=WARMED_RUNS)


def warm_up(run_id: int) -> None:
    """Once per run, before the worker forks a chunk's work horse: ``Action.warm_up`` loads
    what the work horses inherit; if it fails, each loads it itself."""
    runtime = current_runtime()
    try:
        with runtime.database.session() as session:
            run = session.get(Run, run_id)
            if run is None or run.state != RunState.RUNNING:
                return
            key = (runtime.settings.database_url, run_id, run.created_at)
            if key in _warmed:
                return
            _warmed.append(key)
            worker = _dispatcher(runtime, run)
            action = worker.built.action
            if type(action).warm_up is Action.warm_up:
                return
            context = worker.context(session)
            first = _pending_rows(session, run_items.c.run_id == run_id, limit=1)
            recipients = load_recipients(context, worker.built, first)
            action.warm_up(recipients.get(first[0].id) if first else None, context)
            session.rollback()
    except Exception:
        log.exception("run %s: the action's warm-up failed; its work horses do without", run_id)


@dataclass
class ClaimSize:
    """Rows the next claim takes (what the action did in ``CLAIM_WINDOW``, at most fourfold
    the last) and rows one ``Action.process_many`` takes (what it does in ``STATE_CHECK``)."""

    rows: int = 1
    group: int = 1

    def took(self, seconds: float, rows: int) -> None:
        if rows == 0:
            return
        pace = rows / max(seconds, 1e-6)
        self.rows = max(1, min(MAX_CLAIM, int(pace * CLAIM_WINDOW), self.rows * 4))
        self.group = max(1, min(self.rows, int(pace * STATE_CHECK)))


class BatchResult(enum.Enum):
    """Why a batch produced no outcomes."""

    ISOLATE = "a recipient failed: repeat with a savepoint each"
    RACED = "another worker claimed some rows: read the batch again"
    STOPPED = "the worker is stopping: the batch is rolled back and stays pending"


def _dispatcher(runtime: Runtime, run: Run, lease: HeldLease | None = None) -> Dispatcher:
    """The dispatcher of ``run`` as its snapshot configures it; with ``lease``, a chunk job's."""
    built = build_plugins(runtime.plugins, CampaignConfig.from_snapshot(run.config))
    if lease is None:
        return Dispatcher(runtime, run, run.campaign.name, built, False)
    listeners = bool(runtime.plugins.hook.item_processed.get_hookimpls())
    return Dispatcher(runtime, run, run.campaign.name, built, listeners, lease.should_stop, lease)


@dataclass
class Dispatcher:
    """Runs one chunk's rows through the action and records each outcome."""

    runtime: Runtime
    run: Run
    campaign_name: str
    built: CampaignPlugins
    listeners: bool
    should_stop: Callable[[], bool] = lambda: False
    """Asked between batches and rows: the worker is stopping, or the lease was lost."""
    lease: HeldLease | None = None
    """A chunk job's lease, paused when the campaign's hourly limit is reached."""
    state_read_at: float = field(default=float("-inf"), init=False)
    refused: dict[str, SkipReason] = field(default_factory=dict, init=False)
    """The loaded recipients who refuse the action's channel now (``core.reach.refusals``)."""

    def __post_init__(self) -> None:
        self.identity = worker_identity()
        self.service = bool(self.run.config.get("service_communication", False))
        self.batched = type(self.built.action).process_many is not Action.process_many
        """The action sends several claimed rows at once; else each fails alone if it raises."""
        limit = self.run.config.get("hourly_limit")
        self.per_hour = None if self.run.dry_run or self.lease is None else limit
        self.hourly_claim: int | None = None
        """The last claim under the hourly limit, which gets back the rows that sent nothing."""

    def context(self, session: Session) -> RunContext:
        return RunContext(
            runtime=self.runtime,
            session=session,
            campaign_id=self.run.campaign_id,
            campaign_name=self.campaign_name,
            run_id=self.run.id,
            channel=self.built.action.channel,
            entity=self.built.datasource.entity(),
            started_by=self.run.started_by,
        )

    def run_in_batches(self, session: Session, items: Sequence[Row]) -> int:
        """Process ``items`` a batch per transaction until the run or the worker stops."""
        processed = 0
        for start in range(0, len(items), BATCH):
            batch, isolate = items[start : start + BATCH], False
            while isinstance(result := self._batch(session, batch, isolate), BatchResult):
                if result is BatchResult.STOPPED:
                    return processed
                isolate = isolate or result is BatchResult.ISOLATE
                if result is BatchResult.RACED:
                    with session.begin():
                        ids = [item.id for item in batch]
                        batch = _pending_rows(session, run_items.c.id.in_(ids))
            outcomes, state = result
            self._announce(outcomes)
            processed += len(outcomes)
            if state != RunState.RUNNING or self.should_stop():
                break
        return processed

    def _batch(
        self, session: Session, batch: Sequence[Row], isolate: bool
    ) -> tuple[list[tuple[Row, Outcome]], str | None] | BatchResult:
        """One batch in one transaction, its rows claimed last to hold SQLite's write lock
        briefly. Without ``isolate`` (a savepoint per recipient) a failure rolls it back."""
        with session.begin():
            context = self.context(session)
            recipients = self._load(context, batch)
            outcomes = []
            for item in batch:
                if self.should_stop():
                    session.rollback()
                    return BatchResult.STOPPED
                savepoint = session.begin_nested() if isolate else None
                outcome = self._outcome(context, item, recipients.get(item.id))
                if outcome.status != ItemStatus.DONE:
                    if savepoint is None:
                        session.rollback()
                        return BatchResult.ISOLATE
                    savepoint.rollback()  # a failed recipient leaves no half-done effect
                elif savepoint is not None:
                    savepoint.commit()
                outcomes.append((item, outcome))
            if not self._claim_and_record(session, outcomes):
                session.rollback()
                return BatchResult.RACED
            return outcomes, self._settle(session, outcomes)

    def run_claimed_in_batches(self, session: Session, items: Sequence[Row]) -> int:
        """Claim rows in a commit before their effects; record their outcomes with the next
        claim, so the action's own writes commit with them. Recipients load a batch at a
        time; who of them refuses the channel is read again for each claim, so a block set
        while the chunk sends stops the rows not begun."""
        pending = iter(items)
        positions = {item.id: position for position, item in enumerate(items)}
        recipients: dict[int, Recipient] = {}
        loaded_until = 0
        size = ClaimSize()
        with session.begin():
            going_on = self._still_running(session) and not self.should_stop()
            claimed = self._claim_next(session, pending, size.rows) if going_on else []
        processed = 0
        while claimed:
            first, last = positions[claimed[0].id], positions[claimed[-1].id]
            if last >= loaded_until:
                loaded_until = max(last + 1, first + BATCH)
                with session.begin():
                    window = items[first:loaded_until]
                    recipients = load_recipients(self.context(session), self.built, window)
            started = time.monotonic()
            with session.begin():
                context = self.context(session)
                self._read_refusals(
                    context, [recipients[r.id] for r in claimed if r.id in recipients]
                )
                outcomes = []
                group = size.group if self.batched else 1
                while len(outcomes) < len(claimed):
                    if self.should_stop() or not self._still_running(session):
                        break
                    rows = claimed[len(outcomes) : len(outcomes) + group]
                    outcomes += self._outcomes(context, rows, recipients)
                state = self._record_claimed(session, outcomes)
                if not_begun := claimed[len(outcomes) :]:  # nothing happened: pending again
                    parameters = {"item_ids": [item.id for item in not_begun]}
                    session.execute(_RELEASE, parameters | {"worker": self.identity})
                skipped = sum(outcome.status == ItemStatus.SKIPPED for _, outcome in outcomes)
                self._give_back(session, len(not_begun) + skipped)
                size.took(time.monotonic() - started, len(outcomes))
                going_on = state == RunState.RUNNING and not self.should_stop()
                claimed = self._claim_next(session, pending, size.rows) if going_on else []
            self._announce(outcomes)
            processed += len(outcomes)
        return processed

    def _still_running(self, session: Session) -> bool:
        """Whether the run still runs, read again once ``STATE_CHECK`` passed since the last."""
        if time.monotonic() - self.state_read_at < STATE_CHECK:
            return True
        return self._state(session) == RunState.RUNNING

    def _claim_next(self, session: Session, pending: Iterator[Row], rows: int) -> list[Row]:
        """Claim up to ``rows`` of the next rows another worker did not take, as many as the
        hourly limit allows; none, pausing the lease, while it allows none."""
        claimed: list[Row] = []
        now = self.runtime.clock.now()
        if self.per_hour is not None and self.lease is not None:
            following = next(pending, None)
            if following is None:  # the chunk is done: nothing to take from the hour
                return claimed
            pending = itertools.chain([following], pending)
            campaign_id, limit = self.run.campaign_id, self.per_hour
            allowance = hourly_limit.take(session, campaign_id, limit, rows, now)
            if allowance.resumes_at is not None:
                self.lease.pause(now, allowance.resumes_at)
                return claimed
            rows, self.hourly_claim = allowance.rows, allowance.claim_id
        while len(claimed) < rows:
            wanted = list(itertools.islice(pending, rows - len(claimed)))
            if not wanted:
                break
            parameters = {"item_ids": [item.id for item in wanted], "worker": self.identity}
            taken = set(session.scalars(_CLAIM, parameters | {"now": now}))
            claimed += [item for item in wanted if item.id in taken]
        self._give_back(session, rows - len(claimed))
        return claimed

    def _give_back(self, session: Session, rows: int) -> None:
        """Return rows that reached nobody to the hourly limit's allowance."""
        if self.hourly_claim is not None:
            hourly_limit.give_back(session, self.hourly_claim, rows)

    def _outcome(self, context: RunContext, item: Row, recipient: Recipient | None) -> Outcome:
        refused = self._refused(recipient)
        if refused is not None:
            return refused
        try:
            return _checked(self.built.action.process(recipient, context))
        except Exception as exc:
            log.warning("run %s item %s failed", self.run.id, item.key, exc_info=True)
            return Outcome.failed(f"{type(exc).__name__}: {exc}")

    def _load(self, context: RunContext, items: Sequence[Row]) -> dict[int, Recipient]:
        """The recipients of ``items``, with who of them refuses the channel now."""
        recipients = load_recipients(context, self.built, items)
        self._read_refusals(context, recipients.values())
        return recipients

    def _read_refusals(self, context: RunContext, recipients: Iterable[Recipient]) -> None:
        """Note who of ``recipients`` refuses the action's channel now."""
        channel = self.built.action.channel
        self.refused = refusals(context.session, recipients, channel, service=self.service)

    def _refused(self, recipient: Recipient | None) -> Outcome | None:
        """The skip of a recipient gone or refusing the channel since targeting, else None."""
        if recipient is None:
            return Outcome.skipped("the record no longer exists")
        reason = self.refused.get(recipient.key)
        return None if reason is None else Outcome.skipped(reason.value)

    def _outcomes(
        self, context: RunContext, items: Sequence[Row], recipients: dict[int, Recipient]
    ) -> list[tuple[Row, Outcome]]:
        """The outcomes of claimed rows, in one ``process_many``: if it raises or miscounts,
        its effects may have happened in part, so its rows are unclear, not failed."""
        if len(items) == 1:
            return [(items[0], self._outcome(context, items[0], recipients.get(items[0].id)))]
        outcomes = {item.id: self._refused(recipients.get(item.id)) for item in items}
        ready = [item for item in items if outcomes[item.id] is None]
        if ready:
            try:
                answers = self.built.action.process_many(
                    [recipients[item.id] for item in ready], context
                )
                if len(answers) != len(ready):
                    raise ValueError(f"{len(answers)} outcomes for {len(ready)} recipients")
                answers = [_checked(answer) for answer in answers]
            except Exception as exc:
                log.warning("run %s: %s recipients unclear", self.run.id, len(ready), exc_info=True)
                unclear = Outcome(ItemStatus.UNCLEAR.value, f"{type(exc).__name__}: {exc}", 0)
                answers = [unclear] * len(ready)
            outcomes.update(zip((item.id for item in ready), answers, strict=True))
        return [(item, outcomes[item.id]) for item in items]

    def _claim_and_record(self, session: Session, outcomes: list[tuple[Row, Outcome]]) -> bool:
        """Claim the rows and record their outcomes, one statement per outcome several share
        (usually all: done); False if another worker claimed one first."""
        now = self.runtime.clock.now()
        shared: defaultdict[Outcome, list[int]] = defaultdict(list)
        for item, outcome in outcomes:
            shared[outcome].append(item.id)
        claimed, own = 0, []
        for outcome, item_ids in shared.items():
            values = _outcome_values(outcome) | {"worker": self.identity, "now": now}
            if len(item_ids) == 1:
                own.append(values | {"item_id": item_ids[0]})
            else:
                parameters = values | {"item_ids": item_ids}
                claimed += session.execute(_RECORD_SHARED_OUTCOME, parameters).rowcount
        if own:
            claimed += session.execute(_RECORD_OWN_OUTCOME, own).rowcount
        return claimed == len(outcomes)

    def _record_claimed(self, session: Session, outcomes: list[tuple[Row, Outcome]]) -> str | None:
        """Record the outcomes of the rows still ours; the run's state. A row recovery reported
        unclear meanwhile (``STALE_CLAIM``) gets the outcome the worker knows better."""
        recorded = self._record_held(session, outcomes, ItemStatus.CLAIMED)
        late = [(item, outcome) for item, outcome in outcomes if item.id not in recorded]
        unclear_before = self._record_held(session, late, ItemStatus.UNCLEAR)
        for item, outcome in late:
            if item.id not in unclear_before:
                log.warning(
                    "run %s: %s was taken from this worker; outcome %s not recorded",
                    self.run.id,
                    item.key,
                    outcome.status,
                )
        ours = recorded | unclear_before
        settled = [(item, outcome) for item, outcome in outcomes if item.id in ours]
        if not settled:
            return self._state(session)
        self.state_read_at = time.monotonic()
        return self._settle(session, settled, len(unclear_before))

    def _record_held(
        self, session: Session, outcomes: list[tuple[Row, Outcome]], held_as: ItemStatus
    ) -> set[int]:
        if not outcomes:
            return set()
        rows = [{"item_id": item.id} | _outcome_values(outcome) for item, outcome in outcomes]
        parameters = {"outcomes": json.dumps(rows), "held_as": held_as.value}
        parameters |= {"worker": self.identity, "now": self.runtime.clock.now()}
        statement = _RECORD_HELD[session.get_bind().dialect.name]
        return set(session.scalars(statement, parameters))

    def _state(self, session: Session) -> str | None:
        """Read the run's state, noting when; the action's rows wait for one flush per claim."""
        self.state_read_at = time.monotonic()
        with session.no_autoflush:
            return session.scalar(_RUN_STATE, {"run": self.run.id})

    def _settle(
        self, session: Session, outcomes: list[tuple[Row, Outcome]], unclear_before: int = 0
    ) -> str | None:
        """Give a group's members its outcome and add the outcomes to the run's counters,
        beating its heartbeat; the run's state."""
        now = self.runtime.clock.now()
        for item, outcome in outcomes:
            if item.kind == ItemKind.GROUP:
                parameters = {"run": self.run.id, "group": item.group_key, "now": now}
                session.execute(_SETTLE_MEMBERS, parameters | {"new_status": outcome.status})
        increments = Counter(str(outcome.status) for _, outcome in outcomes)  # the run's columns
        if unclear_before:
            increments["unclear"] -= unclear_before
        statement = _count_statement(tuple(sorted(increments)))
        parameters = {f"add_{name}": count for name, count in increments.items()}
        return session.scalar(statement, parameters | {"run": self.run.id, "now": now})

    def _announce(self, outcomes: list[tuple[Row, Outcome]]) -> None:
        if not self.listeners:
            return
        event = run_event(self.run, self.campaign_name)
        for item, outcome in outcomes:
            try:
                self.runtime.plugins.hook.item_processed(
                    run=event, item=ItemEvent(item.key, outcome.status, outcome.detail)
                )
            except Exception:
                log.exception("an item_processed listener failed")


def _checked(outcome: object) -> Outcome:
    if not isinstance(outcome, Outcome):
        return Outcome.failed(f"the action returned {outcome!r}, not an Outcome")
    return outcome


def _outcome_values(outcome: Outcome) -> dict[str, object]:
    """An outcome as the ``new_*`` values the ledger statements bind."""
    values = {f"new_{name}": getattr(outcome, name) for name in OUTCOME_FIELDS}
    return values | {"new_status": str(outcome.status), "new_detail": outcome.detail or None}


def load_recipients(
    context: RunContext, built: CampaignPlugins, items: Sequence[Row | RunItem]
) -> dict[int, Recipient]:
    """The recipient of each ledger row, loaded in one go; groups become group recipients."""
    wanted = [item.entity_id for item in items if item.kind != ItemKind.GROUP]
    loaded = built.datasource.load(context, wanted) if wanted else {}
    result = {}
    for item in items:
        if item.kind == ItemKind.GROUP:
            group = {"group": item.group_key}
            result[item.id] = Recipient(item.key, "group", None, group, group=item.group_key)
        elif item.entity_id in loaded:
            result[item.id] = loaded[item.entity_id]
    return result


def finish_run(run_id: int, attempt: int | None = None) -> str:
    """RQ job: the action's finishing step, then the final state, holding the step's lease."""
    runtime = current_runtime()
    with held(runtime, run_id, FINISHING_STEP, attempt) as lease:
        if lease is None:
            return f"run {run_id}: finishing attempt {attempt} was replaced; skipped"
        with runtime.database.session() as session:
            run = session.get(Run, run_id)
            if run is None or run.state != RunState.FINISHING:
                return f"run {run_id}: not finishing"
            worker = _dispatcher(runtime, run)
        error = None
        if not run.dry_run:
            try:
                with runtime.database.session() as session:
                    worker.built.action.finish(worker.context(session))
            except Exception as exc:
                log.exception("finishing run %s failed", run_id)
                error = f"finishing step failed: {type(exc).__name__}: {exc}"
        with runtime.database.session() as session:
            if not lease.still_ours(session):
                return f"run {run_id}: finishing attempt {attempt} was replaced; not recorded"
            run = session.get(Run, run_id)
            if error:
                run.state, run.error = RunState.FAILED, error
            elif run.failed or run.unclear:
                run.state = RunState.COMPLETED_WITH_ERRORS
            else:
                run.state = RunState.COMPLETED
            run.finished_at = runtime.clock.now()
            state = run.state
    notify(runtime, run_id, "run_finished")
    return f"run {run_id}: {state}"


def recover_runs(runtime: Runtime) -> list[str]:
    """Scheduler duty: report rows claimed ``STALE_CLAIM`` ago unclear (their worker died or
    hangs), enqueue abandoned parts and stalled runs no lease speaks for, finish runs, and
    discard the analyses nobody confirmed in time."""
    now = runtime.clock.now()
    actions = []
    with runtime.database.session() as session:
        running = session.scalars(select(Run.id).where(Run.state == RunState.RUNNING)).all()
        for run_id in running:
            stale = report_claims_unclear(
                session, run_id, now, RunItem.claimed_at < now - STALE_CLAIM
            )
            if stale:
                actions.append(f"run {run_id}: {stale} rows unclear")
        # targeting died before enqueueing, or the run predates leases
        unleased = session.scalars(
            select(Run.id).where(
                Run.state == RunState.RUNNING,
                ~exists().where(ChunkLease.run_id == Run.id),
                func.coalesce(Run.heartbeat_at, Run.targeted_at) < now - LEASE,
            )
        ).all()
    attempts, recovered = recover_abandoned(runtime)
    actions += recovered
    enqueue_attempts(runtime, attempts)
    for run_id in unleased:
        with runtime.database.session() as session:
            chunks = open_chunks(session, run_id)
            session.execute(update(Run).where(Run.id == run_id).values(heartbeat_at=now))
        if chunks:
            enqueue_chunks(runtime, run_id, chunks)
            actions.append(f"run {run_id}: {len(chunks)} chunks enqueued again")
    actions += [
        f"run {run_id}: finishing" for run_id in running if finish_if_complete(runtime, run_id)
    ]
    return actions + discard_unconfirmed(runtime)
