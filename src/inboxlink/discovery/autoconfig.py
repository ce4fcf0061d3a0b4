"""Domain autoconfig: the clientConfig document a domain publishes over HTTPS.

Tried in Thunderbird's order: ``autoconfig.<domain>`` (with the address, so a server may
tailor the answer), then the domain's ``.well-known`` location. HTTP (unencrypted) is never
used: a network attacker could otherwise send the user's password to a server of their choice.
"""

from __future__ import annotations

from urllib.parse import quote

from inboxlink.discovery.clientconfig import (
    MAX_DOCUMENT_BYTES,
    InvalidConfigDocument,
    parse_client_config,
)
from inboxlink.discovery.lookup import Lookup, describe, servers_of
from inboxlink.discovery.model import DomainServers, Outcome, Step, StepReport
from inboxlink.discovery.safe_http import FetchError, fetch_https
from inboxlink.errors import AppError


def autoconfig_urls(domain: str, email: str) -> tuple[str, str]:
    return (
        f"https://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={quote(email, safe='')}",
        f"https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml",
    )


async def autoconfig_step(lookup: Lookup) -> StepReport:
    """The first autoconfig document that names an IMAP or SMTP server."""
    steps: list[Step] = []
    for url in autoconfig_urls(lookup.email.domain, lookup.email.address):
        step, servers = await _try(lookup, url)
        steps.append(step)
        if servers is not None:
            return StepReport(tuple(steps), servers)
    return StepReport(tuple(steps))


async def _try(lookup: Lookup, url: str) -> tuple[Step, DomainServers | None]:
    try:
        document = await fetch_https(
            url, settings=lookup.settings, policy=lookup.policy, max_bytes=MAX_DOCUMENT_BYTES
        )
        providers = parse_client_config(document)
    except AppError as exc:
        outcome: Outcome = "not_found" if exc.code == "host_not_found" else "error"
        return Step("autoconfig", url, outcome, exc.message, exc.code), None
    except (FetchError, InvalidConfigDocument) as exc:
        return Step("autoconfig", url, "error", str(exc)), None
    usable = [p for p in providers if p.imap or p.smtp]
    if not usable:
        detail = "the document names no IMAP or SMTP server"
        return Step("autoconfig", url, "not_found", detail), None
    servers = servers_of(usable[0], lookup.email.address)
    return Step("autoconfig", url, "found", describe(servers)), servers
