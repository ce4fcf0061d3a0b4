"""A real Dovecot (IMAP, LMTP, SASL for Postfix) with its own config in a temporary folder.

Facts behind the config are in ``../shared/TESTBED.md``: Dovecot refuses to run its login
process as root, so mail belongs to the ``dovecot`` user and ``root`` must be reachable by it.
Dovecot runs in the foreground (``-F``) as our child in its own process group, so stopping it
never depends on a pid file and no process outlives the test session.
"""

from __future__ import annotations

import os
import pwd
import signal
import smtplib
import subprocess
import time
from collections.abc import Iterable, Iterator
from email.parser import BytesHeaderParser
from itertools import count
from pathlib import Path
from types import TracebackType

from tests.support.ports import free_port, wait_for_port, wait_until_closed

_SPECIAL_USE = {
    "Sent": r"\Sent",
    "Drafts": r"\Drafts",
    "Trash": r"\Trash",
    "Junk": r"\Junk",
    "Archive": r"\Archive",
}
_sequence = count()


def open_to_daemons(root: Path) -> None:
    """Let unprivileged daemon users reach ``root``: it must be 0755 and its parents searchable.

    pytest's own temporary folders are 0700, so callers use ``tempfile.mkdtemp()`` instead.
    """
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    for parent in root.resolve().parents:
        if not parent.stat().st_mode & 0o001:
            raise RuntimeError(f"{parent} is not searchable by daemon users; use another folder")


def _mailboxes() -> str:
    lines = []
    for name, flag in _SPECIAL_USE.items():
        auto = "subscribe" if name == "Sent" else "create"
        lines.append(f"  mailbox {name} {{\n    special_use = {flag}\n    auto = {auto}\n  }}")
    return "\n".join(lines)


class Dovecot:
    """One Dovecot instance; ``start()`` returns once every listener accepts connections."""

    def __init__(
        self,
        root: Path,
        *,
        cert: tuple[Path, Path] | None = None,
        capabilities: str | None = None,
        address: str = "127.0.0.1",
        imap_port: int | None = None,
        imaps_port: int | None = None,
        lmtp_port: int | None = None,
        auth_port: int | None = None,
    ) -> None:
        self.root = root
        self.host = address
        self._cert = cert
        self._capabilities = capabilities
        self._imap_port = imap_port or free_port(address)
        self._imaps_port = (imaps_port or free_port(address)) if cert else None
        self._lmtp_port = lmtp_port or free_port(address)
        self._auth_port = auth_port or free_port(address)
        self._owner = pwd.getpwnam("dovecot")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def imap_port(self) -> int:
        return self._imap_port

    @property
    def imaps_port(self) -> int:
        """Implicit-TLS port; only offered when the instance has a certificate."""
        if self._imaps_port is None:
            raise RuntimeError("this Dovecot has no certificate, so no IMAPS listener")
        return self._imaps_port

    @property
    def lmtp_port(self) -> int:
        return self._lmtp_port

    @property
    def auth_port(self) -> int:
        return self._auth_port

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    def _ports(self) -> list[int]:
        ports = [self._imap_port, self._lmtp_port, self._auth_port]
        return ports + ([self._imaps_port] if self._imaps_port else [])

    def _config(self) -> str:
        root = self.root
        tls = "ssl = no"
        imaps = ""
        if self._cert:
            cert, key = self._cert
            tls = f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"
            imaps = (
                f"  inet_listener imaps {{\n    address = {self.host}\n"
                f"    port = {self._imaps_port}\n    ssl = yes\n  }}\n"
            )
        capability = f"  imap_capability = {self._capabilities}\n" if self._capabilities else ""
        return f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {self.log_path}
info_log_path = {self.log_path}
protocols = imap lmtp
listen = {self.host}
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
default_process_limit = 1500
default_client_limit = 10000
first_valid_uid = 1
first_valid_gid = 1
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_fsync = never
{tls}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd.d/%u
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
{_mailboxes()}
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self._imap_port}
  }}
{imaps}}}
service lmtp {{
  inet_listener lmtp {{
    address = {self.host}
    port = {self._lmtp_port}
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service auth {{
  inet_listener {{
    address = {self.host}
    port = {self._auth_port}
  }}
}}
protocol imap {{
  mail_max_userip_connections = 5000
{capability}}}
"""

    def _prepare(self) -> None:
        open_to_daemons(self.root)
        for name in ("run", "state", "mail", "passwd.d"):
            (self.root / name).mkdir(exist_ok=True)
        self._chown(self.root / "mail")
        (self.root / "run" / "master.pid").unlink(missing_ok=True)
        self.config_path.write_text(self._config())

    def start(self) -> None:
        """Launch in the foreground as our child; raise with the log if it never listens."""
        if self._process is not None:
            return
        self._prepare()
        output = self.root / "dovecot.out"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                ["dovecot", "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
                start_new_session=True,
            )
        self._process = process
        try:
            for port in self._ports():
                wait_for_port(self.host, port, alive=lambda: process.poll() is None)
        except TimeoutError as exc:
            self.stop()
            log = self.log_path.read_text() if self.log_path.exists() else ""
            raise RuntimeError(f"Dovecot did not start:\n{output.read_text()}{log}") from exc

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to the whole group: children still starting up can make the
        master wait 5 s for them (stats-writer handshake timeouts)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._process = None
        for port in self._ports():
            wait_until_closed(self.host, port)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def add_user(self, email: str, password: str) -> None:
        """Write the user's own passwd-file, usable at once without a restart.

        One file per user because Dovecot rereads a changed passwd-file at most once a
        second, so a user appended to a shared file could be refused for up to a second.
        """
        if any(ch in email + password for ch in ":/\r\n"):
            raise ValueError("passwd-file entries cannot contain ':', '/' or line breaks")
        passwd = self.root / "passwd.d" / email
        passwd.write_text(f"{email}:{{PLAIN}}{password}::::\n")
        passwd.chmod(0o600)
        self._chown(passwd)

    def maildir(self, email: str) -> Path:
        return self.root / "mail" / email / "Maildir"

    def folder_path(self, email: str, folder: str = "INBOX") -> Path:
        """Maildir++ folder for an IMAP name: INBOX is the root, ``A/B`` is ``.A.B``."""
        if folder.upper() == "INBOX":
            return self.maildir(email)
        return self.maildir(email) / ("." + folder.replace("/", "."))

    def _chown(self, path: Path) -> None:
        os.chown(path, self._owner.pw_uid, self._owner.pw_gid)

    def _ensure_folder(self, email: str, folder: str) -> Path:
        path = self.folder_path(email, folder)
        chain = [self.root / "mail" / email, self.maildir(email)]
        if path != self.maildir(email):
            chain.append(path)
        for directory in chain:
            directory.mkdir(exist_ok=True)
            self._chown(directory)
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(exist_ok=True)
            self._chown(path / sub)
        if path != self.maildir(email):
            marker = path / "maildirfolder"
            marker.touch()
            self._chown(marker)
        return path

    def write_messages(
        self, email: str, messages: Iterable[bytes], folder: str = "INBOX", seen: bool = True
    ) -> None:
        """Fill a mailbox by writing Maildir files directly: 20,000 messages in seconds."""
        path = self._ensure_folder(email, folder)
        target = path / ("cur" if seen else "new")
        suffix = ":2,S" if seen else ""
        stamp, pid = int(time.time()), os.getpid()
        uid, gid = self._owner.pw_uid, self._owner.pw_gid
        for raw in messages:
            name = f"{stamp}.M{next(_sequence)}P{pid}.inboxlink,S={len(raw)}{suffix}"
            file = target / name
            file.write_bytes(raw)
            os.chown(file, uid, gid)

    def deliver(self, email: str, raw: bytes, sender: str = "sender@example.test") -> None:
        """Deliver like an MTA would (LMTP), so Dovecot indexes and notifies IDLE clients."""
        with smtplib.LMTP(self.host, self._lmtp_port) as lmtp:
            lmtp.sendmail(sender, [email], raw)

    def messages(self, email: str, folder: str = "INBOX") -> Iterator[bytes]:
        """Raw messages currently in a folder (new and cur), read straight from the Maildir."""
        path = self.folder_path(email, folder)
        for sub in ("new", "cur"):
            directory = path / sub
            if directory.is_dir():
                for file in sorted(directory.iterdir()):
                    try:
                        yield file.read_bytes()
                    except FileNotFoundError:  # moved from new to cur meanwhile
                        continue

    def wait_for_message(
        self, email: str, message_id: str, *, folder: str = "INBOX", timeout: float = 10.0
    ) -> bytes:
        """Poll the Maildir until a message with ``message_id`` arrives (MTA delivery is async)."""
        parser = BytesHeaderParser()
        deadline = time.monotonic() + timeout
        while True:
            for raw in self.messages(email, folder):
                if (parser.parsebytes(raw).get("Message-ID") or "").strip() == message_id:
                    return raw
            if time.monotonic() > deadline:
                raise TimeoutError(f"{message_id} did not reach {email}/{folder} in {timeout} s")
            time.sleep(0.05)
