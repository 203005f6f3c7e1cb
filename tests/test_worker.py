import os

from sqlalchemy import func, select

from core import Workflow, hookimpl
from core.models import Contact, WorkflowRun
from core.worker import build_worker
from core.workflows import request_run


class ReportPid(Workflow):
    name = "reportPid"
    title = "Report the process and the contacts it sees"

    def run(self, context):
        with context.database.session() as session:
            count = session.scalar(select(func.count()).select_from(Contact))
        return f"{os.getpid()}:{count}"


class PidPlugin:
    @staticmethod
    @hookimpl
    def register_workflows(register):
        register(ReportPid)


def test_a_forked_work_horse_runs_a_job_with_its_own_database_connection(runtime_factory):
    runtime = runtime_factory(("pid", PidPlugin))
    with runtime.database.session() as session:  # the parent's pool now holds a connection
        session.add(Contact(number="K-1", last_name="Müller"))
    queued = request_run(runtime, "reportPid", None)
    worker = build_worker(runtime)
    assert worker.work(burst=True)
    with runtime.database.session() as session:
        run = session.get(WorkflowRun, queued.id)
    assert run.status == "succeeded", run.error
    pid, count = run.summary.split(":")
    assert int(pid) != os.getpid()
    assert count == "1"
