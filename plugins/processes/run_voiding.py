"""Voiding a superseded run: a rejected extraction file, a run replaced or cancelled for
good. Its letters leave the contacts' archive and its counts leave the costs and the stock,
so that after reject → re-extract → approve every contact has one letter and the books
count one run.

The run is marked (``superseded_at``, ``superseded_reason``) by a conditional update, so it
is voided once however often it is asked. Its archived documents are deleted through the
archive's selective deletion per run, which keeps the audit record (who, when, why, which
documents); a direct run's expense line is voided, not deleted, and stays as the trace. The
cost calculation and the stock workflow leave voided runs out from then on: a delivery's
costs and consumption are recomputed from its other runs at their next pass.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.documents.archive import delete_run_documents
from core.messages import english_plural
from core.models import FINAL_RUN_STATES, Run
from core.plugin_base import Channel, DocumentStore, SettingsError
from core.plugins import PluginHost
from plugins.processes.models import ExpenseLine


class VoidError(ValueError):
    """A run that cannot be voided; the message says why."""


def void_run(
    session: Session,
    stores: Callable[[str], DocumentStore],
    run_id: int,
    *,
    now: datetime,
    by: str,
    reason: str,
    plugins: PluginHost,
) -> bool:
    """Void a finished run in the caller's transaction; False if it was voided already.
    Refused for a run whose action sent its messages out (``sent_out``): they reached
    people, and a run that did stays in the books.

    ``stores`` gives a document store by name (``functools.partial(open_store, plugins,
    settings)``); the archived files are deleted after the caller's commit.
    """
    run = session.get(Run, run_id)
    if run is None:
        raise VoidError(f"no run with id {run_id}")
    if run.state not in FINAL_RUN_STATES:
        raise VoidError(f"run #{run.number} is {run.state}: only a finished run can be voided")
    if run.dry_run:
        raise VoidError(f"run #{run.number} is a dry run: it reached nobody and counts nowhere")
    if not reason.strip():
        raise VoidError("a reason is needed: the run's page shows why it no longer counts")
    if sent_out(plugins, run):
        raise VoidError(
            f"run #{run.number} reached "
            + english_plural("{0} recipient", "{0} recipients", run.done)
            + ": what went out stays in the costs, the stock and the archive"
        )
    marked = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.superseded_at.is_(None))
        .values(superseded_at=now, superseded_reason=reason.strip())
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if not marked:
        return False
    session.execute(
        update(ExpenseLine)
        .where(ExpenseLine.run_id == run_id, ExpenseLine.voided_at.is_(None))
        .values(voided_at=now)
        .execution_options(synchronize_session=False)
    )
    # "<prefix>: …": the archive's deletion log shows it in the reader's language
    delete_run_documents(session, stores, run_id, by=by, reason=f"run voided: {reason}")
    return True


def sent_out(plugins: PluginHost, run: Run) -> bool:
    """Whether the run's done rows went out to people: its action sends e-mails or SMS
    itself (letters are voided while their file is still in the house). An action no
    longer loaded, or whose settings no longer load, counts as out."""
    name = run.config.get("action")
    if not run.done:
        return False
    if name not in plugins.actions:
        return True
    try:
        action = plugins.actions.get(name)(run.config.get("action_settings", {}))
    except SettingsError:
        return True
    return action.external_effects and action.channel in (Channel.EMAIL, Channel.MOBILE)


def void_delivery_runs(
    session: Session,
    stores: Callable[[str], DocumentStore],
    delivery_id: int,
    *,
    now: datetime,
    by: str,
    reason: str,
    plugins: PluginHost,
) -> list[int]:
    """Void every finished real run of a delivery not voided yet (its rejected extraction
    run, before the next one starts); the numbers of the runs voided."""
    runs = session.scalars(
        select(Run)
        .where(
            Run.delivery_id == delivery_id,
            Run.dry_run.is_(False),
            Run.superseded_at.is_(None),
            Run.state.in_([state.value for state in FINAL_RUN_STATES]),
        )
        .order_by(Run.id)
    ).all()
    return [
        run.number
        for run in runs
        if void_run(session, stores, run.id, now=now, by=by, reason=reason, plugins=plugins)
    ]
