"""The outbox's writes to the store: which emails are due, claiming one, recording its
hand-over, and its end (sent and logged, queued again, or failed).

Each function is one transaction. The writes that hold a fact only this process knows (the
server accepted an email) wait out a database restart (``until_reachable``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BindParameter, ColumnElement, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import utcnow
from inboxlink.crm.ingest import Sighting, store_sightings
from inboxlink.domain.enums import Direction, LoggingPolicy, OutboundState
from inboxlink.domain.logging_rules import contacts_to_log
from inboxlink.errors import AppError
from inboxlink.mail.headers import parse_headers
from inboxlink.mail.outgoing import OutgoingMessage
from inboxlink.runtime import Runtime
from inboxlink.store.db import until_reachable
from inboxlink.store.tables import Inbox, OutboundEmail
from inboxlink.sync.context import contacts_among, inbox_context

#: How long a claim may stay in ``sending`` before another worker may take it over.
STALE_CLAIM = timedelta(minutes=10)


def retry_delay(attempt: int) -> timedelta:
    """Capped exponential backoff with jitter: ~30 s, 1 min, 2 min … up to 30 min."""
    base = min(30 * 2 ** (attempt - 1), 1800)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def _due_now(now: datetime | BindParameter[datetime]) -> dict[str, ColumnElement[bool]]:
    """What makes an email due: ``"queued"`` and its time has come, or ``"crashed"``: a claim
    whose attempt never finished (its process died) and may now be taken over."""
    return {
        "queued": (OutboundEmail.state == OutboundState.QUEUED.value)
        & (OutboundEmail.next_attempt_at.is_(None) | (OutboundEmail.next_attempt_at <= now)),
        "crashed": (OutboundEmail.state == OutboundState.SENDING.value)
        & (OutboundEmail.next_attempt_at <= now),
    }


#: The statements of ``step``, built once: it runs for every email, and building them was
#: most of its cost (py-spy of the send row: ``step`` 14 % of the server, as much as SMTP).
_RECORD = (
    update(OutboundEmail)
    .where(OutboundEmail.id == bindparam("email_id"))
    .values(sent_at=bindparam("at"))
)
_CLAIM = {
    kind: update(OutboundEmail)
    .where(OutboundEmail.id == bindparam("email_id"), condition)
    .values(
        state=OutboundState.SENDING.value,
        attempts=OutboundEmail.attempts + 1,
        next_attempt_at=bindparam("until"),
    )
    .returning(OutboundEmail.attempts, OutboundEmail.sent_at)
    for kind, condition in _due_now(
        bindparam("now", type_=OutboundEmail.next_attempt_at.type)
    ).items()
}


async def due(runtime: Runtime, limit: int) -> list[tuple[int, int | None]]:
    """``(email id, inbox id)`` of due emails, oldest first."""
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(OutboundEmail.id, OutboundEmail.inbox_id)
            .where(or_(*_due_now(utcnow()).values()))
            .order_by(OutboundEmail.id)
            .limit(limit)
        )
        return [(email_id, inbox_id) for email_id, inbox_id in rows]


@dataclass(frozen=True, slots=True)
class Claim:
    """This worker's claim on an email: how it was due, its attempt number, and whether an
    earlier attempt recorded its hand-over."""

    kind: str
    attempts: int
    handed_over: bool


@until_reachable
async def step(
    runtime: Runtime, handed: tuple[int, datetime] | None, email_id: int | None
) -> Claim | None:
    """One transaction: record the hand-over (``sent_at``) of the email just sent, if any,
    and claim the next one (``queued → sending``, atomic: two workers never both claim it);
    None when it is no longer due. One commit per email on the way: the claim of the next
    email never becomes durable before this one's hand-over."""
    now = utcnow()
    # Core on a bare connection: on the path of every email, and a third of the cost of an
    # ORM session (bench send row).
    async with runtime.engine.begin() as connection:
        if handed is not None:
            await connection.execute(_RECORD, {"email_id": handed[0], "at": handed[1]})
        if email_id is None:
            return None
        values = {"email_id": email_id, "now": now, "until": now + STALE_CLAIM}
        for kind, claim in _CLAIM.items():
            for attempts, sent_at in await connection.execute(claim, values):
                return Claim(kind, attempts, sent_at is not None)
    return None


@until_reachable
async def complete(
    runtime: Runtime, inbox: Inbox, sent: Sequence[tuple[int, OutgoingMessage]]
) -> None:
    """Mark them sent and log them on the timelines, in one transaction."""
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id.in_([email_id for email_id, _ in sent]))
            .values(
                state=OutboundState.SENT.value,
                next_attempt_at=None,
                error_code=None,
                error_message=None,
            )
            .execution_options(synchronize_session=False)
        )
        await log_sent(session, inbox, [message for _, message in sent])


@until_reachable
async def retry_later(runtime: Runtime, email_id: int, attempts: int, error: AppError) -> None:
    async with runtime.sessions() as session, session.begin():
        row = await session.get(OutboundEmail, email_id)
        assert row is not None
        row.state = OutboundState.QUEUED.value
        row.next_attempt_at = utcnow() + retry_delay(attempts)
        row.error_code, row.error_message = error.code, error.message


@until_reachable
async def fail(runtime: Runtime, email_id: int, error: AppError) -> None:
    async with runtime.sessions() as session, session.begin():
        row = await session.get(OutboundEmail, email_id)
        assert row is not None
        row.state = OutboundState.FAILED.value
        row.next_attempt_at = None
        row.error_code, row.error_message = error.code, error.message


async def log_sent(
    session: AsyncSession, inbox: Inbox, messages: Sequence[OutgoingMessage]
) -> None:
    """Put sent emails on the timelines of the contacts they went to (never-log still applies),
    with one look-up of contacts and one bulk store for all of them."""
    context = await inbox_context(session, inbox)
    parsed = [(raw, parse_headers(raw)) for raw in (m.to_bytes(include_bcc=True) for m in messages)]
    contacts = await contacts_among(
        session, inbox.account_id, {a for _, headers in parsed for a in headers.participants()}
    )
    sightings = []
    for (raw, headers), message in zip(parsed, messages, strict=True):
        chosen = contacts_to_log(
            headers.participants(),
            contacts.keys(),
            context.never_log,
            policy=LoggingPolicy.ALL_CONTACT_MAIL,
            answers_known_thread=True,
        )
        sightings.append(
            Sighting(
                inbox_id=inbox.id,
                owner_id=inbox.owner_id,
                folder="outbox",
                provider_id=message.message_id,
                headers=headers,
                raw=raw,
                direction=Direction.OUTGOING,
                contact_ids=tuple(sorted(contacts[a] for a in chosen)),
                sent_from_crm=True,
            )
        )
    await store_sightings(session, inbox.account_id, sightings)
