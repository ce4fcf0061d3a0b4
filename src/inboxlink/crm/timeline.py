"""Reading a contact's timeline: newest first, keyset-paginated, filtered by visibility."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc
from inboxlink.domain.enums import Visibility
from inboxlink.domain.permissions import Actor
from inboxlink.errors import AppError
from inboxlink.store.tables import Inbox, Message, TimelineEntry

MAX_LIMIT = 1000


def _encode_cursor(moment: datetime, entry_id: int) -> str:
    raw = json.dumps([moment.isoformat(), entry_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, entry_id = json.loads(base64.urlsafe_b64decode(padded))
        parsed = datetime.fromisoformat(moment)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), int(entry_id)
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
    }


async def read_timeline(
    session: AsyncSession, actor: Actor, contact_id: int, *, limit: int, cursor: str | None
) -> dict[str, Any]:
    if not 1 <= limit <= MAX_LIMIT:
        raise AppError("invalid_limit", f"limit must be between 1 and {MAX_LIMIT}.", status=422)
    query = (
        select(TimelineEntry, Message, Inbox)
        .join(Message, Message.id == TimelineEntry.message_id)
        .outerjoin(Inbox, Inbox.id == TimelineEntry.inbox_id)
        .where(TimelineEntry.contact_id == contact_id, TimelineEntry.account_id == actor.account_id)
        .order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        moment, entry_id = _decode_cursor(cursor)
        query = query.where(
            or_(
                TimelineEntry.occurred_at < moment,
                and_(TimelineEntry.occurred_at == moment, TimelineEntry.id < entry_id),
            )
        )
    rows = (await session.execute(query)).all()
    page = rows[:limit]
    items = [timeline_item(e, m, visibility_for(actor, m, i)) for e, m, i in page]
    following = None
    if len(rows) > limit:
        last = page[-1][0]
        following = _encode_cursor(as_utc(last.occurred_at), last.id)
    return {"items": items, "next": following}
