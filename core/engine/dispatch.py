"""Chunk jobs: the action for each ledger row, exactly once, and the finishing step.

Actions whose effects live in our database (``external_effects = False``) process a
batch of rows in one transaction: claim, effects and outcomes commit together or not
at all, so a killed worker leaves the rows pending and a retry does them once.
Actions with outside effects claim rows in a commit before their effects (up to
``MAX_CLAIM`` at a time); the commit that records their outcomes, in one statement, also
claims the next rows, so a worker's claimed rows whose outcome is unknown are those of the
claim under way. A row left claimed by a dead worker is reported as unclear, never
repeated.
"""

from __future__ import annotations

import enum
import functools
import itertools
import json
import logging
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    Row,
    Text,
    Update,
    bindparam,
    cast,
    column,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from core.engine.campaigns import CampaignConfig, CampaignPlugins, build_plugins
from core.engine.context import RunContext
from core.engine.events import notify, run_event
from core.engine.leases import (
    FINISHING_STEP,
    LEASE,
    held,
    recover_abandoned,
    runs_without_leases,
)
from core.engine.runs import (
    discard_unconfirmed,
    enqueue_attempts,
    enqueue_chunks,
    finish_if_complete,
    open_chunks,
)
from core.events import ItemEvent
from core.jobs.functions import current_runtime, worker_identity
from core.models import Campaign, ItemKind, ItemStatus, Run, RunItem, RunState
from core.plugin_base import Action, Outcome, Recipient
from core.reach import recipient_refusal
from core.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 500
"""Rows per transaction for in-database effects; also how many recipients load at once."""
run_items = RunItem.__table__
runs = Run.__table__
STALE_CLAIM = timedelta(minutes=2)
MAX_CLAIM = 100
"""Rows of outside effects one commit claims at most: a worker killed mid-batch leaves at
most this many rows unclear."""
CLAIM_WINDOW = 0.2
"""Seconds of effects one claim aims at; a row slower than that is claimed alone."""
STATE_CHECK = 0.05
"""Seconds between two reads of the run's state while the effects of one claim go on: a
cancel stops outside effects at most this long (and the recipient under way) after its
commit, and a quick channel pays one read per this many seconds of effects, not per row."""
COUNTER = {
    ItemStatus.DONE: "done",
    ItemStatus.FAILED: "failed",
    ItemStatus.SKIPPED: "skipped",
    ItemStatus.UNCLEAR: "unclear",
}
LEDGER_FIELDS = (
    run_items.c.id,
    run_items.c.key,
    run_items.c.kind,
    run_items.c.entity_id,
    run_items.c.group_key,
)
"""What the dispatcher needs of a ledger row to process it."""

# The ledger statements run once per batch or per row: built once, so SQLAlchemy's
# compiled cache is hit without rebuilding and re-keying an expression every time.
_PENDING = run_items.c.status == ItemStatus.PENDING.value
_OUTCOME_VALUES = {
    "status": bindparam("new_status"),
    "detail": bindparam("new_detail"),
    "units": bindparam("new_units"),
    "reference": bindparam("new_reference"),
    "billed_on_delivery": bindparam("new_billed_on_delivery"),
    "finished_at": bindparam("now"),
}
_RECORD_SHARED_OUTCOME = (
    run_items.update()
    .where(
        # Integer ids rendered into the statement: binding hundreds of parameters costs
        # the drivers several times more than the update itself.
        run_items.c.id.in_(bindparam("item_ids", expanding=True, literal_execute=True)),
        _PENDING,
    )
    .values(**_OUTCOME_VALUES, claimed_by=bindparam("worker"), claimed_at=bindparam("now"))
)
_RECORD_OWN_OUTCOME = (
    run_items.update()
    .where(run_items.c.id == bindparam("item_id"), _PENDING)
    .values(**_OUTCOME_VALUES, claimed_by=bindparam("worker"), claimed_at=bindparam("now"))
)
_CLAIM = (
    run_items.update()
    .where(
        run_items.c.id.in_(bindparam("item_ids", expanding=True, literal_execute=True)),
        _PENDING,
    )
    .values(
        status=ItemStatus.CLAIMED.value,
        claimed_by=bindparam("worker"),
        claimed_at=bindparam("now"),
    )
    .returning(run_items.c.id)
)
_RELEASE = (
    run_items.update()
    .where(
        run_items.c.id.in_(bindparam("item_ids", expanding=True, literal_execute=True)),
        run_items.c.claimed_by == bindparam("worker"),
        run_items.c.status == ItemStatus.CLAIMED.value,
    )
    .values(status=ItemStatus.PENDING.value, claimed_by=None, claimed_at=None)
)
_RECORD_UNCLEAR = (
    run_items.update()
    .where(
        run_items.c.id == bindparam("item_id"),
        run_items.c.claimed_by == bindparam("worker"),
        run_items.c.status == ItemStatus.UNCLEAR.value,
    )
    .values(**_OUTCOME_VALUES)
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


_OUTCOME_COLUMNS = (
    column("item_id", Integer),
    column("new_status", run_items.c.status.type),
    column("new_detail", Text),
    column("new_units", Integer),
    column("new_reference", run_items.c.reference.type),
    column("new_billed_on_delivery", Boolean),
)
"""The fields of one outcome in the JSON list ``_RECORD_CLAIMED`` reads (``_outcome_row``)."""


def _record_claimed_statement(dialect: str) -> Update:
    """Write each row's own outcome, from one JSON list bound as ``outcomes``, to the rows
    this worker still holds claimed, returning their ids: one statement and one bound
    value for a whole claim, whatever the outcomes are, so the statement text stays the
    same and is compiled and prepared once."""
    if dialect == "postgresql":
        table = (
            func.json_to_recordset(cast(bindparam("outcomes"), JSON))
            .table_valued(*_OUTCOME_COLUMNS)
            .render_derived(name="outcomes", with_types=True)
        )
        fields = {field.name: table.c[field.name] for field in _OUTCOME_COLUMNS}
    else:  # SQLite
        table = func.json_each(bindparam("outcomes")).table_valued("value", name="outcomes")
        fields = {
            field.name: func.json_extract(table.c.value, literal(f"$.{field.name}"))
            for field in _OUTCOME_COLUMNS
        }
    return (
        run_items.update()
        .where(
            run_items.c.id == fields["item_id"],
            run_items.c.claimed_by == bindparam("worker"),
            run_items.c.status == ItemStatus.CLAIMED.value,
        )
        .values(
            status=fields["new_status"],
            detail=fields["new_detail"],
            units=fields["new_units"],
            reference=fields["new_reference"],
            billed_on_delivery=fields["new_billed_on_delivery"],
            finished_at=bindparam("now"),
        )
        .returning(run_items.c.id)
    )


_RECORD_CLAIMED = {
    dialect: _record_claimed_statement(dialect) for dialect in ("postgresql", "sqlite")
}


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
                built = build_plugins(runtime.plugins, CampaignConfig.from_snapshot(run.config))
                campaign_name = session.get(Campaign, run.campaign_id).name
                items = session.execute(
                    select(*LEDGER_FIELDS)
                    .where(run_items.c.run_id == run_id, run_items.c.chunk == chunk, _PENDING)
                    .order_by(run_items.c.id)
                ).all()
            listeners = bool(runtime.plugins.hook.item_processed.get_hookimpls())
            worker = Dispatcher(runtime, run, campaign_name, built, listeners, lease.should_stop)
            processed = (
                worker.run_claimed_in_batches(session, items)
                if built.action.external_effects
                else worker.run_in_batches(session, items)
            )
        stopped = lease.should_stop()
    finish_if_complete(runtime, run_id)
    if stopped:
        return f"run {run_id} chunk {chunk}: {processed} processed, stopped early"
    return f"run {run_id} chunk {chunk}: {processed} processed"


WARMED_RUNS = 16
"""Runs whose action a worker remembers having warmed up (``warm_up``)."""
_warmed: OrderedDict[tuple[str, int, datetime], None] = OrderedDict()


def warm_up(run_id: int) -> None:
    """In the worker, before it forks the work horse of a chunk job: once per run, let the
    action load what every chunk needs (``Action.warm_up``), so that each work horse
    inherits it instead of loading it again. A failure is only logged: the work horses
    then load it themselves."""
    runtime = current_runtime()
    try:
        with runtime.database.session() as session:
            run = session.get(Run, run_id)
            if run is None or run.state != RunState.RUNNING:
                return
            key = (runtime.settings.database_url, run_id, run.created_at)
            if key in _warmed:
                return
            _warmed[key] = None
            if len(_warmed) > WARMED_RUNS:
                _warmed.popitem(last=False)
            built = build_plugins(runtime.plugins, CampaignConfig.from_snapshot(run.config))
            if type(built.action).warm_up is Action.warm_up:
                return
            campaign_name = session.get(Campaign, run.campaign_id).name
            context = Dispatcher(runtime, run, campaign_name, built, False).context(session)
            first = session.execute(
                select(*LEDGER_FIELDS)
                .where(run_items.c.run_id == run_id, _PENDING)
                .order_by(run_items.c.id)
                .limit(1)
            ).first()
            recipient = load_recipients(context, built, [first]).get(first.id) if first else None
            built.action.warm_up(recipient, context)
            session.rollback()
    except Exception:
        log.exception("run %s: the action's warm-up failed; its work horses do without", run_id)


class ClaimSize:
    """How many rows the next claim takes: as many as the action did in ``CLAIM_WINDOW`` at
    its recent pace, at least one, at most ``MAX_CLAIM``, growing at most fourfold a claim;
    and how many of them go to one ``Action.process_many``: as many as it does in
    ``STATE_CHECK``, so the run's state is still read that often."""

    def __init__(self) -> None:
        self.rows = 1
        self.group = 1

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


class Dispatcher:
    """Runs one chunk's rows through the action and records each outcome."""

    def __init__(
        self,
        runtime: Runtime,
        run: Run,
        campaign_name: str,
        built: CampaignPlugins,
        listeners: bool,
        should_stop: Callable[[], bool] = lambda: False,
    ):
        self.runtime = runtime
        self.run = run
        self.campaign_name = campaign_name
        self.built = built
        self.listeners = listeners
        self.should_stop = should_stop
        """Asked between batches and between rows: the worker is shutting down, or the
        chunk's lease was lost."""
        self.identity = worker_identity()
        self.channel = built.action.channel
        self.service = bool(run.config.get("service_communication", False))
        self.state_read_at = float("-inf")
        """When the run's state was last read (``_still_running``)."""
        self.batched = type(built.action).process_many is not Action.process_many
        """The action sends several claimed rows at once (``Action.process_many``); an
        action without its own takes them one by one, each failing alone if it raises."""

    def context(self, session: Session) -> RunContext:
        return RunContext(
            runtime=self.runtime,
            session=session,
            campaign_id=self.run.campaign_id,
            campaign_name=self.campaign_name,
            run_id=self.run.id,
            channel=self.built.action.channel,
            entity=self.built.datasource.entity(),
        )

    def run_in_batches(self, session: Session, items: Sequence[Row]) -> int:
        """Process ``items`` a batch per transaction; stop between batches once cancelled, and
        between recipients (rolling the open batch back) once the worker is stopping."""
        processed = 0
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            isolate = False
            while True:
                result = self._batch(session, batch, isolate)
                if result is BatchResult.ISOLATE:
                    isolate = True
                elif result is BatchResult.RACED:
                    with session.begin():
                        batch = self._pending(session, [item.id for item in batch])
                else:
                    break
            if result is BatchResult.STOPPED:
                break
            outcomes, state = result
            self._announce(outcomes)
            processed += len(outcomes)
            if state != RunState.RUNNING or self.should_stop():
                break
        return processed

    def _batch(
        self, session: Session, batch: Sequence[Row], isolate: bool
    ) -> tuple[list[tuple[Row, Outcome]], str | None] | BatchResult:
        """Process one batch and record it in one transaction, claiming its rows last.

        The action runs first and the rows are claimed just before the outcomes are
        written, so SQLite's single write lock is held for milliseconds, not for the
        whole batch. If another worker claimed some of the rows meanwhile, everything is
        rolled back and the batch is read again (RACED). Without ``isolate`` nothing keeps
        one recipient's effects apart from another's, so the first outcome other than
        done rolls the batch back and asks for a run with a savepoint per recipient.
        Returns the outcomes and the run's state as of the commit.
        """
        with session.begin():
            context = self.context(session)
            recipients = load_recipients(context, self.built, batch)
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
            state = self._count(session, outcomes)
        return outcomes, state

    def _pending(self, session: Session, item_ids: Sequence[int]) -> list[Row]:
        return session.execute(
            select(*LEDGER_FIELDS)
            .where(run_items.c.id.in_(item_ids), _PENDING)
            .order_by(run_items.c.id)
        ).all()

    def run_claimed_in_batches(self, session: Session, items: Sequence[Row]) -> int:
        """Claim rows in a commit before their effects; record their outcomes with the next claim.

        Transaction k runs the action for the rows claimed in transaction k-1 (so the
        action's reads and in-database writes commit with their outcomes), records all
        their outcomes in one statement, and claims the next rows unless the run was
        cancelled meanwhile; rows claimed but not begun when the run is cancelled or the
        worker stops are given back. At any moment this worker's rows claimed without a
        recorded outcome are the ones of the claim under way. How many one commit claims
        adapts to the action's pace (``ClaimSize``): one row while each takes long (an
        upload), up to ``MAX_CLAIM`` while they are quick (SMS, e-mail), so a quick channel
        pays one commit per claim rather than per message. Recipients are loaded ``BATCH``
        at a time.
        """
        pending = iter(items)
        positions = {item.id: position for position, item in enumerate(items)}
        recipients: dict[int, Recipient] = {}
        loaded_until = 0
        size = ClaimSize()
        with session.begin():
            going_on = self._running(session) and not self.should_stop()
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
                outcomes = []
                group = size.group if self.batched else 1
                while len(outcomes) < len(claimed):
                    if self.should_stop() or not self._still_running(session):
                        break
                    rows = claimed[len(outcomes) : len(outcomes) + group]
                    outcomes += self._outcomes(context, rows, recipients)
                state = self._record_claimed(session, outcomes)
                self._release(session, claimed[len(outcomes) :])
                size.took(time.monotonic() - started, len(outcomes))
                going_on = state == RunState.RUNNING and not self.should_stop()
                claimed = self._claim_next(session, pending, size.rows) if going_on else []
            self._announce(outcomes)
            processed += len(outcomes)
        return processed

    def _running(self, session: Session) -> bool:
        return self._state(session) == RunState.RUNNING

    def _still_running(self, session: Session) -> bool:
        """Whether the run still runs, read again before a row once ``STATE_CHECK`` passed
        since the last read (the claim's own commit reads it too): a cancel stops outside
        effects within that time, without a round trip per row of a quick channel."""
        if time.monotonic() - self.state_read_at < STATE_CHECK:
            return True
        return self._running(session)

    def _claim_next(self, session: Session, pending: Iterator[Row], rows: int) -> list[Row]:
        """Claim up to ``rows`` of the next rows still pending, in one statement; rows another
        worker took are passed over."""
        claimed: list[Row] = []
        now = self.runtime.clock.now()
        while len(claimed) < rows:
            wanted = list(itertools.islice(pending, rows - len(claimed)))
            if not wanted:
                break
            parameters = {"item_ids": [item.id for item in wanted], "worker": self.identity}
            taken = set(session.scalars(_CLAIM, parameters | {"now": now}))
            claimed += [item for item in wanted if item.id in taken]
        return claimed

    def _release(self, session: Session, items: Sequence[Row]) -> None:
        """Give back rows claimed but not begun (the worker is stopping): nothing happened
        for them, so they are pending again, not unclear."""
        if items:
            parameters = {"item_ids": [item.id for item in items], "worker": self.identity}
            session.execute(_RELEASE, parameters)

    def _outcome(self, context: RunContext, item: Row, recipient: Recipient | None) -> Outcome:
        refused = self._refused(recipient)
        if refused is not None:
            return refused
        try:
            outcome = self.built.action.process(recipient, context)
        except Exception as exc:
            log.warning("run %s item %s failed", self.run.id, item.key, exc_info=True)
            return Outcome.failed(f"{type(exc).__name__}: {exc}")
        return _checked(outcome)

    def _refused(self, recipient: Recipient | None) -> Outcome | None:
        """The skip of a recipient gone or refusing the channel since targeting, else None."""
        if recipient is None:
            return Outcome.skipped("the record no longer exists")
        reason = recipient_refusal(
            recipient.entity, recipient.data, self.channel, service=self.service
        )
        return None if reason is None else Outcome.skipped(reason.value)

    def _outcomes(
        self, context: RunContext, items: Sequence[Row], recipients: dict[int, Recipient]
    ) -> list[tuple[Row, Outcome]]:
        """The outcomes of claimed rows, the recipients not refused in one ``process_many``.

        Its effects may have happened in part when it raises (or answers with the wrong
        number of outcomes), so every row it had is then unclear, never failed.
        """
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
        """Claim the batch's rows and write their outcomes, one statement per shared outcome.

        Rows with the same outcome (typically all of them: done, no detail) are written
        by one ``UPDATE ... WHERE id IN (...)``; rows with an outcome of their own by one
        executemany. Each update only touches rows still pending, so the summed row
        count tells whether another worker claimed any of them first; the caller then
        rolls back.
        """
        if not outcomes:
            return True
        now = self.runtime.clock.now()
        shared: defaultdict[Outcome, list[int]] = defaultdict(list)
        for item, outcome in outcomes:
            shared[outcome].append(item.id)
        claimed = 0
        own = []
        for outcome, item_ids in shared.items():
            fields = _outcome_fields(outcome) | {"worker": self.identity, "now": now}
            if len(item_ids) == 1:
                own.append(fields | {"item_id": item_ids[0]})
            else:
                parameters = fields | {"item_ids": item_ids}
                claimed += session.execute(_RECORD_SHARED_OUTCOME, parameters).rowcount
        if own:
            claimed += session.execute(_RECORD_OWN_OUTCOME, own).rowcount
        if claimed != len(outcomes):
            return False
        for item, outcome in outcomes:
            self._settle_members(session, item, outcome)
        return True

    def _settle_members(self, session: Session, item: Row, outcome: Outcome) -> None:
        """The members of a group share the outcome of their group."""
        if item.kind != ItemKind.GROUP:
            return
        session.execute(
            _SETTLE_MEMBERS,
            {
                "run": self.run.id,
                "group": item.group_key,
                "new_status": outcome.status,
                "now": self.runtime.clock.now(),
            },
        )

    def _record_claimed(self, session: Session, outcomes: list[tuple[Row, Outcome]]) -> str | None:
        """Record the outcomes of rows claimed in an earlier commit, those still ours.

        Every outcome of the claim goes in one ``UPDATE ... FROM (VALUES ...) RETURNING id``,
        so a channel whose outcomes all differ (an SMS carries its gateway's message id)
        pays one round trip per claim, not per message. Recovery may have reported a row
        unclear meanwhile (the batch took longer than ``STALE_CLAIM``); the worker then
        knows better, so its outcome replaces that report, row by row. Returns the run's
        state.
        """
        if not outcomes:
            return self._state(session)
        now = self.runtime.clock.now()
        rows = json.dumps([_outcome_row(item.id, outcome) for item, outcome in outcomes])
        statement = _RECORD_CLAIMED[session.get_bind().dialect.name]
        parameters = {"outcomes": rows, "worker": self.identity, "now": now}
        recorded = set(session.scalars(statement, parameters))
        counted = [(item, outcome) for item, outcome in outcomes if item.id in recorded]
        unclear_before = []
        for item, outcome in outcomes:
            if item.id in recorded:
                continue
            parameters = _outcome_fields(outcome) | {
                "item_id": item.id,
                "worker": self.identity,
                "now": now,
            }
            if session.execute(_RECORD_UNCLEAR, parameters).rowcount:
                unclear_before.append((item, outcome))
            else:
                log.warning(
                    "run %s: %s was taken from this worker; outcome %s not recorded",
                    self.run.id,
                    item.key,
                    outcome.status,
                )
        for item, outcome in counted + unclear_before:
            self._settle_members(session, item, outcome)
        corrections = {"unclear": -len(unclear_before)} if unclear_before else None
        if not counted and not unclear_before:
            return self._state(session)
        self.state_read_at = time.monotonic()
        return self._count(session, counted + unclear_before, corrections)

    def _state(self, session: Session) -> str | None:
        """Read the run's state, noting when (``_still_running``). Rows the action added
        meanwhile (an e-mail's archive entry) are not flushed for it: they go in one
        flush with the claim's outcomes, not a few at each read."""
        self.state_read_at = time.monotonic()
        with session.no_autoflush:
            return session.scalar(_RUN_STATE, {"run": self.run.id})

    def _count(
        self,
        session: Session,
        outcomes: list[tuple[Row, Outcome]],
        corrections: dict[str, int] | None = None,
    ) -> str | None:
        """Add the outcomes to the run's counters in the same transaction; the run's state."""
        increments = dict(corrections or {})
        for _item, outcome in outcomes:
            counter = COUNTER[ItemStatus(outcome.status)]
            increments[counter] = increments.get(counter, 0) + 1
        statement = _count_statement(tuple(sorted(increments)))
        parameters = {f"add_{name}": count for name, count in increments.items()}
        parameters |= {"run": self.run.id, "now": self.runtime.clock.now()}
        return session.scalar(statement, parameters)

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


def _outcome_fields(outcome: Outcome) -> dict[str, object]:
    """The bound values of ``_OUTCOME_VALUES`` for one outcome."""
    return {
        "new_status": outcome.status,
        "new_detail": outcome.detail or None,
        "new_units": outcome.units,
        "new_reference": outcome.reference,
        "new_billed_on_delivery": outcome.billed_on_delivery,
    }


def _outcome_row(item_id: int, outcome: Outcome) -> dict[str, object]:
    """One row's outcome as an element of the JSON list ``_RECORD_CLAIMED`` reads."""
    return {
        "item_id": item_id,
        "new_status": str(outcome.status),
        "new_detail": outcome.detail or None,
        "new_units": outcome.units,
        "new_reference": outcome.reference,
        "new_billed_on_delivery": outcome.billed_on_delivery,
    }


def load_recipients(
    context: RunContext, built: CampaignPlugins, items: Sequence[Row | RunItem]
) -> dict[int, Recipient]:
    """The recipient of each ledger row, loaded in one go; groups become group recipients."""
    wanted = [item.entity_id for item in items if item.kind != ItemKind.GROUP]
    loaded = built.datasource.load(context, wanted) if wanted else {}
    result = {}
    for item in items:
        if item.kind == ItemKind.GROUP:
            result[item.id] = Recipient(
                item.key, "group", None, {"group": item.group_key}, group=item.group_key
            )
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
            built = build_plugins(runtime.plugins, CampaignConfig.from_snapshot(run.config))
            campaign_name = session.get(Campaign, run.campaign_id).name
        error = None
        if not run.dry_run:
            try:
                with runtime.database.session() as session:
                    context = Dispatcher(runtime, run, campaign_name, built, False).context(session)
                    built.action.finish(context)
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
    """Scheduler duty: settle rows of dead workers, enqueue abandoned chunks, finish runs,
    and discard the analyses nobody confirmed in time
    (``core.engine.runs.CONFIRMATION_TIMEOUT``).

    A row claimed longer ago than ``STALE_CLAIM`` belonged to a worker that died between
    claim and outcome (or whose effect hangs): it may or may not have happened, so it
    becomes unclear. Chunks and steps whose holder stopped are the leases' business
    (``core.engine.leases``). A running run no lease speaks for and without a heartbeat
    for ``LEASE`` gets its open chunks enqueued.
    """
    now = runtime.clock.now()
    actions = []
    with runtime.database.session() as session:
        running = session.scalars(select(Run).where(Run.state == RunState.RUNNING)).all()
        for run in running:
            stale = session.execute(
                update(RunItem)
                .where(
                    RunItem.run_id == run.id,
                    RunItem.status == ItemStatus.CLAIMED,
                    RunItem.claimed_at < now - STALE_CLAIM,
                )
                .values(
                    status=ItemStatus.UNCLEAR,
                    finished_at=now,
                    detail="the worker stopped after claiming this row; "
                    "whether the action happened is unknown",
                )
            ).rowcount
            if stale:
                run.unclear += stale
                actions.append(f"run {run.id}: {stale} rows unclear")
        unleased = [
            run.id
            for run in runs_without_leases(session)
            if (run.heartbeat_at or run.targeted_at or now) < now - LEASE
        ]
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
    for run in running:
        if finish_if_complete(runtime, run.id):
            actions.append(f"run {run.id}: finishing")
    actions.extend(discard_unconfirmed(runtime))
    return actions
