"""Connect an on-premises Exchange inbox (P5, P8, P11, §6) in a real browser: a live
``inboxlink serve`` reaching the EWS emulator through the test's dnsmasq, so Autodiscover, the
OWA-to-EWS recommendation and the version check run exactly as they would against a company's
server.

Each test decides what DNS knows about ``acme.test``: an ``_autodiscover._tcp`` SRV record (so
Autodiscover finds the server and the address is recommended for Exchange), or only the EWS
host (so Autodiscover fails and the user has to give the Exchange URL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.emulators.ews import EwsEmulator
from tests.support.browser import screenshot
from tests.support.certs import CertificateAuthority
from tests.support.dns_server import DnsServer
from tests.support.ews_fixtures import StartEws
from tests.support.live_server import LiveServer
from tests.support.ui import (
    inbox_row,
    open_exchange_form,
    set_up_account,
    show_optional_fields,
)

DOMAIN = "acme.test"
JANE, PASSWORD = "jane@acme.test", "s3cret-Exchange"
EWS_URL = f"https://mail.{DOMAIN}/EWS/Exchange.asmx"
OWA_URL = f"https://mail.{DOMAIN}/owa/#path=/mail"

StartServer = Callable[[], LiveServer]


def exchange(start_ews: StartEws, *, host: str = f"mail.{DOMAIN}", **kwargs: str) -> EwsEmulator:
    """An Exchange server holding Jane's mailbox, with a certificate for the Autodiscover names."""
    emulator = start_ews([DOMAIN, f"autodiscover.{DOMAIN}", host], host=host, **kwargs)
    emulator.add_mailbox(JANE, PASSWORD)
    return emulator


@pytest.fixture
def start_server(
    tmp_path: Path, dns_server: DnsServer, discovery_ca: CertificateAuthority
) -> Iterator[StartServer]:
    """Start dnsmasq (with the records the test added) and a live server that trusts the
    emulator's CA and may reach loopback addresses."""
    started: list[LiveServer] = []

    def start() -> LiveServer:
        dns_server.start()
        live = LiveServer(tmp_path / "server")
        live.data_dir.mkdir()
        live.env = {
            "INBOXLINK_ALLOW_PRIVATE_NETWORKS": "1",
            "INBOXLINK_EXTRA_CA_FILE": str(discovery_ca.cert_path),
            "INBOXLINK_DNS_NAMESERVERS": dns_server.nameserver,
            "INBOXLINK_DNS_TIMEOUT_SECONDS": "1",
            "INBOXLINK_PROBE_TIMEOUT_SECONDS": "2",
            "INBOXLINK_CONNECT_TIMEOUT_SECONDS": "5",
            "INBOXLINK_POLL_SECONDS": "0.5",
            "INBOXLINK_EWS_POLL_SECONDS": "0.5",
        }
        live.start()
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()


def connect(page: Page) -> None:
    page.get_by_role("button", name="Connect your inbox").click()


def expect_connected(page: Page, server: LiveServer, shot: str) -> None:
    """Back in Settings → General → Email with the confirmation dialog, then the synced row."""
    dialog = page.get_by_role("dialog", name="Your inbox is connected")
    expect(dialog).to_be_visible(timeout=30_000)
    expect(page).to_have_url(f"{server.url}/settings/email")
    expect(dialog).to_contain_text(JANE)
    screenshot(page, shot)
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    row = inbox_row(page, JANE)
    expect(row).to_contain_text("Microsoft Exchange")
    expect(row).to_contain_text("Connected")
    expect(row).to_contain_text("Up to date", timeout=30_000)


def test_connect_with_autodiscover(
    page: Page, start_server: StartServer, dns_server: DnsServer, start_ews: StartEws
) -> None:
    emu = exchange(start_ews)
    dns_server.add_address(emu.host, emu.address)
    dns_server.add_srv(f"_autodiscover._tcp.{DOMAIN}", emu.host, 443)
    server = start_server()
    set_up_account(page, server)

    open_exchange_form(page, JANE, shots="exchange", recommended=True)
    # Only email and password are needed; the optional fields stay folded away (P8).
    expect(page.get_by_text("app password")).to_be_visible()
    expect(page.get_by_label("Exchange URL")).to_be_hidden()
    expect(page.get_by_label("Username")).to_be_hidden()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    screenshot(page, "exchange-5-credentials")
    connect(page)

    expect_connected(page, server, "exchange-6-connected")
    assert emu.autodiscover_requests == [JANE]
    screenshot(page, "exchange-7-list")


def test_pasted_webmail_address_gets_the_recommended_exchange_url(
    page: Page, start_server: StartServer, dns_server: DnsServer, start_ews: StartEws
) -> None:
    emu = exchange(start_ews)
    dns_server.add_address(emu.host, emu.address)  # no Autodiscover: the URL is needed
    server = start_server()
    set_up_account(page, server)
    open_exchange_form(page, JANE)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    show_optional_fields(page)

    # Exchange Online is pointed to the Microsoft Outlook connection while typing.
    field = page.get_by_label("Exchange URL")
    field.fill("https://outlook.office365.com/owa/")
    hint = page.locator("#ews-recommendation")
    expect(hint).to_contain_text("use_microsoft_connection")
    expect(hint.get_by_role("button", name="Connect with Microsoft Outlook")).to_be_visible()

    # The webmail page copied from the browser: the EWS URL on that host is recommended.
    field.fill(OWA_URL)
    expect(hint).to_contain_text(
        f"We recommend {EWS_URL} — this is the Exchange URL that belongs to the webmail page "
        "you pasted."
    )
    screenshot(page, "exchange-owa-recommendation")
    hint.get_by_role("button", name="Use this URL").click()
    expect(field).to_have_value(EWS_URL)
    expect(hint).to_contain_text("The recommended Exchange URL is filled in.")
    expect(page.get_by_label("Password", exact=True)).to_have_value(PASSWORD)  # kept
    connect(page)

    expect_connected(page, server, "exchange-owa-connected")
    assert emu.autodiscover_requests == []  # the URL was given, so no Autodiscover


def test_without_javascript_the_recommendation_is_used_and_said(
    browser: Browser, start_server: StartServer, dns_server: DnsServer, start_ews: StartEws
) -> None:
    """The pasted OWA address submitted as it is: the server probes the recommended URL, uses it
    and says so in the success dialog; all of it with JavaScript off (the form is plain HTML)."""
    emu = exchange(start_ews)
    dns_server.add_address(emu.host, emu.address)
    server = start_server()
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 800}
    )
    page = context.new_page()
    try:
        set_up_account(page, server)
        open_exchange_form(page, JANE)
        show_optional_fields(page)
        page.get_by_label("Exchange URL").fill(f"https://mail.{DOMAIN}/owa/auth/logon.aspx?url=x")
        # Without JavaScript, "Use this URL" is a submit that fills the field in the next page.
        page.get_by_label("Password", exact=True).fill("wrong")
        connect(page)
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("auth_failed")
        expect(alert).to_contain_text("app password")
        expect(page.get_by_label("Password", exact=True)).to_have_value("")  # never sent back
        hint = page.locator("#ews-recommendation")
        expect(hint).to_contain_text(f"We recommend {EWS_URL}")
        screenshot(page, "exchange-nojs-wrong-password")
        hint.get_by_role("button", name="Use this URL").click()
        expect(page.get_by_label("Exchange URL")).to_have_value(EWS_URL)
        expect(page.get_by_role("status").first).to_contain_text("Enter your password")

        page.get_by_label("Exchange URL").fill(OWA_URL)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        connect(page)
        dialog = page.get_by_role("dialog", name="Your inbox is connected")
        expect(dialog).to_be_visible(timeout=30_000)
        expect(dialog).to_contain_text(JANE)
        assert "used_recommended_url=1" in page.url
        screenshot(page, "exchange-nojs-connected")
    finally:
        context.close()


def test_the_success_dialog_says_the_recommended_url_was_used(
    page: Page, start_server: StartServer, dns_server: DnsServer, start_ews: StartEws
) -> None:
    emu = exchange(start_ews)
    dns_server.add_address(emu.host, emu.address)
    server = start_server()
    set_up_account(page, server)
    open_exchange_form(page, JANE)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    show_optional_fields(page)
    page.get_by_label("Exchange URL").fill(OWA_URL)
    connect(page)  # the pasted address as it is, without "Use this URL"
    dialog = page.get_by_role("dialog", name="Your inbox is connected")
    expect(dialog).to_be_visible(timeout=30_000)
    expect(dialog).to_contain_text(
        f"We used the recommended Exchange URL, {EWS_URL}", timeout=2_000
    )
    screenshot(page, "exchange-recommended-dialog")


def test_an_exchange_2007_server_is_refused_clearly(
    page: Page, start_server: StartServer, dns_server: DnsServer, start_ews: StartEws
) -> None:
    emu = exchange(start_ews, version="Exchange2007_SP1")
    dns_server.add_address(emu.host, emu.address)
    dns_server.add_address(f"autodiscover.{DOMAIN}", emu.address)
    server = start_server()
    set_up_account(page, server)
    open_exchange_form(page, JANE)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    connect(page)

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("exchange_version_unsupported")
    expect(alert).to_contain_text("Exchange 2010 SP2 or later")
    expect(alert).to_be_focused()
    screenshot(page, "exchange-2007-refused")
    # A way on: IMAP, if the old server offers it; nothing was connected.
    alert.get_by_role("button", name="Connect with IMAP instead").click()
    expect(page.get_by_text("no other applications of the provider are connected")).to_be_visible()
    page.goto(f"{server.url}/settings/email")
    expect(page.get_by_text("No personal inbox connected yet.")).to_be_visible()


def test_autodiscover_failure_opens_the_optional_fields(
    page: Page, start_server: StartServer, dns_server: DnsServer, start_ews: StartEws
) -> None:
    emu = exchange(start_ews)
    dns_server.add_address(emu.host, emu.address)  # EWS exists, but nothing points to it
    server = start_server()
    set_up_account(page, server)
    open_exchange_form(page, JANE, shots="exchange-autodiscover")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    connect(page)

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("autodiscover_failed")
    expect(alert).to_contain_text("username and the Exchange URL")
    expect(page.locator("details#optional-fields")).to_have_attribute("open", "")
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_label("Exchange URL")).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    page.get_by_text("Autodiscover steps tried (4)").click()
    steps = page.locator(".steps li")
    expect(steps).to_have_count(4)
    expect(steps.first).to_contain_text(f"https://{DOMAIN}/autodiscover/autodiscover.xml")
    screenshot(page, "exchange-autodiscover-failed")

    page.get_by_label("Username").fill("jane")
    page.get_by_label("Exchange URL").fill(EWS_URL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    connect(page)
    expect_connected(page, server, "exchange-autodiscover-then-url")
    assert emu.autodiscover_requests == []
