"""Targeting: the data source streamed through the filters into the run's ledger.

Where the source is SQL and every filter can narrow in SQL, the whole selection
becomes one ``INSERT ... SELECT`` and never leaves the database; otherwise the
leading SQL-capable filters still run in the database and the rest stream in
batches. Either way memory stays flat however many recipients there are.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator

from sqlalchemy import Integer, Select, String, case, cast, func, insert, literal, select, update
from sqlalchemy.orm import Session

from core.engine.campaigns import CampaignConfig, CampaignPlugins, build_plugins
from core.engine.context import RunContext
from core.engine.events import notify
from core.engine.runs import enqueue_chunks
from core.jobs import current_runtime
from core.models import Campaign, ItemKind, ItemStatus, Run, RunItem, RunState
from core.plugin_kinds import Recipient, Scope
from core.runtime import Runtime

log = logging.getLogger(__name__)

INSERT_BATCH = 5000


class _CancelledWhileTargeting(Exception):
    """Rolls the targeting transaction back when the run was cancelled meanwhile."""


def target_run(run_id: int) -> str:
    """RQ job: materialise the run's recipients, then enqueue its chunks, or stop in
    ``awaiting_confirmation`` when no person has confirmed the run yet."""
    runtime = current_runtime()
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
            context = _context(runtime, session, run)
            built = build_plugins(runtime.plugins, CampaignConfig.from_snapshot(run.config))
            context.entity = built.datasource.entity()
            pending, held_out = materialise(session, context, run, built)
            chunk_count = _chunk_count(session, run_id)
            awaiting = not run.dry_run and run.confirmed_by is None
            still_ours = session.execute(
                update(Run)
                .where(Run.id == run_id, Run.state == RunState.TARGETING)
                .values(
                    state=RunState.AWAITING_CONFIRMATION if awaiting else RunState.RUNNING,
                    targeted=pending + held_out,
                    held_out=held_out,
                    chunks=chunk_count,
                    targeted_at=runtime.clock.now(),
                    heartbeat_at=runtime.clock.now(),
                )
            ).rowcount
            if not still_ours:
                raise _CancelledWhileTargeting
            if run.dry_run:
                _preview(session, context, run, built)
    except _CancelledWhileTargeting:
        return f"run {run_id}: cancelled during targeting"
    except Exception as exc:
        log.exception("targeting run %s failed", run_id)
        _fail(runtime, run_id, f"targeting failed: {type(exc).__name__}: {exc}")
        return f"run {run_id}: targeting failed"
    _refresh_statistics(runtime)
    if awaiting:  # a person confirms the count first (core.engine.runs.confirm_run)
        return f"run {run_id}: {pending} recipients await confirmation, {held_out} held out"
    notify(runtime, run_id, "run_started")
    if run.dry_run or pending == 0:
        from core.engine.dispatch import finish_if_complete

        finish_if_complete(runtime, run_id)
    else:
        enqueue_chunks(runtime, run_id, range(chunk_count))
    return f"run {run_id}: {pending} recipients in {chunk_count} chunks, {held_out} held out"


def _refresh_statistics(runtime: Runtime) -> None:
    """PostgreSQL plans the chunk queries from table statistics; a large targeting makes
    them stale until autovacuum comes by, and stale ones mean sequential scans."""
    if runtime.database.engine.dialect.name == "postgresql":
        with runtime.database.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE run_items")
            connection.commit()


def _context(runtime: Runtime, session: Session, run: Run) -> RunContext:
    campaign_name = session.get(Campaign, run.campaign_id).name
    action = runtime.plugins.actions.get(run.config["action"])
    return RunContext(
        runtime=runtime,
        session=session,
        campaign_id=run.campaign_id,
        campaign_name=campaign_name,
        run_id=run.id,
        channel=action.channel,
        dry_run=run.dry_run,
    )


def _fail(runtime: Runtime, run_id: int, message: str) -> None:
    with runtime.database.session() as session:
        session.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(state=RunState.FAILED, error=message, finished_at=runtime.clock.now())
        )
    notify(runtime, run_id, "run_finished")


def _chunk_count(session: Session, run_id: int) -> int:
    highest = session.scalar(select(func.max(RunItem.chunk)).where(RunItem.run_id == run_id))
    return 0 if highest is None else highest + 1


def materialise(
    session: Session, context: RunContext, run: Run, built: CampaignPlugins
) -> tuple[int, int]:
    """Write the ledger rows of a run; return (pending, held out)."""
    config = CampaignConfig.from_snapshot(run.config)
    source, filters = built.datasource, list(built.filters)
    query = source.select(context)
    if query is not None and config.group_keys:
        query = query.where(query.selected_columns.group_key.in_(config.group_keys))
    population, kept = query, None
    while query is not None and filters:
        narrowed = filters[0].narrow(population, context)
        if narrowed is None:
            break
        if filters[0].holds_out:
            kept = narrowed
        else:
            population = narrowed
        filters.pop(0)
    group_scope = built.action.scope is Scope.GROUP
    if population is not None and not filters:
        pending, held_out = _insert_selected(session, run, built, population, kept, group_scope)
    else:
        recipients = (
            source.iter_selected(population, context)
            if population is not None
            else source.iter_recipients(context)
        )
        if population is None and config.group_keys:
            wanted = set(config.group_keys)
            recipients = (r for r in recipients if r.group in wanted)
        for entry in filters:
            recipients = entry.apply(recipients, context)
        pending, held_out = _insert_streamed(session, run, built, recipients, group_scope)
    if group_scope:
        pending = _insert_groups(session, run, built)
    return pending, held_out


def _insert_selected(
    session: Session,
    run: Run,
    built: CampaignPlugins,
    population: Select,
    kept: Select | None,
    group_scope: bool,
) -> tuple[int, int]:
    entity = built.datasource.entity()
    rows = population.order_by(None).subquery("population")
    ordered = select(rows.c.id, rows.c.group_key).order_by(rows.c.id)
    if run.limit:
        ordered = ordered.limit(run.limit)
    source = ordered.subquery("targets")
    if kept is not None:
        kept_ids = select(kept.order_by(None).subquery("kept").c.id)
        status = case((source.c.id.in_(kept_ids), ItemStatus.PENDING.value), else_="held_out")
    else:
        status = literal(ItemStatus.PENDING.value)
    position = func.row_number().over(order_by=source.c.id) - 1
    chunk = literal(None, Integer) if group_scope else position // built.action.chunk_size
    kind = ItemKind.MEMBER if group_scope else ItemKind.RECIPIENT
    statement = insert(RunItem).from_select(
        [
            "run_id",
            "key",
            "action",
            "kind",
            "entity",
            "entity_id",
            "group_key",
            "chunk",
            "status",
            "units",
            "attempts",
        ],
        select(
            literal(run.id),
            literal(f"{entity}:") + cast(source.c.id, String),
            literal(built.action.name),
            literal(kind.value),
            literal(entity),
            source.c.id,
            source.c.group_key,
            chunk,
            status,
            literal(0),
            literal(0),
        ),
    )
    session.execute(statement)
    return _counts(session, run.id)


def _insert_streamed(
    session: Session,
    run: Run,
    built: CampaignPlugins,
    recipients: Iterator[Recipient],
    group_scope: bool,
) -> tuple[int, int]:
    if run.limit:
        recipients = itertools.islice(recipients, run.limit)
    action, size = built.action.name, built.action.chunk_size
    kind = (ItemKind.MEMBER if group_scope else ItemKind.RECIPIENT).value
    pending = held_out = 0
    batch: list[dict] = []
    for recipient in recipients:
        if recipient.held_out:
            status, chunk = ItemStatus.HELD_OUT.value, None
            held_out += 1
        else:
            status, chunk = ItemStatus.PENDING.value, None if group_scope else pending // size
            pending += 1
        batch.append(
            {
                "run_id": run.id,
                "key": recipient.key,
                "action": action,
                "kind": kind,
                "entity": recipient.entity,
                "entity_id": recipient.id,
                "group_key": recipient.group,
                "chunk": chunk,
                "status": status,
            }
        )
        if len(batch) >= INSERT_BATCH:
            session.execute(insert(RunItem), batch)
            batch.clear()
    if batch:
        session.execute(insert(RunItem), batch)
    return pending, held_out


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
    session.execute(
        insert(RunItem).from_select(
            [
                "run_id",
                "key",
                "action",
                "kind",
                "entity",
                "group_key",
                "chunk",
                "status",
                "units",
                "attempts",
            ],
            select(
                literal(run.id),
                literal("group:") + func.coalesce(groups.c.group_key, ""),
                literal(built.action.name),
                literal(ItemKind.GROUP.value),
                literal("group"),
                groups.c.group_key,
                position // built.action.chunk_size,
                literal(ItemStatus.PENDING.value),
                literal(0),
                literal(0),
            ),
        )
    )
    return session.scalar(
        select(func.count()).where(RunItem.run_id == run.id, RunItem.kind == ItemKind.GROUP)
    )


def _counts(session: Session, run_id: int) -> tuple[int, int]:
    counts = dict(
        session.execute(
            select(RunItem.status, func.count())
            .where(RunItem.run_id == run_id)
            .group_by(RunItem.status)
        ).all()
    )
    return counts.get(ItemStatus.PENDING, 0), counts.get(ItemStatus.HELD_OUT, 0)


def _preview(session: Session, context: RunContext, run: Run, built: CampaignPlugins) -> None:
    """A dry run renders the first few recipients and records everything else as not sent."""
    from core.engine.dispatch import load_recipients

    wanted = int(run.config.get("preview_count", 5))
    items = session.scalars(
        select(RunItem)
        .where(
            RunItem.run_id == run.id,
            RunItem.status == ItemStatus.PENDING,
            RunItem.kind != ItemKind.MEMBER,
        )
        .order_by(RunItem.id)
        .limit(wanted)
    ).all()
    recipients = load_recipients(context, built, items)
    for item in items:
        recipient = recipients.get(item.id)
        item.detail = (
            "preview: " + built.action.preview(recipient, context)
            if recipient is not None
            else "preview: the record no longer exists"
        )
    not_sent = update(RunItem).values(
        status=ItemStatus.SKIPPED, detail=func.coalesce(RunItem.detail, "dry run")
    )
    pending = (RunItem.run_id == run.id, RunItem.status == ItemStatus.PENDING)
    skipped = session.execute(not_sent.where(*pending, RunItem.kind != ItemKind.MEMBER)).rowcount
    session.execute(not_sent.where(*pending, RunItem.kind == ItemKind.MEMBER))
    session.execute(update(Run).where(Run.id == run.id).values(skipped=skipped))
