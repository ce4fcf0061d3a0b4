"""What the team does to a conversation: assign, close, reopen, comment, triage, delete.

Anyone who sees a channel may act on its conversations (T1: the team manages its mail).
Every change moves ``updated_at``, which open pages poll for.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import utcnow
from inboxlink.conversations.model import Priority, Status, TicketStatus
from inboxlink.conversations.queries import Summary, get_conversation, thread_messages
from inboxlink.conversations.tombstones import bury
from inboxlink.domain.permissions import Actor, can_see_channel
from inboxlink.errors import AppError
from inboxlink.notifications.inbox import notify
from inboxlink.services.inboxes import inbox_ref
from inboxlink.services.users import actor_of
from inboxlink.store.tables import ConversationComment, User

MAX_COMMENT = 20_000


def _touched(summary: Summary) -> Summary:
    summary.conversation.updated_at = utcnow()
    return summary


async def assign(
    session: AsyncSession, actor: Actor, conversation_id: int, user_id: int | None
) -> Summary:
    """Give the conversation to a user who sees its channel (None: unassign); they are told."""
    summary = await get_conversation(session, actor, conversation_id)
    if user_id is not None:
        user = await session.get(User, user_id)
        channel = summary.channel
        if user is None or not can_see_channel(
            actor_of(user), inbox_ref(channel.inbox), channel.members
        ):
            raise AppError(
                "invalid_assignee",
                "Assign the conversation to a user of your account who is on this channel's team.",
                status=422,
            )
        if user_id != actor.user_id and summary.conversation.assignee_id != user_id:
            await notify(
                session,
                account_id=actor.account_id,
                user_ids={user_id},
                kind="conversation_assigned",
                title=f"Assigned to you: {summary.subject or '(no subject)'}",
                body=f"/conversations/{conversation_id}",
                inbox_id=channel.inbox.id,
            )
    summary.conversation.assignee_id = user_id
    return _touched(summary)


async def close(session: AsyncSession, actor: Actor, conversation_id: int) -> Summary:
    summary = await get_conversation(session, actor, conversation_id)
    summary.conversation.status = Status.CLOSED.value
    summary.conversation.ticket_status = TicketStatus.CLOSED.value
    summary.conversation.closed_at = utcnow()
    return _touched(summary)


async def reopen(session: AsyncSession, actor: Actor, conversation_id: int) -> Summary:
    """Back to open, also from deleted (its messages stay tombstoned) — not from spam."""
    summary = await get_conversation(session, actor, conversation_id)
    if summary.conversation.status == Status.SPAM.value:
        raise AppError(
            "conversation_is_spam", "This conversation was marked as spam; it stays hidden.",
            status=409,
        )  # fmt: skip
    summary.conversation.status = Status.OPEN.value
    summary.conversation.ticket_status = TicketStatus.WAITING_ON_US.value
    summary.conversation.closed_at = None
    return _touched(summary)


async def triage(
    session: AsyncSession,
    actor: Actor,
    conversation_id: int,
    *,
    ticket_status: TicketStatus | None = None,
    priority: Priority | None = None,
) -> Summary:
    """Help desk: set a ticket's status and priority (closing the ticket closes the thread)."""
    if ticket_status is TicketStatus.CLOSED:
        await close(session, actor, conversation_id)
    elif ticket_status is not None:
        await reopen(session, actor, conversation_id)
    summary = await get_conversation(session, actor, conversation_id)
    if ticket_status is not None:
        summary.conversation.ticket_status = ticket_status.value
    if priority is not None:
        summary.conversation.priority = priority.value
    return _touched(summary)


async def comment(
    session: AsyncSession, actor: Actor, conversation_id: int, body: str
) -> ConversationComment:
    """An internal note for the team; never sent to the customer."""
    text = body.strip()
    if not text:
        raise AppError("empty_comment", "Write something in the comment first.", status=422)
    if len(text) > MAX_COMMENT:
        raise AppError(
            "comment_too_long", f"A comment holds at most {MAX_COMMENT} characters.", status=422
        )
    summary = await get_conversation(session, actor, conversation_id)
    note = ConversationComment(conversation_id=conversation_id, author_id=actor.user_id, body=text)
    session.add(note)
    _touched(summary)
    await session.flush()
    return note


async def discard(
    session: AsyncSession, actor: Actor, conversation_id: int, reason: Status
) -> Summary:
    """Delete or mark as spam: hidden from every list, and its messages tombstoned so the
    next sync does not import them again. Nothing is deleted on the mail server."""
    if reason not in (Status.DELETED, Status.SPAM):
        raise ValueError(reason)
    summary = await get_conversation(session, actor, conversation_id)
    conversation = summary.conversation
    messages = await thread_messages(session, conversation)
    await bury(session, conversation.inbox_id, [m.dedupe_key for m in messages], reason.value)
    conversation.status = reason.value
    conversation.ticket_status = TicketStatus.CLOSED.value
    conversation.closed_at = utcnow()
    return _touched(summary)
