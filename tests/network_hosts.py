"""Several hosts on one machine for the multi-host test and ``bench/scale.py``: a network
namespace per host (``ip netns``), each joined by a veth pair to a bridge, with addresses in
``10.213.77.0/24`` (a private range of the project's own), its own host name (a UTS
namespace per process, so ``worker_identity`` names the host) and its own data directory.

The services host runs a new PostgreSQL (``initdb`` in a temporary directory, as the
``postgres`` user), a new Redis and a loopback SMS gateway, all started here and listening
on that host's address only; the machine's own servers are not touched. Needs root.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SUBNET = "10.213.77"
BRIDGE_ADDRESS = f"{SUBNET}.254"
PG_PORT, REDIS_PORT, SMS_PORT, PANEL_PORT = 5432, 6379, 8025, 8000
CAMPAIGN = str(Path(sys.executable).with_name("campaign"))

SMS_GATEWAY = """
import http.server, json, sys, threading
lock, count = threading.Lock(), [0]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            count[0] += 1
            with open(sys.argv[1], "a") as log:
                log.write(json.dumps({"key": self.headers.get("Idempotency-Key"),
                                      "body": body.decode()}) + "\\n")
            answer = json.dumps({"messages": [{"id": f"m{count[0]}"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer((sys.argv[2], int(sys.argv[3])), Handler).serve_forever()
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def namespaces_unavailable() -> str | None:
    """Why this machine cannot build the hosts (None: it can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "unshare", "runuser", "initdb", "postgres", "redis-server"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = f"campaign-probe-{uuid.uuid4().hex[:6]}"
    try:
        _ip("netns", "add", probe)
    except subprocess.CalledProcessError as exc:
        return f"'ip netns add' failed: {exc.stderr.strip()}"
    _ip("netns", "delete", probe)
    return None


@dataclass
class Host:
    name: str
    number: int
    namespace: str
    interface: str

    @property
    def address(self) -> str:
        return f"{SUBNET}.{self.number}"


@dataclass
class Cluster:
    """The hosts, the services on ``services`` and the processes started on them."""

    root: Path
    names: tuple[str, ...] = ("services", "panel", "worker1", "worker2", "scheduler")
    run_file_store: str = "database"
    hosts: dict[str, Host] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:5])
    pg_dir: Path | None = None
    extra_environment: dict[str, str] = field(default_factory=dict)
    shared_data_dir: bool = False
    """Every host one data directory (a shared file system), for the ``filesystem`` store."""

    @property
    def bridge(self) -> str:
        return f"cb{self.suffix}"

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@{self.hosts['services'].address}:{PG_PORT}/postgres"

    @property
    def sms_url(self) -> str:
        return f"http://{self.hosts['services'].address}:{SMS_PORT}/sms"

    @property
    def panel_url(self) -> str:
        return f"http://{self.hosts['panel'].address}:{PANEL_PORT}"

    @property
    def sms_log(self) -> Path:
        return self.root / "sms.jsonl"

    def build(self) -> None:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for number, name in enumerate(self.names, start=1):
            host = Host(name, number, f"campaign-{self.suffix}-{name}", f"c{self.suffix}{number}")
            self.hosts[name] = host
            inside = f"e{self.suffix}{number}"
            _ip("netns", "add", host.namespace)
            _ip("link", "add", host.interface, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", host.namespace)
            _ip("-n", host.namespace, "link", "set", inside, "name", "eth0")
            _ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _ip("-n", host.namespace, "link", "set", "eth0", "up")
            _ip("-n", host.namespace, "link", "set", "lo", "up")
            _ip("link", "set", host.interface, "master", self.bridge)
            _ip("link", "set", host.interface, "up")

    def start_services(self) -> None:
        services = self.hosts["services"]
        self.pg_dir = Path(tempfile.mkdtemp(prefix="campaign-hosts-pg-"))
        os.chmod(self.pg_dir, 0o755)
        shutil.chown(self.pg_dir, "postgres", "postgres")
        data = self.pg_dir / "data"
        subprocess.run(
            ["runuser", "-u", "postgres", "--", "initdb", "-D", str(data), "-A", "trust"],
            check=True,
            capture_output=True,
        )
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 trust\n")
        self.start(
            "services",
            [
                *("runuser", "-u", "postgres", "--", "postgres", "-D", str(data)),
                *("-h", services.address, "-p", str(PG_PORT), "-k", str(self.pg_dir)),
                *("-c", "fsync=off", "-c", "max_connections=200"),
                # A host cut off mid-transaction keeps its row locks until the server
                # notices: the settings docs/deployment.md asks for on several machines.
                *("-c", "idle_in_transaction_session_timeout=30s"),
                *("-c", "tcp_keepalives_idle=10", "-c", "tcp_keepalives_interval=5"),
                *("-c", "tcp_keepalives_count=3", "-c", "tcp_user_timeout=20000"),
            ],
            "postgres",
            uts=False,
        )
        redis_dir = self.root / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        self.start(
            "services",
            [
                *("redis-server", "--bind", services.address, "--port", str(REDIS_PORT)),
                *("--save", "", "--appendonly", "no", "--protected-mode", "no"),
                *("--dir", str(redis_dir)),
            ],
            "redis",
            uts=False,
        )
        self.start(
            "services",
            [sys.executable, "-c", SMS_GATEWAY, str(self.sms_log), services.address, str(SMS_PORT)],
            "sms-gateway",
            uts=False,
        )

    def environment(self, host: str) -> dict[str, str]:
        """What every process of the installation is given; only the data directory and the
        address the panel listens on differ by host."""
        services = self.hosts["services"].address
        data_dir = self.root / "data" / ("shared" if self.shared_data_dir else host)
        data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PATH": os.environ["PATH"],
            "HOME": str(self.root),
            "CAMPAIGN_DATA_DIR": str(data_dir),
            "CAMPAIGN_DATABASE_URL": self.database_url,
            "CAMPAIGN_REDIS_URL": f"redis://{services}:{REDIS_PORT}/0",
            "CAMPAIGN_SECRET_KEY": "multi-host-secret",
            "CAMPAIGN_RUN_FILE_STORE": self.run_file_store,
            "CAMPAIGN_HOST": self.hosts["panel"].address,
            "CAMPAIGN_PORT": str(PANEL_PORT),
            "CAMPAIGN_LOG_LEVEL": "INFO",
            **self.extra_environment,
        }

    def start(self, host: str, argv: list[str], label: str, *, uts: bool = True):
        """Start ``argv`` on ``host`` (in its network namespace, with the host's name),
        in a session of its own, its output in ``<root>/<label>.log``."""
        namespace = self.hosts[host].namespace
        command = ["ip", "netns", "exec", namespace]
        if uts:
            command += ["unshare", "--uts", "sh", "-c", f'hostname {host} && exec "$@"', "sh"]
        log = (self.root / f"{label}.log").open("ab")
        process = subprocess.Popen(
            command + argv,
            env=self.environment(host),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def campaign(self, host: str, *args: str, label: str) -> subprocess.Popen:
        return self.start(host, [CAMPAIGN, *args], label)

    def command(self, *args: str, input: str | None = None) -> str:
        """``campaign ARGS`` from the machine itself (through the bridge), as an operator
        would run it on any host; its output."""
        result = subprocess.run(
            [CAMPAIGN, *args],
            env=self.environment("operator"),
            input=input,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode:
            raise RuntimeError(f"campaign {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout

    def stop(self, process: subprocess.Popen) -> None:
        """Stop one process started here (SIGTERM to its session, then wait)."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.processes.remove(process)

    def cut(self, host: str) -> None:
        """Take the host off the network: its link goes down, its processes stay."""
        _ip("link", "set", self.hosts[host].interface, "down")

    def log(self, label: str) -> Path:
        return self.root / f"{label}.log"

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for host in self.hosts.values():
            subprocess.run(["ip", "netns", "delete", host.namespace], capture_output=True)
            subprocess.run(["ip", "link", "delete", host.interface], capture_output=True)
        subprocess.run(["ip", "link", "delete", self.bridge], capture_output=True)
        if self.pg_dir is not None:
            shutil.rmtree(self.pg_dir, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)
