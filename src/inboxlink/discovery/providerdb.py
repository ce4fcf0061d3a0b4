"""The bundled provider database (``data/providers.json``), so detection works offline (G3).

Generated from Thunderbird's ISP database by ``scripts/build_provider_db.py``; see ``data/NOTICE``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources

from inboxlink.discovery.clientconfig import ProviderConfig


class ProviderDatabase:
    """Look-ups by an address's domain or by an MX host name."""

    def __init__(self, providers: Iterable[ProviderConfig]):
        self._by_domain: dict[str, ProviderConfig] = {}
        self._by_mx_domain: dict[str, ProviderConfig] = {}
        for provider in providers:
            for domain in provider.domains:
                self._by_domain.setdefault(domain, provider)
            for domain in provider.mx_domains:
                self._by_mx_domain.setdefault(domain, provider)

    @classmethod
    def from_json(cls, text: str) -> ProviderDatabase:
        return cls(ProviderConfig.from_json(entry) for entry in json.loads(text)["providers"])

    def by_domain(self, domain: str) -> ProviderConfig | None:
        return self._by_domain.get(domain.lower().rstrip("."))

    def by_mx_host(self, host: str) -> ProviderConfig | None:
        """The provider whose domains contain ``host`` or one of its parent domains.

        ``mx.zoho.eu`` finds the entry listing ``zoho.eu``; domains the database marks as MX
        domains (``mail.protection.outlook.com``) win over plain mail domains.
        """
        labels = host.lower().rstrip(".").split(".")
        parents = [".".join(labels[i:]) for i in range(len(labels) - 1)]
        for table in (self._by_mx_domain, self._by_domain):
            for parent in parents:
                if parent in table:
                    return table[parent]
        return None


@cache
def bundled_database() -> ProviderDatabase:
    """The database shipped in the package, read once."""
    text = resources.files("inboxlink.discovery").joinpath("data/providers.json").read_text("utf-8")
    return ProviderDatabase.from_json(text)
