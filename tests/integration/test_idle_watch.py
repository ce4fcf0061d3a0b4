"""An idle inbox costs no database work, yet mail filed in Sent by another mail client is still
logged, ``last_sync_at`` still advances (written behind, for all inboxes at once), and a
watcher whose stop signal was lost still stops -- on a server with NOTIFY (it reports Sent
during IDLE: a quiet wait sends nothing) and on one without (a STATUS of Sent per wait).

The watcher runs on its own here (no ``Runner``, whose own polling would also query), behind
a proxy that counts the IMAP commands it sends; every statement sent to the database is
recorded."""

from __future__ import annotations

import asyncio
import imaplib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from inboxlink.config import Settings
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Inbox
from inboxlink.sync.confirmations import Confirmations
from inboxlink.worker.watcher import watch_inbox
from tests.support.accounts import Team
from tests.support.api_helpers import add_contact, eventually, timeline
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import MailboxUser, new_user
from tests.support.mail_samples import sample_message
from tests.support.postfix import Postfix
from tests.support.tcp_proxy import TcpProxy

#: The watcher's Sent check: one STATUS per wait that timed out (the sync's own is a STATUS too).
SENT_CHECK = b" STATUS "
#: How the connector looks at INBOX anew (it stays selected, so a NOOP or a fresh EXAMINE).
INBOX_LOOKS = (b" NOOP", b" EXAMINE ", b" SELECT ")
#: Dovecot's own list without NOTIFY: a server where Sent can only be asked.
WITHOUT_NOTIFY = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ UIDPLUS NAMESPACE CONDSTORE "
    "QRESYNC SPECIAL-USE MOVE"
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    values = settings.model_dump()
    values.update(poll_seconds=1.0)
    return Settings(**values)


@pytest.fixture(params=["notify", "status"])
def server(request: pytest.FixtureRequest, dovecot: Dovecot, make_dovecot: Any) -> Dovecot:
    if request.param == "notify":
        return dovecot
    plain: Dovecot = make_dovecot(capabilities=WITHOUT_NOTIFY)
    return plain


@pytest.fixture
def imap_proxy(server: Dovecot) -> Iterator[TcpProxy]:
    with TcpProxy(server.host, server.imap_port) as proxy:
        yield proxy


def connect_body(user: MailboxUser, imap_port: int, smtp_port: int) -> dict[str, Any]:
    """Plaintext, so the proxy can count the commands."""
    return {
        "kind": "personal",
        "provider": "imap",
        "email": user.email,
        "password": user.password,
        "imap": {"host": "127.0.0.1", "port": imap_port, "security": "none"},
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none"},
    }


def file_in_sent(dovecot: Dovecot, user: MailboxUser, raw: bytes) -> None:
    """Another mail client of the same user saving a message it sent (APPEND to Sent)."""
    client = imaplib.IMAP4(dovecot.host, dovecot.imap_port)
    try:
        client.login(user.email, user.password)
        assert client.append("Sent", "(\\Seen)", None, raw)[0] == "OK"
    finally:
        client.logout()


async def last_sync_at(runtime: Runtime, inbox_id: int) -> Any:
    async with runtime.sessions() as session:
        return await session.scalar(select(Inbox.last_sync_at).where(Inbox.id == inbox_id))


async def test_idle_inbox_queries_nothing_yet_logs_sent_mail_and_stops_when_disabled(
    api: httpx.AsyncClient,
    runtime: Runtime,
    team: Team,
    dovecot: Dovecot,
    server: Dovecot,
    postfix: Postfix,
    imap_proxy: TcpProxy,
) -> None:
    notify = server is dovecot
    me, ann = new_user(server), new_user(server)
    if not notify:
        dovecot.add_user(me.email, me.password)  # Postfix asks the shared one (SMTP check)
    server.write_messages(me.email, [sample_message(ann.email, me.email, message_id="<in@i.x>")])
    server.write_messages(
        me.email, [sample_message(me.email, ann.email, message_id="<out@i.x>")], folder="Sent"
    )
    ann_id = await add_contact(api, team.member, ann.email)
    created = await api.post(
        "/api/v1/inboxes",
        json=connect_body(me, imap_proxy.port, postfix.smtp_port),
        headers=team.member.headers,
    )
    assert created.status_code == 201, created.text
    inbox_id = int(created.json()["id"])
    # Written only when the test says so (``write``), never by the clock during the test.
    runtime.confirmations = Confirmations(runtime.sessions, every=3600)
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    watcher = asyncio.create_task(watch_inbox(runtime, inbox_id))
    try:

        async def logged() -> set[str]:
            return {i["message_id"] for i in await timeline(api, team.member, ann_id)}

        assert await eventually(lambda: _backfilled(runtime, inbox_id))
        assert await logged() == {"<in@i.x>", "<out@i.x>"}
        synced_at = await last_sync_at(runtime, inbox_id)

        # Three waits end with nothing new: none touches the database or looks at INBOX
        # again (IDLE watches it). Sent is asked once a wait -- or, where the server reports
        # it during IDLE (NOTIFY), the connector sends nothing at all.
        event.listen(runtime.engine.sync_engine, "before_cursor_execute", record)
        lines, checks = imap_proxy.count_by_client(b"\r\n"), imap_proxy.count_by_client(SENT_CHECK)
        looks = [imap_proxy.count_by_client(command) for command in INBOX_LOOKS]
        await asyncio.sleep(3.5 * runtime.settings.poll_seconds)
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", record)
        assert statements == []
        assert [imap_proxy.count_by_client(command) for command in INBOX_LOOKS] == looks
        if notify:
            assert imap_proxy.count_by_client(b"\r\n") == lines
        else:
            assert imap_proxy.count_by_client(SENT_CHECK) >= checks + 2
        assert await last_sync_at(runtime, inbox_id) == synced_at

        # The confirmations of those waits are written together: last_sync_at moves on.
        await runtime.confirmations.write()
        assert await last_sync_at(runtime, inbox_id) > synced_at

        # Mail filed in Sent by another client while the inbox sits in IDLE is logged.
        raw = sample_message(me.email, ann.email, message_id="<elsewhere@i.x>", days_ago=0)
        await asyncio.to_thread(file_in_sent, server, me, raw)
        assert await eventually(lambda: _contains(logged, {"<elsewhere@i.x>"}))
        items = await timeline(api, team.member, ann_id)
        assert [i["direction"] for i in items if i["message_id"] == "<elsewhere@i.x>"] == [
            "outgoing"
        ]

        # Disabled with the stop signal lost (no engine listens here): the next write of the
        # confirmations finds it inactive, and the watcher stops by itself.
        disabled = await api.post(
            f"/api/v1/inboxes/{inbox_id}/disable", headers=team.member.headers
        )
        assert disabled.status_code == 200, disabled.text
        await asyncio.sleep(2.5 * runtime.settings.poll_seconds)  # a wait confirms it meanwhile
        await runtime.confirmations.write()
        await asyncio.wait_for(watcher, 20)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)


async def _backfilled(runtime: Runtime, inbox_id: int) -> bool:
    """The sync's last write (backfill complete) is done: the watcher is waiting now."""
    async with runtime.sessions() as session:
        done = await session.scalar(select(Inbox.backfill_complete).where(Inbox.id == inbox_id))
    return bool(done)


async def _contains(logged: Any, wanted: set[str]) -> bool:
    return wanted <= await logged()
