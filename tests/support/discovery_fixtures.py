"""Pytest fixtures for discovery tests: dnsmasq, a private CA, HTTPS servers and mail greeters.

Servers bind the product's fixed ports (443, 993, 143, 465, 587) — tests run as root — each on
its own random loopback address, so parallel runs and other suites never collide; dnsmasq maps
the test domain's names to those addresses.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from inboxlink.config import Settings
from tests.support.certs import CertificateAuthority, make_ca, self_signed
from tests.support.dns_server import DnsServer
from tests.support.https_server import HttpsServer, Response


def loopback_address() -> str:
    """A random address in 127.64.0.0/10, away from the 127.0.0.x others tend to use."""
    return f"127.{random.randint(64, 127)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


@pytest.fixture
def dns_server(tmp_path: Path) -> Iterator[DnsServer]:
    """A dnsmasq instance, not started yet: add records, then call ``start()``."""
    directory = tmp_path / "dns"
    directory.mkdir()
    server = DnsServer(directory)
    yield server
    server.stop()


@pytest.fixture
def discovery_ca(tmp_path: Path) -> CertificateAuthority:
    return make_ca(tmp_path / "ca")


@pytest.fixture
def discovery_settings(
    dns_server: DnsServer, discovery_ca: CertificateAuthority, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings that reach DNS only through the test's dnsmasq and trust the test CA."""
    monkeypatch.setenv("INBOXLINK_DNS_NAMESERVERS", dns_server.nameserver)
    monkeypatch.setenv("INBOXLINK_ALLOW_PRIVATE_NETWORKS", "1")
    monkeypatch.setenv("INBOXLINK_EXTRA_CA_FILE", str(discovery_ca.cert_path))
    monkeypatch.setenv("INBOXLINK_PROBE_TIMEOUT_SECONDS", "2")
    return Settings()


@pytest.fixture
def https_servers(
    tmp_path: Path, discovery_ca: CertificateAuthority
) -> Iterator[Callable[[str, dict[str, Response]], HttpsServer]]:
    """``start(name, routes)``: an HTTPS server for ``name`` on port 443 of a fresh address."""
    started: list[HttpsServer] = []

    def start(name: str, routes: dict[str, Response]) -> HttpsServer:
        directory = tmp_path / f"https-{len(started)}"
        directory.mkdir()
        server = HttpsServer(loopback_address(), discovery_ca.issue(directory, [name]))
        server.routes.update(routes)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@dataclass
class MailGreeter:
    """Speaks just enough IMAP or SMTP for a probe: greeting, capabilities, STARTTLS, goodbye."""

    kind: Literal["imap", "smtp"]
    address: str
    port: int
    tls: ssl.SSLContext | None
    implicit_tls: bool
    _server: asyncio.Server | None = field(default=None, repr=False)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._session,
            self.address,
            self.port,
            ssl=self.tls if self.implicit_tls else None,
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        starttls = " STARTTLS" if self.tls is not None and not self.implicit_tls else ""
        imap = self.kind == "imap"
        # In STARTTLS mode the greeting omits capabilities, so the client must ask for them.
        writer.write(
            (b"* OK ready\r\n" if starttls else b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
            if imap
            else b"220 mail.test ESMTP ready\r\n"
        )
        try:
            while line := (await reader.readline()).decode().strip():
                tag, _, command = line.partition(" ") if imap else ("", "", line)
                verb = command.split(" ")[0].upper()
                if verb in ("LOGOUT", "QUIT"):
                    writer.write(f"{tag} OK bye\r\n".encode() if imap else b"221 bye\r\n")
                    break
                if verb == "CAPABILITY":
                    writer.write(f"* CAPABILITY IMAP4rev1{starttls}\r\n{tag} OK\r\n".encode())
                elif verb == "EHLO":
                    writer.write(
                        f"250-mail.test\r\n250-{starttls.strip() or 'PIPELINING'}\r\n"
                        "250 8BITMIME\r\n".encode()
                    )
                elif verb == "STARTTLS" and self.tls is not None:
                    writer.write(f"{tag} OK begin TLS\r\n".encode() if imap else b"220 go\r\n")
                    await writer.drain()
                    await writer.start_tls(self.tls)
                else:
                    writer.write(f"{tag} BAD\r\n".encode() if imap else b"500 what\r\n")
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


#: The product's probe ports: protocol and whether TLS starts at once (else via STARTTLS).
_PORT_MODES: dict[int, tuple[Literal["imap", "smtp"], bool]] = {
    993: ("imap", True),
    143: ("imap", False),
    465: ("smtp", True),
    587: ("smtp", False),
}


@dataclass
class MailGreeters:
    """Starts greeters on probe ports with certificates from the test CA or self-signed."""

    directory: Path
    ca: CertificateAuthority
    started: list[MailGreeter] = field(default_factory=list)

    async def start(self, address: str, name: str, port: int, *, trusted: bool = True) -> None:
        kind, implicit_tls = _PORT_MODES[port]
        directory = self.directory / str(len(self.started))
        directory.mkdir(parents=True)
        issue = self.ca.issue if trusted else self_signed
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*issue(directory, [name]))
        greeter = MailGreeter(kind, address, port, context, implicit_tls)
        await greeter.start()
        self.started.append(greeter)

    async def stop_all(self) -> None:
        for greeter in self.started:
            await greeter.stop()


@pytest.fixture
async def mail_greeters(
    tmp_path: Path, discovery_ca: CertificateAuthority
) -> AsyncIterator[MailGreeters]:
    greeters = MailGreeters(tmp_path / "greeters", discovery_ca)
    yield greeters
    await greeters.stop_all()
