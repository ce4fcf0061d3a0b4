"""Running inbox automation over the new mail the sync engine stored.

Like the team-inbox channels, each inbox keeps the highest ``message_sources.id`` it has
looked at (``automation_cursors``): sources only grow, so new sightings are those above it,
and the sync engine's hot path stays untouched (the pass locks the cursor row, never the
inbox row the engine locks for each batch). Only inboxes with the flag on are read, and
only messages dated on or after ``automation_since`` (when it was last turned on): the
history from before — including the backfill that a connection with the flag on brings in —
is left alone. The cursor moves in the transaction that applies the batch, so each message
is processed once; processing one twice would change nothing anyway (empty fields only, one
suggestion per message).

For a message from a contact: their details fill empty properties, an out-of-office reply
sets the day they are back, and a request or promise becomes a suggested task for the
inbox's owner. For a message the owner sent to contacts: their own promise or request
becomes a suggested task.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.automation.capture import extract
from inboxlink.automation.details import fill_empty, note_back_on
from inboxlink.automation.suggestions import add_suggestion
from inboxlink.automation.tasks import suggest
from inboxlink.clock import as_utc
from inboxlink.domain.inbox_state import InboxState
from inboxlink.mail.auto_reply import out_of_office
from inboxlink.runtime import Runtime
from inboxlink.store.tables import (
    Alias,
    AutomationCursor,
    Contact,
    Inbox,
    Message,
    MessageSource,
)

log = logging.getLogger(__name__)

BATCH = 500


async def _contacts(session: AsyncSession, account_id: int, emails: set[str]) -> dict[str, Contact]:
    if not emails:
        return {}
    rows = await session.scalars(
        select(Contact).where(Contact.account_id == account_id, Contact.email.in_(emails))
    )
    return {c.email: c for c in rows}


def _addresses(values: list[Any]) -> set[str]:
    return {str(v.get("email", "")).lower() for v in values if isinstance(v, dict)} - {""}


async def _from_contact(
    session: AsyncSession, inbox: Inbox, message: Message, contact: Contact
) -> None:
    written_on = as_utc(message.sent_at).date()
    sender = message.from_addr or {}
    automatic, back_on = out_of_office(message.subject, message.body_text, written_on)
    if automatic:
        note_back_on(contact, back_on)
        return  # an auto-reply is neither a request nor a source of details worth trusting
    details = extract(str(sender.get("name", "")), contact.email, message.body_text)
    await fill_empty(session, contact, details, message_id=message.id, inbox_id=inbox.id)
    await _suggest(session, inbox, message, contact)


async def _suggest(session: AsyncSession, inbox: Inbox, message: Message, contact: Contact) -> None:
    if inbox.owner_id is None:
        return  # a team inbox has no one person to suggest to
    suggestion = suggest(message.body_text, as_utc(message.sent_at).date())
    if suggestion is not None:
        await add_suggestion(
            session,
            user_id=inbox.owner_id,
            account_id=inbox.account_id,
            contact_id=contact.id,
            message_id=message.id,
            suggestion=suggestion,
        )


async def _process(session: AsyncSession, inbox: Inbox, messages: list[Message]) -> None:
    own = {inbox.email.lower()} | {
        a.lower()
        for a in await session.scalars(select(Alias.email).where(Alias.inbox_id == inbox.id))
    }
    wanted = set()
    for message in messages:
        wanted |= _addresses([message.from_addr]) | _addresses(message.to_addrs)
    contacts = await _contacts(session, inbox.account_id, wanted - own)
    for message in messages:
        sender = str((message.from_addr or {}).get("email", "")).lower()
        if sender in contacts:
            await _from_contact(session, inbox, message, contacts[sender])
        elif sender in own:
            recipients = [
                contacts[a] for a in sorted(_addresses(message.to_addrs)) if a in contacts
            ]
            if recipients:
                await _suggest(session, inbox, message, recipients[0])


async def _locked_cursor(session: AsyncSession, inbox_id: int) -> AutomationCursor:
    """The inbox's cursor row, created at 0 the first time, locked until the transaction ends."""
    cursor = await session.get(AutomationCursor, inbox_id, with_for_update=True)
    if cursor is not None:
        return cursor
    try:
        async with session.begin_nested():
            session.add(AutomationCursor(inbox_id=inbox_id, source_id=0))
    except IntegrityError:  # another worker created it a moment ago
        pass
    cursor = await session.get(
        AutomationCursor, inbox_id, with_for_update=True, populate_existing=True
    )
    assert cursor is not None
    return cursor


async def process_inbox(session: AsyncSession, inbox: Inbox) -> bool:
    """Process the next batch of the inbox's new mail; True when more may be waiting."""
    since: datetime | None = inbox.automation_since
    cursor = await _locked_cursor(session, inbox.id)
    top = await session.scalar(
        select(func.max(MessageSource.id)).where(MessageSource.inbox_id == inbox.id)
    )
    if top is None or top <= cursor.source_id or since is None:
        return False
    rows = (
        await session.execute(
            select(MessageSource.id, Message)
            .join(Message, Message.id == MessageSource.message_id)
            .where(
                MessageSource.inbox_id == inbox.id,
                MessageSource.id > cursor.source_id,
                MessageSource.id <= top,
            )
            .order_by(MessageSource.id)
            .limit(BATCH)
        )
    ).all()
    fresh: dict[int, Message] = {}
    for _source, message in rows:
        if as_utc(message.sent_at) >= as_utc(since):
            fresh.setdefault(message.id, message)
    await _process(session, inbox, list(fresh.values()))
    full = len(rows) == BATCH
    cursor.source_id = rows[-1][0] if full else top
    return full


async def run_automation_pass(runtime: Runtime) -> None:
    """Process new mail of every inbox whose automation flag is on; one inbox failing (a
    message the rules trip over) is logged and leaves the others going."""
    async with runtime.sessions() as session:
        inbox_ids = list(
            await session.scalars(
                select(Inbox.id).where(
                    Inbox.inbox_automation.is_(True), Inbox.state != InboxState.REMOVED.value
                )
            )
        )
    for inbox_id in inbox_ids:
        try:
            more = True
            while more:
                async with runtime.sessions() as session, session.begin():
                    inbox = await session.get(Inbox, inbox_id)
                    if inbox is None or not inbox.inbox_automation:
                        break  # turned off meanwhile: stop, keep what was captured
                    more = await process_inbox(session, inbox)
        except Exception:
            log.exception("inbox automation failed for inbox %s; it tries again", inbox_id)
