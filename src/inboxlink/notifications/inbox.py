"""A user's notification list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc, utcnow
from inboxlink.domain.permissions import Actor
from inboxlink.store.tables import Notification


def notification_dict(note: Notification) -> dict[str, Any]:
    return {
        "id": note.id,
        "kind": note.kind,
        "title": note.title,
        "body": note.body,
        "inbox_id": note.inbox_id,
        "created_at": as_utc(note.created_at).isoformat(),
        "read": note.read_at is not None,
    }


async def notify(
    session: AsyncSession,
    *,
    account_id: int,
    user_ids: set[int],
    kind: str,
    title: str,
    body: str = "",
    inbox_id: int | None = None,
) -> None:
    """One notification per user, even when a user qualifies for several reasons."""
    for user_id in sorted(user_ids):
        session.add(
            Notification(
                account_id=account_id,
                user_id=user_id,
                kind=kind,
                title=title,
                body=body,
                inbox_id=inbox_id,
            )
        )


async def list_notifications(
    session: AsyncSession, actor: Actor, *, limit: int = 100
) -> list[Notification]:
    rows = await session.scalars(
        select(Notification)
        .where(Notification.user_id == actor.user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    return list(rows)


async def unread_count(session: AsyncSession, actor: Actor) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
    )
    return int(count or 0)


async def mark_all_read(session: AsyncSession, actor: Actor) -> None:
    await session.execute(
        update(Notification)
        .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
