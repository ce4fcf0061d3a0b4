"""A real Postfix accepting SMTP (AUTH via Dovecot) and delivering into Dovecot over LMTP.

Facts behind the config are in ``../shared/TESTBED.md``. Postfix only accepts a private config
folder that the default ``/etc/postfix/main.cf`` lists in ``alternate_config_directories``;
registering it there is the one change made outside the temporary folder. Nothing can leave
the machine: other domains are relayed to ``[127.0.0.1]:9``, where nothing listens (or to a
test's own SMTP sink on loopback, ``relay_port``).
"""

from __future__ import annotations

import fcntl
import os
import pwd
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from tests.support.dovecot import Dovecot, open_to_daemons
from tests.support.ports import free_port, wait_for_port, wait_until_closed

DEFAULT_MAIN_CF = Path("/etc/postfix/main.cf")
MASTER_CF = Path("/etc/postfix/master.cf")
REFUSED_RECIPIENT = "refused@example.test"
"""An address in the test domain that Postfix always rejects at RCPT TO (550)."""

_REFUSED_TABLE = f"inline:{{ {{ {REFUSED_RECIPIENT} = REJECT no such user }} }}"
_ALTERNATE = re.compile(r"^alternate_config_directories\s*=(.*)$", re.MULTILINE)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.with_name(".inboxlink-tests.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _update_alternate_dirs(add: Path | None = None, remove: Path | None = None) -> None:
    """Edit the default main.cf's allow-list; entries of deleted folders are dropped too."""
    with _locked(DEFAULT_MAIN_CF):
        text = DEFAULT_MAIN_CF.read_text() if DEFAULT_MAIN_CF.exists() else ""
        match = _ALTERNATE.search(text)
        current = re.split(r"[\s,]+", match.group(1).strip()) if match else []
        wanted = [d for d in current if d and Path(d).is_dir() and d != str(remove)]
        if add is not None and str(add) not in wanted:
            wanted.append(str(add))
        line = f"alternate_config_directories = {' '.join(wanted)}"
        if match:
            updated = text[: match.start()] + line + text[match.end() :]
        else:
            updated = text + ("" if not text or text.endswith("\n") else "\n") + line + "\n"
        if updated != text:
            DEFAULT_MAIN_CF.write_text(updated)


def _master_cf(smtp_port: int, submissions_port: int | None) -> str:
    """Debian's master.cf with chroot off everywhere (the private queue has no /etc)."""
    lines = []
    for line in MASTER_CF.read_text().splitlines():
        fields = line.split()
        if line[:1] not in ("", "#", " ", "\t") and len(fields) >= 8:
            if fields[0] == "smtp" and fields[1] == "inet":
                fields[0] = f"127.0.0.1:{smtp_port}"
            fields[4] = "n"
            line = " ".join(fields)
        lines.append(line)
    if submissions_port is not None:
        lines += [
            f"127.0.0.1:{submissions_port} inet n - n - - smtpd",
            "  -o smtpd_tls_wrappermode=yes",
        ]
    return "\n".join(lines) + "\n"


class Postfix:
    """One Postfix instance for ``domains``, whose mailboxes live in ``dovecot``."""

    def __init__(
        self,
        root: Path,
        dovecot: Dovecot,
        domains: tuple[str, ...] = ("example.test",),
        cert: tuple[Path, Path] | None = None,
        *,
        smtp_port: int | None = None,
        submissions_port: int | None = None,
        relay_port: int = 9,
    ) -> None:
        self.root = root
        self.host = "127.0.0.1"
        self._dovecot = dovecot
        self._domains = domains
        self._cert = cert
        self._smtp_port = smtp_port or free_port()
        self._submissions_port = (submissions_port or free_port()) if cert else None
        self._relay_port = relay_port  # other domains go to 127.0.0.1 here (9: nowhere)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def smtp_port(self) -> int:
        """Plain SMTP with AUTH; offers STARTTLS when the instance has a certificate."""
        return self._smtp_port

    @property
    def submissions_port(self) -> int | None:
        """Implicit-TLS SMTP (like port 465), or None without a certificate."""
        return self._submissions_port

    @property
    def conf_dir(self) -> Path:
        return self.root / "conf"

    @property
    def log_path(self) -> Path:
        return self.root / "maillog"

    def _main_cf(self) -> str:
        root, dovecot = self.root, self._dovecot
        tls = ""
        if self._cert:
            cert, key = self._cert
            tls = (
                f"smtpd_tls_cert_file = {cert}\nsmtpd_tls_key_file = {key}\n"
                "smtpd_tls_security_level = may\n"
            )
        return f"""\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
maillog_file = {self.log_path}
maillog_file_prefixes = {root}
inet_interfaces = {self.host}
inet_protocols = ipv4
myhostname = mx.inboxlink.test
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
smtpd_peername_lookup = no
virtual_mailbox_domains = {", ".join(self._domains)}
virtual_transport = lmtp:inet:{dovecot.host}:{dovecot.lmtp_port}
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:{dovecot.host}:{dovecot.auth_port}
smtpd_sasl_auth_enable = yes
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access {_REFUSED_TABLE}
relayhost = [127.0.0.1]:{self._relay_port}
{tls}"""

    def _prepare(self) -> None:
        open_to_daemons(self.root)
        postfix = pwd.getpwnam("postfix")
        for name in ("conf", "queue", "data"):
            (self.root / name).mkdir(exist_ok=True)
        os.chown(self.root / "data", postfix.pw_uid, postfix.pw_gid)
        (self.conf_dir / "main.cf").write_text(self._main_cf())
        (self.conf_dir / "master.cf").write_text(
            _master_cf(self._smtp_port, self._submissions_port)
        )
        (self.root / "queue" / "pid" / "master.pid").unlink(missing_ok=True)
        _update_alternate_dirs(add=self.conf_dir)

    def start(self) -> None:
        """Run the master in the foreground as our child; raise with the log if it fails."""
        if self._process is not None:
            return
        self._prepare()
        output = self.root / "postfix.out"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                ["postfix", "-c", str(self.conf_dir), "start-fg"],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
            )
        self._process = process
        ports = [self._smtp_port] + ([self._submissions_port] if self._submissions_port else [])
        try:
            for port in ports:
                wait_for_port(self.host, port, alive=lambda: process.poll() is None)
        except TimeoutError as exc:
            self.stop()
            log = self.log_path.read_text() if self.log_path.exists() else ""
            raise RuntimeError(f"Postfix did not start:\n{output.read_text()}{log}") from exc

    def stop(self) -> None:
        if self._process is None:
            return
        subprocess.run(
            ["postfix", "-c", str(self.conf_dir), "stop"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
        wait_until_closed(self.host, self._smtp_port)
        _update_alternate_dirs(remove=self.conf_dir)

    def __enter__(self) -> Postfix:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
