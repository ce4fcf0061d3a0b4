"""Storing a message once per account, threading it, and putting it on contact timelines.

Idempotent by construction: messages are keyed by (account, Message-ID or content hash),
sources by (inbox, folder, provider id), timeline entries by (contact, message). Storing the
same message again — a repeated batch after a crash, the same mail seen by two inboxes —
adds what is missing and changes nothing else.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc, utcnow
from inboxlink.domain.enums import Direction
from inboxlink.mail.body import parse_body
from inboxlink.mail.headers import HeaderInfo
from inboxlink.store.tables import Message, MessageSource, Thread, TimelineEntry


@dataclass(frozen=True, slots=True)
class Sighting:
    """One message as one inbox saw it, with the contacts it is logged for."""

    inbox_id: int
    owner_id: int | None
    folder: str
    provider_id: str
    headers: HeaderInfo
    raw: bytes
    direction: Direction
    contact_ids: tuple[int, ...]
    sent_from_crm: bool = False


def dedupe_key(headers: HeaderInfo, raw: bytes) -> str:
    """Message-ID when there is one; otherwise a hash of the content."""
    if headers.message_id:
        return headers.message_id[:500]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


async def _thread_for(session: AsyncSession, account_id: int, headers: HeaderInfo) -> Thread:
    """The thread of the messages this one answers or is answered by, else a new one.

    Backfill reads newest first, so a reply is often stored before its parent: a message
    joins the thread of its parents (In-Reply-To, References) and of the stored replies to
    it; when those were two threads, they are merged into the older one.
    """
    parents = [m for m in (headers.in_reply_to, *headers.references) if m]
    related: set[int] = set()
    if parents:
        related.update(
            await session.scalars(
                select(Message.thread_id).where(
                    Message.account_id == account_id, Message.message_id.in_(parents)
                )
            )
        )
    if headers.message_id:
        related.update(
            await session.scalars(
                select(Message.thread_id).where(
                    Message.account_id == account_id, Message.in_reply_to == headers.message_id
                )
            )
        )
    if not related:
        thread = Thread(account_id=account_id, subject=headers.subject)
        session.add(thread)
        await session.flush()
        return thread
    keep, *merged = sorted(related)
    if merged:
        await session.execute(
            update(Message).where(Message.thread_id.in_(merged)).values(thread_id=keep)
        )
        await session.execute(delete(Thread).where(Thread.id.in_(merged)))
    found = await session.get(Thread, keep)
    assert found is not None
    return found


async def _message_for(session: AsyncSession, account_id: int, sighting: Sighting) -> Message:
    key = dedupe_key(sighting.headers, sighting.raw)
    query = select(Message).where(Message.account_id == account_id, Message.dedupe_key == key)
    existing = await session.scalar(query)
    if existing is not None:
        if sighting.sent_from_crm and not existing.sent_from_crm:
            existing.sent_from_crm = True
        return existing
    headers = sighting.headers
    body = parse_body(sighting.raw)
    sent_at = as_utc(headers.date) if headers.date else utcnow()
    thread = await _thread_for(session, account_id, headers)
    message = Message(
        account_id=account_id,
        thread_id=thread.id,
        dedupe_key=key,
        message_id=headers.message_id,
        in_reply_to=headers.in_reply_to,
        references=list(headers.references),
        subject=headers.subject,
        from_addr=headers.sender.as_dict() if headers.sender else {"email": "", "name": ""},
        to_addrs=[m.as_dict() for m in headers.to],
        cc_addrs=[m.as_dict() for m in headers.cc],
        sent_at=sent_at,
        snippet=body.snippet,
        body_text=body.text,
        body_html=body.html,
        sent_from_crm=sighting.sent_from_crm,
        owner_id=sighting.owner_id,
    )
    try:
        async with session.begin_nested():
            session.add(message)
    except IntegrityError:
        # Another inbox of the account stored it a moment ago: use theirs.
        found = await session.scalar(query)
        assert found is not None
        return found
    if thread.last_message_at is None or as_utc(thread.last_message_at) < sent_at:
        thread.last_message_at = sent_at
    return message


async def store_sighting(session: AsyncSession, account_id: int, sighting: Sighting) -> bool:
    """Store what is new about ``sighting``; True when a timeline entry was added."""
    message = await _message_for(session, account_id, sighting)
    source = await session.scalar(
        select(MessageSource.id).where(
            MessageSource.inbox_id == sighting.inbox_id,
            MessageSource.folder == sighting.folder,
            MessageSource.provider_id == sighting.provider_id,
        )
    )
    if source is None:
        session.add(
            MessageSource(
                message_id=message.id,
                inbox_id=sighting.inbox_id,
                folder=sighting.folder,
                provider_id=sighting.provider_id,
            )
        )
    already = set(
        await session.scalars(
            select(TimelineEntry.contact_id).where(TimelineEntry.message_id == message.id)
        )
    )
    added = False
    for contact_id in sighting.contact_ids:
        if contact_id in already:
            continue
        session.add(
            TimelineEntry(
                account_id=account_id,
                contact_id=contact_id,
                message_id=message.id,
                inbox_id=sighting.inbox_id,
                direction=sighting.direction.value,
                occurred_at=message.sent_at,
            )
        )
        added = True
    await session.flush()
    return added
