"""On-premises Exchange inboxes against the EWS emulator on loopback, reached through dnsmasq:
Autodiscover (each route), URL recommendation, refusals (Exchange Online, 2007, password,
certificate), and sync + sending driven by the product's worker ``Runner``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from inboxlink.config import Settings
from inboxlink.connectors import vault_context
from inboxlink.discovery.autodiscover import autodiscover
from inboxlink.discovery.ews_url import check_ews_url
from inboxlink.domain.enums import Provider, Role
from inboxlink.domain.permissions import Actor
from inboxlink.errors import AppError
from inboxlink.runtime import Runtime
from inboxlink.services.connect_exchange import (
    ExchangeConnectRequest,
    connect_exchange_inbox,
)
from inboxlink.store.tables import Inbox, Message
from inboxlink.worker.runner import Runner
from tests.emulators.ews import EwsEmulator
from tests.integration.test_imap_inbox import add_contact, eventually, timeline
from tests.support.accounts import Person, Team
from tests.support.discovery_fixtures import loopback_address
from tests.support.dns_server import DnsServer
from tests.support.ews_fixtures import StartEws
from tests.support.https_server import Response
from tests.support.mail_samples import sample_message

#: Until the root conftest lists it (it should: "tests.support.ews_fixtures").
DOMAIN = "acme.test"
JANE, PASSWORD = "jane@acme.test", "s3cret-Exchange"
ANN = "ann@client.test"
ALL_NAMES = [DOMAIN, f"autodiscover.{DOMAIN}", f"mail.{DOMAIN}"]


@pytest.fixture
def settings(settings: Settings, dns_server: DnsServer, discovery_ca: Any) -> Settings:
    values = settings.model_dump()
    values.update(
        dns_nameservers=dns_server.nameserver,
        dns_timeout_seconds=1.0,
        extra_ca_file=discovery_ca.cert_path,
        probe_timeout_seconds=2.0,
        connect_timeout_seconds=5.0,
        ews_poll_seconds=0.3,
        poll_seconds=1.0,
    )
    return Settings(**values)


def actor(person: Person) -> Actor:
    return Actor(user_id=person.id, account_id=person.account_id, role=Role.MEMBER)


def exchange(start_ews: StartEws, **kwargs: Any) -> EwsEmulator:
    emulator = start_ews([*ALL_NAMES, kwargs.get("host", f"mail.{DOMAIN}")], **kwargs)
    emulator.add_mailbox(JANE, PASSWORD)
    emulator.add_mailbox(ANN, "ann-password")
    return emulator


async def connect(runtime: Runtime, person: Person, **fields: Any) -> Inbox:
    request = ExchangeConnectRequest(**{"email": JANE, "password": PASSWORD, **fields})
    return await connect_exchange_inbox(runtime, actor(person), request)


async def refused(runtime: Runtime, person: Person, code: str, **fields: Any) -> AppError:
    with pytest.raises(AppError) as caught:
        await connect(runtime, person, **fields)
    assert caught.value.code == code, caught.value.to_dict()
    assert PASSWORD not in str(caught.value.to_dict())
    return caught.value


async def inbox_count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Inbox)) or 0)


@pytest.mark.parametrize("route", ["domain", "autodiscover_host", "redirect", "srv"])
async def test_autodiscover_finds_ews_by_each_route(
    runtime: Runtime,
    team: Team,
    dns_server: DnsServer,
    start_ews: StartEws,
    route: str,
) -> None:
    emu = exchange(start_ews)
    dns_server.add_address(emu.host, emu.address)
    if route == "domain":
        dns_server.add_address(DOMAIN, emu.address)
    elif route == "autodiscover_host":
        dns_server.add_address(f"autodiscover.{DOMAIN}", emu.address)
    elif route == "redirect":
        redirector = loopback_address()
        emu.serve_redirect(redirector, f"https://{emu.host}/autodiscover/autodiscover.xml")
        dns_server.add_address(f"autodiscover.{DOMAIN}", redirector)
    else:
        dns_server.add_srv(f"_autodiscover._tcp.{DOMAIN}", emu.host, 443)
    dns_server.start()

    found = await autodiscover(
        JANE,
        username=JANE,
        password=PASSWORD,
        settings=runtime.settings,
        policy=runtime.policy,
        resolver=runtime.resolver,
    )
    assert found.ews_url == emu.ews_url
    assert [s.source for s in found.steps if s.outcome == "found"][-1] == route
    assert emu.autodiscover_requests == [JANE]

    inbox = await connect(runtime, team.member)
    assert inbox.provider == Provider.EXCHANGE.value and inbox.state == "connected"
    assert inbox.settings["ews_url"] == emu.ews_url
    assert [f["role"] for f in inbox.settings["folders"]] == ["inbox", "sent"]
    assert PASSWORD not in str(inbox.settings)
    assert inbox.credentials is not None
    assert runtime.vault.open(inbox.credentials, context=vault_context(inbox.id)) == {
        "username": JANE,
        "password": PASSWORD,
    }


async def test_autodiscover_failure_asks_for_username_and_url(
    runtime: Runtime,
    team: Team,
    dns_server: DnsServer,
    start_ews: StartEws,
) -> None:
    emu = exchange(start_ews)
    dns_server.add_address(emu.host, emu.address)  # EWS exists, but nothing points to it
    dns_server.start()
    error = await refused(runtime, team.member, "autodiscover_failed")
    assert "username" in error.message and "Exchange URL" in error.message
    steps: list[dict[str, str]] = error.extra["steps"]  # type: ignore[assignment]
    assert [s["source"] for s in steps] == ["domain", "autodiscover_host", "redirect", "srv"]
    assert emu.autodiscover_requests == []
    # With the optional fields filled in, the same address connects.
    inbox = await connect(runtime, team.member, username="jane", ews_url=emu.ews_url)
    assert inbox.settings["username"] == "jane"


async def test_owa_address_or_host_is_corrected_to_the_ews_url(
    runtime: Runtime,
    team: Team,
    dns_server: DnsServer,
    start_ews: StartEws,
    https_servers: Any,
) -> None:
    emu = exchange(start_ews)
    webmail = https_servers(f"webmail.{DOMAIN}", {"/owa/": Response(200, b"<html>OWA</html>")})
    dns_server.add_address(emu.host, emu.address)
    dns_server.add_address(f"webmail.{DOMAIN}", webmail.address)
    dns_server.start()

    # Only a web page on that host: refused, with the recommendation for the form.
    error = await refused(
        runtime, team.member, "ews_url_not_found", ews_url=f"https://webmail.{DOMAIN}/owa/"
    )
    assert error.extra["recommended_url"] == f"https://webmail.{DOMAIN}/EWS/Exchange.asmx"

    inbox = await connect(runtime, team.member, ews_url=f"https://{emu.host}/owa/#path=/mail")
    assert inbox.settings["ews_url"] == f"https://{emu.host}/EWS/Exchange.asmx"

    await refused(runtime, team.member, "already_connected", ews_url=emu.host)


async def test_bare_host_and_logon_page_work_too(
    runtime: Runtime,
    team: Team,
    dns_server: DnsServer,
    start_ews: StartEws,
) -> None:
    emu = exchange(start_ews)
    dns_server.add_address(emu.host, emu.address)
    dns_server.start()
    logon = f"https://{emu.host}/owa/auth/logon.aspx?replaceCurrent=1&url=https%3a%2f%2f"
    inbox = await connect(runtime, team.member, ews_url=logon)
    assert inbox.settings["ews_url"] == emu.ews_url


async def test_refusals_store_nothing(
    runtime: Runtime,
    team: Team,
    dns_server: DnsServer,
    start_ews: StartEws,
) -> None:
    modern = exchange(start_ews)
    old = exchange(start_ews, version="Exchange2007_SP1", host=f"old.{DOMAIN}")
    untrusted = exchange(start_ews, trusted=False, host=f"selfsigned.{DOMAIN}")
    for emu in (modern, old, untrusted):
        dns_server.add_address(emu.host, emu.address)
    dns_server.start()

    online = await refused(
        runtime,
        team.member,
        "use_microsoft_connection",
        ews_url="https://outlook.office365.com/owa/",
    )
    assert "Microsoft Outlook" in online.message
    assert (
        "2010 SP2"
        in (
            await refused(runtime, team.member, "exchange_version_unsupported", ews_url=old.ews_url)
        ).message
    )
    wrong = await refused(
        runtime, team.member, "auth_failed", ews_url=modern.ews_url, password="wrong"
    )
    assert "app password" in wrong.message
    untrusted_error = await refused(
        runtime, team.member, "certificate_untrusted", ews_url=untrusted.ews_url
    )
    assert "Trust any certificate" in untrusted_error.message
    unreachable = f"https://{DOMAIN}/EWS/Exchange.asmx"  # no such host in DNS
    await refused(runtime, team.member, "host_not_found", ews_url=unreachable)
    assert await inbox_count(runtime) == 0

    inbox = await connect(
        runtime, team.member, ews_url=untrusted.ews_url, trust_any_certificate=True
    )
    assert inbox.settings["trust_any_certificate"] is True


async def test_backfill_incremental_and_send_through_the_worker(
    api: httpx.AsyncClient,
    runtime: Runtime,
    team: Team,
    dns_server: DnsServer,
    start_ews: StartEws,
    runner: Runner,
) -> None:
    emu = exchange(start_ews)
    dns_server.add_address(emu.host, emu.address)
    dns_server.add_address(f"autodiscover.{DOMAIN}", emu.address)
    dns_server.start()
    emu.deliver(JANE, sample_message(ANN, JANE, message_id="<q1@client.test>", subject="Quote"))
    emu.deliver(
        JANE,
        sample_message(ANN, JANE, message_id="<old@client.test>", subject="Old", days_ago=400),
        age_days=400,
    )
    emu.deliver(JANE, sample_message("x@other.test", JANE, message_id="<s1@other.test>"))
    ann_id = await add_contact(api, team.member, ANN)

    inbox = await connect(runtime, team.member)
    runtime.signals.inboxes_changed.set()

    async def subjects() -> list[str]:
        return [i["subject"] for i in await timeline(api, team.member, ann_id)]

    async def logged(subject: str) -> bool:
        return subject in await subjects()

    assert await eventually(lambda: logged("Quote"))
    async with runtime.sessions() as session:
        stored = set(await session.scalars(select(Message.message_id)))
    assert "<old@client.test>" not in stored  # older than the backfill window
    assert "<s1@other.test>" not in stored  # not a contact

    started = time.monotonic()
    emu.deliver(JANE, sample_message(ANN, JANE, message_id="<q2@client.test>", subject="Later"))
    assert await eventually(lambda: logged("Later"), timeout=10)
    assert time.monotonic() - started < runtime.settings.ews_poll_seconds + 5

    sent = await api.post(
        "/api/v1/emails",
        json={"inbox_id": inbox.id, "to": [ANN], "subject": "Proposal", "text": "Hi Ann"},
        headers=team.member.headers,
    )
    assert sent.status_code == 202, sent.text

    async def delivered() -> bool:
        return any(b"Subject: Proposal" in m.raw for m in emu.live(ANN, "inbox"))

    assert await eventually(delivered)
    assert [b"Subject: Proposal" in m.raw for m in emu.live(JANE, "sentitems")] == [True]
    assert await eventually(lambda: logged("Proposal"))
    await asyncio.sleep(4 * runtime.settings.ews_poll_seconds)  # the Sent Items copy syncs too
    assert (await subjects()).count("Proposal") == 1
    assert emu.operations["CreateItem"] == 1
    assert emu.unknown == []


@pytest.mark.parametrize(
    ("typed", "url", "recommended"),
    [
        (
            "https://mail.acme.com/EWS/Exchange.asmx",
            "https://mail.acme.com/EWS/Exchange.asmx",
            None,
        ),
        ("mail.acme.com/ews/exchange.asmx/", "https://mail.acme.com/ews/exchange.asmx", None),
        ("https://mail.acme.com/owa/#path=/mail", None, "https://mail.acme.com/EWS/Exchange.asmx"),
        (
            "https://mail.acme.com/owa/auth/logon.aspx?url=x",
            None,
            "https://mail.acme.com/EWS/Exchange.asmx",
        ),
        ("mail.acme.com", None, "https://mail.acme.com/EWS/Exchange.asmx"),
        ("http://mail.acme.com:8080/owa", None, "https://mail.acme.com/EWS/Exchange.asmx"),
        ("https://mail.acme.com:8443/owa", None, "https://mail.acme.com:8443/EWS/Exchange.asmx"),
    ],
)
def test_typed_exchange_urls_are_recognised(
    typed: str, url: str | None, recommended: str | None
) -> None:
    checked = check_ews_url(typed)
    assert checked.recommended == recommended
    if url is not None:
        assert checked.is_ews and checked.url == url


@pytest.mark.parametrize(
    "typed", ["https://outlook.office365.com/owa/", "outlook.office.com", "x.outlook.com"]
)
def test_exchange_online_is_sent_to_the_microsoft_connection(typed: str) -> None:
    with pytest.raises(AppError) as caught:
        check_ews_url(typed)
    assert caught.value.code == "use_microsoft_connection"


async def test_the_api_connects_exchange_by_autodiscover_and_refuses_old_servers(
    api: httpx.AsyncClient,
    runtime: Runtime,
    team: Team,
    dns_server: DnsServer,
    start_ews: StartEws,
) -> None:
    emu = exchange(start_ews)
    dns_server.add_address(emu.host, emu.address)
    dns_server.add_address(f"autodiscover.{DOMAIN}", emu.address)
    dns_server.start()
    body = {"kind": "personal", "provider": "exchange", "email": JANE, "password": PASSWORD}
    wrong = await api.post(
        "/api/v1/inboxes", json={**body, "password": "nope"}, headers=team.member.headers
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "auth_failed"
    created = await api.post("/api/v1/inboxes", json=body, headers=team.member.headers)
    assert created.status_code == 201, created.text
    assert created.json()["provider"] == "exchange"
    assert PASSWORD not in created.text
