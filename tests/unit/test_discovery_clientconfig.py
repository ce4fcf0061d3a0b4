"""The clientConfig parser: what it keeps from ISP database files, and what it refuses."""

from __future__ import annotations

import pytest

from inboxlink.discovery.clientconfig import (
    MAX_DOCUMENT_BYTES,
    InvalidConfigDocument,
    ServerTemplate,
    expand_username,
    parse_client_config,
)
from inboxlink.domain.servers import ServerSettings

DOCUMENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.com">
    <domain>example.com</domain>
    <!-- MX servers of hosting customers -->
    <domain>mx-example.net</domain>
    <!-- back to ordinary domains -->
    <domain>Example.ORG</domain>
    <displayName>Example Mail</displayName>
    <incomingServer type="pop3">
      <hostname>pop.example.com</hostname><port>995</port><socketType>SSL</socketType>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname><port>143</port><socketType>STARTTLS</socketType>
      <username>%EMAILLOCALPART%</username>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.example.com</hostname><port>993</port><socketType>SSL</socketType>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.com</hostname><port>25</port><socketType>plain</socketType>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.com</hostname><port>99999</port><socketType>SSL</socketType>
    </outgoingServer>
  </emailProvider>
</clientConfig>
"""


def test_keeps_imap_and_smtp_and_ignores_pop3() -> None:
    [provider] = parse_client_config(DOCUMENT)
    assert provider.id == "example.com"
    assert provider.name == "Example Mail"
    assert provider.imap == (
        ServerTemplate("imap.%EMAILDOMAIN%", 143, "starttls", "%EMAILLOCALPART%"),
        ServerTemplate("imap.example.com", 993, "ssl", "%EMAILADDRESS%"),
    )
    assert provider.smtp == (ServerTemplate("smtp.example.com", 25, "none", "%EMAILADDRESS%"),)


def test_domains_after_an_mx_comment_are_mx_domains() -> None:
    [provider] = parse_client_config(DOCUMENT)
    assert provider.domains == ("example.com", "mx-example.net", "example.org")
    assert provider.mx_domains == ("mx-example.net",)


def test_json_round_trip() -> None:
    [provider] = parse_client_config(DOCUMENT)
    assert type(provider).from_json(provider.to_json()) == provider


def test_templates_are_filled_for_the_user() -> None:
    template = ServerTemplate("imap.%EMAILDOMAIN%", 143, "starttls", "%EMAILLOCALPART%")
    assert template.settings_for("Jane@Example.com") == ServerSettings(
        "imap.example.com", 143, "starttls", "Jane"
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("%EMAILADDRESS%", "jane@example.com"),
        ("%EMAILLOCALPART%", "jane"),
        ("%EMAILLOCALPART%.%EMAILDOMAIN%", "jane.example.com"),
        ("%EMAILADDRESS", "jane@example.com"),  # a typo found in the ISP database
        ("", "jane@example.com"),
        ("fixed-user", "fixed-user"),
    ],
)
def test_username_templates(template: str, expected: str) -> None:
    assert expand_username(template, "jane@example.com") == expected


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><clientConfig>&a;</clientConfig>',
        b"<!doctype clientConfig SYSTEM 'file:///etc/passwd'><clientConfig/>",
        "<!DOCTYPE x><clientConfig/>".encode("utf-16"),
        "<!DOCTYPE x><clientConfig/>".encode("utf-16-le"),
        b'<?xml version="1.0" encoding="ISO-8859-1"?><clientConfig/>',
        b"<clientConfig><emailProvider>",
        b"<html><body>not found</body></html>",
    ],
)
def test_refuses_dtds_other_encodings_and_non_configs(document: bytes) -> None:
    with pytest.raises(InvalidConfigDocument):
        parse_client_config(document)


def test_refuses_oversized_documents() -> None:
    padding = b" " * MAX_DOCUMENT_BYTES
    with pytest.raises(InvalidConfigDocument, match="larger"):
        parse_client_config(b"<clientConfig>" + padding + b"</clientConfig>")
