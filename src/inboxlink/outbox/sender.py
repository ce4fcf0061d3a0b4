"""Delivering a queued email exactly once, through the inbox's own provider.

The steps, each committed before the next starts:
  1. claim: ``queued → sending`` (an atomic UPDATE, so two workers never both claim it);
  2. hand it to the provider (SMTP / API), then at once record ``sent_at`` — unless an earlier
     attempt already recorded it, or left the Message-ID in the Sent folder;
  3. file the copy in Sent, then ``sending → sent`` together with the timeline entries.
A crash before ``sent_at`` is committed is retried after a look in Sent; after it, only the
filing and logging are repeated, and both are idempotent. The one window a look in Sent
cannot cover -- the server's "250 OK" received, the process killed before the commit, on a
server that does not file sent mail itself (plain SMTP) -- ends as ``send_uncertain``: the
email is not sent a second time and the sender is told (tests/reliability/test_outbox_crash).
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc, utcnow
from inboxlink.connectors import connector_for
from inboxlink.crm.ingest import Sighting, store_sighting
from inboxlink.domain.enums import Direction, LoggingPolicy, OutboundState
from inboxlink.domain.inbox_state import InboxState
from inboxlink.domain.logging_rules import contacts_to_log
from inboxlink.errors import AppError
from inboxlink.mail.headers import parse_headers
from inboxlink.mail.outgoing import OutgoingMessage
from inboxlink.ops.metrics import SEND_LATENCY
from inboxlink.outbox.queue import outgoing_message
from inboxlink.providers.base import Connector
from inboxlink.providers.errors import ConnectorError
from inboxlink.runtime import Runtime
from inboxlink.store.db import unreachable, until_reachable
from inboxlink.store.tables import Inbox, OutboundEmail, User
from inboxlink.sync.context import contacts_among, inbox_context
from inboxlink.tracking.events import with_tracking

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
#: How long a claim may stay in ``sending`` before another worker may take it over.
STALE_CLAIM = timedelta(minutes=10)


def retry_delay(attempt: int) -> timedelta:
    """Capped exponential backoff with jitter: ~30 s, 1 min, 2 min … up to 30 min."""
    base = min(30 * 2 ** (attempt - 1), 1800)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


async def _due(runtime: Runtime, limit: int) -> list[tuple[int, int | None]]:
    """``(email id, inbox id)`` of queued emails whose time has come, and of claims abandoned
    by a crashed process, oldest first."""
    now = utcnow()
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(OutboundEmail.id, OutboundEmail.inbox_id)
            .where(
                or_(
                    (OutboundEmail.state == OutboundState.QUEUED.value)
                    & (
                        OutboundEmail.next_attempt_at.is_(None)
                        | (OutboundEmail.next_attempt_at <= now)
                    ),
                    (OutboundEmail.state == OutboundState.SENDING.value)
                    & (OutboundEmail.next_attempt_at <= now),
                )
            )
            .order_by(OutboundEmail.id)
            .limit(limit)
        )
        return [(email_id, inbox_id) for email_id, inbox_id in rows]


async def due_emails(runtime: Runtime, limit: int = 50) -> list[int]:
    return [email_id for email_id, _inbox in await _due(runtime, limit)]


async def due_by_inbox(runtime: Runtime, limit: int = 500) -> dict[int | None, list[int]]:
    """Due emails grouped by the inbox they go out from, so a worker can send an inbox's
    emails over one session while other workers send other inboxes'."""
    grouped: dict[int | None, list[int]] = {}
    for email_id, inbox_id in await _due(runtime, limit):
        grouped.setdefault(inbox_id, []).append(email_id)
    return grouped


async def _claim(runtime: Runtime, email_id: int) -> str | None:
    """Take the email: ``"queued"`` when it was waiting, ``"crashed"`` when this takes over the
    claim of an attempt that never finished (its process died), None when not due."""
    now = utcnow()
    due = {
        "queued": OutboundEmail.state == OutboundState.QUEUED.value,
        "crashed": (OutboundEmail.state == OutboundState.SENDING.value)
        & (OutboundEmail.next_attempt_at <= now),
    }
    async with runtime.sessions() as session, session.begin():
        for kind, condition in due.items():
            result = await session.execute(
                update(OutboundEmail)
                .where(OutboundEmail.id == email_id, condition)
                .values(
                    state=OutboundState.SENDING.value,
                    attempts=OutboundEmail.attempts + 1,
                    next_attempt_at=now + STALE_CLAIM,
                )
            )
            if getattr(result, "rowcount", 0):
                return kind
    return None


def _uncertain() -> AppError:
    return AppError(
        "send_uncertain",
        "inboxlink stopped while handing this email to the outgoing mail server, so it cannot "
        "tell whether the server took it. It was not sent again, to avoid a duplicate: check "
        "with the recipient, and send it again if it did not arrive.",
    )


async def _message_of(session: AsyncSession, row: OutboundEmail) -> OutgoingMessage:
    user = await session.get(User, row.user_id)
    return outgoing_message(
        row.from_addr,
        user.name if user else "",
        row.to_addrs,
        row.cc_addrs,
        row.bcc_addrs,
        row.subject,
        row.text,
        row.html,
        row.in_reply_to,
        row.message_id,
    )


class Connectors:
    """The connectors of one outbox pass, one per inbox, opened on first use: every due email
    of an inbox goes out over the same SMTP session and IMAP connection (Sent) instead of new
    logins for each (bench: 0.02x a plain SMTP client's rate before)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._open: dict[int, Connector] = {}

    def of(self, inbox: Inbox) -> Connector:
        connector = self._open.get(inbox.id)
        if connector is None:
            connector = self._open[inbox.id] = connector_for(self._runtime, inbox)
        return connector

    async def drop(self, inbox: Inbox) -> None:
        """After a failure: the inbox's next email starts from fresh connections."""
        connector = self._open.pop(inbox.id, None)
        if connector is not None:
            await connector.close()

    async def close(self) -> None:
        while self._open:
            await self._open.popitem()[1].close()


async def deliver_due(runtime: Runtime) -> None:
    """One outbox pass: every due email, each claimed, sent and committed on its own."""
    await deliver_each(runtime, await due_emails(runtime))


async def deliver_each(runtime: Runtime, email_ids: list[int]) -> None:
    """Send these emails (those still due), reusing each inbox's connections."""
    connectors = Connectors(runtime)
    try:
        for email_id in email_ids:
            await deliver(runtime, email_id, connectors)
    finally:
        await connectors.close()


async def deliver(runtime: Runtime, email_id: int, connectors: Connectors) -> None:
    """Send one queued email if it is still due; safe to call from several workers."""
    claim = await _claim(runtime, email_id)
    if claim is None:
        return
    try:
        async with runtime.sessions() as session:
            row = await session.get(OutboundEmail, email_id)
            assert row is not None
            inbox = await session.get(Inbox, row.inbox_id) if row.inbox_id else None
            message = await with_tracking(session, runtime, row, await _message_of(session, row))
            attempts = row.attempts
            handed_over = row.sent_at is not None
    except Exception as exc:
        if not unreachable(exc):
            raise
        # Nothing went out yet: give the claim back now rather than leave it for STALE_CLAIM
        # (and then "send_uncertain"), as a database restart did (found by test_database_outage).
        log.warning("email %s: database unreachable before sending; queued again", email_id)
        await _release(runtime, email_id)
        return
    if inbox is None or inbox.state != InboxState.CONNECTED.value:
        state = inbox.state.replace("_", " ") if inbox else "removed"
        await _fail(
            runtime,
            email_id,
            AppError(
                "inbox_not_connected",
                f"Not sent: the inbox it was to go out from is {state}. Enable or reconnect it, "
                "then send the email again.",
            ),
        )
        return
    connector = connectors.of(inbox)
    try:
        if handed_over or (attempts > 1 and await connector.was_sent(message.message_id)):
            log.info("email %s was handed over by an earlier attempt; not sending again", email_id)
        elif claim == "crashed" and not connector.files_sent_copies:
            # The crashed attempt may have died between the server's "250" and recording it,
            # and this server does not file sent mail, so Sent cannot tell: never risk a second
            # copy (issue 10); the sender is told instead.
            await _fail(runtime, email_id, _uncertain())
            return
        else:
            await connector.send(message)
            await _record_handover(runtime, email_id)
        await connector.save_to_sent(message)
    except ConnectorError as error:
        await connectors.drop(inbox)
        if error.transient and attempts < MAX_ATTEMPTS:
            await _retry_later(runtime, email_id, attempts, error)
        else:
            await _fail(runtime, email_id, error)
        return
    except BaseException:
        await connectors.drop(inbox)
        raise
    await _complete(runtime, email_id, inbox, message)


@until_reachable
async def _release(runtime: Runtime, email_id: int) -> None:
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == email_id, OutboundEmail.state == OutboundState.SENDING.value)
            .values(state=OutboundState.QUEUED.value, next_attempt_at=None)
        )


@until_reachable
async def _record_handover(runtime: Runtime, email_id: int) -> None:
    async with runtime.sessions() as session, session.begin():
        row = await session.get(OutboundEmail, email_id)
        assert row is not None
        row.sent_at = utcnow()
        SEND_LATENCY.observe((row.sent_at - as_utc(row.created_at)).total_seconds())


@until_reachable
async def _complete(
    runtime: Runtime, email_id: int, inbox: Inbox, message: OutgoingMessage
) -> None:
    """Mark it sent and log it on the timelines, in one transaction."""
    async with runtime.sessions() as session, session.begin():
        row = await session.get(OutboundEmail, email_id)
        assert row is not None
        row.state = OutboundState.SENT.value
        row.next_attempt_at = None
        row.error_code = row.error_message = None
        await log_sent(session, inbox, message)


@until_reachable
async def _retry_later(runtime: Runtime, email_id: int, attempts: int, error: AppError) -> None:
    async with runtime.sessions() as session, session.begin():
        row = await session.get(OutboundEmail, email_id)
        assert row is not None
        row.state = OutboundState.QUEUED.value
        row.next_attempt_at = utcnow() + retry_delay(attempts)
        row.error_code, row.error_message = error.code, error.message


@until_reachable
async def _fail(runtime: Runtime, email_id: int, error: AppError) -> None:
    async with runtime.sessions() as session, session.begin():
        row = await session.get(OutboundEmail, email_id)
        assert row is not None
        row.state = OutboundState.FAILED.value
        row.next_attempt_at = None
        row.error_code, row.error_message = error.code, error.message


async def log_sent(session: AsyncSession, inbox: Inbox, message: OutgoingMessage) -> None:
    """Put a sent email on the timelines of the contacts it went to (never-log still applies)."""
    raw = message.to_bytes(include_bcc=True)
    headers = parse_headers(raw)
    context = await inbox_context(session, inbox)
    contacts = await contacts_among(session, inbox.account_id, headers.participants())
    chosen = contacts_to_log(
        headers.participants(),
        contacts.keys(),
        context.never_log,
        policy=LoggingPolicy.ALL_CONTACT_MAIL,
        answers_known_thread=True,
    )
    sighting = Sighting(
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
    await store_sighting(session, inbox.account_id, sighting)
