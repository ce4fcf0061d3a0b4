"""Last resort: probe the usual host names on the standard ports, all at once.

Only the fixed ports below are ever tried, and only at addresses the network policy allows.
A server whose certificate does not verify is still reported (found, but not trusted), so the
user can decide to tick *Trust any certificate* (P9, P11).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from inboxlink.discovery.lookup import Lookup
from inboxlink.discovery.model import DomainServers, Outcome, Step, StepReport
from inboxlink.discovery.probe_dialogues import (
    NotAMailServer,
    imap_starttls,
    imap_tls,
    smtp_starttls,
    smtp_tls,
)
from inboxlink.domain.servers import Security, ServerSettings
from inboxlink.errors import AppError
from inboxlink.net.tls import client_context, is_certificate_error

Dialogue = Callable[[str, int, str, ssl.SSLContext], Awaitable[None]]
Kind = Literal["imap", "smtp"]


@dataclass(frozen=True, slots=True)
class Candidate:
    kind: Kind
    prefix: str
    port: int
    security: Security
    dialogue: Dialogue


#: In preference order: the first verified server of each kind wins.
CANDIDATES: tuple[Candidate, ...] = (
    Candidate("imap", "imap", 993, "ssl", imap_tls),
    Candidate("imap", "imap", 143, "starttls", imap_starttls),
    Candidate("imap", "mail", 993, "ssl", imap_tls),
    Candidate("imap", "mail", 143, "starttls", imap_starttls),
    Candidate("smtp", "smtp", 465, "ssl", smtp_tls),
    Candidate("smtp", "smtp", 587, "starttls", smtp_starttls),
    Candidate("smtp", "mail", 465, "ssl", smtp_tls),
    Candidate("smtp", "mail", 587, "starttls", smtp_starttls),
)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    candidate: Candidate
    host: str
    outcome: Outcome
    detail: str
    trusted: bool = True
    error_code: str = ""

    def step(self) -> Step:
        target = f"{self.host}:{self.candidate.port}"
        return Step("probe", target, self.outcome, self.detail, self.error_code)


async def probe_step(lookup: Lookup) -> StepReport:
    """Probe every needed candidate in parallel; report each one as its own step."""
    wanted = [c for c in CANDIDATES if (lookup.need_imap if c.kind == "imap" else lookup.need_smtp)]
    hosts = sorted({f"{c.prefix}.{lookup.email.domain}" for c in wanted})
    resolved = dict(
        zip(hosts, await asyncio.gather(*(_resolve(lookup, h) for h in hosts)), strict=True)
    )
    context = client_context(extra_ca_file=lookup.settings.extra_ca_file)
    results = await asyncio.gather(
        *(_probe(lookup, c, f"{c.prefix}.{lookup.email.domain}", resolved, context) for c in wanted)
    )
    imap, imap_trusted = _best(results, "imap", lookup.email.address)
    smtp, smtp_trusted = _best(results, "smtp", lookup.email.address)
    servers = DomainServers(imap, smtp, trusted=imap_trusted and smtp_trusted)
    return StepReport(tuple(result.step() for result in results), servers)


async def _resolve(lookup: Lookup, host: str) -> list[str] | AppError:
    try:
        return await lookup.policy.resolve(host)
    except AppError as exc:
        return exc


async def _probe(
    lookup: Lookup,
    candidate: Candidate,
    host: str,
    resolved: dict[str, list[str] | AppError],
    context: ssl.SSLContext,
) -> ProbeResult:
    addresses = resolved[host]
    if isinstance(addresses, AppError):
        outcome: Outcome = "not_found" if addresses.code == "host_not_found" else "error"
        return ProbeResult(candidate, host, outcome, addresses.message, error_code=addresses.code)
    name = f"{candidate.kind.upper()} ({candidate.security})"
    timeout = lookup.settings.probe_timeout_seconds
    try:
        async with asyncio.timeout(timeout):
            await candidate.dialogue(addresses[0], candidate.port, host, context)
    except TimeoutError:
        return ProbeResult(candidate, host, "not_found", f"no answer within {timeout:g} s")
    except NotAMailServer as exc:
        return ProbeResult(candidate, host, "not_found", f"not a usable {name} server: {exc}")
    except (OSError, ssl.SSLError) as exc:
        if is_certificate_error(exc):
            detail = f"{name} server answered, but its certificate is not trusted: {exc}"
            return ProbeResult(candidate, host, "found", detail, trusted=False)
        return ProbeResult(candidate, host, "not_found", f"could not connect: {exc}")
    return ProbeResult(candidate, host, "found", f"{name} server answered")


def _best(results: list[ProbeResult], kind: Kind, email: str) -> tuple[ServerSettings | None, bool]:
    """The first trusted server of ``kind``, else the first untrusted one."""
    found = [r for r in results if r.candidate.kind == kind and r.outcome == "found"]
    found.sort(key=lambda result: not result.trusted)
    if not found:
        return None, True
    best = found[0]
    server = ServerSettings(best.host, best.candidate.port, best.candidate.security, email)
    return server, best.trusted
