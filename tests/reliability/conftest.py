"""Fixtures of the fault tests: settings tuned for quick recovery, proxies to the mail servers,
a live ``inboxlink serve`` process to SIGKILL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inboxlink.config import Settings
from tests.support.api_helpers import cli_admin_token
from tests.support.dovecot import Dovecot
from tests.support.live_server import LiveServer
from tests.support.mail_fixtures import MailPki
from tests.support.postfix import Postfix
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def settings(settings: Settings, mail_ca: MailPki) -> Settings:
    values = settings.model_dump()
    values.update(
        extra_ca_file=mail_ca.ca_file,
        poll_seconds=2.0,
        sync_batch_size=50,
        dns_nameservers="127.0.0.1:9",
        dns_timeout_seconds=0.2,
        connect_timeout_seconds=5.0,
    )
    return Settings(**values)


@pytest.fixture
def imap_proxy(dovecot: Dovecot) -> Iterator[TcpProxy]:
    with TcpProxy(dovecot.host, dovecot.imap_port) as proxy:
        yield proxy


@pytest.fixture
def smtp_proxy(postfix: Postfix) -> Iterator[TcpProxy]:
    with TcpProxy(postfix.host, postfix.smtp_port) as proxy:
        yield proxy


@pytest.fixture
def live_env() -> dict[str, str]:
    """Extra environment of the live process; a test module overrides it to tune settings."""
    return {}


@pytest.fixture
def live(
    tmp_path: Path, mail_ca: MailPki, live_env: dict[str, str]
) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """``inboxlink serve`` (SQLite in ``tmp_path`` unless ``live_env`` names a database), set
    up by the CLI, and a super admin's API headers."""
    token = cli_admin_token(tmp_path, env=live_env)
    server = LiveServer(
        tmp_path,
        env={
            "INBOXLINK_ALLOW_PRIVATE_NETWORKS": "1",
            "INBOXLINK_EXTRA_CA_FILE": str(mail_ca.ca_file),
            "INBOXLINK_DNS_NAMESERVERS": "127.0.0.1:9",
            "INBOXLINK_DNS_TIMEOUT_SECONDS": "0.2",
            "INBOXLINK_CONNECT_TIMEOUT_SECONDS": "5",
            **live_env,
        },
    )
    server.start()
    try:
        yield server, {"Authorization": f"Bearer {token}"}
    finally:
        server.stop()
