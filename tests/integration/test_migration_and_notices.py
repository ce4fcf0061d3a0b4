"""Provider migration (R1, G2), long delays, and notifications by email (issue 6)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from inboxlink.clock import utcnow
from inboxlink.config import Settings
from inboxlink.errors import AppError
from inboxlink.notifications.email import deliver_pending
from inboxlink.notifications.inbox import notify
from inboxlink.runtime import Runtime
from inboxlink.services.migration import check_migration
from inboxlink.store.tables import Inbox, Notification, User
from inboxlink.worker.watcher import _record_delay
from tests.emulators.google import GoogleEmulator
from tests.emulators.microsoft import MicrosoftEmulator
from tests.support.accounts import Team
from tests.support.api_helpers import add_contact, add_inbox, eventually, timeline
from tests.support.cloud import cloud_settings, connect_oauth, my_inboxes
from tests.support.dns_server import DnsServer
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import new_user, wait_for_notification_email
from tests.support.mail_samples import sample_message
from tests.support.postfix import Postfix

DOMAIN = "movers.example"


@pytest.fixture
def settings(
    settings: Settings,
    dns_server: DnsServer,
    google_emulator: GoogleEmulator,
    microsoft_emulator: MicrosoftEmulator,
) -> Settings:
    dns_server.add_mx(DOMAIN, "aspmx.l.google.com")
    dns_server.start()
    return cloud_settings(
        settings,
        google_emulator,
        microsoft_emulator,
        dns_nameservers=dns_server.nameserver,
        dns_timeout_seconds=2,
    )


async def test_gmail_to_office365_disconnects_by_itself_and_logs_nothing_twice(
    api: httpx.AsyncClient,
    runtime: Runtime,
    runner: object,
    team: Team,
    dns_server: DnsServer,
    google_emulator: GoogleEmulator,
    microsoft_emulator: MicrosoftEmulator,
) -> None:
    address = f"jane@{DOMAIN}"
    google_emulator.add_account(address, "Jane")
    microsoft_emulator.add_account(address, "Jane")
    mail = sample_message(
        "ann@client.example", address, message_id="<same@client.example>", subject="Before the move"
    )
    google_emulator.deliver(address, mail)
    microsoft_emulator.deliver(address, mail)
    ann = await add_contact(api, team.member, "ann@client.example")

    await connect_oauth(api, team.member, "gmail", address)
    [gmail] = await my_inboxes(api, team.member)
    assert await eventually(lambda: _logged(api, team, ann, 1))
    assert await check_migration(runtime, gmail["id"]) is False  # MX still at Google

    dns_server.replace_records()
    dns_server.add_mx(DOMAIN, "movers-example.mail.protection.outlook.com")
    dns_server.restart()
    assert await check_migration(runtime, gmail["id"]) is True
    assert await check_migration(runtime, gmail["id"]) is False  # once only
    body = (await api.get(f"/api/v1/inboxes/{gmail['id']}", headers=team.member.headers)).json()
    assert body["state"] == "disconnected_migrated"
    assert "Microsoft 365" in body["sync"]["last_error"]["message"]
    async with runtime.sessions() as session:
        notes = list(await session.scalars(select(Notification.kind)))
    assert notes == ["provider_migration"]

    page = await connect_oauth(api, team.member, "microsoft", address)
    assert "Your inbox is connected" in page.text
    await asyncio.sleep(2)
    assert await _logged(api, team, ann, 1)


async def _logged(api: httpx.AsyncClient, team: Team, contact: int, count: int) -> bool:
    items = await timeline(api, team.member, contact)
    return len(items) == count and items[0]["subject"] == "Before the move"


async def test_a_long_delay_is_told_once(runtime: Runtime, team: Team) -> None:
    inbox_id = await add_inbox(runtime, team.member.id, team.member.account_id, "m@acme.example")
    error = AppError("imap_unreachable", "Could not reach the IMAP server.")
    await _record_delay(runtime, inbox_id, error)
    await _record_delay(runtime, inbox_id, error)
    async with runtime.sessions() as session, session.begin():
        inbox = await session.get(Inbox, inbox_id)
        assert inbox is not None and inbox.delayed_since is not None
        inbox.delayed_since = utcnow() - timedelta(hours=2)
    for _ in range(3):
        await _record_delay(runtime, inbox_id, error)
    async with runtime.sessions() as session:
        notes = list(await session.scalars(select(Notification)))
        inbox = await session.get(Inbox, inbox_id)
    assert [n.kind for n in notes] == ["sync_delayed"]
    assert notes[0].user_id == team.member.id
    assert inbox is not None and inbox.state == "connected" and inbox.sync_state == "delayed"


async def test_notifications_are_emailed_through_the_system_smtp_server(
    runtime: Runtime, team: Team, dovecot: Dovecot, postfix: Postfix
) -> None:
    person = new_user(dovecot)
    async with runtime.sessions() as session, session.begin():
        user = await session.get(User, team.member.id)
        assert user is not None
        user.email = person.email
        await notify(
            session,
            account_id=team.member.account_id,
            user_ids={team.member.id},
            kind="needs_reconnect",
            title="Reconnect your inbox",
            body="Please do.",
        )
    assert await deliver_pending(runtime) == 0  # not configured: in-app only
    runtime.settings.smtp_url = f"smtp://127.0.0.1:{postfix.smtp_port}?from=robot@example.test"
    assert await deliver_pending(runtime) == 1
    assert await deliver_pending(runtime) == 0
    arrived = await asyncio.to_thread(wait_for_notification_email, dovecot, person.email)
    assert b"[inboxlink] Reconnect your inbox" in arrived
