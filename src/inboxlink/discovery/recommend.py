"""Which connection to offer for an address (P3): well-known domains first, then MX records.

Google Workspace and Microsoft 365 custom domains are recognised by their MX hosts; Amazon SES
and WorkMail are recognised so the user is told early that they cannot be connected (P9).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from inboxlink.discovery.providerdb import ProviderDatabase, bundled_database
from inboxlink.mail.address import parse_email
from inboxlink.net.dns import Resolver

ProviderKind = Literal["gmail", "microsoft", "exchange", "imap", "unsupported", "unknown"]
Reason = Literal["well_known_domain", "mx", "provider_database", "autodiscover_srv", "no_match"]

_WELL_KNOWN: tuple[tuple[re.Pattern[str], ProviderKind], ...] = (
    (re.compile(r"(gmail|googlemail)\.com"), "gmail"),
    (
        re.compile(r"(hotmail|live|outlook)\.[a-z.]+|msn\.com|windowslive\.com|passport\.com"),
        "microsoft",
    ),
)
_MX_RULES: tuple[tuple[re.Pattern[str], ProviderKind], ...] = (
    (re.compile(r"(.+\.)?(google|googlemail)\.com"), "gmail"),
    (re.compile(r".+\.outlook\.com"), "microsoft"),
    (re.compile(r".+\.amazonaws\.com|.*awsapps.*"), "unsupported"),
)
#: Database entries that are really the OAuth providers, not generic IMAP hosts.
_DATABASE_KINDS: dict[str, ProviderKind] = {
    "googlemail.com": "gmail",
    "hotmail.com": "microsoft",
    "office365.com": "microsoft",
}

AMAZON_MESSAGE = (
    "Mail hosted on Amazon SES or Amazon WorkMail can't be connected to inboxlink. "
    "To connect this team's mail, use Gmail or Office 365."
)
_MESSAGES: dict[ProviderKind, str] = {
    "gmail": "Connect to Gmail.",
    "microsoft": "Connect to Microsoft Outlook.",
    "exchange": "Connect to Microsoft Exchange (enter your email address and password).",
    "imap": "Connect with your mail provider's IMAP and SMTP servers.",
    "unsupported": AMAZON_MESSAGE,
    "unknown": (
        "We could not tell who hosts this address. Choose Gmail, Microsoft Outlook, "
        "Microsoft Exchange or Other mail provider (IMAP)."
    ),
}


@dataclass(frozen=True, slots=True)
class Recommendation:
    """``reason`` is a stable code for the evidence; ``message`` says it in plain words."""

    provider: ProviderKind
    reason: Reason
    message: str
    mx_hosts: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "reason": self.reason,
            "message": self.message,
            "mx_hosts": list(self.mx_hosts),
        }


def well_known(domain: str) -> ProviderKind | None:
    """The provider of a consumer mail domain (gmail.com, hotmail.co.uk …), without DNS."""
    return next((kind for rule, kind in _WELL_KNOWN if rule.fullmatch(domain)), None)


def classify_mx(hosts: tuple[str, ...]) -> ProviderKind | None:
    """Gmail, Microsoft or unsupported (Amazon) when the first recognised MX host says so."""
    for host in hosts:
        for rule, kind in _MX_RULES:
            if rule.fullmatch(host):
                return kind
    return None


async def recommend(
    email: str, resolver: Resolver, database: ProviderDatabase | None = None
) -> Recommendation:
    """Recommend a connection for ``email``; raises ``AppError("invalid_email")`` on bad syntax."""
    domain = parse_email(email).domain
    database = database or bundled_database()
    if kind := well_known(domain):
        return _result(kind, "well_known_domain")
    mx_hosts = tuple(await resolver.mx(domain))
    if kind := classify_mx(mx_hosts):
        return _result(kind, "mx", mx_hosts)
    if entry := database.by_domain(domain):
        return _result(_DATABASE_KINDS.get(entry.id, "imap"), "provider_database", mx_hosts)
    for host in mx_hosts:
        if entry := database.by_mx_host(host):
            return _result(_DATABASE_KINDS.get(entry.id, "imap"), "mx", mx_hosts)
    if await resolver.srv(f"_autodiscover._tcp.{domain}"):
        return _result("exchange", "autodiscover_srv", mx_hosts)
    return _result("unknown", "no_match", mx_hosts)


def _result(kind: ProviderKind, reason: Reason, mx_hosts: tuple[str, ...] = ()) -> Recommendation:
    return Recommendation(kind, reason, _MESSAGES[kind], mx_hosts)
