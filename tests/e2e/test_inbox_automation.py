"""Inbox automation in Chromium: an inbox connected with "Turn on inbox automation" checked
receives mail from a contact; the suggested task appears on the Tasks page and is accepted,
the captured details appear on the contact page (next to a person-entered value that stays)
and one capture is undone there."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.support.api_helpers import run_cli
from tests.support.browser import screenshot
from tests.support.dns_server import DnsServer
from tests.support.dovecot import Dovecot
from tests.support.live_server import LiveServer
from tests.support.mail_fixtures import MailboxUser, MailPki, new_user
from tests.support.mail_samples import sample_message
from tests.support.postfix import Postfix
from tests.support.ui import ADMIN_EMAIL, connect_imap_inbox, mail_server_env, set_up_account

BODY = (
    "Hallo,\n\nkönnten Sie mir bitte das Angebot bis Freitag zusenden?\n\n"
    "Mit freundlichen Grüßen\nJulia Schmidt\nLeiterin Einkauf\nMüller Bau GmbH\n"
    "Tel.: +49 30 12345678\n"
)


@pytest.fixture
def server(tmp_path: Path, mail_ca: MailPki, dns_server: DnsServer) -> Iterator[LiveServer]:
    dns_server.start()
    live = LiveServer(tmp_path, env=mail_server_env(mail_ca, dns_server))
    live.start()
    yield live
    live.stop()


def reload_until_visible(page: Page, url: str, selector: str, timeout: float = 90) -> None:
    """The worker's periodic pass runs every half minute: look again until it has run."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        if page.locator(selector).count() or time.monotonic() > deadline:
            break
        time.sleep(1)
    expect(page.locator(selector).first).to_be_visible()


def test_suggested_task_and_captured_details_in_chromium(
    page: Page, server: LiveServer, dovecot: Dovecot, postfix: Postfix, mailbox: MailboxUser
) -> None:
    set_up_account(page, server)
    connect_imap_inbox(page, server, dovecot, postfix, mailbox)  # automation box checked
    token = run_cli(server.data_dir, "admin", "create-token", ADMIN_EMAIL).strip().splitlines()[-1]
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    julia = new_user(dovecot, domain="example.test")
    contact = api.post("/api/v1/contacts", json={"email": julia.email}).json()
    api.patch(f"/api/v1/contacts/{contact['id']}", json={"job_title": "Einkauf (selbst)"})
    time.sleep(1.1)  # mail dates have whole seconds: this one is dated after the flag
    dovecot.deliver(
        mailbox.email,
        sample_message(julia.email, mailbox.email, message_id="<angebot@x>", days_ago=0, body=BODY),
    )

    reload_until_visible(page, f"{server.url}/tasks", "[data-suggested] li")
    suggestion = page.locator("[data-suggested] li").first
    expect(suggestion).to_contain_text("Angebot bis Freitag")
    expect(suggestion).to_contain_text("Due ")
    screenshot(page, "automation-1-suggested")
    suggestion.get_by_role("button", name="Accept").click()
    expect(page.locator("[data-open] li")).to_contain_text("Angebot bis Freitag")
    expect(page.locator("[data-suggested] li")).to_have_count(0)

    page.goto(f"{server.url}/contacts/{contact['id']}")
    expect(page.get_by_label("First name")).to_have_value("Julia")
    expect(page.get_by_label("Company")).to_have_value("Müller Bau GmbH")
    expect(page.get_by_label("Phone")).to_have_value("+49 30 12345678")
    expect(page.get_by_label("Job title")).to_have_value("Einkauf (selbst)")  # never overwritten
    company = page.locator("li.capture").filter(has_text="Company set to")
    expect(company).to_contain_text("Müller Bau GmbH")
    screenshot(page, "automation-2-captured")
    company.get_by_role("button", name="Undo").click()
    expect(page.get_by_label("Company")).to_have_value("")
    expect(page.locator("li.capture").filter(has_text="Company set to")).to_contain_text("(undone)")

    page.goto(f"{server.url}/notifications")
    expect(page.get_by_text("1 suggested task from your inbox")).to_be_visible()
