"""Reading conversations: the filtered list, one thread with its messages and comments.

Only messages that reached the conversation's own team inbox are shown (a colleague's
personal copy of the same thread never is), minus tombstoned ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.conversations.channels import ChannelView, get_channel, visible_channels
from inboxlink.conversations.model import Destination, Status
from inboxlink.domain.permissions import Actor
from inboxlink.errors import AppError, NotFound
from inboxlink.store.tables import (
    Conversation,
    ConversationComment,
    Message,
    MessageSource,
    MessageTombstone,
    Thread,
    User,
)

HIDDEN = (Status.DELETED.value, Status.SPAM.value)
MAX_LIST = 200


@dataclass(frozen=True, slots=True)
class Filters:
    """``assignee``: "me", "none" or a user id; ``status`` a Status, or None for open+closed."""

    channel: int | None = None
    status: Status | None = None
    assignee: str | None = None
    destination: Destination | None = None
    ticket_status: str | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    conversation: Conversation
    channel: ChannelView
    subject: str
    latest: Message | None


@dataclass(frozen=True, slots=True)
class Detail:
    summary: Summary
    messages: list[Message]
    comments: list[ConversationComment]


def _assignee_clause(
    query: Select[Conversation], actor: Actor, assignee: str
) -> Select[Conversation]:
    if assignee == "me":
        return query.where(Conversation.assignee_id == actor.user_id)
    if assignee == "none":
        return query.where(Conversation.assignee_id.is_(None))
    if assignee.isdigit():
        return query.where(Conversation.assignee_id == int(assignee))
    raise AppError("invalid_assignee", "assignee is 'me', 'none' or a user id.", status=422)


async def _summaries(
    session: AsyncSession, rows: list[Conversation], channels: dict[int, ChannelView]
) -> list[Summary]:
    """Each conversation with its subject and latest message (two queries for the page)."""
    if not rows:
        return []
    found = await session.execute(
        select(Thread.id, Thread.subject).where(Thread.id.in_({c.thread_id for c in rows}))
    )
    subjects: dict[int, str] = {thread_id: subject for thread_id, subject in found}
    latest = {
        m.id: m
        for m in await session.scalars(
            select(Message).where(Message.id.in_({c.seen_message_id for c in rows}))
        )
    }
    return [
        Summary(
            c, channels[c.inbox_id], subjects.get(c.thread_id, ""), latest.get(c.seen_message_id)
        )
        for c in rows
    ]


async def list_conversations(
    session: AsyncSession, actor: Actor, filters: Filters
) -> list[Summary]:
    channels = {v.inbox.id: v for v in await visible_channels(session, actor, filters.destination)}
    if filters.channel is not None:
        channels = {k: v for k, v in channels.items() if k == filters.channel}
    if not channels:
        return []
    query = select(Conversation).where(Conversation.inbox_id.in_(channels))
    if filters.status is None:
        query = query.where(Conversation.status.not_in(HIDDEN))
    else:
        query = query.where(Conversation.status == filters.status.value)
    if filters.assignee:
        query = _assignee_clause(query, actor, filters.assignee)
    if filters.ticket_status:
        query = query.where(Conversation.ticket_status == filters.ticket_status)
    query = query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(
        MAX_LIST
    )
    return await _summaries(session, list(await session.scalars(query)), channels)


async def list_version(session: AsyncSession, actor: Actor) -> str:
    """Changes whenever anything a list shows changes: what open pages poll for."""
    channels = [v.inbox.id for v in await visible_channels(session, actor)]
    if not channels:
        return "empty"
    latest, count = (
        await session.execute(
            select(func.max(Conversation.updated_at), func.count()).where(
                Conversation.inbox_id.in_(channels)
            )
        )
    ).one()
    return f"{latest.isoformat() if isinstance(latest, datetime) else latest}:{count}"


async def get_conversation(session: AsyncSession, actor: Actor, conversation_id: int) -> Summary:
    """The conversation, or 404 when it does not exist or its channel is not shown to actor."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.account_id != actor.account_id:
        raise NotFound("conversation")
    try:
        channel = await get_channel(session, actor, conversation.inbox_id)
    except NotFound:
        raise NotFound("conversation") from None
    [summary] = await _summaries(session, [conversation], {channel.inbox.id: channel})
    return summary


async def thread_messages(session: AsyncSession, conversation: Conversation) -> list[Message]:
    seen_here = select(MessageSource.id).where(
        MessageSource.message_id == Message.id, MessageSource.inbox_id == conversation.inbox_id
    )
    buried = select(MessageTombstone.id).where(
        MessageTombstone.inbox_id == conversation.inbox_id,
        MessageTombstone.message_key == Message.dedupe_key,
    )
    rows = await session.scalars(
        select(Message)
        .where(Message.thread_id == conversation.thread_id, seen_here.exists(), ~buried.exists())
        .order_by(Message.sent_at, Message.id)
    )
    return list(rows)


async def read_conversation(session: AsyncSession, actor: Actor, conversation_id: int) -> Detail:
    summary = await get_conversation(session, actor, conversation_id)
    comments = await session.scalars(
        select(ConversationComment)
        .where(ConversationComment.conversation_id == conversation_id)
        .order_by(ConversationComment.created_at, ConversationComment.id)
    )
    return Detail(summary, await thread_messages(session, summary.conversation), list(comments))


async def account_users(session: AsyncSession, account_id: int) -> dict[int, User]:
    rows = await session.scalars(
        select(User).where(User.account_id == account_id).order_by(User.name, User.email)
    )
    return {u.id: u for u in rows}
