"""Tracking in a real browser: Chromium renders the tracked email as it arrived in Dovecot
(loading the pixel) and clicks a rewritten link; a tampered token gets 404 and no redirect."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
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
from tests.support.postfix import Postfix
from tests.support.ui import ADMIN_EMAIL, connect_imap_inbox, mail_server_env, set_up_account


@pytest.fixture
def server(tmp_path: Path, mail_ca: MailPki, dns_server: DnsServer) -> Iterator[LiveServer]:
    dns_server.start()
    env = {**mail_server_env(mail_ca, dns_server), "INBOXLINK_TRACKING_AUTOMATIC_SECONDS": "0"}
    live = LiveServer(tmp_path, env=env)
    live.start()
    yield live
    live.stop()


def html_of(raw: bytes) -> str:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def test_pixel_and_link_in_chromium(
    page: Page, server: LiveServer, dovecot: Dovecot, postfix: Postfix, mailbox: MailboxUser
) -> None:
    set_up_account(page, server)
    connect_imap_inbox(page, server, dovecot, postfix, mailbox)
    token = run_cli(server.data_dir, "admin", "create-token", ADMIN_EMAIL).strip().splitlines()[-1]
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    ann = new_user(dovecot)
    contact = api.post("/api/v1/contacts", json={"email": ann.email, "name": "Ann"}).json()
    inbox_id = api.get("/api/v1/inboxes").json()["items"][0]["id"]
    target = f"{server.url}/healthz"
    sent = api.post(
        "/api/v1/emails",
        json={"inbox_id": inbox_id, "to": [ann.email], "subject": "Tracked hello",
              "html": f'<p>Hello Ann, see <a href="{target}">our status</a>.</p>', "track": True},
    )  # fmt: skip
    assert sent.status_code == 202, sent.text
    html = html_of(dovecot.wait_for_message(ann.email, sent.json()["message_id"], timeout=30))
    link = re.search(rf'href="({re.escape(server.url)}/t/c/[^"]+)"', html)
    assert link and target not in html

    # Ann's mail client: render the email (loads the pixel), then click the link.
    page.set_content(html)
    with page.expect_navigation():
        page.get_by_role("link", name="our status").click()
    expect(page).to_have_url(target)

    tampered = link.group(1)[:-3] + ("AAA" if not link.group(1).endswith("AAA") else "BBB")
    response = page.goto(tampered)
    assert response is not None and response.status == 404
    expect(page).to_have_url(tampered)

    page.goto(f"{server.url}/contacts/{contact['id']}/sequences")
    events = page.locator("ol.tracking li")
    expect(events).to_have_count(2)
    expect(events.nth(0)).to_contain_text("Clicked")
    expect(events.nth(0)).to_contain_text(target)
    expect(events.nth(1)).to_contain_text("Opened")
    screenshot(page, "tracking-contact-events")
    events_api = api.get(f"/api/v1/tracking/emails/{sent.json()['id']}").json()["events"]
    assert [e["event"] for e in events_api] == ["clicked", "opened"]
