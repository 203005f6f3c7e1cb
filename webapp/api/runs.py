"""Runs: state, counts, progress, the confirmation, per-recipient results, files; start
with the confirmed count, discard, cancel, resume, retry the failed rows."""

from __future__ import annotations

from flask import Response
from redis.exceptions import RedisError
from sqlalchemy import select

from core.engine.confirmation import confirmation
from core.engine.runs import QueueDeferredError, RunError
from core.models import Campaign, Role, Run, RunItem, RunState
from webapp import campaign_operations as operations
from webapp.api import models
from webapp.api.auth import actor, via
from webapp.api.blueprint import bp
from webapp.api.paging import PageQuery, page
from webapp.api.problems import ApiProblem
from webapp.api.spec import operation
from webapp.campaigns.runs import Progress, run_file_download, run_files
from webapp.context import db_session, get_plugins, get_runtime

TAG = "runs"


def run_model(run: Run) -> models.Run:
    session = db_session()
    run = session.get(Run, run.id) or run
    found = None
    if run.state == RunState.AWAITING_CONFIRMATION:
        facts = confirmation(session, get_plugins(), run)
        found = models.Confirmation(
            reached=facts.summary.reached,
            members=facts.summary.members,
            skipped=facts.summary.skipped,
            held_out=facts.summary.held_out,
            channel=str(facts.channel),
            cost=None if facts.cost.amount is None else str(facts.cost.amount),
        )
    return models.Run(
        id=run.id,
        campaign_id=run.campaign_id,
        number=run.number,
        state=run.state.value,
        dry_run=run.dry_run,
        limit=run.limit,
        counts=models.Counts(
            targeted=run.targeted,
            done=run.done,
            failed=run.failed,
            skipped=run.skipped,
            unclear=run.unclear,
            held_out=run.held_out,
        ),
        percent=Progress.of(run).percent,
        started_by=run.started_by,
        confirmed_by=run.confirmed_by,
        confirmed_at=run.confirmed_at,
        created_at=run.created_at,
        finished_at=run.finished_at,
        error=run.error,
        voided_at=run.superseded_at,
        voided_reason=run.superseded_reason,
        confirmation=found,
    )


def load_run(run_id: int) -> tuple[Campaign, Run]:
    session = db_session()
    run = session.get(Run, run_id)
    if run is None:
        raise ApiProblem(404, f"run {run_id} does not exist")
    return session.get(Campaign, run.campaign_id), run


@operation(
    bp,
    "GET",
    "/campaigns/<int:campaign_id>/runs",
    summary="List a campaign's runs",
    tag=TAG,
    role=Role.VIEWER,
    query=PageQuery,
    response=models.RunPage,
)
def list_runs(campaign_id: int, query: PageQuery) -> models.RunPage:
    session = db_session()
    if session.get(Campaign, campaign_id) is None:
        raise ApiProblem(404, f"campaign {campaign_id} does not exist")
    rows, cursor = page(session, select(Run).where(Run.campaign_id == campaign_id), Run.id, query)
    return models.RunPage(items=[run_model(row) for row in rows], next_cursor=cursor)


@operation(
    bp,
    "GET",
    "/runs/<int:run_id>",
    summary="Read a run",
    tag=TAG,
    role=Role.VIEWER,
    response=models.Run,
)
def get_run(run_id: int) -> models.Run:
    """State, counts and progress; while it awaits confirmation, what it would do."""
    return run_model(load_run(run_id)[1])


@operation(
    bp,
    "GET",
    "/runs/<int:run_id>/items",
    summary="Per-recipient results",
    tag=TAG,
    role=Role.VIEWER,
    query=models.RunItemQuery,
    response=models.RunItemPage,
)
def list_items(run_id: int, query: models.RunItemQuery) -> models.RunItemPage:
    _campaign, run = load_run(run_id)
    statement = select(RunItem).where(RunItem.run_id == run.id)
    if query.status:
        statement = statement.where(RunItem.status == query.status)
    rows, cursor = page(
        db_session(), statement, RunItem.id, PageQuery(cursor=query.cursor, limit=query.limit)
    )
    items = [
        models.RunItem(
            id=item.id,
            key=item.key,
            entity=item.entity,
            entity_id=item.entity_id,
            status=item.status.value,
            detail=item.detail,
            attempts=item.attempts,
        )
        for item in rows
    ]
    return models.RunItemPage(items=items, next_cursor=cursor)


@operation(
    bp,
    "GET",
    "/runs/<int:run_id>/files",
    summary="List the run's files",
    tag=TAG,
    role=Role.VIEWER,
    response=models.RunFileList,
)
def list_files(run_id: int) -> models.RunFileList:
    _campaign, run = load_run(run_id)
    return models.RunFileList(
        items=[models.RunFile(name=name, size=size) for name, size in run_files(run)]
    )


@operation(
    bp,
    "GET",
    "/runs/<int:run_id>/files/<path:name>",
    summary="Download a run's file",
    tag=TAG,
    role=Role.VIEWER,
    media_type="application/octet-stream",
)
def download_file(run_id: int, name: str) -> Response:
    _campaign, run = load_run(run_id)
    response = run_file_download(run, name)
    if response is None:
        raise ApiProblem(404, f"run {run_id} has no file {name!r}")
    return response


@operation(
    bp,
    "POST",
    "/runs/<int:run_id>/start",
    summary="Start a run with the confirmed count",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    body=models.ConfirmStart,
    response=models.Run,
)
def start(run_id: int, body: models.ConfirmStart) -> models.Run:
    """Sends to exactly the recipients counted; refused (409) if ``confirmed_count`` is not
    the ``confirmation.reached`` the run would reach now, or if it no longer awaits
    confirmation."""
    campaign, run = load_run(run_id)
    session = db_session()
    try:
        operations.confirm(
            get_runtime(), session, campaign, run, actor(), body.confirmed_count, via=via()
        )
    except RunError as exc:
        raise ApiProblem(409, str(exc)) from None
    except QueueDeferredError:
        pass  # confirmed; the scheduler hands it to the workers once Redis answers
    session.commit()
    return run_model(run)


def _act(run_id: int, verb: str, **options: bool) -> tuple[Run, object]:
    campaign, run = load_run(run_id)
    session = db_session()
    try:
        result = operations.act_on_run(
            get_runtime(), session, campaign, run, verb, actor(), via=via(), **options
        )
    except RunError as exc:
        raise ApiProblem(409, str(exc)) from None
    except QueueDeferredError:
        operations.record_run_action(session, campaign, run, verb, actor(), "deferred", via=via())
        result = 0
    except RedisError as exc:
        raise ApiProblem(503, f"the job queue cannot be reached: {exc}") from None
    session.commit()
    session.expire_all()
    return run, result


@operation(
    bp,
    "POST",
    "/runs/<int:run_id>/discard",
    summary="Discard a run awaiting confirmation",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    response=models.Run,
)
def discard(run_id: int) -> models.Run:
    return run_model(_act(run_id, "discard")[0])


@operation(
    bp,
    "POST",
    "/runs/<int:run_id>/cancel",
    summary="Cancel a run",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    response=models.Run,
)
def cancel(run_id: int) -> models.Run:
    """Stops between recipients; what is done stays done."""
    return run_model(_act(run_id, "cancel")[0])


@operation(
    bp,
    "POST",
    "/runs/<int:run_id>/resume",
    summary="Resume a cancelled run",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    response=models.Run,
)
def resume(run_id: int) -> models.Run:
    return run_model(_act(run_id, "resume")[0])


@operation(
    bp,
    "POST",
    "/runs/<int:run_id>/retry-failed",
    summary="Retry the failed recipients",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    body=models.Retry,
    response=models.Retried,
)
def retry_failed(run_id: int, body: models.Retry) -> models.Retried:
    run, result = _act(run_id, "retry", include_unclear=body.include_unclear)
    return models.Retried(run=run_model(run), retried=int(result or 0))
