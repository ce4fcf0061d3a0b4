"""Team-inbox senders as contacts: matched, or created when the channel says so, and the
message put on their timeline (the thread then shows on the contact's page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.domain.enums import Direction
from inboxlink.domain.logging_rules import is_never_logged
from inboxlink.store.tables import Contact, NeverLog, TimelineEntry


@dataclass(frozen=True, slots=True)
class Sender:
    message_id: int
    email: str
    name: str
    sent_at: datetime


async def _contact_id(
    session: AsyncSession, account_id: int, sender: Sender, create: bool
) -> int | None:
    found = await session.scalar(
        select(Contact.id).where(Contact.account_id == account_id, Contact.email == sender.email)
    )
    if found is not None or not create:
        return found
    try:
        async with session.begin_nested():  # a colleague's request may create it meanwhile
            contact = Contact(account_id=account_id, email=sender.email, name=sender.name)
            session.add(contact)
        return contact.id
    except IntegrityError:
        return await _contact_id(session, account_id, sender, False)


async def log_senders(
    session: AsyncSession, account_id: int, inbox_id: int, senders: list[Sender], *, create: bool
) -> None:
    """Put each inbound message on its sender's timeline (never-log patterns still apply)."""
    if not senders:
        return
    never_log = set(
        await session.scalars(select(NeverLog.pattern).where(NeverLog.account_id == account_id))
    )
    for sender in senders:
        if not sender.email or is_never_logged(sender.email, never_log):
            continue
        contact_id = await _contact_id(session, account_id, sender, create)
        if contact_id is None:
            continue
        logged = await session.scalar(
            select(TimelineEntry.id).where(
                TimelineEntry.contact_id == contact_id,
                TimelineEntry.message_id == sender.message_id,
            )
        )
        if logged is not None:
            continue
        try:
            async with session.begin_nested():  # the sync engine may log it at the same time
                session.add(
                    TimelineEntry(
                        account_id=account_id,
                        contact_id=contact_id,
                        message_id=sender.message_id,
                        inbox_id=inbox_id,
                        direction=Direction.INCOMING.value,
                        occurred_at=sender.sent_at,
                    )
                )
        except IntegrityError:
            continue
