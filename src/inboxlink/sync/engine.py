"""Apply a connector's batches to the store, one transaction per batch (checkpoint included).

A crash at any point repeats at most the batches not stored yet, and repeating a batch
changes nothing (crm.ingest is idempotent), so nothing is lost and nothing is logged twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inboxlink.clock import utcnow
from inboxlink.conversations.tombstones import tombstoned
from inboxlink.crm.ingest import Sighting, store_sightings
from inboxlink.domain.enums import LoggingPolicy
from inboxlink.domain.logging_rules import contacts_to_log, direction_of
from inboxlink.providers.base import Batch, Checkpoint, Connector, Folder, ScannedMessage
from inboxlink.store.tables import Inbox, MessageSource, SyncFolder
from inboxlink.sync.context import InboxContext, contacts_among, inbox_context, known_message_ids


@dataclass(frozen=True, slots=True)
class _Decision:
    scanned: ScannedMessage
    contact_ids: tuple[int, ...]


async def _nothing() -> dict[str, bytes]:
    return {}


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A batch decided on, its bodies on their way."""

    batch: Batch
    context: InboxContext
    decisions: list[_Decision]
    bodies: asyncio.Future[dict[str, bytes]]

    @property
    def message_ids(self) -> frozenset[str]:
        return frozenset(d.scanned.headers.message_id for d in self.decisions)

    async def discard(self) -> None:
        """Stop the fetch (the sync stopped early); the connector drops its connection."""
        if not self.bodies.done():
            self.bodies.cancel()
        with contextlib.suppress(BaseException):
            await self.bodies


class InboxSync:
    """Synchronises the folders of one inbox through its connector."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], inbox_id: int, connector: Connector
    ):
        self._sessions = sessions
        self._inbox_id = inbox_id
        self._connector = connector

    async def checkpoint(self, folder: Folder) -> Checkpoint | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(SyncFolder.checkpoint).where(
                    SyncFolder.inbox_id == self._inbox_id, SyncFolder.name == folder.name
                )
            )

    async def sync(self, folders: list[Folder]) -> int:
        """Bring every folder up to date; returns how many messages were scanned.

        While one batch is stored, the next one's bodies are already being fetched (the
        server works while we write; bench: the body FETCH was a fifth of a full ingest,
        waited for between stores). Batches are still stored one after the other, each with
        its checkpoint, so a failure repeats at most the ones not stored yet."""
        scanned = 0
        for folder in folders:
            pending: _Prepared | None = None
            try:
                async for batch in self._connector.changes(folder, await self.checkpoint(folder)):
                    previous, pending = pending, await self._prepare(batch, pending)
                    if previous is not None:
                        await self._store(previous)
                    # One connector call at a time (cloud connectors share tokens and
                    # sessions): the next batch is asked for once these bodies are in.
                    await asyncio.wait([pending.bodies])
                    scanned += len(batch.messages)
                if pending is not None:
                    await self._store(pending)
                    pending = None
            finally:
                if pending is not None:
                    await pending.discard()
        await self._mark_synced()
        return scanned

    async def _decide(
        self, batch: Batch, stored_before: frozenset[str]
    ) -> tuple[InboxContext, list[_Decision]]:
        """What to store of ``batch``; ``stored_before``: Message-IDs of the batch that will
        be stored just before this one, which the store cannot show yet."""
        async with self._sessions() as session:
            inbox = await session.get(Inbox, self._inbox_id)
            assert inbox is not None
            context = await inbox_context(session, inbox)
            addresses = {a for m in batch.messages for a in m.headers.participants()}
            contacts = await contacts_among(session, context.account_id, addresses)
            # Only "replies only" asks whether a message answers a known thread; the others
            # need not decode the Message-IDs of mail they will not keep.
            replies_only = context.policy is LoggingPolicy.REPLIES_ONLY
            parents = {
                parent
                for m in (batch.messages if replies_only else ())
                for parent in (m.headers.in_reply_to, *m.headers.references)
            } - {""}  # "no In-Reply-To" must not match a stored message without Message-ID
            known = await known_message_ids(session, context.account_id, parents)
            known |= parents & stored_before
            # A conversation the team deleted or marked as spam stays out (issue 7).
            buried = (
                await tombstoned(session, inbox.id, (m.headers.message_id for m in batch.messages))
                if context.store_everything
                else set()
            )
        decisions = []
        for message in batch.messages:
            headers = message.headers
            if headers.message_id in buried:
                continue
            answers_known = replies_only and bool(
                known & {headers.in_reply_to, *headers.references}
            )
            chosen = contacts_to_log(
                headers.participants(),
                contacts.keys(),
                context.never_log,
                policy=context.policy,
                answers_known_thread=answers_known,
            )
            if chosen or context.store_everything:
                ids = tuple(sorted(contacts[address] for address in chosen))
                decisions.append(_Decision(message, ids))
        return context, decisions

    async def _prepare(self, batch: Batch, before: _Prepared | None) -> _Prepared:
        """Decide what to keep of ``batch`` and start fetching those bodies."""
        context, decisions = await self._decide(
            batch, before.message_ids if before is not None else frozenset()
        )
        ids = [d.scanned.provider_id for d in decisions]
        bodies = asyncio.ensure_future(
            self._connector.fetch_raw(batch.folder, ids) if ids else _nothing()
        )
        return _Prepared(batch, context, decisions, bodies)

    async def _store(self, prepared: _Prepared) -> None:
        """Store one batch and its checkpoint atomically."""
        batch, context, decisions = prepared.batch, prepared.context, prepared.decisions
        raws = await prepared.bodies
        async with self._sessions() as session, session.begin():
            inbox = await session.get(Inbox, self._inbox_id, with_for_update=True)
            assert inbox is not None
            sightings = []
            for decision in decisions:
                raw = raws.get(decision.scanned.provider_id)
                if raw is None:  # expunged between the scan and the fetch
                    continue
                headers = decision.scanned.headers
                sightings.append(
                    Sighting(
                        inbox_id=inbox.id,
                        owner_id=inbox.owner_id,
                        folder=batch.folder.name,
                        provider_id=decision.scanned.provider_id,
                        headers=headers,
                        raw=raw,
                        direction=direction_of(
                            headers.sender.email if headers.sender else None,
                            context.own_addresses,
                        ),
                        contact_ids=decision.contact_ids,
                    )
                )
            # One bulk store per batch: a fixed number of statements, not a few per message.
            logged = await store_sightings(session, inbox.account_id, sightings)
            if batch.deleted:
                await session.execute(
                    delete(MessageSource).where(
                        MessageSource.inbox_id == inbox.id,
                        MessageSource.folder == batch.folder.name,
                        MessageSource.provider_id.in_(batch.deleted),
                    )
                )
            await self._save_checkpoint(session, batch)
            inbox.messages_scanned += len(batch.messages)
            inbox.messages_logged += logged
            if not inbox.backfill_complete:
                inbox.sync_state = "backfilling"
                inbox.backfill_total = max(inbox.backfill_total, batch.total)
            inbox.last_sync_at = utcnow()
            inbox.last_error_code = inbox.last_error_message = None
            inbox.delayed_since = None

    async def _save_checkpoint(self, session: AsyncSession, batch: Batch) -> None:
        row = await session.scalar(
            select(SyncFolder).where(
                SyncFolder.inbox_id == self._inbox_id, SyncFolder.name == batch.folder.name
            )
        )
        if row is None:
            row = SyncFolder(
                inbox_id=self._inbox_id, name=batch.folder.name, role=batch.folder.role
            )
            session.add(row)
        row.checkpoint = batch.checkpoint

    async def _mark_synced(self) -> None:
        """Every folder is through its first pass: backfill is complete, the inbox is live."""
        async with self._sessions() as session, session.begin():
            inbox = await session.get(Inbox, self._inbox_id)
            assert inbox is not None
            inbox.backfill_complete = True
            inbox.sync_state = "live"
            inbox.last_sync_at = utcnow()
            inbox.last_error_code = inbox.last_error_message = None
            inbox.delayed_since = None
