"""Accepting a send request: validate it, then queue it once per idempotency key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc
from inboxlink.domain.enums import InboxKind
from inboxlink.domain.inbox_state import InboxState
from inboxlink.domain.permissions import Actor
from inboxlink.errors import AppError
from inboxlink.mail.headers import Mailbox
from inboxlink.mail.outgoing import OutgoingMessage, check_header_value, new_message_id
from inboxlink.services.inboxes import get_inbox
from inboxlink.services.users import check_email
from inboxlink.store.tables import Alias, OutboundEmail, User
from inboxlink.tracking.events import track_email

MAX_RECIPIENTS = 100


@dataclass(frozen=True, slots=True)
class SendRequest:
    inbox_id: int
    to: list[str]
    subject: str
    text: str = ""
    html: str = ""
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    sender: str | None = None
    in_reply_to: str = ""
    #: Open pixel and signed links (added when it is sent).
    track: bool = False


def outbound_dict(row: OutboundEmail) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": row.state,
        "message_id": row.message_id,
        "inbox_id": row.inbox_id,
        "from": row.from_addr,
        "to": row.to_addrs,
        "cc": row.cc_addrs,
        "subject": row.subject,
        "attempts": row.attempts,
        "created_at": as_utc(row.created_at).isoformat(),
        "sent_at": as_utc(row.sent_at).isoformat() if row.sent_at else None,
        "error": {"code": row.error_code, "message": row.error_message} if row.error_code else None,
    }


def _addresses(label: str, values: list[str]) -> list[str]:
    return [check_email(check_header_value(f"{label} address", v)) for v in values]


async def enqueue(
    session: AsyncSession, actor: Actor, request: SendRequest, idempotency_key: str | None
) -> OutboundEmail:
    """Queue ``request``; the same idempotency key from the same user returns the first email."""
    if idempotency_key:
        existing = await session.scalar(
            select(OutboundEmail).where(
                OutboundEmail.user_id == actor.user_id,
                OutboundEmail.idempotency_key == idempotency_key,
            )
        )
        if existing is not None:
            return existing
    inbox = await get_inbox(session, actor, request.inbox_id)
    # A personal inbox sends for its owner only; a team inbox for anyone of the account who
    # sees it (T1: replies go out from the team address). get_inbox checked visibility.
    if inbox.kind == InboxKind.PERSONAL.value and inbox.owner_id != actor.user_id:
        raise AppError("not_your_inbox", "You can only send from your own inboxes.", status=403)
    if inbox.state != InboxState.CONNECTED.value:
        raise AppError(
            "inbox_not_connected",
            f"{inbox.email} is {inbox.state.replace('_', ' ')}; enable or reconnect it in "
            "Settings → General → Email before sending from it.",
            status=409,
        )
    aliases = set(await session.scalars(select(Alias.email).where(Alias.inbox_id == inbox.id)))
    sender = (request.sender or inbox.email).strip().lower()
    if sender not in {inbox.email, *aliases}:
        raise AppError(
            "invalid_from",
            f"{sender} is neither {inbox.email} nor one of its aliases.",
            status=422,
        )
    to, cc, bcc = (
        _addresses(n, v) for n, v in (("To", request.to), ("Cc", request.cc), ("Bcc", request.bcc))
    )
    if not to:
        raise AppError("no_recipients", "Add at least one recipient in To.", status=422)
    if len(to) + len(cc) + len(bcc) > MAX_RECIPIENTS:
        raise AppError(
            "too_many_recipients", f"Send to at most {MAX_RECIPIENTS} people at once.", status=422
        )
    user = await session.get(User, actor.user_id)
    message_id = new_message_id(sender)
    # Build it once now so invalid headers are refused before anything is queued.
    outgoing_message(
        sender,
        user.name if user else "",
        to,
        cc,
        bcc,
        request.subject,
        request.text,
        request.html,
        request.in_reply_to,
        message_id,
    )
    row = OutboundEmail(
        account_id=actor.account_id,
        user_id=actor.user_id,
        inbox_id=inbox.id,
        idempotency_key=idempotency_key,
        message_id=message_id,
        from_addr=sender,
        to_addrs=to,
        cc_addrs=cc,
        bcc_addrs=bcc,
        subject=request.subject,
        text=request.text,
        html=request.html,
        in_reply_to=request.in_reply_to,
    )
    session.add(row)
    await session.flush()
    if request.track:
        track_email(session, row)
    return row


def outgoing_message(
    sender: str,
    sender_name: str,
    to: list[str],
    cc: list[str],
    bcc: list[str],
    subject: str,
    text: str,
    html: str,
    in_reply_to: str,
    message_id: str,
) -> OutgoingMessage:
    return OutgoingMessage(
        sender=Mailbox(sender, sender_name),
        to=tuple(Mailbox(a) for a in to),
        cc=tuple(Mailbox(a) for a in cc),
        bcc=tuple(Mailbox(a) for a in bcc),
        subject=subject,
        text=text,
        html=html,
        in_reply_to=in_reply_to,
        message_id=message_id,
    )
