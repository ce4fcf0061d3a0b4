"""What every detection source gets to work with, and the helpers they share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from inboxlink.config import Settings
from inboxlink.discovery.clientconfig import ProviderConfig, ServerTemplate
from inboxlink.discovery.model import DomainServers
from inboxlink.discovery.providerdb import ProviderDatabase
from inboxlink.domain.servers import ServerSettings
from inboxlink.mail.address import EmailAddress
from inboxlink.net.dns import Resolver
from inboxlink.net.policy import NetworkPolicy

_SECURITY_RANK = {"ssl": 0, "starttls": 1, "none": 2}


@dataclass(frozen=True, slots=True)
class Lookup:
    """One detection run: the address, the shared network objects and what is still missing."""

    email: EmailAddress
    settings: Settings
    resolver: Resolver
    policy: NetworkPolicy
    database: ProviderDatabase
    mx_hosts: tuple[str, ...]
    need_imap: bool = True
    need_smtp: bool = True


def preferred(servers: Iterable[ServerSettings]) -> ServerSettings | None:
    """The most secure server (implicit TLS, then STARTTLS, then plain), first listed on ties."""
    return min(servers, key=lambda server: _SECURITY_RANK[server.security], default=None)


def servers_of(provider: ProviderConfig, email: str) -> DomainServers:
    """A provider entry's preferred IMAP and SMTP servers, with the templates filled in."""

    def pick(templates: tuple[ServerTemplate, ...]) -> ServerSettings | None:
        return preferred(template.settings_for(email) for template in templates)

    return DomainServers(imap=pick(provider.imap), smtp=pick(provider.smtp))


def describe(servers: DomainServers) -> str:
    """``imap host:port (ssl), smtp host:port (starttls)`` for a step's detail."""
    parts = [
        f"{name} {server.host}:{server.port} ({server.security})"
        for name, server in (("IMAP", servers.imap), ("SMTP", servers.smtp))
        if server is not None
    ]
    return ", ".join(parts) or "no IMAP or SMTP server"
