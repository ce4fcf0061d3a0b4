"""``last_sync_at`` of inboxes that had nothing new, written behind and for all of them at once.

A watcher whose wait ended without a change has confirmed that its inbox is up to date. With
a thousand inboxes in one worker that happens ~17 times a second, and a transaction for each
was most of an idle worker's CPU (bench/README.md, idle row). So confirmations are kept in
memory and written together: one transaction per ``every`` seconds for the whole process.
``last_sync_at`` -- the UI's "last successful sync" and the ``inboxlink_sync_lag_seconds``
gauge -- therefore means "the last time inboxlink confirmed the inbox was up to date", and
lags that confirmation by at most ``every`` seconds (a crash loses only this lag).

The same transaction answers which of those inboxes are no longer active: a backstop for a
watcher whose stop signal (``Scheduler.inbox_changed``) was lost, at no cost per inbox.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inboxlink.clock import utcnow
from inboxlink.domain.inbox_state import ACTIVE_STATES
from inboxlink.store.tables import Inbox

log = logging.getLogger(__name__)

#: How often the confirmations gathered are written (the most ``last_sync_at`` lags them).
WRITE_EVERY_SECONDS = 60.0
_ACTIVE = [state.value for state in ACTIVE_STATES]
_INBOXES = Inbox.metadata.tables[Inbox.__tablename__]
_CONFIRM = (
    update(_INBOXES)
    .where(
        _INBOXES.c.id == bindparam("inbox_id"),
        _INBOXES.c.state.in_(_ACTIVE),
        # A sync that finished after the confirmation already wrote a later time.
        or_(_INBOXES.c.last_sync_at.is_(None), _INBOXES.c.last_sync_at < bindparam("at")),
    )
    .values(last_sync_at=bindparam("at"))
)


class Confirmations:
    """The process's pending "inbox N was up to date at T", shared by all its watchers."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], every: float = WRITE_EVERY_SECONDS
    ) -> None:
        self._sessions = sessions
        self._every = every
        self._pending: dict[int, datetime] = {}
        self._inactive: set[int] = set()
        self._due = time.monotonic() + every

    async def confirm(self, inbox_id: int) -> bool:
        """Record that the inbox is up to date as of now (written with the others when due).

        False when a write found the inbox no longer active since it was last confirmed:
        its watcher should check and stop."""
        self._pending[inbox_id] = utcnow()
        if time.monotonic() >= self._due:
            self._due = time.monotonic() + self._every
            await self.write()
        if inbox_id in self._inactive:
            self._inactive.discard(inbox_id)
            return False
        return True

    async def write(self) -> None:
        """Write every pending confirmation in one transaction (also on shutdown). A database
        that is away keeps them for the next write: only ``last_sync_at`` waits."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    _CONFIRM, [{"inbox_id": inbox, "at": at} for inbox, at in pending.items()]
                )
                active = set(
                    await session.scalars(
                        select(Inbox.id).where(Inbox.id.in_(pending), Inbox.state.in_(_ACTIVE))
                    )
                )
        except (SQLAlchemyError, OSError):
            log.warning("could not record %d inboxes as up to date", len(pending), exc_info=True)
            self._pending = pending | self._pending
            return
        self._inactive |= pending.keys() - active
