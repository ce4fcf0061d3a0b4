"""D1/D4 (disable, enable, remove, provider-side steps), inbox options, and the composer (P10)
in a real browser, with the live server's in-process worker sending and syncing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.support.browser import screenshot
from tests.support.dns_server import DnsServer
from tests.support.dovecot import Dovecot
from tests.support.live_server import LiveServer
from tests.support.mail_fixtures import MailboxUser, MailPki, new_user
from tests.support.postfix import Postfix
from tests.support.ui import connect_imap_inbox, inbox_row, mail_server_env, set_up_account


@pytest.fixture
def server(tmp_path: Path, mail_ca: MailPki, dns_server: DnsServer) -> Iterator[LiveServer]:
    dns_server.start()
    live = LiveServer(tmp_path, env=mail_server_env(mail_ca, dns_server))
    live.start()
    yield live
    live.stop()


def test_disable_enable_remove_and_the_provider_steps(
    page: Page, server: LiveServer, dovecot: Dovecot, postfix: Postfix, mailbox: MailboxUser
) -> None:
    set_up_account(page, server)
    connect_imap_inbox(page, server, dovecot, postfix, mailbox)
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
    connect_imap_inbox(page, server, dovecot, postfix, mailbox)
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
    connect_imap_inbox(page, server, dovecot, postfix, mailbox)
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
    connect_imap_inbox(page, server, dovecot, postfix, mailbox)

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
    connect_imap_inbox(page, server, dovecot, postfix, mailbox)
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


def test_reconnect_an_imap_inbox_after_its_password_changed(
    page: Page, server: LiveServer, dovecot: Dovecot, postfix: Postfix, mailbox: MailboxUser
) -> None:
    set_up_account(page, server)
    connect_imap_inbox(page, server, dovecot, postfix, mailbox)
    row = inbox_row(page, mailbox.email)
    expect(row).to_contain_text("Up to date", timeout=30_000)

    # The password changes at the mail server; after a restart inboxlink signs in again and is
    # refused, so the inbox asks to be reconnected (the page follows it without a reload).
    new_password = "a brand new password"
    dovecot.add_user(mailbox.email, new_password)
    server.stop()
    server.start()
    expect(row).to_contain_text("Needs reconnecting", timeout=30_000)
    expect(row).to_contain_text("auth_failed")
    screenshot(page, "reconnect-imap-1-needs-reconnect")

    row.get_by_role("button", name="Reconnect").click()
    dialog = page.get_by_role("dialog", name=f"Reconnect {mailbox.email}")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Password", exact=True)).to_be_focused()
    dialog.get_by_label("Password", exact=True).fill("still the old one")
    dialog.get_by_role("button", name="Reconnect").click()

    # Refused: said in the dialog, which stays open; the typed password is not sent back.
    dialog = page.get_by_role("dialog", name=f"Reconnect {mailbox.email}")
    expect(dialog.get_by_role("alert")).to_contain_text("auth_failed")
    expect(dialog.get_by_label("Password", exact=True)).to_have_value("")
    assert "still the old one" not in page.content()
    screenshot(page, "reconnect-imap-2-refused")
    expect(inbox_row(page, mailbox.email)).to_contain_text("Needs reconnecting")

    dialog.get_by_label("Password", exact=True).fill(new_password)
    dialog.get_by_role("button", name="Reconnect").click()
    connected = page.get_by_role("dialog", name="Your inbox is connected")
    expect(connected).to_contain_text("connected again")
    connected.get_by_role("button", name="Done").click()
    row = inbox_row(page, mailbox.email)
    expect(row).to_contain_text("Connected")
    expect(row.get_by_role("button", name="Reconnect")).to_be_hidden()
    expect(row).to_contain_text("Up to date", timeout=30_000)
    expect(row).not_to_contain_text("auth_failed")
    screenshot(page, "reconnect-imap-3-connected")
    assert new_password not in server.log_tail()
