"""The offline and DNS-only detection sources: admin settings, provider database, SRV, MX."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from inboxlink.discovery.clientconfig import expand_username
from inboxlink.discovery.lookup import Lookup, describe, servers_of
from inboxlink.discovery.model import DomainServers, Step, StepReport
from inboxlink.domain.servers import Security, ServerSettings

AdminLookup = Callable[[str], Awaitable[DomainServers | None]]

# RFC 6186 + RFC 8314: the SRV names, in preference order, and the security each one implies.
IMAP_SRV: tuple[tuple[str, Security], ...] = (("_imaps._tcp", "ssl"), ("_imap._tcp", "starttls"))
SMTP_SRV: tuple[tuple[str, Security], ...] = (
    ("_submissions._tcp", "ssl"),
    ("_submission._tcp", "starttls"),
)


async def admin_step(lookup: Lookup, admin_lookup: AdminLookup | None) -> StepReport:
    """Settings an administrator saved for the address's domain (P9) win over any guess."""
    domain = lookup.email.domain
    if admin_lookup is None:
        return StepReport((Step("admin", domain, "skipped", "no administrator settings source"),))
    saved = await admin_lookup(domain)
    if saved is None or (saved.imap is None and saved.smtp is None):
        detail = "no administrator has saved IMAP/SMTP settings for this domain"
        return StepReport((Step("admin", domain, "not_found", detail),))
    address = lookup.email.address
    servers = DomainServers(_for_user(saved.imap, address), _for_user(saved.smtp, address))
    detail = f"saved by an administrator: {describe(servers)}"
    return StepReport((Step("admin", domain, "found", detail),), servers)


def _for_user(server: ServerSettings | None, email: str) -> ServerSettings | None:
    """Saved usernames are templates (empty means the full address)."""
    if server is None:
        return None
    return ServerSettings(
        server.host, server.port, server.security, expand_username(server.username, email)
    )


async def ispdb_step(lookup: Lookup) -> StepReport:
    """The bundled provider database, by the address's domain: works offline."""
    domain = lookup.email.domain
    provider = lookup.database.by_domain(domain)
    if provider is None:
        return StepReport((Step("ispdb", domain, "not_found", "not in the provider database"),))
    servers = servers_of(provider, lookup.email.address)
    detail = f"{provider.name or provider.id} in the provider database: {describe(servers)}"
    return StepReport((Step("ispdb", domain, "found", detail),), servers)


async def mx_step(lookup: Lookup) -> StepReport:
    """The provider database, by the domains the MX hosts live under (``mx.zoho.eu`` → Zoho)."""
    if not lookup.mx_hosts:
        return StepReport((Step("mx", lookup.email.domain, "not_found", "no MX records"),))
    steps = []
    for host in lookup.mx_hosts:
        provider = lookup.database.by_mx_host(host)
        if provider is None:
            steps.append(Step("mx", host, "not_found", "no provider in the database for this host"))
            continue
        servers = servers_of(provider, lookup.email.address)
        detail = f"MX host of {provider.name or provider.id}: {describe(servers)}"
        steps.append(Step("mx", host, "found", detail))
        return StepReport(tuple(steps), servers)
    return StepReport(tuple(steps))


async def srv_step(lookup: Lookup) -> StepReport:
    """RFC 6186 SRV records; a target of ``.`` means the service is not offered."""
    steps: list[Step] = []
    imap = await _first_srv(lookup, IMAP_SRV, steps) if lookup.need_imap else None
    smtp = await _first_srv(lookup, SMTP_SRV, steps) if lookup.need_smtp else None
    return StepReport(tuple(steps), DomainServers(imap=imap, smtp=smtp))


async def _first_srv(
    lookup: Lookup, names: tuple[tuple[str, Security], ...], steps: list[Step]
) -> ServerSettings | None:
    for prefix, security in names:
        name = f"{prefix}.{lookup.email.domain}"
        records = await lookup.resolver.srv(name)
        if not records:
            detail = "no SRV record, or the service is not offered"
            steps.append(Step("srv", name, "not_found", detail))
            continue
        host, port = records[0]
        steps.append(Step("srv", name, "found", f"{host}:{port} ({security})"))
        return ServerSettings(host, port, security, lookup.email.address)
    return None
