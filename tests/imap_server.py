"""A real IMAP server on loopback for the tests and the benchmark: Debian's Dovecot
(``apt-get install dovecot-imapd``) started in the foreground with a configuration of its
own in a temporary directory (plain IMAP on a free loopback port, one user, maildir
storage), stopped by its process id."""

from __future__ import annotations

import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from waiting import wait_for

DOVECOT = "/usr/sbin/dovecot"
USER = "bounces"
PASSWORD = "geheim!"
NOBODY = 65534

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{root}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def available() -> str | None:
    """Why no server can start here, or None."""
    if not Path(DOVECOT).exists():
        return f"no {DOVECOT} (apt-get install dovecot-imapd)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ImapServer:
    """Dovecot for one test; ``url`` is the ``CAMPAIGN_INBOUND_URL`` of its INBOX.

    Its files live in a directory of its own that others may enter (pytest's are private),
    since as root the mail processes run as nobody; ``close`` removes it.
    """

    def __init__(self):
        root = self.root = Path(tempfile.mkdtemp(prefix="campaign-imap-"))
        root.chmod(0o755)
        self.port = free_port()
        for sub in ("run", "state", "home"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        # as root, the mail processes run as nobody (Dovecot refuses uid 0 for a mailbox)
        uid, gid = (NOBODY, NOBODY) if os.getuid() == 0 else (os.getuid(), os.getgid())
        if os.getuid() == 0:
            shutil.chown(root / "home", NOBODY, NOBODY)
        config = root / "dovecot.conf"
        config.write_text(CONFIG.format(root=root, uid=uid, gid=gid, port=self.port))
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=open(root / "stderr.log", "wb"),  # noqa: SIM115 (kept for the process)
        )
        wait_for(self._accepts, "Dovecot to accept connections", log=root / "dovecot.log")

    @property
    def url(self) -> str:
        return (
            f"imap://{USER}:{PASSWORD.replace('!', '%21')}@127.0.0.1:{self.port}/INBOX?starttls=0"
        )

    def _accepts(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"Dovecot ended: {(self.root / 'stderr.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def connect(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        client.login(USER, PASSWORD)
        return client

    def deliver(self, *messages: bytes) -> None:
        """Put messages into the INBOX as a delivery agent would (IMAP APPEND)."""
        client = self.connect()
        try:
            for data in messages:
                status, answer = client.append("INBOX", None, None, data)
                assert status == "OK", answer
        finally:
            client.logout()

    def count(self, folder: str) -> int:
        client = self.connect()
        try:
            status, answer = client.select(f'"{folder}"', readonly=True)
            return int(answer[0]) if status == "OK" else 0
        finally:
            client.logout()

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
