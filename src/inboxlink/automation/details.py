"""Writing captured details into a contact's empty properties, and undoing that.

A property is written only while it is empty, by a conditional UPDATE (``WHERE field = ''``),
so a value a person entered — even a moment before, in another request — is never
overwritten. Each write is a ``ContactChange`` with its source message, shown on the
timeline; undo empties the property again only if it still holds the captured value, and a
value once undone is not captured again for that contact.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.automation.capture import Details
from inboxlink.clock import as_utc, utcnow
from inboxlink.domain.permissions import Actor
from inboxlink.errors import Conflict, NotFound
from inboxlink.services.contacts import PROPERTIES
from inboxlink.store.tables import Contact, ContactChange, Message

LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "mobile": "Mobile",
    "job_title": "Job title",
    "company": "Company",
}


async def _set_if(
    session: AsyncSession, contact_id: int, field: str, value: str, *, when: str
) -> bool:
    """Set ``field`` to ``value`` only while it holds ``when``; True when it did."""
    column = getattr(Contact, field)
    result = await session.execute(
        update(Contact).where(Contact.id == contact_id, column == when).values({field: value})
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


async def fill_empty(
    session: AsyncSession, contact: Contact, details: Details, *, message_id: int, inbox_id: int
) -> list[ContactChange]:
    """Write each found detail into the contact's property if that is still empty."""
    found = {f: v[: PROPERTIES[f]] for f, v in details.found().items() if not getattr(contact, f)}
    if not found:
        return []
    undone = set(
        await session.execute(
            select(ContactChange.field, ContactChange.value).where(
                ContactChange.contact_id == contact.id, ContactChange.undone_at.is_not(None)
            )
        )
    )
    changes = []
    for field, value in found.items():
        if (field, value) in undone or not await _set_if(
            session, contact.id, field, value, when=""
        ):
            continue
        change = ContactChange(
            account_id=contact.account_id,
            contact_id=contact.id,
            field=field,
            value=value,
            message_id=message_id,
            inbox_id=inbox_id,
        )
        session.add(change)
        changes.append(change)
    await session.refresh(contact)
    return changes


async def undo(session: AsyncSession, actor: Actor, contact_id: int, change_id: int) -> None:
    change = await session.get(ContactChange, change_id, with_for_update=True)
    if change is None or change.contact_id != contact_id or change.account_id != actor.account_id:
        raise NotFound("change")
    if change.undone_at is not None:
        return
    if not await _set_if(session, contact_id, change.field, "", when=change.value):
        raise Conflict(
            "contact_changed_since",
            f"{LABELS[change.field]} was changed after it was captured, so there is nothing to"
            " undo; edit the contact to change it.",
        )
    change.undone_at = utcnow()
    change.undone_by_id = actor.user_id


def note_back_on(contact: Contact, day: date | None) -> None:
    """An out-of-office reply said when the contact is back: keep the latest such day."""
    if day is not None and (contact.back_on is None or day > contact.back_on):
        contact.back_on = day


def change_item(change: ContactChange, message: Message | None) -> dict[str, Any]:
    """A capture as a timeline item, with the message it came from."""
    return {
        "type": "details_captured",
        "id": change.id,
        "field": change.field,
        "label": LABELS.get(change.field, change.field),
        "value": change.value,
        "at": as_utc(change.created_at).isoformat(),
        "undone": change.undone_at is not None,
        "source": None
        if message is None
        else {
            "message_id": message.message_id,
            "thread_id": message.thread_id,
            "subject": message.subject,
            "sent_at": as_utc(message.sent_at).isoformat(),
        },
    }
