"""Settings → General → Account email settings: domain IMAP/SMTP settings that pre-fill the
connect form (P9, source "admin"), the never-log list, the logging policy, and 403 for members.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.support.browser import screenshot
from tests.support.dns_server import DnsServer
from tests.support.dovecot import Dovecot
from tests.support.live_server import LiveServer
from tests.support.mail_fixtures import MailboxUser, MailPki
from tests.support.postfix import Postfix
from tests.support.ui import mail_server_env, open_imap_form, set_up_account, sign_in


@pytest.fixture
def server(tmp_path: Path, mail_ca: MailPki, dns_server: DnsServer) -> Iterator[LiveServer]:
    dns_server.start()
    live = LiveServer(tmp_path, env=mail_server_env(mail_ca, dns_server))
    live.start()
    yield live
    live.stop()


MEMBER_PASSWORD = "member password 123"


def create_member(server: LiveServer, email: str) -> None:
    """A plain member, made with the CLI against the live server's data directory."""
    env = {**os.environ, "INBOXLINK_DATA_DIR": str(server.data_dir), **server.env}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "inboxlink",
            "admin",
            "create-user",
            email,
            "--password",
            MEMBER_PASSWORD,
            "--role",
            "member",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_domain_settings_prefill_the_connect_form(
    page: Page, server: LiveServer, dovecot: Dovecot, postfix: Postfix, mailbox: MailboxUser
) -> None:
    set_up_account(page, server)
    page.get_by_role("link", name="Account email settings").click()
    expect(page).to_have_url(f"{server.url}/settings/account")
    expect(page.get_by_text("No domain settings yet.")).to_be_visible()
    # Issue 6: without INBOXLINK_SMTP_URL the page says notifications stay in-app.
    expect(page.get_by_text("notifications are shown in inboxlink only")).to_be_visible()
    screenshot(page, "admin-1-empty")

    page.get_by_label("Domain", exact=True).fill("example.test")
    page.get_by_label("IMAP host").fill("127.0.0.1")
    page.get_by_label("IMAP port").fill(str(dovecot.imap_port))
    page.get_by_label("IMAP security").select_option("starttls")
    page.get_by_label("SMTP host").fill("127.0.0.1")
    page.get_by_label("SMTP port").fill(str(postfix.smtp_port))
    page.get_by_label("SMTP security").select_option("starttls")
    page.get_by_role("button", name="Save domain settings").click()
    expect(page.get_by_role("status")).to_have_text("Domain settings saved.")
    row = page.get_by_role("row").filter(has_text="example.test")
    expect(row).to_contain_text(f"127.0.0.1:{dovecot.imap_port}")
    screenshot(page, "admin-2-domain-saved")

    # A bad port is refused in place, with the values kept.
    page.get_by_label("Domain", exact=True).fill("acme.test")
    page.get_by_label("IMAP host").fill("imap.acme.test")
    page.get_by_label("IMAP port").fill("99999")
    page.get_by_label("SMTP host").fill("smtp.acme.test")
    page.get_by_role("button", name="Save domain settings").click()
    expect(page.get_by_role("alert")).to_contain_text("invalid_server")
    expect(page.get_by_label("Domain", exact=True)).to_have_value("acme.test")

    # The connect form for an address of that domain is pre-filled from the admin settings.
    page.goto(f"{server.url}/settings/email")
    open_imap_form(page, mailbox.email)
    expect(page.get_by_text("Settings found in:")).to_contain_text("admin")
    page.get_by_text("Advanced options").click()
    expect(page.get_by_label("IMAP host")).to_have_value("127.0.0.1")
    expect(page.get_by_label("IMAP port")).to_have_value(str(dovecot.imap_port))
    expect(page.get_by_label("SMTP port")).to_have_value(str(postfix.smtp_port))
    expect(page.get_by_label("SMTP security")).to_have_value("starttls")
    screenshot(page, "admin-3-prefilled")
    page.get_by_label("Password", exact=True).fill(mailbox.password)
    page.get_by_role("button", name="Connect your inbox").click()
    expect(page.get_by_role("dialog", name="Your inbox is connected")).to_be_visible()

    # Delete the domain settings again.
    page.goto(f"{server.url}/settings/account")
    page.get_by_role("button", name="Delete the settings for example.test").click()
    expect(page.get_by_role("status")).to_have_text("Domain settings deleted.")
    expect(page.get_by_text("No domain settings yet.")).to_be_visible()


def test_never_log_list_and_logging_policy(page: Page, server: LiveServer) -> None:
    set_up_account(page, server)
    page.goto(f"{server.url}/settings/account")
    page.get_by_label("Address or domain").fill("Partner.example")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("list", name="Never-log list")).to_contain_text("partner.example")
    page.get_by_label("Address or domain").fill("ceo@acme.test")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_label("Address or domain").fill("not a domain")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("invalid_domain")
    page.get_by_role("button", name="Remove partner.example from the never-log list").click()
    never_log = page.get_by_role("list", name="Never-log list")
    expect(never_log).not_to_contain_text("partner.example")
    expect(never_log).to_contain_text("ceo@acme.test")

    everything = page.get_by_label("All correspondence with contacts")
    replies = page.get_by_label("Only replies to emails sent from or logged in the CRM")
    expect(everything).to_be_checked()
    replies.check()
    page.get_by_role("button", name="Save logging policy").click()
    expect(page.get_by_role("status")).to_have_text("Logging policy saved.")
    expect(
        page.get_by_label("Only replies to emails sent from or logged in the CRM")
    ).to_be_checked()
    screenshot(page, "admin-4-never-log-and-policy")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    screenshot(page, "admin-5-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_member_gets_403(browser: Browser, page: Page, server: LiveServer) -> None:
    set_up_account(page, server)
    create_member(server, "member@acme.test")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    member = context.new_page()
    sign_in(member, server, "member@acme.test", MEMBER_PASSWORD)
    expect(member.get_by_role("link", name="Account email settings")).to_have_count(0)

    response = member.goto(f"{server.url}/settings/account")
    assert response is not None and response.status == 403
    expect(member.get_by_role("heading", name="Not allowed")).to_be_visible()
    screenshot(member, "admin-6-member-403")
    context.close()
