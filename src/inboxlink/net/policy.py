"""Which addresses a user-supplied host may reach (SSRF protection).

Every connection to a host a user typed (IMAP, SMTP, EWS, autoconfig URLs) is resolved
here once and checked; callers then connect to the checked address, never to the name
again, so DNS rebinding cannot swap in a forbidden address between check and connect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from inboxlink.config import Network, Settings
from inboxlink.errors import AppError
from inboxlink.net.dns import Resolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Addresses that are never a mail server on the internet: loopback, private ranges,
# link-local (incl. cloud metadata 169.254.169.254), carrier-grade NAT, unique-local IPv6 …
_METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))


def is_public(address: IPAddress) -> bool:
    """True for globally routable unicast addresses."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return is_public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast and address not in _METADATA


class NetworkNotAllowed(AppError):
    def __init__(self, host: str, address: str):
        super().__init__(
            "network_not_allowed",
            f"{host} resolves to {address}, a private or local network address that inboxlink "
            "does not connect to. If this is an on-premises server, an administrator can allow "
            "its network with INBOXLINK_ALLOW_PRIVATE_NETWORKS.",
            status=422,
        )


class HostNotFound(AppError):
    def __init__(self, host: str):
        super().__init__(
            "host_not_found",
            f"The server name {host} could not be found. Check the spelling of the host name.",
            status=422,
        )


class NetworkPolicy:
    """Resolves a host and returns only addresses the configuration allows."""

    def __init__(self, settings: Settings, resolver: Resolver):
        self._allowed: tuple[Network, ...] | None = settings.allowed_networks
        self._resolver = resolver

    def allows(self, address: IPAddress) -> bool:
        if self._allowed is None or is_public(address):
            return True
        return any(address in network for network in self._allowed)

    async def resolve(self, host: str) -> list[str]:
        """Checked addresses for ``host``; raises when it has none or any is forbidden."""
        host = host.strip().strip("[]").rstrip(".")
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            found = [str(literal)]
        elif self._resolver.uses_system_resolver:
            found = await _system_lookup(host)
        else:
            found = await self._resolver.addresses(host)
        if not found:
            raise HostNotFound(host)
        for text in found:
            if not self.allows(ipaddress.ip_address(text)):
                raise NetworkNotAllowed(host, text)
        return found


async def _system_lookup(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
