"""IMAP, the incoming half of an "other provider" inbox: verify, sync, fetch, wait, save to Sent.

Sync is read-only (EXAMINE + BODY.PEEK). A folder is first backfilled newest first -- the
messages of the last ``backfill_days`` by INTERNALDATE, below the UIDNEXT seen when the pass
started -- and then followed incrementally above that point; expunges are reported where the
server offers QRESYNC. The checkpoint format is described in ``imap_checkpoint``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

from inboxlink.domain.servers import Credentials, ServerSettings
from inboxlink.net.policy import NetworkPolicy
from inboxlink.net.tls import client_context
from inboxlink.providers import imap_ops as ops
from inboxlink.providers.base import AccountInfo, Batch, Checkpoint, Folder, ScannedMessage
from inboxlink.providers.imap_checkpoint import FolderCheckpoint
from inboxlink.providers.imap_connection import (
    DROPPED,
    Connection,
    Session,
    is_change,
    translate,
)

log = logging.getLogger(__name__)


class ImapConnector:
    """One mailbox over one IMAP connection, used by one task at a time."""

    def __init__(
        self,
        server: ServerSettings,
        credentials: Credentials,
        policy: NetworkPolicy,
        *,
        trust_any_certificate: bool,
        extra_ca_file: Path | None,
        timeout: float,
        backfill_days: int,
        batch_size: int = 500,
        idle_renew_seconds: float = 25 * 60,
        poll_seconds: float = 5.0,
    ) -> None:
        context = client_context(trust_any=trust_any_certificate, extra_ca_file=extra_ca_file)
        self._session = Session(server, credentials, policy, context, timeout)
        self._username = credentials.username
        self._backfill_days = backfill_days
        self._batch_size = batch_size
        self._idle_renew = idle_renew_seconds
        self._poll_seconds = poll_seconds
        self._folders: tuple[Folder, ...] | None = None
        # INBOX as last seen, so a change between two waits is not slept through.
        self._inbox_seen: ops.FolderStatus | None = None
        # The other synced folders (Sent) as their last sync saw them: IDLE does not watch
        # them, so a wait that times out compares them with one STATUS each.
        self._others_seen: dict[str, ops.FolderStatus] = {}

    # -- connect ---------------------------------------------------------------------------

    async def verify(self) -> AccountInfo:
        """Log in and report INBOX, the Sent folder and the server's capabilities."""
        connection = await self._session.connection()
        self._folders = await self._session.run(ops.list_folders)
        return AccountInfo(
            email=self._username if "@" in self._username else "",
            folders=self._folders,
            capabilities=connection.capabilities,
        )

    async def folders(self) -> tuple[Folder, ...]:
        if self._folders is None:
            self._folders = await self._session.run(ops.list_folders)
        return self._folders

    # -- sync ------------------------------------------------------------------------------

    async def changes(
        self, folder: Folder, checkpoint: Checkpoint | None
    ) -> AsyncGenerator[Batch, None]:
        """Backfill (no or outdated checkpoint) or incremental changes of ``folder``."""
        status: ops.FolderStatus = await self._session.run(
            partial(ops.look, folder=folder.name, select=folder.role == "inbox")
        )
        if folder.role == "inbox":
            self._inbox_seen = status
        else:
            self._others_seen[folder.name] = status
        state = FolderCheckpoint.from_dict(checkpoint)
        if state is None or state.uidvalidity != status.uidvalidity:
            if state is not None:
                log.info("UIDVALIDITY of %s changed: backfilling again", folder.name)
            batches = self._backfill_from_start(folder, status)
        elif not state.done:
            batches = self._backfill(folder, state)
        else:
            batches = self._incremental(folder, state, status)
        async for batch in batches:
            yield batch

    def _since(self) -> datetime:
        return datetime.now(UTC) - timedelta(days=self._backfill_days)

    async def _backfill_from_start(
        self, folder: Folder, status: ops.FolderStatus
    ) -> AsyncIterator[Batch]:
        since = self._since().date()
        uids = await self._search(folder, status.uidvalidity, 1, status.top, since)
        if uids is None:
            return
        state = FolderCheckpoint.start(
            status.uidvalidity, status.top, since, len(uids), status.highestmodseq
        )
        async for batch in self._backfill(folder, state, uids):
            yield batch

    async def _backfill(
        self, folder: Folder, state: FolderCheckpoint, uids: list[int] | None = None
    ) -> AsyncIterator[Batch]:
        """Newest first, from ``state.backfill_below`` down; ``uids`` when already searched."""
        if uids is None:
            since = datetime.fromisoformat(state.since).date()
            uids = await self._search(folder, state.uidvalidity, 1, state.backfill_below - 1, since)
            if uids is None:
                return
        newest_first = sorted(uids, reverse=True)
        chunks = _chunks(newest_first, self._batch_size) or [[]]
        async with contextlib.aclosing(
            self._headers_ahead(folder, state.uidvalidity, chunks)
        ) as scans:
            async for chunk, messages in scans:
                if messages is None:  # UIDVALIDITY changed mid-pass: the next call starts over
                    return
                last = chunk is chunks[-1]
                state = state.backfilled_down_to(chunk[-1] if chunk else 0, last=last)
                yield Batch(
                    folder, messages, checkpoint=state.as_dict(), total=state.total,
                    backfill_complete=last,
                )  # fmt: skip

    async def _incremental(
        self, folder: Folder, state: FolderCheckpoint, status: ops.FolderStatus
    ) -> AsyncIterator[Batch]:
        """New UIDs above ``state.top``, oldest first; expunges where QRESYNC allows."""
        deleted: list[str] = []
        if state.highestmodseq is not None and status.highestmodseq != state.highestmodseq:
            found = await self._session.run(
                partial(
                    ops.vanished, folder=folder.name, uidvalidity=state.uidvalidity,
                    top=state.top, modseq=state.highestmodseq,
                )
            )  # fmt: skip
            if found is None:
                return
            deleted = found
        new: list[int] = []
        if status.top > state.top:
            found_uids = await self._search(folder, state.uidvalidity, state.top + 1, None, None)
            if found_uids is None:
                return
            new = found_uids
        if not new:
            advanced = state.advanced(state.top, status.highestmodseq)
            if deleted or advanced != state:
                yield Batch(folder, deleted=deleted, checkpoint=advanced.as_dict())
            return
        chunks = _chunks(new, self._batch_size)
        async with contextlib.aclosing(
            self._headers_ahead(folder, state.uidvalidity, chunks)
        ) as scans:
            async for chunk, messages in scans:
                if messages is None:
                    return
                state = state.advanced(chunk[-1], status.highestmodseq)
                yield Batch(folder, messages, deleted, state.as_dict(), total=len(new))
                deleted = []

    async def _search(
        self, folder: Folder, uidvalidity: int, low: int, high: int | None, since: date | None
    ) -> list[int] | None:
        if high is not None and high < low:
            return []
        return await self._session.run(
            partial(
                ops.search_uids, folder=folder.name, uidvalidity=uidvalidity, low=low,
                high=high, since=since,
            )
        )  # fmt: skip

    async def _headers(
        self, folder: Folder, uidvalidity: int, uids: list[int]
    ) -> list[ScannedMessage] | None:
        if not uids:
            return []
        return await self._session.run(
            partial(ops.fetch_headers, folder=folder.name, uidvalidity=uidvalidity, uids=uids)
        )

    async def _headers_ahead(
        self, folder: Folder, uidvalidity: int, chunks: list[list[int]]
    ) -> AsyncGenerator[tuple[list[int], list[ScannedMessage] | None], None]:
        """Each chunk with its headers, the next chunk's FETCH already running while the
        caller stores this one (the server works while we write to the database)."""
        ahead: asyncio.Task[list[ScannedMessage] | None] | None = None
        try:
            for index, chunk in enumerate(chunks):
                current = ahead or asyncio.ensure_future(self._headers(folder, uidvalidity, chunk))
                messages = await current
                ahead = None
                if messages is not None and index + 1 < len(chunks):
                    ahead = asyncio.ensure_future(
                        self._headers(folder, uidvalidity, chunks[index + 1])
                    )
                yield chunk, messages
        finally:
            if ahead is not None and not ahead.done():
                ahead.cancel()  # the caller stopped early; Session.run drops the connection
                with contextlib.suppress(BaseException):
                    await ahead

    async def fetch_raw(self, folder: Folder, provider_ids: list[str]) -> dict[str, bytes]:
        """Full bytes (BODY.PEEK[]) of the given messages; ids from another UIDVALIDITY or of
        expunged messages are left out."""
        by_validity: dict[int, list[int]] = {}
        for value in provider_ids:
            parsed = ops.parse_provider_id(value)
            if parsed is not None:
                by_validity.setdefault(parsed[0], []).append(parsed[1])
        found: dict[str, bytes] = {}
        for uidvalidity, uids in by_validity.items():
            found.update(
                await self._session.run(
                    partial(
                        ops.fetch_bodies, folder=folder.name, uidvalidity=uidvalidity,
                        uids=sorted(set(uids)),
                    )
                )
            )  # fmt: skip
        return found

    # -- waiting for mail ------------------------------------------------------------------

    async def wait_for_change(self, timeout: float) -> bool:
        """True as soon as INBOX changes (IDLE, or polling where the server has no IDLE) or
        another folder ``changes`` synced (Sent): reported during IDLE where the server offers
        NOTIFY, else compared by one STATUS each once ``timeout`` passes. So False means
        nothing to sync anywhere."""
        deadline = asyncio.get_running_loop().time() + timeout
        connection = await self._session.connection()
        if connection.has("IDLE"):
            return await self._idle(deadline)
        if await self._poll(deadline):
            return True
        return bool(self._others_seen) and await self._session.run(self._others_changed)

    def _inbox_changed(self, c: Connection) -> bool:
        """Look at INBOX again; True (and remember it) when it differs from what we last saw."""
        status = ops.look(c, ops.INBOX, select=True)
        seen, self._inbox_seen = self._inbox_seen, status
        return seen is not None and _change_key(seen) != _change_key(status)

    def _others_changed(self, c: Connection) -> bool:
        """STATUS of each synced folder but INBOX; True when one differs from its last sync."""
        changed = False
        for name, seen in self._others_seen.items():
            status = ops.look(c, name, select=False)
            self._others_seen[name] = status
            changed = changed or _change_key(seen) != _change_key(status)
        return changed

    def _begin_idle(self, c: Connection) -> bool:
        """IDLE after a sync, unless INBOX changed since the sync looked. Where the server
        offers NOTIFY it is first asked to report the other folders' changes during IDLE too
        (once per connection), and those are compared once now: a change made during the
        sync was reported before IDLE could catch it."""
        if self._others_seen and c.notifying is None:
            c.notifying = ops.notify_changes(c, self._others_seen)
        if self._inbox_changed(c) or (c.notifying and self._others_changed(c)):
            return True
        c.start_idle()
        return False

    def _idle_again(self, c: Connection, *, others: bool) -> bool:
        """After the DONE of an IDLE that heard nothing: True when a change turned up in the
        answers meanwhile or (``others``) in a folder IDLE does not watch; else IDLE again
        at once -- no NOOP on INBOX first, IDLE was watching it."""
        if not c.quiet or (others and self._others_changed(c)) or ops.heard_change(c):
            return True
        c.start_idle()
        return False

    async def _poll(self, deadline: float) -> bool:
        loop = asyncio.get_running_loop()
        while not await self._session.run(self._inbox_changed):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(self._poll_seconds, remaining))
        return True

    async def _idle(self, deadline: float) -> bool:
        """IDLE until a synced folder changes or ``deadline``; IDLE stays on into the next
        wait. Where NOTIFY is on, the server reports the other folders too and a quiet wait
        sends nothing; elsewhere it ends with one thread hop -- DONE, STATUS of the other
        folders, IDLE again (bench/README.md, idle row). IDLE is renewed after
        ``idle_renew_seconds`` (with a STATUS check there too, should NOTIFY fail us)."""
        loop = asyncio.get_running_loop()
        current = self._session.current()
        if (current is None or not current.idling) and await self._session.run(self._begin_idle):
            return True
        while True:
            connection = self._session.current()
            assert connection is not None and connection.idling
            renew_at = connection.idle_since + self._idle_renew  # loop.time() is monotonic()
            renewing = renew_at < deadline
            try:
                changed = await _idle_for(connection, min(renew_at, deadline) - loop.time())
            except DROPPED:
                # A server restart ends IDLE this way: wake the caller, whose next sync
                # reconnects (or reports the server unreachable).
                self._session.discard()
                return True
            except BaseException as exc:  # cancelled mid-IDLE: the connection is unusable
                self._session.discard()
                if isinstance(exc, Exception):
                    raise translate(exc, self._session.server) from exc
                raise
            if changed:
                connection.quiet = False  # IDLE read the change: a NOOP would not repeat it
                self._inbox_seen = None  # the caller syncs INBOX next and records it
                return True
            if connection.notifying and not renewing:
                return False
            others = bool(connection.notifying) or not renewing
            if await self._session.run(partial(self._idle_again, others=others)):
                return True
            if not renewing:
                return False

    # -- outbox support --------------------------------------------------------------------

    async def append_sent(self, raws: Sequence[bytes]) -> None:
        """Save sent messages, marked \\Seen, in the Sent folder (created when missing), in one
        MULTIAPPEND where offered. Not retried on a dropped connection: the outbox checks
        ``message_ids_in`` first."""
        sent = next((f for f in await self.folders() if f.role == "sent"), None)
        if sent is None:
            sent = Folder("Sent", "sent")
            await self._session.run(partial(ops.create_folder, name=sent.name), retry=False)
            self._folders = (*(self._folders or ()), sent)
        await self._session.run(partial(ops.append_seen, folder=sent.name, raws=raws), retry=False)

    async def message_ids_in(self, folder: Folder | str, message_ids: Sequence[str]) -> set[str]:
        """Which of ``message_ids`` ``folder`` (a Folder or its name) holds, in one SEARCH."""
        name = folder.name if isinstance(folder, Folder) else folder
        return await self._session.run(
            partial(ops.message_ids_in, folder=name, message_ids=message_ids)
        )

    async def close(self) -> None:
        await self._session.close()


def _change_key(status: ops.FolderStatus) -> tuple[int, int, int]:
    """What counts as "the folder changed" between waits: new, expunged or renumbered mail."""
    return status.uidvalidity, status.uidnext, status.exists


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


async def _idle_for(connection: Connection, seconds: float) -> bool:
    """Wait in IDLE up to ``seconds`` without holding a thread: the event loop watches the
    socket and a thread reads only once the server has sent something. IDLE stays on; the
    connection's next command ends it (``Connection.end_idle``)."""
    client = connection.client
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    # What the server sent with its "+ idling" (a change made just before IDLE began) is
    # already in imaplib's buffer and never wakes the socket watcher: report a change at
    # once and let the caller sync (at worst one sync too many).
    if ops.has_buffered_input(connection):
        return True
    while (remaining := deadline - loop.time()) > 0:
        if not await _readable(client.socket().fileno(), remaining):
            return False
        responses = await asyncio.to_thread(client.idle_check, 0)
        if not responses:  # readable yet nothing to read: the server closed the connection
            raise ConnectionResetError("IMAP server closed the connection during IDLE")
        if any(is_change(response) for response in responses):
            return True
    return False


async def _readable(fd: int, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        # Not asyncio.wait_for: on 3.11 it swallows a cancellation that arrives as the socket
        # turns readable (a server dropping us while the worker stops), and the watcher then
        # never stops. asyncio.timeout lets the cancellation through.
        async with asyncio.timeout(timeout):
            await ready
        return True
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(fd)
