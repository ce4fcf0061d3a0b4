"""Accepting a send request: validate it, then queue it once per idempotency key."""

from __future__ import annotations

from collections.abc import Sequence
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
from inboxlink.store.batching import slices
from inboxlink.store.tables import Alias, Inbox, OutboundEmail, User
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
    (queued,) = await enqueue_many(session, actor, [(request, idempotency_key)])
    if isinstance(queued, AppError):
        raise queued
    return queued


async def enqueue_many(
    session: AsyncSession,
    actor: Actor,
    requests: Sequence[tuple[SendRequest, str | None]],
) -> list[OutboundEmail | AppError]:
    """Queue each request, or say why not: each is checked and keyed exactly as ``enqueue``
    does (a key seen before -- earlier in the list, or in an earlier call -- returns the first
    email), with the look-ups they share made once and one flush for all of them. A refused
    request leaves nothing in the session; the caller commits."""
    keys = [key for _, key in requests if key]
    known: dict[str, OutboundEmail] = {}
    for chunk in slices(keys):
        known.update(
            (row.idempotency_key or "", row)
            for row in await session.scalars(
                select(OutboundEmail).where(
                    OutboundEmail.user_id == actor.user_id,
                    OutboundEmail.idempotency_key.in_(chunk),
                )
            )
        )
    senders = _Senders(session, actor)
    results: list[OutboundEmail | AppError] = []
    tracked: list[OutboundEmail] = []
    for request, key in requests:
        if key and key in known:
            results.append(known[key])
            continue
        try:
            row = await _new_email(session, actor, senders, request, key)
        except AppError as error:
            results.append(error)
            continue
        session.add(row)
        results.append(row)
        if key:
            known[key] = row
        if request.track:
            tracked.append(row)
    await session.flush()
    for row in tracked:
        track_email(session, row)
    return results


class _Senders:
    """The inboxes a batch sends from, each looked up and checked once: the inbox with its
    addresses, or the error every request naming it gets."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self._session = session
        self._actor = actor
        self._seen: dict[int, tuple[Inbox, frozenset[str]] | AppError] = {}

    async def of(self, inbox_id: int) -> tuple[Inbox, frozenset[str]]:
        found = self._seen.get(inbox_id)
        if found is None:
            try:
                found = await self._check(inbox_id)
            except AppError as error:
                found = error
            self._seen[inbox_id] = found
        if isinstance(found, AppError):
            raise found
        return found

    async def _check(self, inbox_id: int) -> tuple[Inbox, frozenset[str]]:
        session, actor = self._session, self._actor
        inbox = await get_inbox(session, actor, inbox_id)
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
        aliases = await session.scalars(select(Alias.email).where(Alias.inbox_id == inbox.id))
        return inbox, frozenset({inbox.email, *aliases})


async def _new_email(
    session: AsyncSession,
    actor: Actor,
    senders: _Senders,
    request: SendRequest,
    idempotency_key: str | None,
) -> OutboundEmail:
    """The email to queue for ``request``, checked (not yet added to the session)."""
    inbox, addresses = await senders.of(request.inbox_id)
    sender = (request.sender or inbox.email).strip().lower()
    if sender not in addresses:
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
    return OutboundEmail(
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
