"""One DNS resolver for the whole service, pointed at ``INBOXLINK_DNS_NAMESERVERS`` when set.

Tests point it at a local DNS server; production uses the system's resolv.conf.
"""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver

from inboxlink.config import Settings


class Resolver:
    """Thin async wrapper over dnspython that answers ``[]`` for "no such record"."""

    def __init__(self, settings: Settings):
        if settings.nameservers:
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = [host for host, _ in settings.nameservers]
            ports = {port for _, port in settings.nameservers}
            self._resolver.port = ports.pop() if len(ports) == 1 else 53
            if ports:
                self._resolver.nameserver_ports = dict(settings.nameservers)
        else:
            self._resolver = dns.asyncresolver.Resolver()
        self._resolver.lifetime = settings.dns_timeout_seconds
        self.uses_system_resolver = not settings.nameservers

    async def _query(self, name: str, rdtype: str) -> list[dns.resolver.Answer]:
        try:
            return [await self._resolver.resolve(name, rdtype)]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            return []
        except dns.exception.Timeout:
            return []

    async def mx(self, domain: str) -> list[str]:
        """MX hosts of ``domain``, lowest preference first, without the trailing dot."""
        records = [r for answer in await self._query(domain, "MX") for r in answer]
        records.sort(key=lambda r: r.preference)
        return [str(r.exchange).rstrip(".").lower() for r in records if str(r.exchange) != "."]

    async def srv(self, name: str) -> list[tuple[str, int]]:
        """``(target, port)`` of an SRV name, by priority then weight; ``.`` targets mean "none"."""
        records = [r for answer in await self._query(name, "SRV") for r in answer]
        records.sort(key=lambda r: (r.priority, -r.weight))
        return [
            (str(r.target).rstrip(".").lower(), r.port) for r in records if str(r.target) != "."
        ]

    async def addresses(self, host: str) -> list[str]:
        """A and AAAA addresses of ``host``."""
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            found.extend(r.to_text() for answer in await self._query(host, rdtype) for r in answer)
        return found
