"""Connect personal email (P1-P5, P9, P11) in a real browser against real Dovecot and Postfix.

DNS goes to a local dnsmasq that knows nothing about example.test, so detection ends in the
"settings not found" path and the servers are entered under Advanced options, as a user would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.support.browser import screenshot
from tests.support.dns_server import DnsServer
from tests.support.dovecot import Dovecot
from tests.support.live_server import LiveServer
from tests.support.mail_fixtures import MailboxUser, MailPki
from tests.support.postfix import Postfix
from tests.support.ui import (
    enter_address,
    fill_servers,
    mail_server_env,
    open_imap_form,
    set_up_account,
)


@pytest.fixture
def server(tmp_path: Path, mail_ca: MailPki, dns_server: DnsServer) -> Iterator[LiveServer]:
    dns_server.start()
    live = LiveServer(tmp_path, env=mail_server_env(mail_ca, dns_server))
    live.start()
    yield live
    live.stop()


def test_connect_an_imap_inbox_through_the_whole_flow(
    page: Page, server: LiveServer, dovecot: Dovecot, postfix: Postfix, mailbox: MailboxUser
) -> None:
    set_up_account(page, server)
    open_imap_form(page, mailbox.email, shots="connect")

    # Nothing was found for example.test: the form says so and lists what was tried.
    expect(page.get_by_text("We could not find the server settings")).to_be_visible()
    page.get_by_text("Steps tried").click()
    expect(page.locator(".steps li").first).to_be_visible()
    expect(page.get_by_text("app password")).to_be_visible()

    # Unchecking "same credentials" reveals the separate SMTP sign-in; checking hides it again.
    same = page.get_by_label("Outgoing mail (SMTP) uses the same credentials as incoming (IMAP)")
    same.uncheck()
    expect(page.get_by_label("SMTP username")).to_be_visible()
    expect(page.get_by_label("SMTP password")).to_be_visible()
    same.check()
    expect(page.get_by_label("SMTP username")).to_be_hidden()

    page.get_by_label("Password", exact=True).fill(mailbox.password)
    fill_servers(page, dovecot, postfix)
    expect(page.get_by_label("Trust any certificate")).not_to_be_checked()
    screenshot(page, "connect-5-credentials")
    page.get_by_role("button", name="Connect your inbox").click()

    dialog = page.get_by_role("dialog", name="Your inbox is connected")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(mailbox.email)
    expect(page).to_have_url(f"{server.url}/settings/email")  # ?connected= is dropped
    screenshot(page, "connect-6-connected")
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()

    inbox = page.get_by_role("listitem").filter(has_text=mailbox.email)
    expect(inbox).to_contain_text("IMAP")
    expect(inbox).to_contain_text("Connected")
    # The worker syncs the (empty) mailbox; the page follows it without a reload.
    expect(inbox).to_contain_text("Up to date", timeout=30_000)
    expect(inbox).to_contain_text("0 emails logged")
    inbox.get_by_text("Options", exact=True).click()
    expect(inbox.get_by_label("Turn on inbox automation")).to_be_checked()
    screenshot(page, "connect-7-list")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    screenshot(page, "connect-8-list-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_wrong_password_is_shown_in_place_and_nothing_is_stored(
    page: Page, server: LiveServer, dovecot: Dovecot, postfix: Postfix, mailbox: MailboxUser
) -> None:
    set_up_account(page, server)
    open_imap_form(page, mailbox.email)
    page.get_by_label("Password", exact=True).fill("not-the-password")
    fill_servers(page, dovecot, postfix)
    page.get_by_label("Server username").fill(mailbox.email)
    page.get_by_role("button", name="Connect your inbox").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("auth_failed")
    expect(alert).to_contain_text("app password")
    screenshot(page, "connect-wrong-password")
    # The values are kept, the password is not.
    expect(page.get_by_label("IMAP host")).to_have_value("127.0.0.1")
    expect(page.get_by_label("IMAP port")).to_have_value(str(dovecot.imap_port))
    expect(page.get_by_label("SMTP port")).to_have_value(str(postfix.smtp_port))
    expect(page.get_by_label("Server username")).to_have_value(mailbox.email)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    assert "not-the-password" not in page.content()

    page.goto(f"{server.url}/settings/email")
    expect(page.get_by_text("No personal inbox connected yet.")).to_be_visible()
    assert "not-the-password" not in server.log_tail()


def test_unknown_server_and_oauth_choices_say_what_to_do(
    page: Page, server: LiveServer, mailbox: MailboxUser
) -> None:
    set_up_account(page, server)
    # Gmail: recommended from the address; OAuth is not configured here, so IMAP is offered.
    enter_address(page, "jane.doe@gmail.com")
    expect(page.get_by_role("button", name="Connect to Gmail")).to_be_visible()
    screenshot(page, "connect-gmail-recommended")
    page.get_by_role("button", name="Connect to Gmail").click()
    expect(page.get_by_text("visible to the other users of your account")).to_be_visible()
    expect(page.get_by_text("schedule sends and edit drafts")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("provider_not_configured")
    expect(alert).to_contain_text("INBOXLINK_GOOGLE_CLIENT_ID")
    screenshot(page, "connect-gmail-not-configured")
    page.get_by_role("button", name="Connect with IMAP instead").click()
    expect(page.get_by_text("no other applications of the provider are connected")).to_be_visible()

    # Settings not found, hosts left empty: the error says what to do, with its code.
    page.goto(f"{server.url}/settings/email")
    open_imap_form(page, mailbox.email)
    page.get_by_label("Password", exact=True).fill(mailbox.password)
    page.get_by_role("button", name="Connect your inbox").click()
    expect(page.get_by_role("alert")).to_contain_text("settings_not_found")
    expect(page.get_by_label("IMAP host")).to_be_visible()  # Advanced options opened
    screenshot(page, "connect-settings-not-found")
