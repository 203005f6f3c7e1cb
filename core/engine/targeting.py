"""Targeting: the data source streamed through the filters into the run's ledger.

Where the source is SQL and every filter can narrow in SQL, the whole selection
becomes one ``INSERT ... SELECT`` and never leaves the database; otherwise the
leading SQL-capable filters still run in the database and the rest stream in
batches. Either way memory stays flat however many recipients there are.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    null,
    outerjoin,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from core.engine.campaigns import CampaignConfig, CampaignPlugins, build_plugins
from core.engine.confirmation import DRY_RUN_DETAIL, PREVIEW_PREFIX
from core.engine.context import RunContext
from core.engine.dispatch import load_recipients
from core.engine.events import notify
from core.engine.leases import TARGETING_STEP, HeldLease, held, record_attempts
from core.engine.runs import enqueue_attempts, finish_if_complete
from core.jobs.functions import current_runtime
from core.models import Contact, ItemKind, ItemStatus, Run, RunItem, RunState
from core.plugin_base import Channel, Recipient, Scope
from core.query import ENTITIES, EntitySpec, resolve_path
from core.reach import (
    CONSENT_FIELDS,
    DEFAULT_REGION,
    ELECTRONIC,
    UNDELIVERABLE_FIELD,
    SkipReason,
    checked_in_python,
    skip_reason,
    skip_reason_sql,
)
from core.runtime import Runtime

log = logging.getLogger(__name__)

INSERT_BATCH = 5000
REACH_FIELDS = (*CONSENT_FIELDS, UNDELIVERABLE_FIELD)
"""The contact fields an imported row counts with: the flags and the bounced address."""


class _StopTargeting(Exception):
    """Rolls the targeting transaction back: the run was cancelled meanwhile, or a later
    attempt took the step over."""


def target_run(run_id: int, attempt: int | None = None) -> str:
    """RQ job: materialise the run's recipients, then enqueue its chunks, or stop in
    ``awaiting_confirmation`` when no person has confirmed the run yet. Holds the targeting
    step's lease, so that a killed work horse's step is enqueued again."""
    runtime = current_runtime()
    with held(runtime, run_id, TARGETING_STEP, attempt) as lease:
        if lease is None:
            return f"run {run_id}: targeting attempt {attempt} was replaced; skipped"
        return _target(runtime, run_id, lease)


def _target(runtime: Runtime, run_id: int, lease: HeldLease) -> str:
    with runtime.database.session() as session:
        claimed = session.execute(
            update(Run)
            .where(Run.id == run_id, Run.state.in_([RunState.QUEUED, RunState.TARGETING]))
            .values(state=RunState.TARGETING, started_at=runtime.clock.now())
        ).rowcount
    if not claimed:
        return f"run {run_id}: not queued any more"
    try:
        with runtime.database.session() as session:
            run = session.get(Run, run_id)
            built = build_plugins(runtime.plugins, CampaignConfig.from_snapshot(run.config))
            context = RunContext(
                runtime=runtime,
                session=session,
                campaign_id=run.campaign_id,
                campaign_name=run.campaign.name,
                run_id=run.id,
                channel=built.action.channel,
                dry_run=run.dry_run,
                entity=built.datasource.entity(),
                started_by=run.started_by,
            )
            pending, held_out, skipped = materialise(session, context, run, built)
            highest = session.scalar(
                select(func.max(RunItem.chunk)).where(RunItem.run_id == run_id)
            )
            chunk_count = 0 if highest is None else highest + 1
            ceiling = run.config.get("confirmed_up_to")
            beyond = ceiling is not None and run.confirmed_by is not None and pending > ceiling
            # beyond the count confirmed before the start: a person confirms the new one
            unconfirmed = {"confirmed_by": None, "confirmed_at": None} if beyond else {}
            awaiting = not run.dry_run and (run.confirmed_by is None or beyond)
            if not lease.still_ours(session):
                raise _StopTargeting("replaced by a later attempt")
            now = runtime.clock.now()
            still_ours = session.execute(
                update(Run)
                .where(Run.id == run_id, Run.state == RunState.TARGETING)
                .values(
                    state=RunState.AWAITING_CONFIRMATION if awaiting else RunState.RUNNING,
                    targeted=pending + held_out + skipped,
                    held_out=held_out,
                    skipped=skipped,
                    chunks=chunk_count,
                    targeted_at=now,
                    heartbeat_at=now,
                    **unconfirmed,
                )
            ).rowcount
            if not still_ours:
                raise _StopTargeting("cancelled during targeting")
            if run.dry_run:
                _preview(session, context, run, built)
            # Recorded with the state change: if the enqueue below fails, recovery does it.
            chunks = [] if awaiting or run.dry_run or pending == 0 else range(chunk_count)
            attempts = record_attempts(session, run_id, chunks, now)
    except _StopTargeting as stop:
        return f"run {run_id}: {stop}"
    except Exception as exc:
        if lease.replaced():  # a later attempt works on it; this one's error is moot
            log.warning("run %s: targeting attempt replaced and failed: %s", run_id, exc)
            return f"run {run_id}: targeting replaced by a later attempt"
        log.exception("targeting run %s failed", run_id)
        with runtime.database.session() as session:
            session.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(
                    state=RunState.FAILED,
                    error=f"targeting failed: {type(exc).__name__}: {exc}",
                    finished_at=runtime.clock.now(),
                )
            )
        notify(runtime, run_id, "run_finished")
        return f"run {run_id}: targeting failed"
    _refresh_statistics(runtime)
    if awaiting:  # a person confirms the count first (core.engine.runs.confirm_run)
        return (
            f"run {run_id}: {pending} recipients await confirmation, {held_out} held out, "
            f"{skipped} skipped"
        )
    notify(runtime, run_id, "run_started")
    if run.dry_run or pending == 0:
        finish_if_complete(runtime, run_id)
    else:
        enqueue_attempts(runtime, [(run_id, chunk, n) for chunk, n in attempts.items()])
    return (
        f"run {run_id}: {pending} recipients in {chunk_count} chunks, {held_out} held out, "
        f"{skipped} skipped"
    )


def _refresh_statistics(runtime: Runtime) -> None:
    """PostgreSQL plans the chunk queries from table statistics; a large targeting makes
    them stale until autovacuum comes by, and stale ones mean sequential scans."""
    if runtime.database.engine.dialect.name == "postgresql":
        with runtime.database.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE run_items")
            connection.commit()


@dataclass(frozen=True)
class ReachRule:
    """The platform's reach rule (``core.reach``) as one run applies it.

    ``root`` is the entity whose records are checked through their contact; None for
    imported rows, which are checked on their own data and a contact matched by number.
    """

    channel: Channel
    service: bool
    region: str
    root: EntitySpec | None

    @classmethod
    def of(cls, run: Run, built: CampaignPlugins) -> ReachRule | None:
        """The rule for this run, or None where it does not apply: an action without a
        channel, or records without a contact (sales partners, products)."""
        channel = built.action.channel
        root = ENTITIES.get(built.datasource.entity())
        if channel is Channel.NONE or (root is not None and root.contact_path is None):
            return None
        service = bool(run.config.get("service_communication", False))
        region = getattr(built.action.params, "region", None) or DEFAULT_REGION
        return cls(channel, service, str(region), root)

    def joined(self, source: Any = None, record_id: Any = None) -> tuple[Any, Any, Any]:
        """(FROM clause, record, contact): the root table, outer-joined to ``source`` on
        ``record_id`` when given, and along the root's contact path to the contact whose
        flags and address count (the record itself for contacts)."""
        record = aliased(self.root.model)
        joined = record if source is None else outerjoin(source, record, record.id == record_id)
        current: Any = record
        if self.root.contact_path:
            for relation in resolve_path(self.root.name, f"{self.root.contact_path}.id").relations:
                target = aliased(ENTITIES[relation.target].model)
                onclause = getattr(target, relation.remote) == getattr(current, relation.local)
                joined = outerjoin(joined, target, onclause)
                current = target
        return joined, record, current

    def finish_in_python(self, reason: str | None, contact_value: Any) -> str | None:
        """The part of the rule SQL cannot say: a valid e-mail address or mobile number."""
        if reason is not None or not checked_in_python(self.channel):
            return reason
        field = ELECTRONIC[self.channel][0]
        found = skip_reason({field: contact_value}, self.channel, region=self.region)
        return None if found is None else found.value

    def reasons_of_records(
        self, session: Session, ids: Sequence[int], sql_part: bool = True
    ) -> dict[int, str | None]:
        """The reason (or None) for each record id; without ``sql_part`` only the Python
        part (for rows the SQL part has judged already)."""
        joined, record, contact = self.joined()
        reason = skip_reason_sql(contact, self.channel, self.service) if sql_part else null()
        electronic = ELECTRONIC.get(self.channel)
        address = getattr(contact, electronic[0]) if electronic else null()
        columns = (record.id, reason.label("reason"), address.label("address"))
        rows = session.execute(select(*columns).select_from(joined).where(record.id.in_(ids)))
        return {record_id: self.finish_in_python(found, value) for record_id, found, value in rows}

    def reasons_of_imported(self, session: Session, rows: Sequence[Recipient]) -> list[str | None]:
        """Imported rows: the flags of the contact whose number the row gives, or "no
        consent data"; the address is the row's own."""
        numbers = {str(row.data.get("number")).strip() for row in rows if row.data.get("number")}
        flags = {}
        if numbers:
            found = session.execute(
                select(Contact.number, *(getattr(Contact, name) for name in REACH_FIELDS)).where(
                    Contact.number.in_(numbers)
                )
            )
            flags = {row[0]: dict(zip(REACH_FIELDS, row[1:], strict=True)) for row in found}
        reasons = []
        for row in rows:
            consent = flags.get(str(row.data.get("number") or "").strip())
            if consent is None:
                reasons.append(SkipReason.NO_CONSENT_DATA.value)
                continue
            reason = skip_reason(
                {**row.data, **consent}, self.channel, service=self.service, region=self.region
            )
            reasons.append(None if reason is None else reason.value)
        return reasons


def materialise(
    session: Session, context: RunContext, run: Run, built: CampaignPlugins
) -> tuple[int, int, int]:
    """Write the ledger rows of a run, the reach rule's skips included; return how many are
    to work on (groups, for a group-scoped action), held out and skipped.

    Every targeted recipient gets its row: pending, held out, or skipped with the reach
    rule's reason in ``detail``. So the ledger's counts by status and detail say, as soon
    as targeting is done, how many the action will reach and how many it leaves out why.
    """
    config = CampaignConfig.from_snapshot(run.config)
    source, filters = built.datasource, list(built.filters)
    rule = ReachRule.of(run, built)
    query = source.select(context)
    if query is not None and config.group_keys:
        query = query.where(query.selected_columns.group_key.in_(config.group_keys))
    population, kept = query, None
    while query is not None and filters:
        narrowed = filters[0].narrow(population, context)
        if narrowed is None:
            break
        if filters.pop(0).holds_out:
            kept = narrowed
        else:
            population = narrowed
    group_scope = built.action.scope is Scope.GROUP
    if population is not None and not filters and not (rule and rule.root is None):
        _insert_selected(session, run, built, population, kept, group_scope, rule)
        if rule is not None and checked_in_python(rule.channel):
            _skip_unusable(session, run, rule)
    else:
        if population is not None:
            recipients = source.iter_selected(population, context)
        else:
            recipients = source.iter_recipients(context)
            if config.group_keys:
                wanted = set(config.group_keys)
                recipients = (r for r in recipients if r.group in wanted)
        for entry in filters:
            recipients = entry.apply(recipients, context)
        _insert_streamed(session, run, built, recipients, group_scope, rule)
    counts = dict(
        session.execute(
            select(RunItem.status, func.count())
            .where(RunItem.run_id == run.id)
            .group_by(RunItem.status)
        ).all()
    )
    pending = (
        _insert_groups(session, run, built) if group_scope else counts.get(ItemStatus.PENDING, 0)
    )
    return pending, counts.get(ItemStatus.HELD_OUT, 0), counts.get(ItemStatus.SKIPPED, 0)


def _insert_selected(
    session: Session,
    run: Run,
    built: CampaignPlugins,
    population: Select,
    kept: Select | None,
    group_scope: bool,
    rule: ReachRule | None,
) -> None:
    entity = built.datasource.entity()
    rows = population.order_by(None).subquery("population")
    ordered = select(rows.c.id, rows.c.group_key).order_by(rows.c.id).limit(run.limit or None)
    targets = ordered.subquery("targets")
    judged = select(targets.c.id, targets.c.group_key, null().label("reason"))
    if rule is not None:
        joined, _record, contact = rule.joined(targets, targets.c.id)
        reason = skip_reason_sql(contact, rule.channel, rule.service)
        judged = select(targets.c.id, targets.c.group_key, reason.label("reason")).select_from(
            joined
        )
    source = judged.subquery("judged")
    status = case(
        (source.c.reason.is_not(None), ItemStatus.SKIPPED.value),
        else_=ItemStatus.PENDING.value,
    )
    if kept is not None:
        kept_ids = select(kept.order_by(None).subquery("kept").c.id)
        status = case((source.c.id.in_(kept_ids), status), else_=ItemStatus.HELD_OUT.value)
    # chunks number the rows to work on only, so skipped rows leave no empty chunks
    position = func.row_number().over(partition_by=status, order_by=source.c.id) - 1
    chunk = case(
        (status == ItemStatus.PENDING.value, position // built.action.chunk_size),
        else_=literal(None, Integer),
    )
    kind = ItemKind.MEMBER if group_scope else ItemKind.RECIPIENT
    _insert_from(
        session,
        select(
            literal(run.id).label("run_id"),
            (literal(f"{entity}:") + cast(source.c.id, String)).label("key"),
            literal(built.action.name).label("action"),
            literal(kind.value).label("kind"),
            literal(entity).label("entity"),
            source.c.id.label("entity_id"),
            source.c.group_key,
            (literal(None, Integer) if group_scope else chunk).label("chunk"),
            status.label("status"),
            case((status == ItemStatus.SKIPPED.value, source.c.reason), else_=null()).label(
                "detail"
            ),
        ).order_by(source.c.id),  # the ledger in record order, whatever plan the join took
    )


def _insert_from(session: Session, rows: Select) -> None:
    """``INSERT ... SELECT`` into the ledger, the columns named by the select's labels."""
    session.execute(insert(RunItem).from_select(list(rows.selected_columns.keys()), rows))


def _skip_unusable(session: Session, run: Run, rule: ReachRule) -> None:
    """After an ``INSERT ... SELECT``: skip the pending rows whose e-mail address or mobile
    number is not valid (the part of the rule that is Python only), a batch at a time."""
    after = 0
    items = RunItem.__table__
    skip = (
        items.update()
        .where(items.c.id == bindparam("item_id"), items.c.status == ItemStatus.PENDING.value)
        .values(status=ItemStatus.SKIPPED.value, chunk=None, detail=bindparam("reason"))
    )
    while rows := session.execute(
        select(RunItem.id, RunItem.entity_id)
        .where(RunItem.run_id == run.id, RunItem.status == ItemStatus.PENDING, RunItem.id > after)
        .order_by(RunItem.id)
        .limit(INSERT_BATCH)
    ).all():
        after = rows[-1].id
        reasons = rule.reasons_of_records(session, [row.entity_id for row in rows], False)
        skipped = [
            {"item_id": row.id, "reason": reasons[row.entity_id]}
            for row in rows
            if reasons.get(row.entity_id) is not None
        ]
        if skipped:
            session.execute(skip, skipped)


def _insert_streamed(
    session: Session,
    run: Run,
    built: CampaignPlugins,
    recipients: Iterator[Recipient],
    group_scope: bool,
    rule: ReachRule | None,
) -> None:
    recipients = itertools.islice(recipients, run.limit or None)
    size = built.action.chunk_size
    kind = (ItemKind.MEMBER if group_scope else ItemKind.RECIPIENT).value
    pending = 0
    while batch := list(itertools.islice(recipients, INSERT_BATCH)):
        rows = []
        for recipient, reason in zip(batch, _reasons(session, rule, batch), strict=True):
            chunk = None
            if recipient.held_out:
                status, reason = ItemStatus.HELD_OUT.value, None
            elif reason is not None:
                status = ItemStatus.SKIPPED.value
            else:
                status, chunk = ItemStatus.PENDING.value, None if group_scope else pending // size
                pending += 1
            rows.append(
                {
                    "run_id": run.id,
                    "key": recipient.key,
                    "action": built.action.name,
                    "kind": kind,
                    "entity": recipient.entity,
                    "entity_id": recipient.id,
                    "group_key": recipient.group,
                    "chunk": chunk,
                    "status": status,
                    "detail": reason,
                }
            )
        session.execute(insert(RunItem), rows)


def _reasons(session: Session, rule: ReachRule | None, batch: list[Recipient]) -> list[str | None]:
    """The reach rule's reason (or None) for each recipient of a streamed batch."""
    if rule is None:
        return [None] * len(batch)
    if rule.root is None:
        return rule.reasons_of_imported(session, batch)
    found = rule.reasons_of_records(session, [r.id for r in batch if r.id is not None])
    return [found.get(recipient.id) for recipient in batch]


def _insert_groups(session: Session, run: Run, built: CampaignPlugins) -> int:
    """One ledger row per group that has pending members; those rows are the work."""
    groups = (
        select(RunItem.group_key)
        .where(
            RunItem.run_id == run.id,
            RunItem.kind == ItemKind.MEMBER,
            RunItem.status == ItemStatus.PENDING,
        )
        .distinct()
        .subquery("groups")
    )
    position = func.row_number().over(order_by=groups.c.group_key) - 1
    _insert_from(
        session,
        select(
            literal(run.id).label("run_id"),
            (literal("group:") + func.coalesce(groups.c.group_key, "")).label("key"),
            literal(built.action.name).label("action"),
            literal(ItemKind.GROUP.value).label("kind"),
            literal("group").label("entity"),
            groups.c.group_key,
            (position // built.action.chunk_size).label("chunk"),
            literal(ItemStatus.PENDING.value).label("status"),
        ),
    )
    return session.scalar(
        select(func.count()).where(RunItem.run_id == run.id, RunItem.kind == ItemKind.GROUP)
    )


def _preview(session: Session, context: RunContext, run: Run, built: CampaignPlugins) -> None:
    """A dry run renders the first few recipients and records everything else as not sent."""
    items = session.scalars(
        select(RunItem)
        .where(
            RunItem.run_id == run.id,
            RunItem.status == ItemStatus.PENDING,
            RunItem.kind != ItemKind.MEMBER,
        )
        .order_by(RunItem.id)
        .limit(int(run.config.get("preview_count", 5)))
    ).all()
    recipients = load_recipients(context, built, items)
    for item in items:
        recipient = recipients.get(item.id)
        item.detail = PREVIEW_PREFIX + (
            built.action.preview(recipient, context)
            if recipient is not None
            else "the record no longer exists"
        )
    not_sent = update(RunItem).values(
        status=ItemStatus.SKIPPED, detail=func.coalesce(RunItem.detail, DRY_RUN_DETAIL)
    )
    pending = (RunItem.run_id == run.id, RunItem.status == ItemStatus.PENDING)
    skipped = session.execute(not_sent.where(*pending, RunItem.kind != ItemKind.MEMBER)).rowcount
    session.execute(not_sent.where(*pending, RunItem.kind == ItemKind.MEMBER))
    session.execute(update(Run).where(Run.id == run.id).values(skipped=Run.skipped + skipped))
