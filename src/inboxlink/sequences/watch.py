"""The sequence engine's look at an inbox's incoming folder: replies, auto-replies, bounces.

The sync engine stores only mail that involves a contact, and not the headers that mark an
auto-reply; a bounce comes from MAILER-DAEMON, who is nobody's contact. So for inboxes with
enrollments under way this module takes its own pass through the incoming folder via the
``Connector`` protocol, from a checkpoint of its own (first copied from the sync engine's, so
the pass starts where the mailbox is now, not at its history), fetches only the messages from
enrolled contacts or from mail systems, and records what they are as ``MailSignal`` rows.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import utcnow
from inboxlink.connectors import connector_for, folders_of
from inboxlink.mail.auto_reply import MailKind, may_be_bounce, recognise
from inboxlink.providers.base import Folder, ScannedMessage
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Inbox, MailSignal, SignalWatch, SyncFolder

log = logging.getLogger(__name__)


def incoming_folder(inbox: Inbox) -> Folder | None:
    return next((f for f in folders_of(inbox) if f.role == "inbox"), None)


async def ensure_watch(session: AsyncSession, inbox: Inbox, *, restart: bool) -> None:
    """Start (or, when nothing was watched meanwhile, restart) at the sync engine's position."""
    folder = incoming_folder(inbox)
    if folder is None:
        return
    row = await session.get(SignalWatch, inbox.id)
    if row is not None and not restart:
        return
    checkpoint = await session.scalar(
        select(SyncFolder.checkpoint).where(
            SyncFolder.inbox_id == inbox.id, SyncFolder.name == folder.name
        )
    )
    if row is None:
        session.add(SignalWatch(inbox_id=inbox.id, folder=folder.name, checkpoint=checkpoint))
    elif checkpoint is not None:
        row.folder, row.checkpoint = folder.name, checkpoint


def _interesting(message: ScannedMessage, contacts: set[str]) -> bool:
    headers = message.headers
    sender = headers.sender.email if headers.sender else ""
    return sender in contacts or may_be_bounce(sender, headers.subject)


def _signals(
    inbox: Inbox, message: ScannedMessage, raw: bytes, contacts: set[str]
) -> list[MailSignal]:
    headers = message.headers
    key = headers.message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    sender = headers.sender.email if headers.sender else ""
    found = recognise(raw, own_address=inbox.email)
    received = headers.date or utcnow()
    answers = [m for m in (headers.in_reply_to, *headers.references) if m]

    def signal(kind: MailKind, address: str, suffix: str = "") -> MailSignal:
        return_on = (
            datetime.combine(found.return_on, time(0), tzinfo=UTC) if found.return_on else None
        )
        return MailSignal(
            account_id=inbox.account_id,
            inbox_id=inbox.id,
            message_key=(key + suffix)[:500],
            kind=kind.value,
            address=address,
            answers=answers,
            return_on=return_on,
            received_at=received,
        )

    if found.kind is MailKind.BOUNCE:
        return [signal(found.kind, a, f"#{a}") for a in found.failed_recipients]
    if sender in contacts:
        return [signal(found.kind, sender)]
    return []


async def watch_inbox(runtime: Runtime, inbox_id: int, contacts: set[str]) -> int:
    """One pass over the incoming folder; returns how many signals were recorded."""
    async with runtime.sessions() as session:
        inbox = await session.get(Inbox, inbox_id)
        watch = await session.get(SignalWatch, inbox_id)
        if inbox is None or watch is None:
            return 0
        folder = incoming_folder(inbox)
        checkpoint = watch.checkpoint
    if folder is None:
        return 0
    recorded = 0
    connector = connector_for(runtime, inbox)
    try:
        async for batch in connector.changes(folder, checkpoint):
            wanted = [m for m in batch.messages if _interesting(m, contacts)]
            raws = (
                await connector.fetch_raw(folder, [m.provider_id for m in wanted]) if wanted else {}
            )
            async with runtime.sessions() as session, session.begin():
                for message in wanted:
                    raw = raws.get(message.provider_id)
                    if raw is not None:
                        recorded += await _record(session, _signals(inbox, message, raw, contacts))
                row = await session.get(SignalWatch, inbox_id)
                if row is not None:
                    row.checkpoint = batch.checkpoint
    finally:
        await connector.close()
    return recorded


async def _record(session: AsyncSession, signals: list[MailSignal]) -> int:
    """Add the signals not recorded yet (a repeated batch records nothing twice)."""
    added = 0
    for signal in signals:
        known = await session.scalar(
            select(MailSignal.id).where(
                MailSignal.inbox_id == signal.inbox_id, MailSignal.message_key == signal.message_key
            )
        )
        if known is None:
            session.add(signal)
            added += 1
    return added
