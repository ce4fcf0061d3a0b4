"""Team inboxes in a real browser (issue 7; SPEC T1-T3, D2, D3): a live ``inboxlink serve``
pointed at the Google and Microsoft emulators.

The super admin connects ``support@`` (Gmail) to the conversations inbox and ``help@``
(Outlook) to the help desk under Conversations → Inbox → Inbox settings → Channels; a
customer's mail becomes a thread and a ticket; a member is assigned, replies from the team
address in the same thread and sees the customer's answer arrive in it; an IMAP team address is
refused (T2); a member cannot open Channels; deleting a channel (D2) notifies exactly the D3
set. Other users are created with the CLI against the server's data directory, as an operator
would; their API tokens read ``/api/v1/notifications``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from tests.emulators.google import GoogleEmulator
from tests.emulators.microsoft import MicrosoftEmulator
from tests.support.api_helpers import run_cli
from tests.support.browser import screenshot
from tests.support.dns_server import DnsServer
from tests.support.live_server import LiveServer
from tests.support.mail_samples import sample_message
from tests.support.ui import (
    ADMIN_EMAIL,
    open_channels,
    set_up_account,
    sign_in,
    start_team_connect,
    team_channel_row,
)

SUPPORT = "support@acme.example"
HELP = "help@acme.example"
CAROL = "carol@client.example"  # the customer writing to support@ (a Gmail mailbox)
DAVE = "dave@client.example"  # the customer writing to help@ (a Microsoft mailbox)
PASSWORD = "another long password"
T2 = "must be hosted on Gmail or Office 365"
SYNC = 30_000  # ms: the worker polls every 0.5 s; generous for a loaded machine


@pytest.fixture
def server(
    tmp_path: Path,
    dns_server: DnsServer,
    google_emulator: GoogleEmulator,
    microsoft_emulator: MicrosoftEmulator,
) -> Iterator[LiveServer]:
    """A live server using both emulators, its worker polling every half second."""
    dns_server.start()
    live = LiveServer(tmp_path / "server")
    live.data_dir.mkdir()
    google_emulator.redirect_uris.add(f"{live.url}/oauth/gmail/callback")
    microsoft_emulator.redirect_uris.add(f"{live.url}/oauth/microsoft/callback")
    live.env = {
        "INBOXLINK_DNS_NAMESERVERS": dns_server.nameserver,
        "INBOXLINK_DNS_TIMEOUT_SECONDS": "1",
        "INBOXLINK_CONNECT_TIMEOUT_SECONDS": "5",
        "INBOXLINK_POLL_SECONDS": "0.5",
        "INBOXLINK_GMAIL_POLL_SECONDS": "0.5",
        "INBOXLINK_GOOGLE_CLIENT_ID": google_emulator.client_id,
        "INBOXLINK_GOOGLE_CLIENT_SECRET": google_emulator.client_secret,
        "INBOXLINK_GOOGLE_ACCOUNTS_URL": google_emulator.url,
        "INBOXLINK_GOOGLE_API_URL": google_emulator.url,
        "INBOXLINK_MICROSOFT_CLIENT_ID": microsoft_emulator.client_id,
        "INBOXLINK_MICROSOFT_CLIENT_SECRET": microsoft_emulator.client_secret,
        "INBOXLINK_MICROSOFT_LOGIN_URL": microsoft_emulator.url,
        "INBOXLINK_MICROSOFT_GRAPH_URL": microsoft_emulator.url,
    }
    live.start()
    yield live
    live.stop()


def create_user(server: LiveServer, email: str, role: str, name: str) -> str:
    """``inboxlink admin create-user`` and ``create-token``; returns the user's API token."""
    run_cli(
        server.data_dir, "admin", "create-user", email,
        "--password", PASSWORD, "--role", role, "--name", name,
    )  # fmt: skip
    return token_for(server, email)


def token_for(server: LiveServer, email: str) -> str:
    return run_cli(server.data_dir, "admin", "create-token", email).strip().splitlines()[-1]


def disconnect_notes(server: LiveServer, token: str) -> list[str]:
    """The titles of the caller's *team inbox disconnected* notifications, via the API."""
    answer = httpx.get(
        f"{server.url}/api/v1/notifications",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return [n["title"] for n in answer.json()["items"] if n["kind"] == "team_inbox_disconnected"]


def wait_for_messages(emulator: GoogleEmulator, email: str, count: int) -> list[Message]:
    """The ``count`` messages of a Gmail mailbox of the emulator, once they have all arrived;
    fails if more arrive (a duplicate)."""
    deadline = time.monotonic() + SYNC / 1000
    while time.monotonic() < deadline:
        with emulator.lock:
            box = sorted(emulator.mailboxes[email].messages.values(), key=lambda m: m.id)
        assert len(box) <= count, [message_from_bytes(m.raw)["Subject"] for m in box]
        if len(box) == count:
            time.sleep(1)  # a duplicate would arrive right behind
            with emulator.lock:
                again = len(emulator.mailboxes[email].messages)
            assert again == count
            return [message_from_bytes(m.raw) for m in box]
        time.sleep(0.2)
    raise AssertionError(f"{count} messages never arrived at {email}")


def text_of(message: Message) -> str:
    """The text/plain part of a message, decoded."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    return ""


def test_team_inboxes_from_connecting_to_replying_and_deleting(
    page: Page,
    browser: Browser,
    server: LiveServer,
    google_emulator: GoogleEmulator,
    microsoft_emulator: MicrosoftEmulator,
) -> None:
    google_emulator.add_account(SUPPORT, "Acme Support")
    google_emulator.add_account(CAROL, "Carol Client")
    microsoft_emulator.add_account(HELP, "Acme Help Desk")
    microsoft_emulator.add_account(DAVE, "Dave Client")

    set_up_account(page, server)  # Jane, the super admin
    tokens = {
        ADMIN_EMAIL: token_for(server, ADMIN_EMAIL),
        "ann": create_user(server, "ann@acme.test", "account-access", "Ann Access"),
        "mark": create_user(server, "mark@acme.test", "member", "Mark Member"),
        "otto": create_user(server, "otto@acme.test", "member", "Otto Other"),
    }

    # --- T3: Conversations → Inbox → Inbox settings (bottom left) → Channels -------------
    open_channels(page, server, shots="team-1")
    expect(page.get_by_text("No team email connected yet.")).to_be_visible()

    # support@ (Gmail) to the conversations inbox: acme.example is unknown to DNS, so the
    # page asks for the provider, then shows the disclosure, then Google's consent page.
    start_team_connect(page, SUPPORT, "Conversations inbox", "Gmail", shots="team-2")
    expect(page.get_by_role("heading", name="Choose an account")).to_be_visible()
    expect(page.get_by_role("radio", name=re.compile(re.escape(SUPPORT)))).to_be_checked()
    page.get_by_role("button", name="Allow").click()
    dialog = page.get_by_role("dialog", name="Team email connected")
    expect(dialog).to_contain_text(f"{SUPPORT} is connected to the conversations inbox")
    expect(page).to_have_url(f"{server.url}/conversations/settings/channels")
    screenshot(page, "team-3-gmail-connected")
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()

    # help@ (Microsoft) to the help desk.
    start_team_connect(page, HELP, "Help desk", "Microsoft Outlook", shots="team-4")
    expect(page.get_by_role("heading", name="Pick an account")).to_be_visible()
    page.get_by_role("button", name="Accept").click()
    dialog = page.get_by_role("dialog", name="Team email connected")
    expect(dialog).to_contain_text(f"{HELP} is connected to the help desk")
    dialog.get_by_role("button", name="Done").click()
    support_row = team_channel_row(page, SUPPORT)
    help_row = team_channel_row(page, HELP)
    expect(support_row).to_contain_text("Conversations inbox")
    expect(support_row).to_contain_text("Gmail")
    expect(help_row).to_contain_text("Help desk")
    expect(help_row).to_contain_text("Office 365")
    screenshot(page, "team-5-channels")

    # --- T2: an IMAP team address is refused, whether recognised or chosen as *Other* -----
    page.get_by_label("Team email address").fill("team@yahoo.com")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("alert")).to_contain_text(T2)
    expect(page.get_by_role("alert")).to_contain_text("team_inbox_provider_unsupported")
    screenshot(page, "team-6-imap-refused")
    page.get_by_label("Team email address").fill("sales@acme.example")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("radio", name="Other").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("alert")).to_contain_text(T2)
    expect(page.get_by_role("list", name="Team channels").locator("li")).to_have_count(2)

    # --- T1: outside mail becomes a thread (conversations inbox) and a ticket (help desk) ---
    page.get_by_role("link", name="Conversations → Inbox").click()
    expect(page.get_by_role("heading", name="Conversations", exact=True)).to_be_visible()
    google_emulator.deliver(
        SUPPORT,
        sample_message(
            CAROL, SUPPORT, message_id="<c1@client.example>", subject="Printer broken",
            body="The printer you sold us is broken.", days_ago=0,
        ),
    )  # fmt: skip
    microsoft_emulator.deliver(
        HELP,
        sample_message(
            DAVE, HELP, message_id="<d1@client.example>", subject="Refund please", days_ago=0
        ),
    )
    # The open list follows new mail without a reload.
    thread_link = page.get_by_role("link", name="Printer broken")
    expect(thread_link).to_be_visible(timeout=SYNC)
    item = page.locator("li.conversation").filter(has=thread_link)
    expect(item).to_contain_text("Unassigned")
    expect(page.get_by_text("Refund please")).to_have_count(0)  # that one is a ticket
    screenshot(page, "team-7-conversations")

    page.get_by_role("link", name="Help desk").click()
    ticket = page.locator("li.conversation").filter(has_text="Refund please")
    expect(ticket).to_be_visible(timeout=SYNC)
    expect(ticket).to_contain_text("New")
    expect(ticket).to_contain_text(HELP)
    screenshot(page, "team-8-helpdesk")

    # --- The super admin assigns the thread to Mark -------------------------------------
    page.get_by_role("link", name="Conversations inbox").click()
    page.get_by_role("link", name="Printer broken").click()
    expect(page.get_by_role("heading", name="Printer broken")).to_be_visible()
    page.get_by_label("Assignee").select_option(label="Mark Member")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_text("Assigned to Mark Member")).to_be_visible()
    thread_url = page.url

    # --- Mark, signed in in his own browser, replies from the team address ---------------
    member_context = browser.new_context(viewport={"width": 1280, "height": 800})
    member = member_context.new_page()
    try:
        sign_in(member, server, "mark@acme.test", PASSWORD)
        member.get_by_role("link", name="Conversations", exact=True).click()
        expect(member.get_by_role("link", name="Inbox settings")).to_have_count(0)
        member.get_by_role("link", name="Assigned to me").click()
        member.get_by_role("link", name="Printer broken").click()
        assert member.url == thread_url
        # The same thread in a second tab, left open: it follows the thread by itself.
        other_tab = member_context.new_page()
        other_tab.goto(thread_url)
        member.get_by_label(f"Reply from {SUPPORT}").fill("We are sending a new one today.")
        member.get_by_role("button", name="Reply", exact=True).click()
        expect(member.get_by_role("status")).to_contain_text(f"it goes out from {SUPPORT}")
        screenshot(member, "team-9-member-replied")

        # At Carol's mailbox: from the team address, in the same thread.
        [reply] = wait_for_messages(google_emulator, CAROL, 1)
        assert SUPPORT in reply["From"]
        assert reply["In-Reply-To"] == "<c1@client.example>"
        assert "<c1@client.example>" in reply["References"]
        assert reply["Subject"] == "Re: Printer broken"
        assert "We are sending a new one today." in text_of(reply)
        outgoing = member.locator("li.message.outgoing")
        expect(outgoing).to_have_count(1, timeout=SYNC)
        expect(outgoing).to_contain_text(SUPPORT)

        # Carol answers; her answer lands in the same conversation, on the open page.
        google_emulator.deliver(
            SUPPORT,
            sample_message(
                CAROL, SUPPORT, message_id="<c2@client.example>", subject="Re: Printer broken",
                in_reply_to=reply["Message-ID"], body="Thanks, it arrived.", days_ago=0,
            ),
        )  # fmt: skip
        messages = member.get_by_role("list", name="Messages").locator("li.message")
        expect(messages).to_have_count(3, timeout=SYNC)
        expect(messages.nth(2)).to_contain_text("Thanks, it arrived.")
        expect(messages.nth(2)).to_contain_text(CAROL)
        screenshot(member, "team-10-customer-answered")

        # The second tab saw the answer arrive too; a reply from it is a new email (not
        # mistaken for a resubmission of the first tab's form), threaded to Carol's answer.
        expect(other_tab.locator("li.message")).to_have_count(3, timeout=SYNC)
        other_tab.get_by_label(f"Reply from {SUPPORT}").fill("Glad to hear it.")
        other_tab.get_by_role("button", name="Reply", exact=True).click()
        first, second = wait_for_messages(google_emulator, CAROL, 2)
        assert first["Message-ID"] == reply["Message-ID"]
        assert "Glad to hear it." in text_of(second)
        assert second["In-Reply-To"] == "<c2@client.example>"
        assert SUPPORT in second["From"]
        expect(member.locator("li.message")).to_have_count(4, timeout=SYNC)
        member.get_by_role("link", name="← Conversations inbox").click()
        expect(member.locator("li.conversation")).to_have_count(1)

        # A member has no account access: no Channels page, no channel API (403).
        answer = member.goto(f"{server.url}/conversations/settings/channels")
        assert answer is not None and answer.status == 403
        expect(member.get_by_role("heading", name="Not allowed")).to_be_visible()
        screenshot(member, "team-11-member-forbidden")
        api = httpx.get(
            f"{server.url}/api/v1/channels",
            headers={"Authorization": f"Bearer {tokens['mark']}"},
            timeout=10,
        )
        assert api.status_code == 403
    finally:
        member_context.close()

    # --- D2: hover (or focus) the email channel → Delete → Yes, delete -------------------
    open_channels(page, server)
    support_row = team_channel_row(page, SUPPORT)
    help_row = team_channel_row(page, HELP)
    support_delete = support_row.get_by_role("button", name=f"Delete {SUPPORT}")
    help_delete = help_row.get_by_role("button", name=f"Delete {HELP}")
    page.mouse.move(0, 0)
    expect(help_delete).to_be_hidden()
    support_row.focus()  # keyboard users: focusing the channel shows its Delete too
    expect(support_delete).to_be_visible()
    expect(help_delete).to_be_hidden()
    page.keyboard.press("Tab")
    expect(support_delete).to_be_focused()
    page.keyboard.press("Enter")
    keep = page.get_by_role("dialog", name=f"Delete {SUPPORT}?")
    expect(keep).to_be_visible()
    keep.get_by_role("button", name="Cancel").click()  # not this one
    expect(keep).to_be_hidden()
    expect(support_delete).to_be_focused()
    page.keyboard.press("Tab")  # on to the next channel: its Delete shows, the first hides
    page.keyboard.press("Tab")
    expect(help_delete).to_be_focused()
    expect(support_delete).to_be_hidden()
    page.locator("body").focus()
    help_row.hover()
    expect(help_delete).to_be_visible()
    screenshot(page, "team-12-hover-delete")
    help_delete.click()
    confirm = page.get_by_role("dialog", name=f"Delete {HELP}?")
    expect(confirm).to_be_visible()
    screenshot(page, "team-13-delete-dialog")
    confirm.get_by_role("button", name="Yes, delete").click()
    deleted = page.get_by_role("dialog", name="Channel deleted")
    expect(deleted).to_contain_text(f"{HELP} is no longer connected")
    expect(deleted).to_contain_text("App permissions")  # the Office 365 steps (D4)
    screenshot(page, "team-14-deleted")
    deleted.get_by_role("button", name="Done").click()
    expect(team_channel_row(page, HELP)).to_have_count(0)
    expect(team_channel_row(page, SUPPORT)).to_be_visible()

    # --- D3: the super admin (who also connected it) and Ann once; the members nothing ---
    title = f"Team inbox {HELP} was disconnected"
    assert disconnect_notes(server, tokens[ADMIN_EMAIL]) == [title]
    assert disconnect_notes(server, tokens["ann"]) == [title]
    assert disconnect_notes(server, tokens["mark"]) == []
    assert disconnect_notes(server, tokens["otto"]) == []
    page.get_by_role("link", name="Notifications, 1 unread").click()
    expect(page.get_by_text(title)).to_have_count(1)
    screenshot(page, "team-15-notifications")
