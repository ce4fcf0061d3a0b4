"""Replying from the team address: recipients, subject and threading headers of a reply.

The email goes through the outbox like any other (idempotent, through the team inbox's own
provider, saved to its Sent); the sync then files the sent copy into this conversation.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import utcnow
from inboxlink.conversations.model import Status, TicketStatus
from inboxlink.conversations.queries import get_conversation, thread_messages
from inboxlink.conversations.refresh import team_addresses
from inboxlink.domain.permissions import Actor
from inboxlink.errors import AppError
from inboxlink.outbox.queue import SendRequest, enqueue
from inboxlink.store.tables import Message, OutboundEmail


@dataclass(frozen=True, slots=True)
class ReplyRequest:
    text: str
    html: str = ""
    reply_all: bool = False


def _emails(people: list[dict[str, str]]) -> list[str]:
    return [str(p.get("email", "")).lower() for p in people if p.get("email")]


def reply_subject(subject: str) -> str:
    return subject if subject[:3].lower() == "re:" else f"Re: {subject}".strip()


def recipients(
    messages: list[Message], team: frozenset[str], *, reply_all: bool
) -> tuple[list[str], list[str]]:
    """To and Cc of a reply to the latest customer message (or, when the team wrote last and
    nobody answered yet, to the people the team wrote to)."""
    inbound = [m for m in messages if str(m.from_addr.get("email", "")).lower() not in team]
    if inbound:
        answered = inbound[-1]
        to = [str(answered.from_addr["email"]).lower()]
    else:
        answered = messages[-1]
        to = _emails(answered.to_addrs)
    cc: list[str] = []
    if reply_all:
        to += _emails(answered.to_addrs) if inbound else []
        cc = _emails(answered.cc_addrs)
    to = [a for a in dict.fromkeys(to) if a not in team]
    cc = [a for a in dict.fromkeys(cc) if a not in team and a not in to]
    return to, cc


async def reply(
    session: AsyncSession,
    actor: Actor,
    conversation_id: int,
    request: ReplyRequest,
    idempotency_key: str | None,
) -> OutboundEmail:
    """Queue a reply (or reply-all) from the team address, threaded to the latest message."""
    if not request.text.strip() and not request.html.strip():
        raise AppError("empty_reply", "Write your reply first.", status=422)
    summary = await get_conversation(session, actor, conversation_id)
    conversation = summary.conversation
    messages = await thread_messages(session, conversation)
    if not messages:
        raise AppError("nothing_to_reply_to", "This conversation has no message left.", status=409)
    team = await team_addresses(session, summary.channel.inbox)
    to, cc = recipients(messages, team, reply_all=request.reply_all)
    latest = messages[-1]
    queued = await enqueue(
        session,
        actor,
        SendRequest(
            inbox_id=conversation.inbox_id,
            to=to,
            cc=cc,
            subject=reply_subject(summary.subject or latest.subject),
            text=request.text,
            html=request.html,
            in_reply_to=latest.message_id,
        ),
        idempotency_key,
    )
    if conversation.status == Status.OPEN.value:
        conversation.ticket_status = TicketStatus.WAITING_ON_CONTACT.value
    conversation.updated_at = utcnow()
    return queued
