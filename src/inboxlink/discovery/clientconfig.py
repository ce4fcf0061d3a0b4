"""Thunderbird's clientConfig XML — the format of ISP database files and domain autoconfig.

The same parser reads the bundled database at build time and untrusted autoconfig documents at
run time, so it is defensive: documents are size-bounded and any DTD is refused before parsing,
which rules out entity expansion and external entities with the standard-library parser.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Literal

from inboxlink.domain.servers import Security, ServerSettings

MAX_DOCUMENT_BYTES = 1024 * 1024

Protocol = Literal["imap", "smtp"]

_SECURITY: dict[str, Security] = {
    "ssl": "ssl",
    "tls": "ssl",
    "starttls": "starttls",
    "plain": "none",
}
_DECLARED_ENCODING = re.compile(r"""<\?xml[^>]*encoding\s*=\s*["']([^"']+)""", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"%EMAIL(ADDRESS|LOCALPART|DOMAIN)%?")
_MX_COMMENT = re.compile(r"\bMX\b")


class InvalidConfigDocument(ValueError):
    """The document is not a clientConfig we are willing to read."""


@dataclass(frozen=True, slots=True)
class ServerTemplate:
    """One server of a provider; ``host`` and ``username`` may hold ``%EMAIL…%`` placeholders."""

    host: str
    port: int
    security: Security
    username: str = "%EMAILADDRESS%"

    def settings_for(self, email: str) -> ServerSettings:
        return ServerSettings(
            host=expand(self.host, email).lower(),
            port=self.port,
            security=self.security,
            username=expand_username(self.username, email),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "username": self.username,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerTemplate:
        return cls(str(data["host"]), int(data["port"]), data["security"], str(data["username"]))


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """A provider's domains and servers; ``mx_domains`` are domains its MX hosts live under."""

    id: str
    name: str
    domains: tuple[str, ...]
    mx_domains: tuple[str, ...]
    imap: tuple[ServerTemplate, ...]
    smtp: tuple[ServerTemplate, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "domains": list(self.domains),
            "mx_domains": list(self.mx_domains),
            "imap": [server.to_json() for server in self.imap],
            "smtp": [server.to_json() for server in self.smtp],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProviderConfig:
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            domains=tuple(data["domains"]),
            mx_domains=tuple(data["mx_domains"]),
            imap=tuple(ServerTemplate.from_json(s) for s in data["imap"]),
            smtp=tuple(ServerTemplate.from_json(s) for s in data["smtp"]),
        )


def expand(template: str, email: str) -> str:
    """Replace ``%EMAILADDRESS%``, ``%EMAILLOCALPART%`` and ``%EMAILDOMAIN%`` for ``email``.

    A missing closing ``%`` is tolerated: a few ISP database files have that typo.
    """
    local, _, domain = email.rpartition("@")
    values = {"ADDRESS": email, "LOCALPART": local, "DOMAIN": domain}
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def expand_username(template: str, email: str) -> str:
    """The login name for ``email``; the full address when no template is given."""
    return expand(template, email).strip() or email


def parse_client_config(document: bytes) -> list[ProviderConfig]:
    """Every ``emailProvider`` in a clientConfig document (IMAP and SMTP only; POP3 ignored)."""
    text = _checked_text(document)
    # Safe without defusedxml: _checked_text refused every DTD, so no entity can exist.
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))  # noqa: S314
    try:
        root = ET.fromstring(text, parser=parser)  # noqa: S314
    except ET.ParseError as exc:
        raise InvalidConfigDocument(f"the configuration document is not valid XML: {exc}") from exc
    if root.tag != "clientConfig":
        raise InvalidConfigDocument("the document is not a clientConfig")
    return [_provider(element) for element in root.iter("emailProvider")]


def _checked_text(document: bytes) -> str:
    """The document as text, refused when too big, not UTF-8/ASCII, or declaring a DTD.

    Insisting on UTF-8 without NUL characters means no other encoding (UTF-16, EBCDIC …) can
    hide a ``<!DOCTYPE`` from the textual check.
    """
    if len(document) > MAX_DOCUMENT_BYTES:
        raise InvalidConfigDocument("the configuration document is larger than 1 MiB")
    try:
        text = document.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidConfigDocument("the configuration document is not UTF-8") from exc
    declared = _DECLARED_ENCODING.match(text)
    if "\x00" in text or (declared and declared.group(1).lower() not in ("utf-8", "us-ascii")):
        raise InvalidConfigDocument("the configuration document is not UTF-8")
    lowered = text.lower()
    if "<!doctype" in lowered or "<!entity" in lowered:
        raise InvalidConfigDocument("the configuration document declares a DTD, which is refused")
    return text


def _provider(element: ET.Element) -> ProviderConfig:
    domains: list[str] = []
    mx_domains: list[str] = []
    under_mx_comment = False
    for child in element:
        if not isinstance(child.tag, str):  # a comment: its tag is the Comment factory
            under_mx_comment = bool(_MX_COMMENT.search(child.text or ""))
        elif child.tag == "domain" and (name := _text(child).lower()):
            domains.append(name)
            if under_mx_comment:
                mx_domains.append(name)
    return ProviderConfig(
        id=element.get("id", "") or (domains[0] if domains else ""),
        name=_text(element.find("displayName")),
        domains=tuple(dict.fromkeys(domains)),
        mx_domains=tuple(dict.fromkeys(mx_domains)),
        imap=_servers(element, "incomingServer", "imap"),
        smtp=_servers(element, "outgoingServer", "smtp"),
    )


def _servers(element: ET.Element, tag: str, kind: Protocol) -> tuple[ServerTemplate, ...]:
    found = []
    for server in element.findall(tag):
        security = _SECURITY.get(_text(server.find("socketType")).lower())
        host = _text(server.find("hostname"))
        port = _text(server.find("port"))
        if server.get("type") != kind or security is None or not host or not _valid_port(port):
            continue
        username = _text(server.find("username")) or "%EMAILADDRESS%"
        found.append(ServerTemplate(host, int(port), security, username))
    return tuple(dict.fromkeys(found))


def _valid_port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) < 65536


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""
