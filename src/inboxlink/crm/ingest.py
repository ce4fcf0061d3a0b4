"""Storing a message once per account, threading it, and putting it on contact timelines.

Idempotent by construction: messages are keyed by (account, Message-ID or content hash),
sources by (inbox, folder, provider id), timeline entries by (contact, message). Storing the
same message again — a repeated batch after a crash, the same mail seen by two inboxes —
adds what is missing and changes nothing else.

A whole batch is stored with a fixed number of statements, whatever its size (profiling
showed ~8 round trips per message dominating the backfill): one look-up each for the
stored messages, the threads of parents and replies, sources and timeline entries, and
bulk INSERTs that skip rows another inbox stored meanwhile (ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc, utcnow
from inboxlink.domain.enums import Direction
from inboxlink.mail.body import parse_body
from inboxlink.mail.headers import HeaderInfo
from inboxlink.store.batching import slices
from inboxlink.store.tables import Inbox, Message, MessageSource, Thread, TimelineEntry


@dataclass(frozen=True, slots=True)
class Sighting:
    """One message as one inbox saw it, with the contacts it is logged for."""

    inbox_id: int
    owner_id: int | None
    folder: str
    provider_id: str
    headers: HeaderInfo
    raw: bytes
    direction: Direction
    contact_ids: tuple[int, ...]
    sent_from_crm: bool = False


def dedupe_key(headers: HeaderInfo, raw: bytes) -> str:
    """Message-ID when there is one; otherwise a hash of the content."""
    if headers.message_id:
        return headers.message_id[:500]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _insert(session: AsyncSession, entity: type) -> Any:
    """INSERT for the session's database, which can skip conflicting rows."""
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(entity)


async def _pairs(
    session: AsyncSession, columns: tuple[Any, Any], where: ColumnElement[bool],
    key: Any, values: Iterable[Any],
) -> list[tuple[Any, Any]]:  # fmt: skip
    """``(a, b)`` rows where ``where`` holds and ``key`` is one of ``values`` (chunked)."""
    found: list[tuple[Any, Any]] = []
    for chunk in slices(values):
        rows = await session.execute(select(*columns).where(where, key.in_(chunk)))
        found.extend((a, b) for a, b in rows)
    return found


class _Threads:
    """Thread choice for a batch of new messages, with union-find over the threads merged.

    Threads are ids of stored threads (positive) or of threads this batch creates (negative,
    in creation order). As before batching, a message joins the threads of its parents and
    of stored replies to it, the oldest (smallest id, stored before created) is kept.
    """

    def __init__(self, by_message_id: dict[str, set[int]], by_reply_to: dict[str, set[int]]):
        self._by_message_id = by_message_id
        self._by_reply_to = by_reply_to
        self._parent: dict[int, int] = {}
        self.created: dict[int, str] = {}  # placeholder -> subject
        self.latest: dict[int, datetime] = {}

    def find(self, thread: int) -> int:
        while (up := self._parent.get(thread, thread)) != thread:
            thread = up
        return thread

    @staticmethod
    def _age(thread: int) -> tuple[int, int]:
        return (0, thread) if thread > 0 else (1, -thread)

    def choose(self, headers: HeaderInfo, sent_at: datetime) -> int:
        parents = [m for m in (headers.in_reply_to, *headers.references) if m]
        related = {self.find(t) for p in parents for t in self._by_message_id.get(p, ())}
        if headers.message_id:
            related |= {self.find(t) for t in self._by_reply_to.get(headers.message_id, ())}
        if related:
            keep, *merged = sorted(related, key=self._age)
            for thread in merged:
                self._parent[thread] = keep
                if thread in self.latest:
                    self.latest[keep] = max(self.latest.pop(thread), self.latest.get(keep, sent_at))
        else:
            keep = -(len(self.created) + 1)
            self.created[keep] = headers.subject
        if headers.message_id:
            self._by_message_id.setdefault(headers.message_id, set()).add(keep)
        if headers.in_reply_to:
            self._by_reply_to.setdefault(headers.in_reply_to, set()).add(keep)
        self.latest[keep] = max(self.latest.get(keep, sent_at), sent_at)
        return keep

    def merged_stored(self) -> dict[int, int]:
        """Stored threads merged into another: old id -> kept id (stored or placeholder)."""
        return {t: self.find(t) for t in self._parent if t > 0 and self.find(t) != t}


def _grouped(pairs: list[tuple[Any, Any]]) -> dict[Any, set[int]]:
    grouped: dict[Any, set[int]] = {}
    for key, thread in pairs:
        grouped.setdefault(key, set()).add(thread)
    return grouped


async def _insert_messages(
    session: AsyncSession, account_id: int, new: dict[str, Sighting]
) -> list[tuple[str, int, datetime, bool]]:
    """Thread, parse and INSERT the messages of ``new`` (by dedupe key) in a few statements;
    ``(dedupe key, id, sent_at, unreadable)`` of each row inserted (not of those another
    inbox stored meanwhile)."""
    in_account = Message.account_id == account_id
    parents = {p for s in new.values() for p in (s.headers.in_reply_to, *s.headers.references)}
    own_ids = {s.headers.message_id for s in new.values() if s.headers.message_id}
    threads = _Threads(
        _grouped(await _pairs(session, (Message.message_id, Message.thread_id), in_account,
                              Message.message_id, parents - {""})),
        _grouped(await _pairs(session, (Message.in_reply_to, Message.thread_id), in_account,
                              Message.in_reply_to, own_ids)),
    )  # fmt: skip
    chosen: dict[str, tuple[int, datetime]] = {}
    for key, sighting in new.items():
        headers = sighting.headers
        sent_at = as_utc(headers.date) if headers.date else utcnow()
        chosen[key] = (threads.choose(headers, sent_at), sent_at)
    # One bulk INSERT … RETURNING: ORM objects and their flush were a fifth of storing a
    # batch whose messages mostly start threads (bench/profile_sync --all-contacts).
    roots = [p for p in threads.created if threads.find(p) == p]
    created: dict[int, int] = {}
    if roots:
        inserted = await session.execute(
            insert(Thread).returning(Thread.id, sort_by_parameter_order=True),
            [
                {"account_id": account_id, "subject": threads.created[placeholder],
                 "last_message_at": threads.latest.get(placeholder)}
                for placeholder in roots
            ],
        )  # fmt: skip
        created = dict(zip(roots, inserted.scalars(), strict=True))

    def real(thread: int) -> int:
        root = threads.find(thread)
        return created[root] if root < 0 else root

    for old, kept in threads.merged_stored().items():
        await session.execute(
            update(Message).where(Message.thread_id == old).values(thread_id=real(kept))
        )
        await session.execute(delete(Thread).where(Thread.id == old))
    stored = [t for t in threads.latest if t > 0 and threads.find(t) == t]
    for chunk in slices(stored):
        for thread in await session.scalars(select(Thread).where(Thread.id.in_(chunk))):
            latest = threads.latest[thread.id]
            if thread.last_message_at is None or as_utc(thread.last_message_at) < latest:
                thread.last_message_at = latest
    rows = []
    for key, sighting in new.items():
        headers = sighting.headers
        body = parse_body(sighting.raw)
        thread_id, sent_at = chosen[key]
        rows.append(
            {
                "account_id": account_id,
                "thread_id": real(thread_id),
                "dedupe_key": key,
                "message_id": headers.message_id,
                "in_reply_to": headers.in_reply_to,
                "references": list(headers.references),
                "subject": headers.subject,
                "from_addr": headers.sender.as_dict()
                if headers.sender
                else {"email": "", "name": ""},
                "to_addrs": [m.as_dict() for m in headers.to],
                "cc_addrs": [m.as_dict() for m in headers.cc],
                "sent_at": sent_at,
                "snippet": body.snippet,
                "body_text": body.text,
                "body_html": body.html,
                # What the parser cannot read is kept as received, for a person or a fix.
                "unreadable": not body.readable,
                "raw": None if body.readable else sighting.raw,
                "sent_from_crm": sighting.sent_from_crm,
                "owner_id": sighting.owner_id,
                "created_at": utcnow(),
            }
        )
    # Another inbox of the account may have stored some a moment ago: theirs are kept.
    statement = (
        _insert(session, Message)
        .on_conflict_do_nothing(index_elements=["account_id", "dedupe_key"])
        .returning(Message.dedupe_key, Message.id, Message.sent_at, Message.unreadable)
    )
    return [tuple(row) for row in await session.execute(statement, rows)]


async def store_sightings(
    session: AsyncSession, account_id: int, sightings: Sequence[Sighting]
) -> int:
    """Store what is new about each sighting; returns how many added a timeline entry."""
    if not sightings:
        return 0
    keys = [dedupe_key(s.headers, s.raw) for s in sightings]
    in_account = Message.account_id == account_id
    flagged = await _pairs(
        session, (Message.dedupe_key, Message.sent_from_crm), in_account, Message.dedupe_key, keys
    )
    stored = {key for key, _ in flagged}
    crm_sent = {k for s, k in zip(sightings, keys, strict=True) if s.sent_from_crm}
    to_flag = {key for key, flag in flagged if key in crm_sent and not flag}
    if to_flag:
        await session.execute(
            update(Message).where(in_account, Message.dedupe_key.in_(to_flag))
            .values(sent_from_crm=True)
        )  # fmt: skip
    new: dict[str, Sighting] = {}
    for sighting, key in zip(sightings, keys, strict=True):
        if key not in stored and key not in new:
            new[key] = sighting
    inserted = await _insert_messages(session, account_id, new) if new else []
    # Rows this statement inserted have no sources or timeline entries yet: only the
    # others are looked up (in a backfill that skips three queries a batch; bench).
    fresh = {mid for _, mid, _, _ in inserted}
    messages: dict[str, tuple[int, datetime]] = {}
    unreadable: set[int] = set()

    def found(key: str, mid: int, sent_at: datetime, flagged_unreadable: bool) -> None:
        messages[key] = (mid, sent_at)
        if flagged_unreadable:
            unreadable.add(mid)

    for row in inserted:
        found(*row)
    for chunk in slices(dict.fromkeys(k for k in keys if k not in messages)):
        rows = await session.execute(
            select(Message.dedupe_key, Message.id, Message.sent_at, Message.unreadable).where(
                in_account, Message.dedupe_key.in_(chunk)
            )
        )
        for row in rows:
            found(*row)
    older = [mid for mid, _ in messages.values() if mid not in fresh]
    inbox_ids = {s.inbox_id for s in sightings}
    sources = await _sources(session, inbox_ids, older) if older else set()
    logged = set(
        await _pairs(
            session, (TimelineEntry.message_id, TimelineEntry.contact_id),
            TimelineEntry.account_id == account_id, TimelineEntry.message_id, older,
        )
    )  # fmt: skip
    new_sources: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    unreadable_seen: dict[int, int] = {}
    added = 0
    for sighting, key in zip(sightings, keys, strict=True):
        message_id, sent_at = messages[key]
        place = (sighting.inbox_id, sighting.folder, sighting.provider_id)
        if place not in sources:
            sources.add(place)
            new_sources.append(
                {"message_id": message_id, "inbox_id": sighting.inbox_id,
                 "folder": sighting.folder, "provider_id": sighting.provider_id}
            )  # fmt: skip
            if message_id in unreadable:
                unreadable_seen[sighting.inbox_id] = unreadable_seen.get(sighting.inbox_id, 0) + 1
        adds = False
        for contact_id in sighting.contact_ids:
            if (message_id, contact_id) in logged:
                continue
            logged.add((message_id, contact_id))
            entries.append(
                {"account_id": account_id, "contact_id": contact_id, "message_id": message_id,
                 "inbox_id": sighting.inbox_id, "direction": sighting.direction.value,
                 "occurred_at": sent_at}
            )  # fmt: skip
            adds = True
        added += adds
    if new_sources:
        await session.execute(
            _insert(session, MessageSource).on_conflict_do_nothing(
                index_elements=["inbox_id", "folder", "provider_id"]
            ),
            new_sources,
        )
    if entries:
        await session.execute(
            _insert(session, TimelineEntry).on_conflict_do_nothing(
                index_elements=["contact_id", "message_id"]
            ),
            entries,
        )
    for inbox_id, count in unreadable_seen.items():  # counted once per place it was seen
        await session.execute(
            update(Inbox).where(Inbox.id == inbox_id)
            .values(messages_unreadable=Inbox.messages_unreadable + count)
        )  # fmt: skip
    return added


async def _sources(
    session: AsyncSession, inbox_ids: set[int], message_ids: list[int]
) -> set[tuple[int, str, str]]:
    found: set[tuple[int, str, str]] = set()
    for chunk in slices(message_ids):
        rows = await session.execute(
            select(MessageSource.inbox_id, MessageSource.folder, MessageSource.provider_id).where(
                MessageSource.inbox_id.in_(inbox_ids), MessageSource.message_id.in_(chunk)
            )
        )
        found.update((inbox, folder, provider) for inbox, folder, provider in rows)
    return found


async def store_sighting(session: AsyncSession, account_id: int, sighting: Sighting) -> bool:
    """Store what is new about ``sighting``; True when a timeline entry was added."""
    return await store_sightings(session, account_id, [sighting]) > 0
