"""pytest plugin: real Dovecot and Postfix for the session, fresh mailboxes per test.

Register with ``pytest_plugins = ["tests.support.mail_fixtures"]``. Server folders come from
``tempfile.mkdtemp`` (not ``tmp_path``): pytest's folders are 0700 and the daemons' own users
must reach their mail and queues.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from tests.support.certs import CertificateAuthority, make_ca
from tests.support.dovecot import Dovecot, open_to_daemons
from tests.support.postfix import Postfix

_users = count(1)


@dataclass(frozen=True)
class MailPki:
    """The test CA and one server certificate it issued for localhost and 127.0.0.1."""

    ca: CertificateAuthority
    cert: Path
    key: Path

    @property
    def ca_file(self) -> Path:
        return self.ca.cert_path

    @property
    def server_pair(self) -> tuple[Path, Path]:
        return self.cert, self.key


@dataclass(frozen=True)
class MailboxUser:
    email: str
    password: str


def new_user(dovecot: Dovecot, domain: str = "example.test") -> MailboxUser:
    """A unique user with a random password, usable at once (passwd-file is reread)."""
    user = MailboxUser(
        f"u{next(_users)}-{secrets.token_hex(3)}@{domain}", secrets.token_urlsafe(12)
    )
    dovecot.add_user(user.email, user.password)
    return user


def _server_root(prefix: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix=f"inboxlink-{prefix}-"))
    open_to_daemons(root)
    return root


@pytest.fixture(scope="session")
def mail_ca() -> Iterator[MailPki]:
    root = _server_root("pki")
    ca = make_ca(root)
    cert, key = ca.issue(root, ["localhost", "127.0.0.1", "mail.example.test"])
    yield MailPki(ca, cert, key)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot(mail_ca: MailPki) -> Iterator[Dovecot]:
    """The shared IMAP server: TLS (STARTTLS and implicit) with the CA's cert, all extensions."""
    root = _server_root("dovecot")
    with Dovecot(root, cert=mail_ca.server_pair) as server:
        yield server
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postfix(dovecot: Dovecot, mail_ca: MailPki) -> Iterator[Postfix]:
    """The shared SMTP server, delivering example.test mail into ``dovecot``."""
    root = _server_root("postfix")
    with Postfix(root, dovecot, cert=mail_ca.server_pair) as server:
        yield server
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot: Dovecot) -> MailboxUser:
    """A fresh, empty mailbox in the shared Dovecot."""
    return new_user(dovecot)


@pytest.fixture
def make_postfix(dovecot: Dovecot, mail_ca: MailPki) -> Iterator[Callable[..., Postfix]]:
    """Start a special Postfix in front of the shared Dovecot (``Postfix`` keyword options,
    e.g. ``relay_port=`` to relay other domains to a test's SMTP sink)."""
    started: list[tuple[Postfix, Path]] = []

    def make(**options: Any) -> Postfix:
        root = _server_root("postfix")
        server = Postfix(root, dovecot, cert=mail_ca.server_pair, **options)
        started.append((server, root))
        server.start()
        return server

    yield make
    for server, root in started:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def make_dovecot() -> Iterator[Callable[..., Dovecot]]:
    """Start a special Dovecot (``Dovecot`` keyword options, e.g. ``capabilities=``, ``cert=``)."""
    started: list[tuple[Dovecot, Path]] = []

    def make(**options: Any) -> Dovecot:
        root = _server_root("dovecot")
        server = Dovecot(root, **options)
        started.append((server, root))
        server.start()
        return server

    yield make
    for server, root in started:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def wait_for_notification_email(dovecot: Dovecot, email: str, timeout: float = 15) -> bytes:
    """The first inboxlink notification email (``[inboxlink]`` subject) in the user's INBOX."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for raw in dovecot.messages(email, "INBOX"):
            if b"[inboxlink]" in raw:
                return raw
        time.sleep(0.2)
    raise AssertionError("notification email did not arrive")
