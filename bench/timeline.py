"""Timeline read p99 with many logged emails, on SQLite and PostgreSQL.

Rows are generated straight into a freshly migrated store (100 contacts, one entry per
message), then a contact's first page is read through ``crm.timeline.read_timeline``.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import insert

from bench.report import Row, percentile, seconds
from inboxlink.config import Settings
from inboxlink.crm.timeline import read_timeline
from inboxlink.domain.enums import Role
from inboxlink.domain.permissions import Actor
from inboxlink.runtime import Runtime
from inboxlink.store import migrate
from inboxlink.store.tables import Account, Contact, Message, Thread, TimelineEntry, User

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
CONTACTS = 100
CHUNK = 5000


async def _fill(runtime: Runtime, rows: int) -> tuple[Actor, list[int]]:
    async with runtime.sessions() as session, session.begin():
        account = Account(name="bench")
        session.add(account)
        await session.flush()
        user = User(account_id=account.id, email="boss@acme.test", password_hash="x",
                    role=Role.SUPER_ADMIN.value)  # fmt: skip
        thread = Thread(account_id=account.id, subject="bench")
        contacts = [
            Contact(account_id=account.id, email=f"c{n}@x.example") for n in range(CONTACTS)
        ]
        session.add_all([user, thread, *contacts])
        await session.flush()
        actor = Actor(user.id, account.id, Role.SUPER_ADMIN)
        contact_ids, thread_id, account_id = [c.id for c in contacts], thread.id, account.id
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(1)
    for base in range(0, rows, CHUNK):
        size = min(CHUNK, rows - base)
        moments = [start + timedelta(seconds=rng.randrange(60 * 86400)) for _ in range(size)]
        async with runtime.sessions() as session, session.begin():
            result = await session.execute(
                insert(Message).returning(Message.id, sort_by_parameter_order=True),
                [
                    {"account_id": account_id, "thread_id": thread_id,
                     "dedupe_key": f"<t{base + n}@bench>", "message_id": f"<t{base + n}@bench>",
                     "subject": f"Subject {base + n}", "sent_at": moments[n],
                     "snippet": "Thanks for getting back to me so quickly.",
                     "from_addr": {"email": "c@x.example", "name": "C"},
                     "to_addrs": [{"email": "me@acme.test", "name": ""}], "owner_id": None}
                    for n in range(size)
                ],
            )  # fmt: skip
            ids = list(result.scalars())
            await session.execute(
                insert(TimelineEntry),
                [
                    {"account_id": account_id, "contact_id": contact_ids[(base + n) % CONTACTS],
                     "message_id": ids[n], "direction": "in", "occurred_at": moments[n]}
                    for n in range(size)
                ],
            )  # fmt: skip
    return actor, contact_ids


async def _measure(settings: Settings, rows: int, reads: int) -> tuple[float, float, float]:
    runtime = Runtime.build(settings)
    try:
        started = time.perf_counter()
        actor, contacts = await _fill(runtime, rows)
        fill = time.perf_counter() - started
        rng = random.Random(2)
        times = []
        for n in range(reads + 10):
            contact = rng.choice(contacts)
            started = time.perf_counter()
            async with runtime.sessions() as session:
                page = await read_timeline(session, actor, contact, limit=50, cursor=None)
            if n >= 10:  # the first reads warm the caches
                times.append(time.perf_counter() - started)
            assert page["items"]
        return percentile(times, 0.5), percentile(times, 0.99), fill
    finally:
        await runtime.close()


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES.replace("+asyncpg", ""))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def timeline_rows(rows: int, reads: int) -> list[Row]:
    results: list[tuple[str, tuple[float, float, float] | None]] = []
    with tempfile.TemporaryDirectory(prefix="inboxlink-bench-tl-") as folder:
        settings = Settings(data_dir=Path(folder), secret_key="bench-key")
        migrate.upgrade(settings)
        results.append(("SQLite", asyncio.run(_measure(settings, rows, reads))))
    name = f"inboxlink_bench_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        results.append(("PostgreSQL", None))
        print(f"PostgreSQL not reachable: {exc}")
    else:
        try:
            settings = Settings(database_url=POSTGRES.rsplit("/", 1)[0] + f"/{name}",
                                secret_key="bench-key")  # fmt: skip
            migrate.upgrade(settings)
            results.append(("PostgreSQL", asyncio.run(_measure(settings, rows, reads))))
        finally:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    table = []
    for backend, outcome in results:
        if outcome is None:
            table.append(Row(f"timeline read, {backend}", "not run", "—", "—", "p99 ≤ 50 ms",
                             None, note="PostgreSQL was not reachable"))  # fmt: skip
            continue
        p50, p99, fill = outcome
        table.append(
            Row(
                f"timeline read, {rows:,} logged emails, {backend}",
                f"p99 {seconds(p99)} (p50 {seconds(p50)}) over {reads} first pages",
                "—",
                "—",
                "p99 ≤ 50 ms (1,000,000 emails)",
                p99 <= 0.05 and rows >= 1_000_000,
                note=f"{backend}: rows generated in {seconds(fill)}",
            )
        )
    return table
