"""The per-inbox daily sending limit for sequence steps (default 500, set by admins).

Counted over the last 24 hours of sequence sends from the inbox, so the limit holds however
the sends are spread across workers and time zones; a step over it is carried to the next
day's window, never dropped.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import utcnow
from inboxlink.domain.permissions import Actor, is_admin
from inboxlink.errors import AppError, Forbidden, NotFound
from inboxlink.store.tables import Inbox, InboxSendLimit, OutboundEmail

DEFAULT_DAILY_LIMIT = 500


async def daily_limit(session: AsyncSession, inbox_id: int) -> int:
    row = await session.get(InboxSendLimit, inbox_id)
    return row.daily_limit if row else DEFAULT_DAILY_LIMIT


async def sent_last_day(session: AsyncSession, inbox_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(OutboundEmail)
        .where(
            OutboundEmail.inbox_id == inbox_id,
            OutboundEmail.idempotency_key.like("seq:%"),
            OutboundEmail.created_at >= utcnow() - timedelta(days=1),
        )
    )
    return int(count or 0)


async def remaining_today(session: AsyncSession, inbox_id: int) -> int:
    return max(0, await daily_limit(session, inbox_id) - await sent_last_day(session, inbox_id))


async def limit_dict(session: AsyncSession, inbox_id: int) -> dict[str, Any]:
    limit = await daily_limit(session, inbox_id)
    sent = await sent_last_day(session, inbox_id)
    return {
        "inbox_id": inbox_id,
        "daily_limit": limit,
        "sent_last_24h": sent,
        "remaining": max(0, limit - sent),
    }


async def set_daily_limit(session: AsyncSession, actor: Actor, inbox_id: int, limit: int) -> None:
    if not is_admin(actor):
        raise Forbidden("Only admins can change an inbox's daily sending limit.")
    inbox = await session.get(Inbox, inbox_id)
    if inbox is None or inbox.account_id != actor.account_id:
        raise NotFound("inbox")
    if not 1 <= limit <= 100_000:
        raise AppError("invalid_limit", "The daily limit is between 1 and 100000.", status=422)
    row = await session.get(InboxSendLimit, inbox_id)
    if row is None:
        session.add(InboxSendLimit(inbox_id=inbox_id, daily_limit=limit))
    else:
        row.daily_limit = limit
