"""Delivering queued emails exactly once, through each inbox's own provider.

An outbox pass sends each inbox's due emails over one SMTP session and IMAP connection, one
email after the other, and files and logs them in batches. For each email, each step is
committed before the next one starts:
  1. claim: ``queued → sending`` (an atomic UPDATE, so two workers never both claim it),
     committed together with the previous email's hand-over record (one commit per email);
  2. hand it to the provider (SMTP / API), then record ``sent_at`` -- unless an earlier attempt
     already recorded it, or left the Message-ID in the Sent folder. The record is committed
     with the next email's claim, or on its own after the inbox's last email, and always
     before step 3;
  3. file the copies of a batch in Sent (one look at Sent, one MULTIAPPEND), then
     ``sending → sent`` together with the timeline entries, one transaction for the batch --
     in the background, while the next batch is sent.
A crash before an email's ``sent_at`` is committed is retried after a look in Sent; after it,
only the filing and logging are repeated, and both are idempotent. The one window a look in
Sent cannot cover -- the server's "250 OK" received, the process killed before the commit, on
a server that does not file sent mail itself (plain SMTP) -- ends as ``send_uncertain``, for
that one email: no other email is claimed before its hand-over is committed, so none is left
looking half-sent. It is not sent a second time and the sender is told
(tests/reliability/test_outbox_crash).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc, utcnow
from inboxlink.connectors import connector_for
from inboxlink.domain.inbox_state import InboxState
from inboxlink.errors import AppError
from inboxlink.mail.outgoing import OutgoingMessage
from inboxlink.ops.metrics import SEND_LATENCY
from inboxlink.outbox import records
from inboxlink.outbox.queue import outgoing_message
from inboxlink.outbox.records import Claim
from inboxlink.providers.base import Connector
from inboxlink.providers.errors import ConnectorError
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Inbox, OutboundEmail, User
from inboxlink.tracking.events import tracked_among, with_tracking

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
#: Emails loaded, filed in Sent and completed together: one look at Sent and one completing
#: transaction for all of them (bench: 4 transactions and an EXAMINE + SEARCH + APPEND per
#: email before).
BATCH = 100
#: Due emails looked up at a time; a pass looks again while it finds this many.
DUE_LIMIT = 500


async def due_by_inbox(runtime: Runtime, limit: int = DUE_LIMIT) -> dict[int | None, list[int]]:
    """Due emails grouped by the inbox they go out from, so a worker can send an inbox's
    emails over one session while other workers send other inboxes'."""
    grouped: dict[int | None, list[int]] = {}
    for email_id, inbox_id in await records.due(runtime, limit):
        grouped.setdefault(inbox_id, []).append(email_id)
    return grouped


def _uncertain() -> AppError:
    return AppError(
        "send_uncertain",
        "inboxlink stopped while handing this email to the outgoing mail server, so it cannot "
        "tell whether the server took it. It was not sent again, to avoid a duplicate: check "
        "with the recipient, and send it again if it did not arrive.",
    )


def _not_connected(inbox: Inbox | None) -> AppError:
    state = inbox.state.replace("_", " ") if inbox else "removed"
    return AppError(
        "inbox_not_connected",
        f"Not sent: the inbox it was to go out from is {state}. Enable or reconnect it, "
        "then send the email again.",
    )


@dataclass(frozen=True, slots=True)
class _Email:
    """A queued email as sending it needs it (read before it is claimed)."""

    id: int
    inbox: Inbox | None
    message: OutgoingMessage
    created_at: datetime


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


async def _load(runtime: Runtime, email_ids: list[int]) -> list[_Email]:
    """The emails with their inboxes and messages (tracking added), oldest first; one query
    each for the emails, their inboxes and their tracking."""
    async with runtime.sessions() as session:
        rows = list(
            await session.scalars(
                select(OutboundEmail)
                .where(OutboundEmail.id.in_(email_ids))
                .order_by(OutboundEmail.id)
            )
        )
        inbox_ids = {row.inbox_id for row in rows if row.inbox_id is not None}
        inboxes = {
            i.id: i for i in await session.scalars(select(Inbox).where(Inbox.id.in_(inbox_ids)))
        }
        tracked = await tracked_among(session, email_ids)
        return [
            _Email(
                row.id,
                inboxes.get(row.inbox_id) if row.inbox_id is not None else None,
                with_tracking(runtime, tracked.get(row.id), await _message_of(session, row)),
                row.created_at,
            )
            for row in rows
        ]


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


#: A handed-over email waiting to be filed and completed, with its attempt number.
_Handed = tuple[_Email, int]


class Filer:
    """Files the copies of handed-over emails in Sent and completes them, batch after batch
    in the background, so the IMAP and database work of one batch overlaps the SMTP of the
    next. Its own connectors: a failure on one side never closes the other side's connection
    mid-command."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._connectors = Connectors(runtime)
        self._queue: asyncio.Queue[tuple[Inbox, list[_Handed]] | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._run())

    def file(self, inbox: Inbox, handed: list[_Handed]) -> None:
        self._queue.put_nowait((inbox, handed))

    async def _run(self) -> None:
        while (work := await self._queue.get()) is not None:
            await self._file_and_complete(*work)

    async def _file_and_complete(self, inbox: Inbox, handed: list[_Handed]) -> None:
        try:
            await self._connectors.of(inbox).save_to_sent([email.message for email, _ in handed])
        except ConnectorError as error:
            await self._connectors.drop(inbox)
            for email, attempts in handed:  # handed over already: a retry files and completes
                await _retry_or_fail(self._runtime, email.id, attempts, error)
            return
        except BaseException:
            await self._connectors.drop(inbox)
            raise
        await records.complete(
            self._runtime, inbox, [(email.id, email.message) for email, _ in handed]
        )

    async def close(self) -> None:
        """Once all that was passed on is filed and completed (a failure is raised here)."""
        self._queue.put_nowait(None)
        try:
            await self._task
        finally:
            await self._connectors.close()


async def deliver_due(runtime: Runtime) -> None:
    """One outbox pass: every due email, until no more are due."""
    while True:
        found = await records.due(runtime, DUE_LIMIT)
        await deliver_each(runtime, [email_id for email_id, _inbox in found])
        if len(found) < DUE_LIMIT:
            return


async def deliver_each(runtime: Runtime, email_ids: list[int]) -> None:
    """Send these emails (those still due) in batches, reusing each inbox's connections; each
    batch is filed and completed in the background while the next one is sent. Safe to run
    from several workers at once."""
    connectors = Connectors(runtime)
    filer = Filer(runtime)
    try:
        for start in range(0, len(email_ids), BATCH):
            emails = await _load(runtime, email_ids[start : start + BATCH])
            by_inbox: dict[int | None, list[_Email]] = {}
            for email in emails:
                by_inbox.setdefault(email.inbox.id if email.inbox else None, []).append(email)
            for group in by_inbox.values():
                await _deliver_from(runtime, group, connectors, filer)
    finally:
        try:
            await filer.close()
        finally:
            await connectors.close()


async def _deliver_from(
    runtime: Runtime, emails: list[_Email], connectors: Connectors, filer: Filer
) -> None:
    """One inbox's emails of a batch: each claimed and handed over in turn, then passed on to
    be filed and completed."""
    inbox = emails[0].inbox
    handed: list[_Handed] = []
    record: tuple[int, datetime] | None = None  # the hand-over to commit with the next claim
    try:
        for email in emails:
            claim = await records.step(runtime, record, email.id)
            record = None
            if claim is None:
                continue
            if inbox is None or inbox.state != InboxState.CONNECTED.value:
                await records.fail(runtime, email.id, _not_connected(inbox))
                continue
            outcome = await _hand_over(runtime, email, claim, inbox, connectors)
            if outcome == "sent":
                record = (email.id, utcnow())
                SEND_LATENCY.observe((record[1] - as_utc(email.created_at)).total_seconds())
            if outcome is not None:
                handed.append((email, claim.attempts))
    finally:
        if record is not None:  # whatever happens next, what went out is on record
            await records.step(runtime, record, None)
    if handed and inbox is not None:
        filer.file(inbox, handed)


async def _hand_over(
    runtime: Runtime, email: _Email, claim: Claim, inbox: Inbox, connectors: Connectors
) -> Literal["sent", "earlier"] | None:
    """Send ``email`` unless it went out before: ``"sent"`` now, ``"earlier"`` by an earlier
    attempt (both are to be filed and completed), None when it was not (failed or queued
    again)."""
    connector = connectors.of(inbox)
    message = email.message
    try:
        if claim.handed_over or (
            claim.attempts > 1 and await connector.was_sent(message.message_id)
        ):
            log.info("email %s was handed over by an earlier attempt; not sending again", email.id)
            return "earlier"
        if claim.kind == "crashed" and not connector.files_sent_copies:
            # The crashed attempt may have died between the server's "250" and recording it,
            # and this server does not file sent mail, so Sent cannot tell: never risk a second
            # copy (issue 10); the sender is told instead.
            await records.fail(runtime, email.id, _uncertain())
            return None
        await connector.send(message)
    except ConnectorError as error:
        await connectors.drop(inbox)
        await _retry_or_fail(runtime, email.id, claim.attempts, error)
        return None
    except BaseException:
        await connectors.drop(inbox)
        raise
    return "sent"


async def _retry_or_fail(
    runtime: Runtime, email_id: int, attempts: int, error: ConnectorError
) -> None:
    if error.transient and attempts < MAX_ATTEMPTS:
        await records.retry_later(runtime, email_id, attempts, error)
    else:
        await records.fail(runtime, email_id, error)
