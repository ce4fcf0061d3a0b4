"""Settings detection end to end: every source of the chain against real servers on loopback.

dnsmasq answers all DNS; autoconfig documents come from real HTTPS servers with certificates
from a test CA; probes meet small IMAP/SMTP greeters on the product's fixed ports.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest

from inboxlink.config import Settings
from inboxlink.discovery.detect import detect
from inboxlink.discovery.model import Detection, DomainServers
from inboxlink.domain.servers import ServerSettings
from inboxlink.net.dns import Resolver
from inboxlink.net.policy import NetworkPolicy
from tests.support.discovery_fixtures import MailGreeters, loopback_address
from tests.support.dns_server import DnsServer
from tests.support.https_server import HttpsServer, Response

HttpsServerFactory = Callable[[str, dict[str, Response]], HttpsServer]

pytestmark = pytest.mark.timeout(60)

AUTOCONFIG_PATH = "/mail/config-v1.1.xml"
WELL_KNOWN_PATH = "/.well-known/autoconfig/mail/config-v1.1.xml"


def client_config(domain: str, username: str = "%EMAILLOCALPART%") -> Response:
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1"><emailProvider id="{domain}">
  <domain>{domain}</domain><displayName>{domain} mail</displayName>
  <incomingServer type="imap"><hostname>imap.{domain}</hostname><port>993</port>
    <socketType>SSL</socketType><username>{username}</username></incomingServer>
  <outgoingServer type="smtp"><hostname>smtp.{domain}</hostname><port>587</port>
    <socketType>STARTTLS</socketType><username>{username}</username></outgoingServer>
</emailProvider></clientConfig>"""
    return Response(body=body.encode())


async def run(settings: Settings, email: str, admin: DomainServers | None = None) -> Detection:
    resolver = Resolver(settings)

    async def admin_lookup(domain: str) -> DomainServers | None:
        return admin

    return await detect(
        email,
        settings=settings,
        resolver=resolver,
        policy=NetworkPolicy(settings, resolver),
        admin_lookup=admin_lookup,
    )


def outcomes(detection: Detection) -> list[tuple[str, str, str]]:
    return [(s.source, s.target, s.outcome) for s in detection.steps]


async def test_admin_settings_come_first(
    dns_server: DnsServer, discovery_settings: Settings
) -> None:
    dns_server.start()
    saved = DomainServers(
        imap=ServerSettings("imap.corp.example", 993, "ssl", ""),
        smtp=ServerSettings("smtp.corp.example", 587, "starttls", "%EMAILLOCALPART%"),
    )
    detection = await run(discovery_settings, "jane@corp.example", saved)
    assert detection.source == "admin"
    assert detection.imap == ServerSettings("imap.corp.example", 993, "ssl", "jane@corp.example")
    assert detection.smtp == ServerSettings("smtp.corp.example", 587, "starttls", "jane")
    assert outcomes(detection) == [("admin", "corp.example", "found")]
    assert "administrator" in detection.message


async def test_provider_database_by_domain(
    dns_server: DnsServer, discovery_settings: Settings
) -> None:
    dns_server.start()
    detection = await run(discovery_settings, "jane@gmx.net")
    assert (detection.provider, detection.source) == ("imap", "ispdb")
    assert detection.imap == ServerSettings("imap.gmx.net", 993, "ssl", "jane@gmx.net")
    assert detection.smtp is not None and detection.smtp.host == "mail.gmx.net"
    assert outcomes(detection) == [("admin", "gmx.net", "not_found"), ("ispdb", "gmx.net", "found")]


async def test_gmail_address_still_gets_imap_settings(
    dns_server: DnsServer, discovery_settings: Settings
) -> None:
    dns_server.start()
    detection = await run(discovery_settings, "jane@gmail.com")
    assert (detection.provider, detection.source) == ("gmail", "ispdb")
    assert detection.imap is not None and detection.imap.host == "imap.gmail.com"
    assert detection.message.startswith("Connect to Gmail.")


async def test_autoconfig_subdomain(
    dns_server: DnsServer, discovery_settings: Settings, https_servers: HttpsServerFactory
) -> None:
    server = https_servers(
        "autoconfig.auto.example", {AUTOCONFIG_PATH: client_config("auto.example")}
    )
    dns_server.add_address("autoconfig.auto.example", server.address)
    dns_server.start()
    detection = await run(discovery_settings, "jane@auto.example")
    assert detection.source == "autoconfig"
    assert detection.imap == ServerSettings("imap.auto.example", 993, "ssl", "jane")
    assert detection.smtp == ServerSettings("smtp.auto.example", 587, "starttls", "jane")
    assert server.requests == [
        (
            f"{AUTOCONFIG_PATH}?emailaddress={quote('jane@auto.example', safe='')}",
            "autoconfig.auto.example",
        )
    ]


async def test_autoconfig_well_known_after_a_refused_document_and_a_redirect(
    dns_server: DnsServer, discovery_settings: Settings, https_servers: HttpsServerFactory
) -> None:
    evil = Response(body=b'<!DOCTYPE x [<!ENTITY e "e">]><clientConfig>&e;</clientConfig>')
    first = https_servers("autoconfig.wk.example", {AUTOCONFIG_PATH: evil})
    config = https_servers("config.wk.example", {"/wk.xml": client_config("wk.example")})
    domain = https_servers(
        "wk.example", {WELL_KNOWN_PATH: Response.redirect("https://config.wk.example/wk.xml")}
    )
    dns_server.add_address("autoconfig.wk.example", first.address)
    dns_server.add_address("wk.example", domain.address)
    dns_server.add_address("config.wk.example", config.address)
    dns_server.start()
    detection = await run(discovery_settings, "jane@wk.example")
    assert detection.source == "autoconfig"
    assert detection.imap is not None and detection.imap.host == "imap.wk.example"
    [refused, found] = [s for s in detection.steps if s.source == "autoconfig"]
    assert (refused.outcome, found.outcome) == ("error", "found")
    assert "DTD" in refused.detail
    assert found.target == f"https://wk.example{WELL_KNOWN_PATH}"
    assert config.requests == [("/wk.xml", "config.wk.example")]


async def test_srv_records(dns_server: DnsServer, discovery_settings: Settings) -> None:
    dns_server.add_srv("_imaps._tcp.srv.example", "mail.srv.example", 993)
    dns_server.add_srv("_submissions._tcp.srv.example")  # target ".": not offered
    dns_server.add_srv("_submission._tcp.srv.example", "out.srv.example", 587)
    dns_server.start()
    detection = await run(discovery_settings, "jane@srv.example")
    assert detection.source == "srv"
    assert detection.imap == ServerSettings("mail.srv.example", 993, "ssl", "jane@srv.example")
    assert detection.smtp == ServerSettings("out.srv.example", 587, "starttls", "jane@srv.example")
    assert [s[1:] for s in outcomes(detection) if s[0] == "srv"] == [
        ("_imaps._tcp.srv.example", "found"),
        ("_submissions._tcp.srv.example", "not_found"),
        ("_submission._tcp.srv.example", "found"),
    ]


async def test_mx_host_in_the_provider_database(
    dns_server: DnsServer, discovery_settings: Settings
) -> None:
    dns_server.add_mx("zoho-custom.example", "mx.zoho.eu")
    dns_server.start()
    detection = await run(discovery_settings, "jane@zoho-custom.example")
    assert (detection.provider, detection.source) == ("imap", "mx")
    assert detection.imap == ServerSettings("imap.zoho.eu", 993, "ssl", "jane@zoho-custom.example")
    assert ("mx", "mx.zoho.eu", "found") in outcomes(detection)


@pytest.mark.parametrize(
    ("mx_host", "provider", "imap_host"),
    [
        ("aspmx.l.google.com", "gmail", "imap.gmail.com"),
        ("workspace-test.mail.protection.outlook.com", "microsoft", "outlook.office365.com"),
    ],
)
async def test_google_and_microsoft_custom_domains(
    dns_server: DnsServer,
    discovery_settings: Settings,
    mx_host: str,
    provider: str,
    imap_host: str,
) -> None:
    dns_server.add_mx("workspace.example", mx_host)
    dns_server.start()
    detection = await run(discovery_settings, "jane@workspace.example")
    assert detection.provider == provider
    assert detection.imap is not None and detection.imap.host == imap_host


async def test_amazon_ses_is_unsupported(
    dns_server: DnsServer, discovery_settings: Settings
) -> None:
    dns_server.add_mx("ses.example", "inbound-smtp.us-east-1.amazonaws.com")
    dns_server.start()
    detection = await run(discovery_settings, "jane@ses.example")
    assert detection.to_dict() | {"message": ""} == {
        "provider": "unsupported",
        "imap": None,
        "smtp": None,
        "source": None,
        "steps": [],
        "message": "",
    }
    assert "Amazon SES or Amazon WorkMail" in detection.message
    assert "Gmail or Office 365" in detection.message


async def test_autodiscover_srv_recommends_exchange(
    dns_server: DnsServer, discovery_settings: Settings
) -> None:
    dns_server.add_srv("_autodiscover._tcp.exch.example", "mail.exch.example", 443)
    dns_server.start()
    detection = await run(discovery_settings, "jane@exch.example")
    assert detection.provider == "exchange"


async def test_probing_the_usual_names(
    dns_server: DnsServer, discovery_settings: Settings, mail_greeters: MailGreeters
) -> None:
    imap_address, smtp_address = loopback_address(), loopback_address()
    await mail_greeters.start(imap_address, "imap.probe.example", 993)
    await mail_greeters.start(imap_address, "imap.probe.example", 143)
    await mail_greeters.start(smtp_address, "smtp.probe.example", 587)
    dns_server.add_address("imap.probe.example", imap_address)
    dns_server.add_address("smtp.probe.example", smtp_address)
    dns_server.start()
    detection = await run(discovery_settings, "jane@probe.example")
    assert detection.source == "probe"
    assert detection.imap == ServerSettings("imap.probe.example", 993, "ssl", "jane@probe.example")
    assert detection.smtp == ServerSettings(
        "smtp.probe.example", 587, "starttls", "jane@probe.example"
    )
    probes = {s[1]: s[2] for s in outcomes(detection) if s[0] == "probe"}
    assert probes == {
        "imap.probe.example:993": "found",
        "imap.probe.example:143": "found",
        "mail.probe.example:993": "not_found",
        "mail.probe.example:143": "not_found",
        "smtp.probe.example:465": "not_found",
        "smtp.probe.example:587": "found",
        "mail.probe.example:465": "not_found",
        "mail.probe.example:587": "not_found",
    }
    assert "not trusted" not in detection.message


async def test_probe_with_an_untrusted_certificate(
    dns_server: DnsServer, discovery_settings: Settings, mail_greeters: MailGreeters
) -> None:
    address = loopback_address()
    await mail_greeters.start(address, "mail.selfsigned.example", 993, trusted=False)
    await mail_greeters.start(address, "mail.selfsigned.example", 465, trusted=False)
    dns_server.add_address("mail.selfsigned.example", address)
    dns_server.start()
    detection = await run(discovery_settings, "jane@selfsigned.example")
    assert detection.imap is not None and detection.imap.host == "mail.selfsigned.example"
    [step] = [s for s in detection.steps if s.target == "mail.selfsigned.example:993"]
    assert step.outcome == "found" and "certificate is not trusted" in step.detail
    assert "Trust any certificate" in detection.message


async def test_private_networks_are_refused_and_said_so(
    dns_server: DnsServer,
    discovery_ca: object,
    monkeypatch: pytest.MonkeyPatch,
    https_servers: HttpsServerFactory,
    mail_greeters: MailGreeters,
) -> None:
    server = https_servers(
        "autoconfig.private.example", {AUTOCONFIG_PATH: client_config("x.example")}
    )
    greeter_address = loopback_address()
    await mail_greeters.start(greeter_address, "imap.private.example", 993)
    dns_server.add_address("autoconfig.private.example", server.address)
    dns_server.add_address("imap.private.example", greeter_address)
    dns_server.start()
    monkeypatch.setenv("INBOXLINK_DNS_NAMESERVERS", dns_server.nameserver)
    monkeypatch.setenv("INBOXLINK_ALLOW_PRIVATE_NETWORKS", "0")
    detection = await run(Settings(), "jane@private.example")
    assert (detection.imap, detection.smtp, detection.source) == (None, None, None)
    refused = [s for s in detection.steps if s.error_code == "network_not_allowed"]
    assert {s.target for s in refused} >= {
        f"https://autoconfig.private.example{AUTOCONFIG_PATH}?emailaddress=jane%40private.example",
        "imap.private.example:993",
    }
    assert all(s.outcome == "error" for s in refused)
    assert server.requests == []
    assert "INBOXLINK_ALLOW_PRIVATE_NETWORKS" in detection.message
