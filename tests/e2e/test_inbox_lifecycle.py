"""D1/D4 (disable, enable, remove, provider-side steps), inbox options, and the composer (P10)
in a real browser, with the live server's in-process worker sending and syncing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from tests.support.browser import screenshot
from tests.support.dns_server import DnsServer
from tests.support.dovecot import Dovecot
from tests.support.live_server import LiveServer
from tests.support.mail_fixtures import MailboxUser, MailPki, new_user
from tests.support.postfix import Postfix

# The server, sign-up and connect helpers are the same as in test_connect_imap.py.
ADMIN_PASSWORD = "a long enough password"


@pytest.fixture
def server(tmp_path: Path, mail_ca: MailPki, dns_server: DnsServer) -> Iterator[LiveServer]:
    dns_server.start()
    live = LiveServer(
        tmp_path,
        env={
            "INBOXLINK_ALLOW_PRIVATE_NETWORKS": "1",
            "INBOXLINK_EXTRA_CA_FILE": str(mail_ca.ca_file),
            "INBOXLINK_DNS_NAMESERVERS": dns_server.nameserver,
            "INBOXLINK_PROBE_TIMEOUT_SECONDS": "1",
        },
    )
    live.start()
    yield live
    live.stop()


def set_up_account(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/setup")
    page.get_by_label("Company name").fill("Acme")
    page.get_by_label("Your name").fill("Jane Doe")
    page.get_by_label("Your email address").fill("jane@acme.test")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    # Known race (reported): the set-up POST commits after its redirect is answered, so the
    # first GET may not see the new session yet and lands on the sign-in page.
    page.wait_for_url(re.compile(r"/(settings/email|login)$"))
    if page.url.endswith("/login"):
        page.get_by_label("Email address").fill("jane@acme.test")
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/settings/email")


def open_imap_form(page: Page, email: str, shots: str = "") -> None:
    """Steps 1-3 of the connect flow, ending on the IMAP credentials form."""
    page.get_by_role("link", name="Connect personal email").click()
    expect(page.get_by_label("Turn on inbox automation")).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-1-automation")
    page.get_by_label("Turn on inbox automation").check()
    page.get_by_role("button", name="Connect your inbox").click()

    page.get_by_label("Email address").fill(email)
    if shots:
        screenshot(page, f"{shots}-2-address")
    page.get_by_role("button", name="Continue").click()

    # example.test is unknown to DNS: the four choices are offered.
    for choice in ("Gmail", "Microsoft Outlook", "Microsoft Exchange"):
        expect(page.get_by_role("button", name=choice, exact=True)).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-3-choose")
    page.get_by_role("button", name="Other mail provider (IMAP)").click()

    expect(
        page.get_by_text(
            "Only the email address, password, server information, message metadata and "
            "bodies; no other applications of the provider are connected."
        )
    ).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-4-disclosure")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Password", exact=True)).to_be_visible()


def fill_servers(page: Page, dovecot: Dovecot, postfix: Postfix) -> None:
    advanced = page.locator("details.advanced")
    if advanced.get_attribute("open") is None:
        page.get_by_text("Advanced options").click()
    expect(
        page.get_by_label("Outgoing mail (SMTP) uses the same credentials as incoming (IMAP)")
    ).to_be_checked()
    page.get_by_label("IMAP host").fill("127.0.0.1")
    page.get_by_label("IMAP port").fill(str(dovecot.imap_port))
    page.get_by_label("IMAP security").select_option("starttls")
    page.get_by_label("SMTP host").fill("127.0.0.1")
    page.get_by_label("SMTP port").fill(str(postfix.smtp_port))
    page.get_by_label("SMTP security").select_option("starttls")


def connect_inbox(
    page: Page, server: LiveServer, dovecot: Dovecot, postfix: Postfix, user: MailboxUser
) -> None:
    """The whole flow without screenshots, for tests that need a connected inbox."""
    page.goto(f"{server.url}/settings/email")
    open_imap_form(page, user.email)
    page.get_by_label("Password", exact=True).fill(user.password)
    fill_servers(page, dovecot, postfix)
    page.get_by_role("button", name="Connect your inbox").click()
    expect(page.get_by_role("dialog", name="Your inbox is connected")).to_be_visible()
    page.get_by_role("button", name="Done").click()


def inbox_row(page: Page, email: str) -> Locator:
    return page.locator("li.inbox").filter(has_text=email)


def test_disable_enable_remove_and_the_provider_steps(
    page: Page, server: LiveServer, dovecot: Dovecot, postfix: Postfix, mailbox: MailboxUser
) -> None:
    set_up_account(page, server)
    connect_inbox(page, server, dovecot, postfix, mailbox)
    row = inbox_row(page, mailbox.email)
    expect(row).to_contain_text("Connected")

    # D1: hovering the inbox shows Disable.
    row.hover()
    screenshot(page, "d1-1-hover")
    row.get_by_role("button", name="Disable").click()
    dialog = page.get_by_role("dialog", name=f"Disable {mailbox.email}?")
    expect(dialog).to_be_visible()
    screenshot(page, "d1-2-disable-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Connected")

    row.hover()
    row.get_by_role("button", name="Disable").click()
    dialog.get_by_role("button", name="Yes, disable it").click()
    row = inbox_row(page, mailbox.email)
    expect(row).to_have_class(re.compile(r"state-disabled"))
    expect(row).to_contain_text("Disabled")
    expect(row).to_contain_text("Paused")
    opacity = row.locator(".inbox-body").evaluate("e => getComputedStyle(e).opacity")
    assert float(opacity) < 1  # greyed out
    row.hover()
    expect(row.get_by_role("button", name="Enable")).to_be_visible()
    expect(row.get_by_role("button", name="Remove")).to_be_visible()
    screenshot(page, "d1-3-disabled")

    # Enable brings it back; disable again to remove it.
    row.get_by_role("button", name="Enable").click()
    expect(inbox_row(page, mailbox.email)).to_contain_text("Connected")
    row = inbox_row(page, mailbox.email)
    row.focus()  # keyboard users get the same actions
    row.get_by_role("button", name="Disable").press("Enter")
    page.get_by_role("button", name="Yes, disable it").click()
    row = inbox_row(page, mailbox.email)
    expect(row).to_contain_text("Disabled")

    row.hover()
    row.get_by_role("button", name="Remove").click()
    remove_dialog = page.get_by_role("dialog", name=f"Remove {mailbox.email}?")
    expect(remove_dialog).to_be_visible()
    screenshot(page, "d1-4-remove-dialog")
    remove_dialog.get_by_role("button", name="Yes, remove inbox").click()

    removed = page.get_by_role("dialog", name="Inbox removed")
    expect(removed).to_be_visible()
    expect(removed).to_contain_text("deleted the password it kept")  # the D4 step for IMAP
    screenshot(page, "d1-5-removed-provider-steps")
    removed.get_by_role("button", name="Done").click()
    expect(page.get_by_text("No personal inbox connected yet.")).to_be_visible()


@pytest.fixture
def browser_without_js(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 800}
    )
    tab = context.new_page()
    yield tab
    context.close()


def test_disable_works_without_javascript(
    browser_without_js: Page,
    server: LiveServer,
    dovecot: Dovecot,
    postfix: Postfix,
    mailbox: MailboxUser,
) -> None:
    page = browser_without_js
    set_up_account(page, server)
    connect_inbox(page, server, dovecot, postfix, mailbox)
    row = inbox_row(page, mailbox.email)
    row.hover()
    row.get_by_role("button", name="Disable").click()  # a link to ?confirm=disable-N
    page.get_by_role("button", name="Yes, disable it").click()
    expect(inbox_row(page, mailbox.email)).to_contain_text("Disabled")
    screenshot(page, "d1-nojs-disabled")


def test_inbox_options_are_saved(
    page: Page, server: LiveServer, dovecot: Dovecot, postfix: Postfix, mailbox: MailboxUser
) -> None:
    set_up_account(page, server)
    connect_inbox(page, server, dovecot, postfix, mailbox)
    row = inbox_row(page, mailbox.email)
    row.get_by_text("Options", exact=True).click()
    row.get_by_label("Turn on inbox automation").uncheck()
    crm = row.get_by_role("group", name="What colleagues see of mail you send from the CRM")
    crm.get_by_label("The subject too").check()
    other = row.get_by_role("group", name="What colleagues see of your other logged mail")
    other.get_by_label("Only that an email was exchanged (people and date)").check()
    screenshot(page, "options-before-save")
    row.get_by_role("button", name="Save options").click()

    row = inbox_row(page, mailbox.email)
    expect(row.get_by_role("status")).to_have_text("Options saved.")
    expect(row.get_by_label("Turn on inbox automation")).not_to_be_checked()
    crm = row.get_by_role("group", name="What colleagues see of mail you send from the CRM")
    expect(crm.get_by_label("The subject too")).to_be_checked()
    other = row.get_by_role("group", name="What colleagues see of your other logged mail")
    expect(other.get_by_label("Only that an email was exchanged (people and date)")).to_be_checked()


def test_composer_sends_through_the_connected_inbox(
    page: Page, server: LiveServer, dovecot: Dovecot, postfix: Postfix, mailbox: MailboxUser
) -> None:
    recipient = new_user(dovecot)
    set_up_account(page, server)
    connect_inbox(page, server, dovecot, postfix, mailbox)

    page.get_by_role("link", name="Contacts").click()
    page.get_by_label("Email").fill(recipient.email)
    page.get_by_label("Name").fill("Bob Buyer")
    page.get_by_role("button", name="Add contact").click()
    expect(page.get_by_role("heading", name="Bob Buyer")).to_be_visible()

    composer = page.locator("#composer")
    expect(composer.get_by_label("From")).to_have_value(re.compile(re.escape(mailbox.email)))
    expect(composer.get_by_label("To", exact=True)).to_have_value(recipient.email)
    composer.get_by_label("Subject").fill("Our proposal")
    composer.get_by_label("Message").fill("Hello Bob,\n\nhere is our proposal.\n\nJane")
    screenshot(page, "composer-1-filled")
    composer.get_by_role("button", name="Send").click()

    status = composer.get_by_role("status")
    expect(status).to_contain_text("Our proposal")
    expect(status).to_contain_text(re.compile("Queued — sending…|Sent"))
    screenshot(page, "composer-2-queued")
    expect(status).to_contain_text("Sent", timeout=30_000)
    screenshot(page, "composer-3-sent")

    deadline = time.monotonic() + 30
    while not any(b"Subject: Our proposal" in raw for raw in dovecot.messages(recipient.email)):
        assert time.monotonic() < deadline, "the email did not arrive"
        time.sleep(0.2)
    raw = next(r for r in dovecot.messages(recipient.email) if b"Subject: Our proposal" in r)
    assert mailbox.email.encode() in raw
    # P10: the message is in the sender's Sent folder too.
    assert any(b"Subject: Our proposal" in r for r in dovecot.messages(mailbox.email, "Sent"))

    # A fresh form (new idempotency key) after sending.
    assert composer.get_by_label("Subject").input_value() == ""

    # The worker syncs the Sent folder: the email is logged on the contact's timeline.
    timeline = page.locator("ol.timeline")
    deadline = time.monotonic() + 30
    while not timeline.filter(has_text="Our proposal").count():
        assert time.monotonic() < deadline, "the sent email was not logged on the timeline"
        time.sleep(1)
        page.reload()
    entry = timeline.get_by_role("listitem").filter(has_text="Our proposal")
    expect(entry).to_contain_text("Sent")
    expect(entry).to_contain_text("here is our proposal")
    screenshot(page, "composer-4-timeline")


def test_a_double_submitted_composer_sends_once(
    page: Page, server: LiveServer, dovecot: Dovecot, postfix: Postfix, mailbox: MailboxUser
) -> None:
    recipient = new_user(dovecot)
    set_up_account(page, server)
    connect_inbox(page, server, dovecot, postfix, mailbox)
    page.get_by_role("link", name="Contacts").click()
    page.get_by_label("Email").fill(recipient.email)
    page.get_by_role("button", name="Add contact").click()
    composer = page.locator("#composer")
    composer.get_by_label("Subject").fill("Only once")
    # Post the same form twice, as a double click without JavaScript would.
    page.evaluate(
        """async () => {
          const form = document.querySelector('#composer form');
          const body = new URLSearchParams(new FormData(form));
          for (let i = 0; i < 2; i++) {
            await fetch(form.action, {method: 'POST', body, redirect: 'manual'});
          }
        }"""
    )
    deadline = time.monotonic() + 20
    while not any(b"Subject: Only once" in r for r in dovecot.messages(recipient.email)):
        assert time.monotonic() < deadline, "the email did not arrive"
        time.sleep(0.2)
    time.sleep(2)
    copies = [r for r in dovecot.messages(recipient.email) if b"Subject: Only once" in r]
    assert len(copies) == 1
