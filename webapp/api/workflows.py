"""Workflows: their state and schedule, run one now on a worker, and each one's history."""

from __future__ import annotations

from redis.exceptions import RedisError
from sqlalchemy import select

from core.models import Role, WorkflowRun
from core.plugins import UnknownPluginError
from core.workflows.operating import list_workflows, request_run, run_as_dict
from webapp.api import models
from webapp.api.auth import actor, audit
from webapp.api.blueprint import bp
from webapp.api.paging import PageQuery, page
from webapp.api.problems import ApiProblem
from webapp.api.spec import operation
from webapp.context import db_session, get_plugins, get_runtime, get_settings

TAG = "workflows"


def _known(name: str) -> None:
    try:
        get_plugins().workflows.get(name)
    except UnknownPluginError:
        raise ApiProblem(404, f"workflow {name!r} does not exist") from None


def _run(run: WorkflowRun) -> models.WorkflowRun:
    return models.WorkflowRun.model_validate(run_as_dict(run))


@operation(
    bp,
    "GET",
    "/workflows",
    summary="List the workflows",
    tag=TAG,
    role=Role.VIEWER,
    response=models.WorkflowList,
)
def list_all() -> models.WorkflowList:
    """Each workflow's state (started or stopped), schedule, next run and last run."""
    session = db_session()
    states = list_workflows(session, get_plugins(), get_settings(), get_runtime().clock.now())
    session.commit()  # the schedules of workflows seen for the first time
    return models.WorkflowList(
        items=[models.Workflow.model_validate(state.as_dict()) for state in states]
    )


@operation(
    bp,
    "GET",
    "/workflows/<name>/runs",
    summary="A workflow's history",
    tag=TAG,
    role=Role.VIEWER,
    query=PageQuery,
    response=models.WorkflowRunPage,
)
def history(name: str, query: PageQuery) -> models.WorkflowRunPage:
    """Newest first, with each run's summary, log and error."""
    _known(name)
    statement = select(WorkflowRun).where(WorkflowRun.workflow == name)
    rows, cursor = page(db_session(), statement, WorkflowRun.id, query, newest_first=True)
    return models.WorkflowRunPage(items=[_run(row) for row in rows], next_cursor=cursor)


@operation(
    bp,
    "POST",
    "/workflows/<name>/run",
    summary="Run a workflow now",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    response=models.WorkflowRun,
    status=202,
)
def run_now(name: str) -> models.WorkflowRun:
    """On a worker, by the same path as a scheduled run; the schedule does not move."""
    _known(name)
    try:
        run = request_run(get_runtime(), name, actor())
    except RedisError as exc:
        raise ApiProblem(503, f"the job queue cannot be reached: {exc}") from None
    audit("workflow.run", "workflow", name, f"{name}: run {run.id}", {"run_id": run.id})
    db_session().commit()
    return _run(run)
