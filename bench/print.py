"""Mass print: N one-page letters (default report "Informationsschreiben": logo, embedded
font, DIN 5008 address window) through real campaign runs with one and two workers, next to
the raw renderer (the same report through xhtml2pdf in a plain loop in one process).

    .venv/bin/python bench/print.py --count 10000
    .venv/bin/python bench/print.py --count 10000 --pages 2
    .venv/bin/python bench/print.py --backend postgresql --count 1000
    .venv/bin/python bench/print.py --count 10000 --loop-count 2000

``--pages 2`` prints a two-page variant of the letter (the same report with more paragraphs,
"Seite 1" and "Seite 2" in the footer). The raw renderer is xhtml2pdf's plain path, once per
letter; the runs use the print action's engine (plugins/actions/print_engine.py), and the
line "engine, one process" is that engine in the same plain loop, without a run.

The raw renderer's loop runs before the engine's loop and again after the two runs, and every
ratio is set against the mean of the two: the host's speed drifts over the quarter of an hour
a bench takes (the same loop took 30 ms a letter one morning and 47 ms the next, idle both
times), and a raw renderer measured only at the start would be set against runs that met
another host.

``--loop-count N`` has the loops render only the first N letters (their CPU time a letter
does not depend on how many follow; on a loaded machine the raw renderer's 10,000 letters
alone take half an hour), while the runs print all of them.

A run's time starts with the worker processes and ends when they are done, so it includes
archiving every letter and the finishing step (collection PDF and manifest).

**CPU per letter is the primary figure**: on a machine shared with other work (the load
average is printed beside every line), wall-clock rates vary with the load, while the CPU
time a letter costs, compared with the raw renderer's in the same run, says how far a worker
beats it. The loops measure ``time.process_time()`` around their letters (loading the
records included, starting the process not). For each worker the bench reports its letters
(the ledger rows its work horses claimed; the horses are found under it in /proc), its CPU
per letter from ``wait4`` (the worker and its work horses: start, chunks and, for one of
them, the finishing step), the work horses' part alone (the worker writes its own and its
children's ``getrusage`` when it exits, see ``report_usage_at_exit``) and its peak memory.
A worker's peak memory is the largest resident size any of its processes (the worker or a
work horse) had, sampled from /proc every 20 ms: ru_maxrss from os.wait4 would not do,
because exec keeps the high-water mark of the process it replaces, so a worker started from
this (large) process would report this process's peak. The loops run in forked children;
their peak is ru_maxrss. Needs Redis (a free database of CAMPAIGN_BENCH_REDIS_SERVER, see
bench/common.py).
"""

from __future__ import annotations

import argparse
import atexit
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from common import (  # noqa: E402
    Stopwatch,
    claim_redis,
    drop_database,
    empty_queues,
    fill_contacts,
    fresh_database,
    release_redis,
)
from pypdf import PdfReader  # noqa: E402
from sqlalchemy import func, literal, select  # noqa: E402

from core import DataSource, hookimpl  # noqa: E402
from core.config import Settings  # noqa: E402
from core.db.database import Database  # noqa: E402
from core.documents.archive import open_store, read_document  # noqa: E402
from core.documents.rendering import ReportRenderer  # noqa: E402
from core.engine.campaigns import CampaignConfig, create_campaign  # noqa: E402
from core.engine.runs import start_run  # noqa: E402
from core.engine.targeting import target_run  # noqa: E402
from core.jobs.functions import install_runtime  # noqa: E402
from core.models import ArchivedDocument, Contact, ItemStatus, Report, Run, RunItem  # noqa: E402
from core.plugins import DEFAULT_PLUGINS, load_plugins  # noqa: E402
from core.query.records import load_records  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from plugins.actions.pdf_collection import PdfCollection, count_pages  # noqa: E402
from plugins.actions.print_engine import report_renderer  # noqa: E402
from plugins.demo.default_reports import install_default_reports  # noqa: E402

REPORT = "Informationsschreiben"
TWO_PAGES = "Informationsschreiben, zwei Seiten"
PLUGINS = ("plugins.actions.print_reports", "plugins.stores.filesystem", "print")
"""This module is a plugin too (its data source), loaded by the workers as ``print``."""
EXTRA_PLUGINS = tuple(module for module in PLUGINS if module not in DEFAULT_PLUGINS)
"""What the workers load on top of the built-in plugins."""


class PrintBenchContacts(DataSource):
    name = "bench_print_contacts"
    title = "Every contact, whole records (benchmark)"

    def entity(self):
        return "contacts"

    def select(self, context):
        return select(Contact.id.label("id"), literal(None).label("group_key"))


@hookimpl
def register_datasources(register):
    register(PrintBenchContacts)


USAGE_DIR = "CAMPAIGN_BENCH_USAGE_DIR"
"""Where a worker that loads this module writes its CPU usage when it exits."""


def report_usage_at_exit() -> None:
    """In a worker (this module is one of its plugins): write, when it exits, the CPU
    seconds of the worker itself (start, polling the queues) and of its work horses."""
    folder = os.environ.get(USAGE_DIR)
    if not folder:
        return
    pid = os.getpid()

    def write() -> None:
        if os.getpid() != pid:
            return  # a work horse that exited through Python
        own = resource.getrusage(resource.RUSAGE_SELF)
        horses = resource.getrusage(resource.RUSAGE_CHILDREN)
        usage = {
            "worker": own.ru_utime + own.ru_stime,
            "horses": horses.ru_utime + horses.ru_stime,
        }
        Path(folder, f"{pid}.json").write_text(json.dumps(usage))

    atexit.register(write)


report_usage_at_exit()


def reap(pid: int) -> tuple[float, float]:
    """Wait for the child ``pid``: the CPU seconds it and its reaped children used, and its
    peak resident memory in MB (meaningful for a forked child only, see above)."""
    _, status, usage = os.wait4(pid, 0)
    if status:
        raise SystemExit(f"process {pid} failed with status {status}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def resident_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return next(
        (int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")),
        0.0,
    )


def load() -> str:
    """The load average of the last minute, printed beside every figure."""
    return f"load {os.getloadavg()[0]:.1f}"


def process_tree(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid] + [member for child in children for member in process_tree(int(child))]


class PeakSampler(threading.Thread):
    """For each of the given processes, while they run: the largest resident size of any
    process under it, and every process seen under it (its work horses)."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids = pids
        self.peaks = dict.fromkeys(pids, 0.0)
        self.members: dict[int, set[int]] = {pid: set() for pid in pids}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            for pid in self.pids:
                for member in process_tree(pid):
                    self.members[pid].add(member)
                    self.peaks[pid] = max(self.peaks[pid], resident_mb(member))


def add_two_page_report(session) -> None:
    """The default letter with twelve more paragraphs: it runs over onto a second page."""
    model = session.scalar(select(Report).where(Report.name == REPORT))
    report = Report(
        name=TWO_PAGES,
        group=model.group,
        usable_for_mass_print=True,
        address_window=True,
        letterhead=model.letterhead,
        footer=model.footer,
        stylesheet=model.stylesheet,
    )
    report.layout = model.layout.replace(
        "<p>{{ text.grussformel }}</p>",
        "{% for i in range(12) %}<p>Absatz {{ i + 1 }}: Änderungen bei Altersvorsorge, "
        "Hausrat und Kfz, für {{ contact.last_name }} in {{ contact.city }} geprüft, damit "
        "Ihr Schutz zu Ihrer Lebenssituation passt.</p>{% endfor %}<p>{{ text.grussformel }}</p>",
    )
    session.add(report)
    session.commit()


def raw_loop(
    runtime: Runtime, count: int, report: str, *, engine: bool = False
) -> tuple[float, float, float, str]:
    """The report for the first ``count`` contacts in one forked process: letters/s, CPU ms
    per letter (of the loop, see the module), peak MB and the load average after it.
    ``engine``: with the print action's engine instead of xhtml2pdf's plain path."""
    started = time.perf_counter()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(reader)
            with runtime.database.session() as session:
                cache = runtime.settings.data_dir / "cache"
                if engine:
                    renderer = report_renderer(session, report, cache)
                else:
                    renderer = ReportRenderer(session, report, cache)
                ids = list(session.scalars(select(Contact.id).order_by(Contact.id)))[:count]
                cpu = time.process_time()
                for start in range(0, len(ids), 500):
                    for record in load_records(
                        session, "contacts", ids[start : start + 500]
                    ).values():
                        letter = renderer.render(
                            record,
                            "contacts",
                            number=start,
                            day=date(2026, 11, 23),
                            campaign={"id": 1, "name": "Benchmark"},
                        )
                        count_pages(letter)  # as the print action does for every letter
                os.write(writer, str(time.process_time() - cpu).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        _, peak = reap(pid)
        cpu = float(pipe.read())
    return count / (time.perf_counter() - started), cpu * 1000 / count, peak, load()


@dataclass
class WorkerFigures:
    letters: int
    cpu: float
    """Seconds of the worker and its work horses (``wait4``)."""
    horses: float
    """Seconds of its work horses alone."""
    peak: float
    """MB, the largest of its processes."""


def with_workers(
    runtime: Runtime, campaign_id: int, workers: int, count: int
) -> tuple[float, list[WorkerFigures], int, int, str]:
    """A whole run with ``workers`` worker processes: letters/s, each worker's figures,
    collection pages, the run's id and the load average after it."""
    run = start_run(runtime, campaign_id, allow_parallel=True, confirmed_by="bench")
    empty_queues(runtime.settings.redis_url)  # targeting runs here, not in a worker
    target_run(run.id)
    usage_dir = Path(tempfile.mkdtemp(prefix="usage-", dir=runtime.settings.data_dir))
    env = {
        **os.environ,
        "CAMPAIGN_DATA_DIR": str(runtime.settings.data_dir),
        "CAMPAIGN_DATABASE_URL": runtime.settings.database_url,
        "CAMPAIGN_REDIS_URL": runtime.settings.redis_url,
        "CAMPAIGN_PLUGINS": ",".join(EXTRA_PLUGINS),
        "CAMPAIGN_LOG_LEVEL": os.environ.get("CAMPAIGN_LOG_LEVEL", "WARNING"),
        "PYTHONPATH": str(BENCH),
        USAGE_DIR: str(usage_dir),
    }
    with Stopwatch() as watch:
        processes = [
            subprocess.Popen([sys.executable, "-m", "core.cli", "worker", "--burst"], env=env)
            for _ in range(workers)
        ]
        sampler = PeakSampler([process.pid for process in processes])
        sampler.start()
        cpu = {}
        for process in processes:
            cpu[process.pid] = reap(process.pid)[0]
            process.returncode = 0
        sampler.stopped.set()
    with runtime.database.session() as session:
        finished = session.get(Run, run.id)
        # contacts the address book blocks are skipped, never printed
        assert (finished.state, finished.done + finished.skipped) == ("completed", count), (
            finished.state,
            finished.done,
            finished.skipped,
            finished.error,
            session.scalars(select(RunItem.detail).where(RunItem.run_id == run.id).limit(3)).all(),
        )
        letters = finished.done
        claimed = session.execute(
            select(RunItem.claimed_by, func.count())
            .where(RunItem.run_id == run.id, RunItem.status == ItemStatus.DONE)
            .group_by(RunItem.claimed_by)
        ).all()
        collection = runtime.run_files.read_bytes(session, run.id, "collection.pdf")
    by_horse = {int(worker.rsplit(":", 1)[1]): number for worker, number in claimed}
    figures = []
    for pid in cpu:
        usage = json.loads((usage_dir / f"{pid}.json").read_text())
        figures.append(
            WorkerFigures(
                letters=sum(by_horse.get(member, 0) for member in sampler.members[pid]),
                cpu=cpu[pid],
                horses=usage["horses"],
                peak=sampler.peaks[pid],
            )
        )
    assert sum(figure.letters for figure in figures) == letters, (figures, by_horse)
    pages = len(PdfReader(io.BytesIO(collection)).pages)
    return letters / watch.seconds, figures, pages, run.id, load()


def merge_rate(runtime: Runtime, run_id: int) -> tuple[float, float]:
    """The finishing step's merge alone: the run's archived letters into one collection;
    letters/s and CPU ms per letter."""
    store = open_store(runtime.plugins, runtime.settings, "filesystem")
    with runtime.database.session() as session:
        documents = session.scalars(
            select(ArchivedDocument)
            .where(ArchivedDocument.run_id == run_id)
            .order_by(ArchivedDocument.id)
        ).all()
    cpu = time.process_time()
    with Stopwatch() as watch, PdfCollection(runtime.settings.data_dir / "merge.pdf") as merged:
        for document in documents:
            merged.append(read_document(store, document))
    cpu = time.process_time() - cpu
    return len(documents) / watch.seconds, cpu * 1000 / len(documents)


def worker_line(figure: WorkerFigures, raw_cpu: float) -> str:
    if not figure.letters:
        return f"no letters, {figure.cpu:.1f} CPU s, peak {figure.peak:4.0f} MB"
    cpu = figure.cpu * 1000 / figure.letters
    horses = figure.horses * 1000 / figure.letters
    return (
        f"{figure.letters:6d} letters, {cpu:5.1f} CPU ms a letter = {raw_cpu / cpu:4.2f}x the "
        f"raw renderer (work horses alone {horses:5.1f} = {raw_cpu / horses:4.2f}x), "
        f"peak {figure.peak:4.0f} MB"
    )


def arguments(description: str, default_count: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--count", type=int, default=default_count)
    parser.add_argument("--pages", type=int, choices=[1, 2], default=1)
    parser.add_argument("--loop-count", type=int, help="letters of the loops (default: --count)")
    return parser.parse_args()


def main() -> None:
    args = arguments("mass print throughput", 10_000)
    report = REPORT if args.pages == 1 else TWO_PAGES
    redis_url = claim_redis("bench-print")
    with tempfile.TemporaryDirectory(prefix="cb-print-") as workdir:
        url = fresh_database(args.backend, Path(workdir))
        try:
            database = Database(url)
            fill_contacts(database, args.count)
            with database.session() as session:
                install_default_reports(session)
                add_two_page_report(session)
            settings = Settings(Path(workdir), url, redis_url, "bench", extra_plugins=EXTRA_PLUGINS)
            runtime = Runtime.start(settings, load_plugins(modules=PLUGINS))
            install_runtime(runtime)
            config = CampaignConfig(
                datasource="bench_print_contacts",
                action="print_reports",
                action_settings={"report": report},
            )
            with runtime.database.session() as session:
                campaign_id = create_campaign(
                    session, runtime.plugins, config, runtime.clock.now()
                ).id
            looped = min(args.loop_count or args.count, args.count)
            print(
                f"{args.backend}, {args.count} letters of {args.pages} page(s) "
                f"({report}: logo, TTF font); the loops render {looped}"
            )
            before = raw_loop(runtime, looped, report)
            engine = raw_loop(runtime, looped, report, engine=True)
            runs = {
                workers: with_workers(runtime, campaign_id, workers, args.count)
                for workers in (1, 2)
            }
            after = raw_loop(runtime, looped, report)
            raw_rate, raw_cpu = (before[0] + after[0]) / 2, (before[1] + after[1]) / 2
            for when, (rate, cpu, peak, load_then) in (("before", before), ("after", after)):
                print(
                    f"  raw renderer, {when} the runs: {cpu:5.1f} CPU ms a letter, "
                    f"{rate:6.1f} letters/s, peak {peak:4.0f} MB ({load_then})"
                )
            print(
                f"  raw renderer, their mean:     {raw_cpu:5.1f} CPU ms a letter, "
                f"{raw_rate:6.1f} letters/s (what the lines below are set against)"
            )
            rate, cpu, peak, load_then = engine
            print(
                f"  engine, one process:       {cpu:5.1f} CPU ms a letter = {raw_cpu / cpu:4.2f}x "
                f"the raw renderer, {rate:6.1f} letters/s, peak {peak:4.0f} MB ({load_then})"
            )
            for workers, (rate, figures, pages, _run_id, load_then) in runs.items():
                letters = sum(figure.letters for figure in figures)
                cpu = sum(figure.cpu for figure in figures) * 1000 / letters
                print(
                    f"  run with {workers} worker(s):     {cpu:5.1f} CPU ms a letter = "
                    f"{raw_cpu / cpu:4.2f}x the raw renderer, {rate:6.1f} letters/s = "
                    f"{rate / raw_rate:4.2f}x the raw renderer's, {pages} pages ({load_then})"
                )
                for number, figure in enumerate(figures, 1):
                    print(f"    worker {number}: {worker_line(figure, raw_cpu)}")
            rate, cpu = merge_rate(runtime, runs[2][3])
            print(
                f"  collection merge alone:    {cpu:5.1f} CPU ms a letter, {rate:6.1f} letters/s "
                f"(part of one worker's figures)"
            )
            runtime.close()
        finally:
            release_redis(redis_url)
            drop_database(url)


if __name__ == "__main__":
    main()
