"""Reading a contact's timeline: newest first, keyset-paginated, filtered by visibility."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.automation.details import change_item
from inboxlink.clock import as_utc
from inboxlink.domain.enums import Visibility
from inboxlink.domain.permissions import Actor
from inboxlink.errors import AppError
from inboxlink.mail.auto_reply import looks_out_of_office
from inboxlink.store.tables import (
    Contact,
    ContactChange,
    Inbox,
    Message,
    OutboundEmail,
    TimelineEntry,
    TrackedEmail,
    TrackingEvent,
)
from inboxlink.tracking.events import event_dict

MAX_LIMIT = 1000


def _encode_cursor(moment: datetime, source: int, item_id: int) -> str:
    raw = json.dumps([moment.isoformat(), source, item_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded))
        moment, source, item_id = values if len(values) == 3 else (values[0], 0, values[1])
        parsed = datetime.fromisoformat(moment)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), int(source), int(item_id)
    except (ValueError, TypeError) as exc:
        raise AppError(
            "invalid_cursor", "The cursor is not valid; start again without it."
        ) from exc


def visibility_for(actor: Actor, message: Message, inbox: Inbox | None) -> Visibility:
    """How much ``actor`` may see: everything of their own mail, else the owner's choice."""
    if message.owner_id is None or message.owner_id == actor.user_id:
        return Visibility.EVERYTHING
    if inbox is None:
        return Visibility.SUBJECT
    chosen = inbox.visibility_crm_sent if message.sent_from_crm else inbox.visibility_other
    return Visibility(chosen)


def timeline_item(entry: TimelineEntry, message: Message, visibility: Visibility) -> dict[str, Any]:
    show_subject = visibility is not Visibility.METADATA
    show_body = visibility is Visibility.EVERYTHING
    return {
        "type": "email",
        "direction": entry.direction,
        "message_id": message.message_id,
        "thread_id": message.thread_id,
        "subject": message.subject if show_subject else None,
        "from": message.from_addr,
        "to": message.to_addrs,
        "cc": message.cc_addrs,
        "sent_at": as_utc(message.sent_at).isoformat(),
        "inbox_id": entry.inbox_id,
        "snippet": message.snippet if show_body else None,
        "unreadable": message.unreadable,
        "visibility": visibility.value,
        "auto_reply": looks_out_of_office(message.subject, message.body_text),
    }


#: The kinds of timeline items, in the order they sort when they happened at the same moment.
EMAILS, CAPTURES, TRACKING = 0, 1, 2


def _after(
    cursor: tuple[datetime, int, int] | None, source: int, at: Any, item_id: Any
) -> ColumnElement[bool]:
    """Rows of ``source`` that come after ``cursor`` in newest-first order."""
    if cursor is None:
        return true()
    moment, cursor_source, cursor_id = cursor
    if source < cursor_source:
        return and_(at <= moment)
    if source > cursor_source:
        return and_(at < moment)
    return or_(at < moment, and_(at == moment, item_id < cursor_id))


Item = tuple[datetime, int, int, dict[str, Any]]


async def _emails(
    session: AsyncSession, actor: Actor, contact: Contact, after: Any, limit: int
) -> list[Item]:
    rows = await session.execute(
        select(TimelineEntry, Message, Inbox)
        .join(Message, Message.id == TimelineEntry.message_id)
        .outerjoin(Inbox, Inbox.id == TimelineEntry.inbox_id)
        .where(
            TimelineEntry.contact_id == contact.id,
            TimelineEntry.account_id == actor.account_id,
            after(EMAILS, TimelineEntry.occurred_at, TimelineEntry.id),
        )
        .order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
        .limit(limit)
    )
    return [
        (as_utc(e.occurred_at), EMAILS, e.id, timeline_item(e, m, visibility_for(actor, m, i)))
        for e, m, i in rows
    ]


async def _captures(
    session: AsyncSession, actor: Actor, contact: Contact, after: Any, limit: int
) -> list[Item]:
    rows = await session.execute(
        select(ContactChange, Message)
        .outerjoin(Message, Message.id == ContactChange.message_id)
        .where(
            ContactChange.contact_id == contact.id,
            ContactChange.account_id == actor.account_id,
            after(CAPTURES, ContactChange.created_at, ContactChange.id),
        )
        .order_by(ContactChange.created_at.desc(), ContactChange.id.desc())
        .limit(limit)
    )
    return [(as_utc(c.created_at), CAPTURES, c.id, change_item(c, m)) for c, m in rows]


async def _tracking(
    session: AsyncSession, actor: Actor, contact: Contact, after: Any, limit: int
) -> list[Item]:
    rows = await session.execute(
        select(TrackingEvent, OutboundEmail)
        .join(TrackedEmail, TrackedEmail.id == TrackingEvent.tracked_email_id)
        .join(OutboundEmail, OutboundEmail.id == TrackedEmail.outbound_email_id)
        .where(
            TrackedEmail.account_id == actor.account_id,
            TrackedEmail.recipient == contact.email,
            after(TRACKING, TrackingEvent.at, TrackingEvent.id),
        )
        .order_by(TrackingEvent.at.desc(), TrackingEvent.id.desc())
        .limit(limit)
    )
    return [(as_utc(t.at), TRACKING, t.id, event_dict(t, o)) for t, o in rows]


async def read_timeline(
    session: AsyncSession, actor: Actor, contact_id: int, *, limit: int, cursor: str | None
) -> dict[str, Any]:
    """Emails, captured details and tracking events of the contact, newest first."""
    if not 1 <= limit <= MAX_LIMIT:
        raise AppError("invalid_limit", f"limit must be between 1 and {MAX_LIMIT}.", status=422)
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.account_id != actor.account_id:
        return {"items": [], "next": None}
    position = _decode_cursor(cursor) if cursor else None

    def after(source: int, at: Any, item_id: Any) -> ColumnElement[bool]:
        return _after(position, source, at, item_id)

    merged: list[Item] = []
    for read in (_emails, _captures, _tracking):
        merged.extend(await read(session, actor, contact, after, limit + 1))
    merged.sort(key=lambda item: item[:3], reverse=True)
    page = merged[:limit]
    following = _encode_cursor(*page[-1][:3]) if len(merged) > limit else None
    return {"items": [item[3] for item in page], "next": following}
