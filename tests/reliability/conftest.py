"""Fixtures of the fault tests: settings tuned for quick recovery, proxies to the mail servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inboxlink.config import Settings
from tests.support.dovecot import Dovecot
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
