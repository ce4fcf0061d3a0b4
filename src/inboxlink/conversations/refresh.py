"""Turning what the sync engine stored for team inboxes into conversation state.

Each channel remembers the highest ``message_sources.id`` it has applied; everything above it
is new to the channel: a thread seen for the first time becomes a conversation, a customer's
message reopens a closed one, a tombstoned message is ignored (and one arriving in a spam
conversation is tombstoned too). Repeating a refresh changes nothing, and two at once at
worst apply the same message twice, which the rules make harmless.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc, utcnow
from inboxlink.conversations.contacts import Sender, log_senders
from inboxlink.conversations.model import Status, TicketStatus
from inboxlink.conversations.rules import State, after_message
from inboxlink.conversations.tombstones import bury, tombstoned
from inboxlink.domain.inbox_state import InboxState
from inboxlink.store.tables import Alias, Channel, Conversation, Inbox, Message, MessageSource

BATCH = 2000


async def team_addresses(session: AsyncSession, inbox: Inbox) -> frozenset[str]:
    aliases = await session.scalars(select(Alias.email).where(Alias.inbox_id == inbox.id))
    return frozenset({inbox.email, *aliases})


async def _conversation(
    session: AsyncSession, inbox: Inbox, thread_id: int, known: dict[int, Conversation]
) -> tuple[Conversation, bool]:
    """The channel's conversation for ``thread_id``, created when new (True)."""
    if thread_id in known:
        return known[thread_id], False
    try:
        async with session.begin_nested():
            created = Conversation(
                account_id=inbox.account_id,
                inbox_id=inbox.id,
                thread_id=thread_id,
                status=Status.OPEN.value,
                ticket_status=TicketStatus.NEW.value,
                seen_message_id=0,
            )
            session.add(created)
        known[thread_id] = created
        return created, True
    except IntegrityError:  # another refresh created it a moment ago
        found = await session.scalar(
            select(Conversation).where(
                Conversation.inbox_id == inbox.id, Conversation.thread_id == thread_id
            )
        )
        assert found is not None
        known[thread_id] = found
        return found, False


def _apply(conversation: Conversation, row: Any, *, inbound: bool, first: bool) -> None:
    if row.message_pk <= conversation.seen_message_id and not first:
        return  # an old message seen again (another folder, a resync): not news
    state = after_message(
        State(Status(conversation.status), TicketStatus(conversation.ticket_status)),
        inbound=inbound,
        first=first,
    )
    if state.status is Status.OPEN and conversation.status != Status.OPEN.value:
        conversation.closed_at = None
    conversation.status, conversation.ticket_status = state.status.value, state.ticket.value
    conversation.seen_message_id = max(conversation.seen_message_id, row.message_pk)
    sent_at = as_utc(row.sent_at)
    if conversation.last_message_at is None or as_utc(conversation.last_message_at) < sent_at:
        conversation.last_message_at = sent_at
    conversation.updated_at = utcnow()


async def _refresh_channel(session: AsyncSession, channel: Channel, inbox: Inbox) -> None:
    rows = (
        await session.execute(
            select(
                MessageSource.id.label("source_pk"),
                Message.id.label("message_pk"),
                Message.thread_id,
                Message.dedupe_key,
                Message.from_addr,
                Message.sent_at,
            )
            .join(Message, Message.id == MessageSource.message_id)
            .where(MessageSource.inbox_id == inbox.id, MessageSource.id > channel.seen_source_id)
            .order_by(MessageSource.id)
            .limit(BATCH)
        )
    ).all()
    if not rows:
        return
    ours = await team_addresses(session, inbox)
    buried = await tombstoned(session, inbox.id, [r.dedupe_key for r in rows])
    threads = {r.thread_id for r in rows}
    known = {
        c.thread_id: c
        for c in await session.scalars(
            select(Conversation).where(
                Conversation.inbox_id == inbox.id, Conversation.thread_id.in_(threads)
            )
        )
    }
    senders: list[Sender] = []
    spam: list[str] = []
    for row in rows:
        if row.dedupe_key in buried:
            continue
        conversation, first = await _conversation(session, inbox, row.thread_id, known)
        if conversation.status == Status.SPAM.value:
            spam.append(row.dedupe_key)
            continue
        sender = str((row.from_addr or {}).get("email", "")).lower()
        inbound = sender not in ours
        _apply(conversation, row, inbound=inbound, first=first)
        if inbound and sender:
            name = str((row.from_addr or {}).get("name", ""))
            senders.append(Sender(row.message_pk, sender, name, as_utc(row.sent_at)))
    await bury(session, inbox.id, spam, Status.SPAM.value)
    await log_senders(session, inbox.account_id, inbox.id, senders, create=channel.create_contacts)
    channel.seen_source_id = rows[-1].source_pk


async def refresh(session: AsyncSession, account_id: int) -> None:
    """Bring the account's conversations up to date with the stored messages."""
    channels = (
        await session.execute(
            select(Channel, Inbox)
            .join(Inbox, Inbox.id == Channel.inbox_id)
            .where(Inbox.account_id == account_id, Inbox.state != InboxState.REMOVED.value)
            .order_by(Channel.inbox_id)
            .with_for_update(of=Channel)
        )
    ).all()
    for channel, inbox in channels:
        await _refresh_channel(session, channel, inbox)
    await session.flush()
