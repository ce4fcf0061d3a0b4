"""Team inboxes (issue 7) on SQLite and PostgreSQL: channels through OAuth at the emulators,
the conversations inbox and help desk, replies from the team address, tombstones, D3, T2."""

from __future__ import annotations

import re
from email import message_from_bytes
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from inboxlink.config import Settings
from inboxlink.conversations.tombstones import tombstoned
from inboxlink.crm.ingest import Sighting, store_sighting
from inboxlink.domain.enums import Direction
from inboxlink.domain.inbox_state import InboxState
from inboxlink.mail.headers import parse_headers
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Channel, Inbox, Notification
from tests.emulators.google import GoogleEmulator
from tests.emulators.microsoft import MicrosoftEmulator
from tests.support.accounts import PASSWORD, Person, Team
from tests.support.api_helpers import add_contact, add_inbox, eventually
from tests.support.cloud import cloud_settings, consent
from tests.support.mail_samples import sample_message

SUPPORT = "support@acme.example"
CAROL = "carol@client.example"


@pytest.fixture
def settings(
    settings: Settings, google_emulator: GoogleEmulator, microsoft_emulator: MicrosoftEmulator
) -> Settings:
    return cloud_settings(settings, google_emulator, microsoft_emulator)


async def connect_channel(
    api: httpx.AsyncClient, person: Person, email: str, provider: str, destination: str
) -> httpx.Response:
    started = await api.post(
        "/api/v1/channels",
        json={"email": email, "provider": provider, "destination": destination},
        headers=person.headers,
    )
    assert started.status_code == 200, started.text
    return await consent(api, started.json()["authorization_url"], email)


async def conversations(api: httpx.AsyncClient, person: Person, **query: str) -> list[Any]:
    answer = await api.get("/api/v1/conversations", params=query, headers=person.headers)
    assert answer.status_code == 200, answer.text
    items: list[Any] = answer.json()["items"]
    return items


async def add_team_inbox(
    runtime: Runtime, team: Team, email: str, destination: str, connected_by: int
) -> int:
    """A connected team inbox and its channel, without a server (rules that need none)."""
    async with runtime.sessions() as session:
        inbox = Inbox(
            account_id=team.admin.account_id,
            kind="team",
            provider="gmail",
            email=email,
            active_email=email,
            owner_id=None,
            connected_by_id=connected_by,
            state=InboxState.CONNECTED.value,
            settings={},
        )
        session.add(inbox)
        await session.flush()
        session.add(Channel(inbox_id=inbox.id, destination=destination))
        await session.commit()
        return inbox.id


async def sighted(runtime: Runtime, inbox_id: int, raw: bytes, provider_id: str) -> None:
    """What the sync engine stores for a team inbox: the message and where it was seen."""
    async with runtime.sessions() as session, session.begin():
        await store_sighting(
            session,
            (await session.get(Inbox, inbox_id)).account_id,  # type: ignore[union-attr]
            Sighting(
                inbox_id=inbox_id,
                owner_id=None,
                folder="INBOX",
                provider_id=provider_id,
                headers=parse_headers(raw),
                raw=raw,
                direction=Direction.INCOMING,
                contact_ids=(),
            ),
        )


async def test_a_gmail_channel_threads_assigns_replies_from_the_team_address_and_reopens(
    api: httpx.AsyncClient,
    runtime: Runtime,
    runner: object,
    team: Team,
    google_emulator: GoogleEmulator,
) -> None:
    emu = google_emulator
    emu.add_account(SUPPORT, "Acme Support")
    emu.add_account(CAROL, "Carol")
    # Until the sync engine stores every team-inbox message, the customer is a contact.
    await add_contact(api, team.admin, CAROL)
    emu.deliver(
        SUPPORT,
        sample_message(CAROL, SUPPORT, message_id="<c1@client.example>", subject="Broken"),
    )
    page = await connect_channel(api, team.admin, SUPPORT, "gmail", "conversations")
    assert page.status_code == 200, page.text
    listed = (await api.get("/api/v1/channels", headers=team.admin.headers)).json()["items"]
    assert [(c["email"], c["destination"], c["connected_by_id"]) for c in listed] == [
        (SUPPORT, "conversations", team.admin.id)
    ]
    inbox = (
        await api.get(f"/api/v1/inboxes/{listed[0]['id']}", headers=team.member.headers)
    ).json()
    assert inbox["kind"] == "team" and inbox["owner_id"] is None

    async def one_thread() -> list[Any]:
        return await conversations(api, team.member)

    [conversation] = await eventually(one_thread)
    assert conversation["subject"] == "Broken" and conversation["ticket"]["status"] == "new"
    cid = conversation["id"]
    assigned = await api.post(
        f"/api/v1/conversations/{cid}/assign",
        json={"user_id": team.member.id},
        headers=team.admin.headers,
    )
    assert assigned.json()["assignee"]["id"] == team.member.id
    assert [c["id"] for c in await conversations(api, team.member, assignee="me")] == [cid]
    assert await conversations(api, team.member, assignee="none") == []
    comment = await api.post(
        f"/api/v1/conversations/{cid}/comments",
        json={"body": "Looking into it"},
        headers=team.member.headers,
    )
    assert comment.status_code == 201

    sent = await api.post(
        f"/api/v1/conversations/{cid}/reply",
        json={"text": "We are on it."},
        headers={**team.member.headers, "Idempotency-Key": "r1"},
    )
    assert sent.status_code == 202, sent.text
    reply_id = sent.json()["message_id"]

    async def at_carol() -> Any:
        for message in emu.mailboxes[CAROL].messages.values():
            parsed = message_from_bytes(message.raw)
            if parsed["Message-ID"] == reply_id:
                return parsed
        return None

    parsed = await eventually(at_carol)
    assert parsed is not None
    assert SUPPORT in parsed["From"] and parsed["In-Reply-To"] == "<c1@client.example>"
    assert parsed["Subject"] == "Re: Broken"

    emu.deliver(
        SUPPORT,
        sample_message(
            CAROL,
            SUPPORT,
            message_id="<c2@client.example>",
            subject="Re: Broken",
            in_reply_to=reply_id,
            days_ago=0,
        ),
    )

    async def answered() -> dict[str, Any] | None:
        detail = (await api.get(f"/api/v1/conversations/{cid}", headers=team.member.headers)).json()
        return detail if len(detail["messages"]) == 3 else None

    detail = await eventually(answered)
    assert detail is not None
    assert [m["direction"] for m in detail["messages"]] == ["incoming", "outgoing", "incoming"]
    assert [c["body"] for c in detail["comments"]] == ["Looking into it"]
    assert len(await conversations(api, team.member)) == 1

    closed = await api.post(f"/api/v1/conversations/{cid}/close", headers=team.member.headers)
    assert closed.json()["status"] == "closed"
    assert [c["id"] for c in await conversations(api, team.member, status="closed")] == [cid]
    emu.deliver(
        SUPPORT,
        sample_message(
            CAROL,
            SUPPORT,
            message_id="<c3@client.example>",
            subject="Re: Broken",
            in_reply_to="<c2@client.example>",
            days_ago=0,
        ),
    )

    async def reopened() -> bool:
        found = await conversations(api, team.member, status="open")
        return bool(found) and found[0]["ticket"]["status"] == "waiting_on_us"

    assert await eventually(reopened)


async def test_the_channel_api_is_for_admins_only(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    inbox_id = await add_team_inbox(runtime, team, SUPPORT, "conversations", team.admin.id)
    for method, path, body in (
        ("GET", "/api/v1/channels", None),
        ("POST", "/api/v1/channels", {"email": "help@acme.example", "provider": "gmail"}),
        ("PUT", f"/api/v1/channels/{inbox_id}/members", {"user_ids": []}),
        ("DELETE", f"/api/v1/channels/{inbox_id}", None),
    ):
        answer = await api.request(method, path, json=body, headers=team.member.headers)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["error"]["code"] == "forbidden"
    answer = await api.get("/api/v1/channels", headers=team.access.headers)
    assert [c["id"] for c in answer.json()["items"]] == [inbox_id]


async def test_team_addresses_must_be_gmail_or_office365(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    async def start(email: str, provider: str | None) -> dict[str, Any]:
        body = {"email": email, "destination": "helpdesk", "provider": provider}
        answer = await api.post("/api/v1/channels", json=body, headers=team.admin.headers)
        assert answer.status_code == 422, answer.text
        error: dict[str, Any] = answer.json()["error"]
        return error

    for email, provider in (("help@acme.example", "imap"), ("help@yahoo.com", "gmail")):
        error = await start(email, provider)
        assert error["code"] == "team_inbox_provider_unsupported"
        assert "must be hosted on Gmail or Office 365" in error["message"]
    assert (await start("help@acme.example", None))["code"] == "provider_required"

    await add_inbox(runtime, team.member.id, team.admin.account_id, "mine@acme.example")
    answer = await api.post(
        "/api/v1/channels",
        json={"email": "mine@acme.example", "provider": "gmail"},
        headers=team.admin.headers,
    )
    assert (
        answer.status_code == 409 and answer.json()["error"]["code"] == "address_is_personal_inbox"
    )


async def test_deleting_a_channel_notifies_exactly_the_d3_recipients_once(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    # Connected by a user who is neither admin nor account access: D3 still includes them.
    inbox_id = await add_team_inbox(runtime, team, SUPPORT, "helpdesk", team.other_member.id)
    answer = await api.delete(f"/api/v1/channels/{inbox_id}", headers=team.admin.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["provider_steps"]
    async with runtime.sessions() as session:
        told = list(
            await session.scalars(
                select(Notification.user_id).where(Notification.kind == "team_inbox_disconnected")
            )
        )
        inbox = await session.get(Inbox, inbox_id)
    assert sorted(told) == sorted([team.admin.id, team.access.id, team.other_member.id])
    assert inbox is not None and inbox.state == InboxState.REMOVED.value
    assert (await api.get("/api/v1/channels", headers=team.admin.headers)).json()["items"] == []


async def test_help_desk_tickets_spam_tombstones_and_channel_restriction(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    inbox_id = await add_team_inbox(runtime, team, "help@acme.example", "helpdesk", team.admin.id)
    first = sample_message(CAROL, "help@acme.example", message_id="<h1@x>", subject="Refund")
    await sighted(runtime, inbox_id, first, "p1")
    [ticket] = await conversations(api, team.member, destination="helpdesk")
    assert ticket["ticket"] == {"status": "new", "priority": "normal"}
    assert await conversations(api, team.member, destination="conversations") == []
    tid = f"/api/v1/conversations/{ticket['id']}"
    triaged = await api.post(
        f"{tid}/ticket", json={"status": "closed", "priority": "high"}, headers=team.member.headers
    )
    assert triaged.json()["status"] == "closed"
    assert triaged.json()["ticket"] == {"status": "closed", "priority": "high"}
    again = sample_message(
        CAROL, "help@acme.example", message_id="<h2@x>", in_reply_to="<h1@x>", days_ago=0
    )
    await sighted(runtime, inbox_id, again, "p2")
    [reopened] = await conversations(api, team.member)
    assert reopened["status"] == "open" and reopened["ticket"]["status"] == "waiting_on_us"
    # The sender was matched as a contact, with the messages on the timeline.
    contact = await api.get("/api/v1/contacts", params={"email": CAROL}, headers=team.admin.headers)
    assert contact.status_code == 200, contact.text

    spam = await api.post(f"{tid}/discard", json={"reason": "spam"}, headers=team.member.headers)
    assert spam.json()["status"] == "spam"
    assert await conversations(api, team.member) == []
    await sighted(runtime, inbox_id, first, "p1-after-resync")
    await sighted(
        runtime,
        inbox_id,
        sample_message(CAROL, "help@acme.example", message_id="<h3@x>", in_reply_to="<h2@x>"),
        "p3",
    )
    assert await conversations(api, team.member) == []
    async with runtime.sessions() as session:
        keys = await tombstoned(session, inbox_id, ["<h1@x>", "<h2@x>", "<h3@x>", "<other@x>"])
    assert keys == {"<h1@x>", "<h2@x>", "<h3@x>"}

    await sighted(
        runtime, inbox_id, sample_message(CAROL, "help@acme.example", message_id="<n1@x>"), "n1"
    )
    restricted = await api.put(
        f"/api/v1/channels/{inbox_id}/members",
        json={"user_ids": [team.other_member.id]},
        headers=team.admin.headers,
    )
    assert restricted.json()["members"] == [team.other_member.id]
    assert await conversations(api, team.member) == []
    [seen] = await conversations(api, team.other_member)
    hidden = await api.get(f"/api/v1/conversations/{seen['id']}", headers=team.member.headers)
    assert hidden.status_code == 404
    refused = await api.post(
        f"/api/v1/conversations/{seen['id']}/assign",
        json={"user_id": team.member.id},
        headers=team.other_member.headers,
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_assignee"
    foreign = await api.get(f"/api/v1/conversations/{seen['id']}", headers=team.outsider.headers)
    assert foreign.status_code == 404


async def signed_in(api: httpx.AsyncClient, person: Person) -> str:
    """Sign ``api`` in as ``person`` through the login page; returns the page CSRF token."""
    api.cookies.clear()
    form = await api.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    done = await api.post(
        "/login",
        data={"email": person.email, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert done.status_code == 303, done.text
    page = await api.get("/conversations")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return token.group(1)


async def test_the_pages_list_show_and_act_on_a_thread_and_hide_channels_from_members(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    inbox_id = await add_team_inbox(runtime, team, SUPPORT, "conversations", team.admin.id)
    html = b"<p>Hi <b>there</b></p><script>alert(1)</script>"
    raw = (
        f"From: {CAROL}\r\nTo: {SUPPORT}\r\nSubject: Page test\r\nMessage-ID: <pg1@x>\r\n"
        "Date: Tue, 03 Nov 2026 10:00:00 +0000\r\nContent-Type: text/html\r\n\r\n"
    ).encode() + html
    await sighted(runtime, inbox_id, raw, "pg1")

    await signed_in(api, team.member)
    assert (await api.get("/conversations/settings/channels")).status_code == 403
    listing = await api.get("/conversations")
    assert listing.status_code == 200 and "Page test" in listing.text
    [item] = await conversations(api, team.member)
    thread = await api.get(f"/conversations/{item['id']}")
    assert "<b>there</b>" in thread.text and "alert(1)" not in thread.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', thread.text)
    assert token is not None
    acted = await api.post(
        f"/conversations/{item['id']}/act",
        data={"csrf_token": token.group(1), "action": "comment", "body": "Seen it"},
    )
    assert acted.status_code == 303
    live = (await api.get(f"/conversations/live?conversation={item['id']}")).json()["version"]
    await api.post(
        f"/conversations/{item['id']}/act",
        data={"csrf_token": token.group(1), "action": "close"},
    )
    assert (await api.get(f"/conversations/live?conversation={item['id']}")).json()[
        "version"
    ] != live
    assert "Seen it" in (await api.get(f"/conversations/{item['id']}")).text

    await signed_in(api, team.admin)
    channels = await api.get("/conversations/settings/channels")
    assert channels.status_code == 200 and SUPPORT in channels.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', channels.text)
    assert token is not None
    refused = await api.post(
        "/conversations/settings/channels/connect",
        data={"csrf_token": token.group(1), "email": "team@yahoo.com", "destination": "helpdesk"},
    )
    assert refused.status_code == 422 and "must be hosted on Gmail or Office 365" in refused.text
    asked = await api.post(
        "/conversations/settings/channels/connect",
        data={
            "csrf_token": token.group(1),
            "email": "help@acme.example",
            "destination": "helpdesk",
        },
    )
    assert "Choose its provider" in asked.text or "choose its provider" in asked.text.lower()
    disclosed = await api.post(
        "/conversations/settings/channels/connect",
        data={
            "csrf_token": token.group(1),
            "email": "help@acme.example",
            "destination": "helpdesk",
            "provider": "microsoft",
        },
    )
    assert "Connect to Microsoft Outlook" in disclosed.text and "Continue" in disclosed.text
