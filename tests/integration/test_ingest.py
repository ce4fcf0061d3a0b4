"""Storing messages is idempotent on SQLite and PostgreSQL: repeats add nothing."""

from sqlalchemy import func, select

from inboxlink.crm.ingest import Sighting, store_sighting
from inboxlink.domain.enums import Direction
from inboxlink.mail.headers import parse_headers
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Contact, Message, MessageSource, TimelineEntry
from tests.support.accounts import Team
from tests.support.api_helpers import add_inbox


def raw_message(message_id: str, *, in_reply_to: str = "", sender: str = "ann@client.com") -> bytes:
    reply = f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n" if in_reply_to else ""
    return (
        f"From: {sender}\r\nTo: member@acme.test\r\nSubject: Hello\r\n"
        f"Date: Tue, 03 Nov 2026 10:00:00 +0000\r\nMessage-ID: {message_id}\r\n{reply}\r\n"
        "Body text\r\n"
    ).encode()


async def count(runtime: Runtime, table: type) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def store(
    runtime: Runtime, team: Team, inbox_id: int, contact_id: int, raw: bytes, provider_id: str
) -> bool:
    sighting = Sighting(
        inbox_id=inbox_id,
        owner_id=team.member.id,
        folder="INBOX",
        provider_id=provider_id,
        headers=parse_headers(raw),
        raw=raw,
        direction=Direction.INCOMING,
        contact_ids=(contact_id,),
    )
    async with runtime.sessions() as session, session.begin():
        return await store_sighting(session, team.member.account_id, sighting)


async def test_storing_twice_and_from_two_inboxes_logs_once(runtime: Runtime, team: Team) -> None:
    inbox = await add_inbox(runtime, team.member.id, team.member.account_id, "member@acme.test")
    other = await add_inbox(
        runtime, team.other_member.id, team.member.account_id, "other@acme.test"
    )
    async with runtime.sessions() as session:
        contact = Contact(account_id=team.member.account_id, email="ann@client.com")
        session.add(contact)
        await session.commit()
    raw = raw_message("<one@client.com>")
    assert await store(runtime, team, inbox, contact.id, raw, "1:5") is True
    assert await store(runtime, team, inbox, contact.id, raw, "1:5") is False  # repeated batch
    assert await store(runtime, team, other, contact.id, raw, "7:9") is False  # second mailbox
    assert await count(runtime, Message) == 1
    assert await count(runtime, TimelineEntry) == 1
    assert await count(runtime, MessageSource) == 2


async def test_replies_join_the_thread_and_messages_without_id_dedupe_by_content(
    runtime: Runtime, team: Team
) -> None:
    inbox = await add_inbox(runtime, team.member.id, team.member.account_id, "member@acme.test")
    async with runtime.sessions() as session:
        contact = Contact(account_id=team.member.account_id, email="ann@client.com")
        session.add(contact)
        await session.commit()
    await store(runtime, team, inbox, contact.id, raw_message("<root@client.com>"), "1:1")
    await store(
        runtime,
        team,
        inbox,
        contact.id,
        raw_message("<reply@acme.test>", in_reply_to="<root@client.com>"),
        "1:2",
    )
    no_id = raw_message("")
    await store(runtime, team, inbox, contact.id, no_id, "1:3")
    await store(runtime, team, inbox, contact.id, no_id, "1:3")
    async with runtime.sessions() as session:
        rows = (await session.execute(select(Message.message_id, Message.thread_id))).all()
    threads = {mid: tid for mid, tid in rows}
    assert threads["<root@client.com>"] == threads["<reply@acme.test>"]
    assert len(rows) == 3
    assert threads[""] != threads["<root@client.com>"]
