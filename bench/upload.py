"""File upload: the extraction file of N contacts built and delivered by a real campaign run,
at two sizes, to show that time grows with N and memory does not; then the file's transfer
alone to an SFTP server on loopback.

    .venv/bin/python bench/upload.py --count 200000
    .venv/bin/python bench/upload.py --backend postgresql --count 200000

The run is targeted in this process; the one chunk with the run's one ledger row (the file)
runs in a forked child, as a work horse would, so the child's ru_maxrss is the peak memory
of building the CSV (six columns, one of them through a relation) and delivering it with
its manifest to a folder. The SFTP server (asyncssh) runs in this process, the client in a
forked child. Needs Redis (a free database of CAMPAIGN_BENCH_REDIS_SERVER, see
bench/common.py).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import asyncssh  # noqa: E402
from common import (  # noqa: E402
    arguments,
    claim_redis,
    drop_database,
    empty_queues,
    fill_contacts,
    fresh_database,
    in_child,
    release_redis,
)

from core.config import Settings  # noqa: E402
from core.db.database import Database  # noqa: E402
from core.engine.campaigns import CampaignConfig, create_campaign  # noqa: E402
from core.engine.dispatch import process_chunk  # noqa: E402
from core.engine.runs import start_run  # noqa: E402
from core.engine.targeting import target_run  # noqa: E402
from core.jobs.functions import install_runtime  # noqa: E402
from core.models import Run  # noqa: E402
from core.plugins import load_plugins  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from core.uploads import Upload  # noqa: E402
from plugins.targets.sftp import Sftp  # noqa: E402

COLUMNS = [
    {"field": "number", "header": "Kundennummer"},
    {"field": "first_name", "header": "Vorname"},
    {"field": "last_name", "header": "Name"},
    {"field": "postcode", "header": "PLZ"},
    {"field": "city", "header": "Ort"},
    {"field": "partner.number", "header": "Vermittler"},
]


def extraction_run(runtime: Runtime, inbox: Path, count: int) -> tuple[float, float, Path]:
    """The first ``count`` contacts' extraction file, built and delivered by a run."""
    name = f"extraction-{count}.csv"
    first = {"field": "id", "type": "at_most", "values": [count]}
    with runtime.database.session() as session:
        campaign = create_campaign(
            session,
            runtime.plugins,
            CampaignConfig(
                datasource="query",
                datasource_settings={
                    "definition": {"root": "contacts", "where": {"conditions": [first]}}
                },
                action="file_upload",
                action_settings={
                    "extraction": {"columns": COLUMNS},
                    "target": "folder",
                    "target_settings": {"path": str(inbox)},
                    "remote_name": name,
                },
            ),
            runtime.clock.now(),
            name=name,
        )
    run = start_run(runtime, campaign.id, confirmed_by="bench")
    empty_queues(runtime.settings.redis_url)  # targeting runs here, not in a worker
    target_run(run.id)
    seconds, peak = in_child(lambda: process_chunk(run.id, 0))
    with runtime.database.session() as session:
        assert session.get(Run, run.id).done == 1, "the upload did not succeed"
    return seconds, peak, inbox / name


def sftp_transfer(path: Path, root: Path) -> tuple[float, float]:
    """Seconds and peak MB of the client uploading ``path`` to a loopback SFTP server."""
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    class Accounts(asyncssh.SSHServer):
        def begin_auth(self, username):
            return True

        def password_auth_supported(self):
            return True

        def validate_password(self, username, password):
            return password == "bench"

    async def listen():
        return await asyncssh.create_server(
            Accounts,
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            sftp_factory=lambda channel: asyncssh.SFTPServer(channel, chroot=str(root).encode()),
        )

    server = asyncio.run_coroutine_threadsafe(listen(), loop).result(30)
    target = Sftp(
        {
            "host": "127.0.0.1",
            "port": server.sockets[0].getsockname()[1],
            "username": "bench",
            "password": "bench",
            "host_key_fingerprint": host_key.get_fingerprint("sha256"),
        }
    )
    upload = Upload.of(path, "transfer.csv", "bench")

    def transfer():
        try:
            target.upload(upload)
        finally:
            target.close()

    result = in_child(transfer)
    loop.call_soon_threadsafe(server.close)
    loop.call_soon_threadsafe(loop.stop)
    assert (root / "transfer.csv").stat().st_size == upload.size
    return result


def main() -> None:
    args = arguments("file upload: extraction file and transfer", 200_000)
    redis_url = claim_redis("bench-upload")
    with tempfile.TemporaryDirectory(prefix="cb-upload-") as workdir:
        work = Path(workdir)
        url = fresh_database(args.backend, work)
        try:
            database = Database(url)
            fill_contacts(database, args.count)
            settings = Settings(
                data_dir=work / "data",
                database_url=url,
                redis_url=redis_url,
                secret_key="bench",
            )
            runtime = Runtime.start(settings, load_plugins(entry_points=False))
            install_runtime(runtime)
            inbox = work / "inbox"
            inbox.mkdir()
            for count in (args.count // 10, args.count):
                seconds, peak, path = extraction_run(runtime, inbox, count)
                size = path.stat().st_size / 1e6
                print(
                    f"{args.backend}: extraction of {count:,} contacts: {seconds:.1f} s "
                    f"({count / seconds:,.0f} rows/s, {size:.1f} MB), peak {peak:.0f} MB"
                )
            root = work / "sftp"
            root.mkdir()
            seconds, peak = sftp_transfer(path, root)
            print(
                f"sftp upload of {size:.1f} MB on loopback: {seconds:.1f} s "
                f"({size / seconds:.1f} MB/s), client peak {peak:.0f} MB"
            )
            runtime.close()
        finally:
            release_redis(redis_url)
            drop_database(url)


if __name__ == "__main__":
    main()
