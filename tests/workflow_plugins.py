"""Small real workflows the workflow tests schedule and run (also loaded by worker
processes through CAMPAIGN_PLUGINS=workflow_plugins)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from core import Workflow, hookimpl
from core.clock import FrozenClock
from core.jobs.functions import install_runtime
from core.models import Contact

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
RELEASE_KEY = "test:workflow-release"
TESTS = Path(__file__).parent


class CountContacts(Workflow):
    name = "countContacts"
    title = "Count contacts"

    def run(self, context):
        with context.database.session() as session:
            count = session.scalar(select(func.count()).select_from(Contact))
        context.log("counted at {time}", time=f"{context.now:%H:%M}")
        return f"{count} contacts"


class Hourly(Workflow):
    name = "hourly"
    title = "Every hour"
    default_interval = timedelta(hours=1)

    def run(self, context):
        return "ran"


class Nightly(Workflow):
    name = "nightly"
    title = "Every night at two"
    default_cron = "0 2 * * *"

    def run(self, context):
        return "tidied up"


class Broken(Workflow):
    name = "broken"
    title = "Fails every time"
    default_interval = timedelta(minutes=30)

    def run(self, context):
        context.log("asking the provider")
        raise RuntimeError("the provider is down")


class WaitForRelease(Workflow):
    name = "waitForRelease"
    title = "Waits until the test releases it"
    default_interval = timedelta(hours=1)

    def run(self, context):
        context.log("waiting")
        if context.redis.blpop([RELEASE_KEY], timeout=120) is None:
            raise TimeoutError("nobody released me")
        return "released"


WORKFLOWS = (CountContacts, Hourly, Nightly, Broken, WaitForRelease)


@hookimpl
def register_workflows(register):
    for workflow in WORKFLOWS:
        register(workflow)


class Only:
    """A plugin registering just the given workflows, for tests that want a few."""

    def __init__(self, *workflows: type[Workflow]):
        self.workflows = workflows

    @hookimpl
    def register_workflows(self, register):
        for workflow in self.workflows:
            register(workflow)


def start_worker_process(settings, log: Path) -> subprocess.Popen:
    """A real ``campaign worker --burst`` process with these workflows loaded."""
    env = {
        **os.environ,
        "CAMPAIGN_DATA_DIR": str(settings.data_dir),
        "CAMPAIGN_DATABASE_URL": settings.database_url,
        "CAMPAIGN_REDIS_URL": settings.redis_url,
        "CAMPAIGN_SECRET_KEY": settings.secret_key,
        "CAMPAIGN_PLUGINS": "workflow_plugins",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
        ),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "worker", "--burst"],
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


def runtime_with(runtime_factory, *workflows: type[Workflow]):
    """A runtime with just these workflows, a clock frozen at START, installed for jobs."""
    runtime = runtime_factory(("workflows", Only(*workflows)))
    runtime.clock = FrozenClock(START)
    install_runtime(runtime)
    return runtime


def change(runtime, function, *args, **kwargs):
    """Call a ``core.workflows.operating`` function as the web panel does: its own session and
    commit, the user "carla", the runtime's clock."""
    now = runtime.clock.now()
    with runtime.database.session() as session:
        return function(session, runtime.plugins, runtime.settings, *args, "carla", now, **kwargs)
