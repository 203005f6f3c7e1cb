from sqlalchemy import func, select

from core import Workflow, hookimpl
from core.jobs import install_runtime, run_workflow, workflow_lock_key
from core.models import Contact


class CountContacts(Workflow):
    name = "countContacts"
    title = "Count contacts"

    def run(self, context):
        with context.database.session() as session:
            return f"{session.scalar(select(func.count()).select_from(Contact))} contacts"


class CountPlugin:
    @staticmethod
    @hookimpl
    def register_workflows(register):
        register(CountContacts)


def test_run_workflow_runs_the_registered_workflow(runtime_factory):
    install_runtime(runtime_factory(("count", CountPlugin)))
    assert run_workflow("countContacts") == "0 contacts"


def test_a_workflow_already_running_elsewhere_is_not_started_twice(runtime_factory):
    runtime = runtime_factory(("count", CountPlugin))
    install_runtime(runtime)
    held = runtime.redis.lock(workflow_lock_key("countContacts"), timeout=60)
    assert held.acquire(blocking=False)
    try:
        assert (
            run_workflow("countContacts") == "countContacts: skipped, another instance is running"
        )
    finally:
        held.release()
    assert run_workflow("countContacts") == "0 contacts"
