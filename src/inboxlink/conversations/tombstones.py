"""Tombstones: a message deleted or marked as spam in a team inbox stays out of it.

Keyed by the message's dedupe key (its Message-ID, else a content hash), per inbox, so the
same message seen again by a resync — or by a reconnected inbox — is recognised. Nothing is
deleted on the mail server.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.store.batching import slices
from inboxlink.store.tables import MessageTombstone


async def tombstoned(session: AsyncSession, inbox_id: int, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` must not be imported into ``inbox_id`` (the sync engine asks this)."""
    found: set[str] = set()
    for chunk in slices(keys):
        rows = await session.scalars(
            select(MessageTombstone.message_key).where(
                MessageTombstone.inbox_id == inbox_id, MessageTombstone.message_key.in_(chunk)
            )
        )
        found.update(rows)
    return found


async def bury(session: AsyncSession, inbox_id: int, keys: Iterable[str], reason: str) -> None:
    """Tombstone ``keys`` in ``inbox_id`` (those already buried are left as they are)."""
    wanted = {k for k in keys if k}
    fresh = wanted - await tombstoned(session, inbox_id, wanted)
    session.add_all(
        MessageTombstone(inbox_id=inbox_id, message_key=key, reason=reason) for key in sorted(fresh)
    )
