"""IMAP/SMTP settings detection (P9, G3): a chain of sources, each explained step by step.

Order: admin settings → provider database → domain autoconfig → SRV records → MX host in the
provider database → probing. Each source fills only what is still missing, and the chain stops
once both servers are known; ``source`` names where the incoming (IMAP) server came from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from functools import partial

from inboxlink.config import Settings
from inboxlink.discovery.autoconfig import autoconfig_step
from inboxlink.discovery.lookup import Lookup
from inboxlink.discovery.model import Detection, DomainServers, Source, Step, StepReport
from inboxlink.discovery.probe import probe_step
from inboxlink.discovery.providerdb import ProviderDatabase, bundled_database
from inboxlink.discovery.recommend import Recommendation, recommend
from inboxlink.discovery.sources import AdminLookup, admin_step, ispdb_step, mx_step, srv_step
from inboxlink.mail.address import parse_email
from inboxlink.net.dns import Resolver
from inboxlink.net.policy import NetworkPolicy

_SOURCE_WORDS: dict[Source, str] = {
    "admin": "the settings an administrator saved for this domain",
    "ispdb": "the provider database",
    "autoconfig": "the domain's published configuration (autoconfig)",
    "srv": "the domain's DNS SRV records",
    "mx": "the provider database, from the domain's MX records",
    "probe": "probing the domain's usual mail server names",
}


SourceStep = Callable[[Lookup], Awaitable[StepReport]]
_AFTER_ADMIN: tuple[tuple[Source, SourceStep], ...] = (
    ("ispdb", ispdb_step),
    ("autoconfig", autoconfig_step),
    ("srv", srv_step),
    ("mx", mx_step),
    ("probe", probe_step),
)


async def detect(
    email: str,
    *,
    settings: Settings,
    resolver: Resolver,
    policy: NetworkPolicy,
    admin_lookup: AdminLookup | None,
    database: ProviderDatabase | None = None,
) -> Detection:
    """Recommend a provider, then find IMAP/SMTP settings; raises ``invalid_email`` on bad input.

    Gmail and Microsoft addresses are still given their IMAP settings (from the database),
    since such a mailbox may also be connected over IMAP (P6).
    """
    address = parse_email(email)
    recommendation = await recommend(address.address, resolver, database)
    if recommendation.provider == "unsupported":
        return Detection("unsupported", None, None, None, (), recommendation.message)
    lookup = Lookup(
        address, settings, resolver, policy, database or bundled_database(), recommendation.mx_hosts
    )
    steps: list[Step] = []
    found = DomainServers()
    source: Source | None = None
    admin = partial(admin_step, admin_lookup=admin_lookup)
    chain: tuple[tuple[Source, SourceStep], ...] = (("admin", admin), *_AFTER_ADMIN)
    for name, run in chain:
        report = await run(lookup)
        steps.extend(report.steps)
        imap = found.imap or report.servers.imap
        smtp = found.smtp or report.servers.smtp
        if (imap, smtp) != (found.imap, found.smtp):
            source = source or name
            found = DomainServers(imap, smtp, found.trusted and report.servers.trusted)
        if imap and smtp:
            break
        lookup = dataclasses.replace(lookup, need_imap=imap is None, need_smtp=smtp is None)
    message = _message(recommendation, address.domain, found, source, steps)
    return Detection(recommendation.provider, found.imap, found.smtp, source, tuple(steps), message)


def _message(
    recommendation: Recommendation,
    domain: str,
    found: DomainServers,
    source: Source | None,
    steps: list[Step],
) -> str:
    parts = [recommendation.message]
    if found.imap and found.smtp and source:
        parts.append(f"IMAP and SMTP settings for {domain} come from {_SOURCE_WORDS[source]}.")
    elif found.imap or found.smtp:
        have, missing = ("IMAP", "SMTP") if found.imap else ("SMTP", "IMAP")
        parts.append(
            f"Found the {have} server for {domain}, but not the {missing} server: enter its "
            "host and port under Advanced options."
        )
    else:
        parts.append(
            f"The IMAP and SMTP settings for {domain} could not be detected: enter them under "
            "Advanced options (your mail provider or IT department can tell you them)."
        )
    if not found.trusted:
        parts.append(
            "The server's certificate is not trusted. If you know this server, tick "
            "Trust any certificate under Advanced options."
        )
    if not (found.imap and found.smtp) and any(_refused(step) for step in steps):
        parts.append(
            "Some servers were not tried because they are on a private or local network. An "
            "administrator can allow that network with INBOXLINK_ALLOW_PRIVATE_NETWORKS."
        )
    return " ".join(parts)


def _refused(step: Step) -> bool:
    return step.error_code == "network_not_allowed"
