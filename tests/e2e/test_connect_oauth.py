"""Connect Gmail and Microsoft Outlook inboxes over OAuth in a real browser (P3, P5-P7, P11,
R2, G4): a live ``inboxlink serve`` pointed at the Google and Microsoft emulators, whose consent
pages the browser answers as a user would.

DNS goes to a local dnsmasq that knows nothing about ``*.test``, so an address there cannot be
recommended and the user picks the provider; ``gmail.com`` is recommended without DNS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.emulators.google import GoogleEmulator
from tests.emulators.microsoft import MicrosoftEmulator
from tests.support.browser import screenshot
from tests.support.dns_server import DnsServer
from tests.support.live_server import LiveServer
from tests.support.mail_samples import sample_message
from tests.support.ui import enter_address, inbox_row, set_up_account

MakeServer = Callable[..., LiveServer]


@pytest.fixture
def make_server(
    tmp_path: Path,
    dns_server: DnsServer,
    google_emulator: GoogleEmulator,
    microsoft_emulator: MicrosoftEmulator,
) -> Iterator[MakeServer]:
    """A live server using both emulators; ``google=False`` leaves Google unconfigured."""
    dns_server.start()
    started: list[LiveServer] = []

    def make(*, google: bool = True) -> LiveServer:
        live = LiveServer(tmp_path / f"server-{len(started)}")
        live.data_dir.mkdir()
        google_emulator.redirect_uris.add(f"{live.url}/oauth/gmail/callback")
        microsoft_emulator.redirect_uris.add(f"{live.url}/oauth/microsoft/callback")
        live.env = {
            "INBOXLINK_DNS_NAMESERVERS": dns_server.nameserver,
            "INBOXLINK_DNS_TIMEOUT_SECONDS": "1",
            "INBOXLINK_CONNECT_TIMEOUT_SECONDS": "5",
            "INBOXLINK_POLL_SECONDS": "0.5",
            "INBOXLINK_GMAIL_POLL_SECONDS": "0.5",
            "INBOXLINK_MICROSOFT_CLIENT_ID": microsoft_emulator.client_id,
            "INBOXLINK_MICROSOFT_CLIENT_SECRET": microsoft_emulator.client_secret,
            "INBOXLINK_MICROSOFT_LOGIN_URL": microsoft_emulator.url,
            "INBOXLINK_MICROSOFT_GRAPH_URL": microsoft_emulator.url,
            "INBOXLINK_GOOGLE_ACCOUNTS_URL": google_emulator.url,
            "INBOXLINK_GOOGLE_API_URL": google_emulator.url,
        }
        if google:
            live.env["INBOXLINK_GOOGLE_CLIENT_ID"] = google_emulator.client_id
            live.env["INBOXLINK_GOOGLE_CLIENT_SECRET"] = google_emulator.client_secret
        live.start()
        started.append(live)
        return live

    yield make
    for live in started:
        live.stop()


def start_gmail(page: Page, email: str, shots: str = "") -> None:
    """Address → "Connect to Gmail" (recommended) → disclosure → Continue → Google's page."""
    enter_address(page, email, shots)
    recommended = page.get_by_role("button", name="Connect to Gmail")
    expect(recommended).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-3-recommended")
    recommended.click()
    expect(page.get_by_text("schedule sends and edit drafts")).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-4-disclosure")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Choose an account")).to_be_visible()


def test_connect_gmail_by_address_recommendation(
    page: Page, make_server: MakeServer, google_emulator: GoogleEmulator
) -> None:
    server = make_server()
    google_emulator.add_account("someone@gmail.com", "Someone Else")
    google_emulator.add_account(
        "jane@gmail.com", "Jane Doe", aliases={"sales@acme.test": "Acme Sales"}
    )
    set_up_account(page, server)
    start_gmail(page, "jane@gmail.com", shots="gmail")

    # Google's page: the typed address is offered first (login_hint); pick it and Allow.
    assert page.url.startswith(f"{google_emulator.url}/o/oauth2/v2/auth")
    account = page.get_by_role("radio", name=re.compile(r"jane@gmail\.com"))
    expect(account).to_be_checked()
    screenshot(page, "gmail-5-google-consent")
    page.get_by_role("radio", name=re.compile(r"someone@gmail\.com")).check()
    account.check()
    page.get_by_role("button", name="Allow").click()

    # Back in Settings → General → Email, where a dialog confirms the connection (P6).
    dialog = page.get_by_role("dialog", name="Your inbox is connected")
    expect(dialog).to_be_visible()
    expect(page).to_have_url(f"{server.url}/settings/email")
    expect(dialog).to_contain_text("jane@gmail.com")
    expect(dialog).to_contain_text("sales@acme.test")
    screenshot(page, "gmail-6-connected")
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()

    row = inbox_row(page, "jane@gmail.com")
    expect(row).to_contain_text("Gmail")
    expect(row).to_contain_text("Connected")
    expect(row).to_contain_text("Aliases (also in the From list): sales@acme.test")
    expect(row).to_contain_text("Up to date", timeout=30_000)
    expect(row).to_contain_text("Last successful sync")
    row.get_by_text("Options", exact=True).click()
    expect(row.get_by_label("Turn on inbox automation")).to_be_checked()
    screenshot(page, "gmail-7-list")

    # The alias is a From choice in the composer (P6).
    page.get_by_role("link", name="Contacts").click()
    page.get_by_label("Email").fill("ann@client.test")
    page.get_by_role("button", name="Add contact").click()
    sender = page.locator("#composer").get_by_label("From")
    expect(sender.locator("option", has_text="sales@acme.test")).to_have_count(1)
    expect(sender.locator("option")).to_have_count(2)  # the inbox and its alias


def test_connect_outlook_by_picking_the_provider(
    page: Page, make_server: MakeServer, microsoft_emulator: MicrosoftEmulator
) -> None:
    server = make_server()
    microsoft_emulator.add_account("jane@contoso.test", "Jane Doe")
    set_up_account(page, server)

    # contoso.test has no MX records: the recommendation cannot tell, so the user picks.
    enter_address(page, "jane@contoso.test")
    expect(page.get_by_role("group", name="Who provides this mailbox?")).to_be_visible()
    expect(page.get_by_role("button", name="Connect to Microsoft Outlook")).to_have_count(0)
    screenshot(page, "outlook-1-choose")
    page.get_by_role("button", name="Microsoft Outlook", exact=True).click()
    expect(page.get_by_text("the same kinds of data as a Gmail connection")).to_be_visible()
    screenshot(page, "outlook-2-disclosure")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Pick an account")).to_be_visible()
    assert page.url.startswith(microsoft_emulator.url)
    expect(page.get_by_role("radio", name=re.compile(r"jane@contoso\.test"))).to_be_checked()
    screenshot(page, "outlook-3-microsoft-sign-in")
    page.get_by_role("button", name="Accept").click()

    dialog = page.get_by_role("dialog", name="Your inbox is connected")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("jane@contoso.test")
    screenshot(page, "outlook-4-connected")
    dialog.get_by_role("button", name="Done").click()
    row = inbox_row(page, "jane@contoso.test")
    expect(row).to_contain_text("Microsoft Outlook")
    expect(row).to_contain_text("Connected")
    expect(row).to_contain_text("Up to date", timeout=30_000)


def test_refusals_are_explained_with_a_way_back(
    page: Page, make_server: MakeServer, google_emulator: GoogleEmulator
) -> None:
    server = make_server()
    google_emulator.add_account("guarded@gmail.com", "Guarded")
    google_emulator.advanced_protection.add("guarded@gmail.com")
    set_up_account(page, server)

    # Deny on Google's page: nothing connected, and "Try again" starts over.
    start_gmail(page, "guarded@gmail.com")
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("heading", name="Your Gmail inbox was not connected")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("consent_denied")
    screenshot(page, "gmail-denied")
    page.get_by_role("link", name="Try again").click()
    expect(page.get_by_label("Turn on inbox automation")).to_be_visible()

    # An Advanced Protection account (P6): said clearly, with its code; no pointless retry.
    page.goto(f"{server.url}/settings/email")
    start_gmail(page, "guarded@gmail.com")
    page.get_by_role("button", name="Allow").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Advanced Protection Program")
    expect(alert).to_contain_text("advanced_protection")
    expect(page.get_by_role("link", name="Try again")).to_have_count(0)
    expect(page.get_by_role("link", name="Connect another inbox")).to_be_visible()
    screenshot(page, "gmail-advanced-protection")

    # The same callback link again: single use, explained.
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("oauth_state_invalid")

    page.get_by_role("link", name="Back to Email settings").click()
    expect(page.get_by_text("No personal inbox connected yet.")).to_be_visible()


def test_an_unconfigured_provider_says_how_an_admin_configures_it(
    page: Page, make_server: MakeServer
) -> None:
    server = make_server(google=False)
    set_up_account(page, server)
    enter_address(page, "jane@gmail.com")
    page.get_by_role("button", name="Connect to Gmail").click()
    page.get_by_role("button", name="Continue").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("provider_not_configured")
    expect(alert).to_contain_text("INBOXLINK_GOOGLE_CLIENT_ID")
    expect(alert).to_contain_text("INBOXLINK_GOOGLE_CLIENT_SECRET")
    expect(alert).to_contain_text("app password")
    screenshot(page, "gmail-not-configured")
    # Microsoft is configured on this server, so another connection can be chosen.
    page.get_by_role("button", name="Choose another connection").click()
    expect(page.get_by_role("button", name="Microsoft Outlook", exact=True)).to_be_visible()
    page.get_by_role("button", name="Connect to Gmail").click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Connect with IMAP instead").click()
    expect(page.get_by_text("no other applications of the provider are connected")).to_be_visible()


def test_reconnect_after_a_revoked_gmail_grant(
    page: Page, make_server: MakeServer, google_emulator: GoogleEmulator
) -> None:
    server = make_server()
    google_emulator.add_account("jane@gmail.com", "Jane Doe")
    set_up_account(page, server)
    start_gmail(page, "jane@gmail.com")
    page.get_by_role("button", name="Allow").click()
    page.get_by_role("dialog", name="Your inbox is connected").get_by_role(
        "button", name="Done"
    ).click()
    row = inbox_row(page, "jane@gmail.com")
    expect(row).to_contain_text("Up to date", timeout=30_000)
    expect(row.get_by_role("button", name="Reconnect")).to_have_count(0)

    # The user removed inboxlink's access at Google: the page follows the inbox by itself.
    google_emulator.revoke_grants("jane@gmail.com")
    google_emulator.expire_access_tokens()
    expect(row).to_contain_text("Needs reconnecting", timeout=30_000)
    expect(row).to_contain_text("token_revoked")
    expect(row).to_contain_text("Reconnect the inbox")
    reconnect = row.get_by_role("button", name="Reconnect")
    expect(reconnect).to_be_visible()
    screenshot(page, "reconnect-1-needs-reconnect")
    page.reload()
    expect(page.get_by_role("link", name="Notifications, 1 unread")).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "reconnect-1-needs-reconnect-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 800})

    # Reconnect asks Google's consent again (R2) and keeps the same inbox.
    inbox_id = row.get_attribute("data-inbox-id")
    before = google_emulator.requests["GET /o/oauth2/v2/auth"]
    row.get_by_role("button", name="Reconnect").click()
    expect(page.get_by_role("heading", name="Choose an account")).to_be_visible()
    assert google_emulator.requests["GET /o/oauth2/v2/auth"] == before + 1
    assert "prompt=consent" in page.url
    expect(page.get_by_role("radio", name=re.compile(r"jane@gmail\.com"))).to_be_checked()
    page.get_by_role("button", name="Allow").click()

    dialog = page.get_by_role("dialog", name="Your inbox is connected")
    expect(dialog).to_contain_text("jane@gmail.com")
    screenshot(page, "reconnect-2-connected-again")
    dialog.get_by_role("button", name="Done").click()
    row = inbox_row(page, "jane@gmail.com")
    assert row.get_attribute("data-inbox-id") == inbox_id
    expect(row).to_contain_text("Connected")
    expect(row.get_by_role("button", name="Reconnect")).to_be_hidden()

    # Sync runs again: a new message from a contact is read.
    google_emulator.deliver(
        "jane@gmail.com",
        sample_message(
            "ann@client.test",
            "jane@gmail.com",
            message_id="<after@client.test>",
            subject="After reconnect",
            days_ago=0,
        ),
    )
    expect(row).to_contain_text("Up to date", timeout=30_000)
    expect(row).not_to_contain_text("token_revoked")
    screenshot(page, "reconnect-3-up-to-date")
