"""Timeline read p99 with many logged emails, on SQLite and PostgreSQL.

Rows are generated straight into a freshly migrated store by SQL (100 contacts, one entry per
message, dates spread over 60 days), then a contact's first page is read through
``crm.timeline.read_timeline``.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text

from bench.report import Row, percentile, seconds
from inboxlink.config import Settings
from inboxlink.crm.timeline import read_timeline
from inboxlink.domain.enums import Role
from inboxlink.domain.permissions import Actor
from inboxlink.runtime import Runtime
from inboxlink.store import migrate
from inboxlink.store.tables import Account, Contact, Thread, User

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
CONTACTS = 100


#: The generated rows, one INSERT … SELECT per table so a million rows take seconds, not the
#: minutes of row-by-row inserts through the ORM. ``{series}`` numbers the rows 0..N-1 and
#: ``{moment}`` turns ``secs`` (a spread over 60 days) into the backend's timestamp.
_MESSAGES = """
INSERT INTO messages (account_id, thread_id, dedupe_key, message_id, in_reply_to, "references",
    subject, from_addr, to_addrs, cc_addrs, sent_at, snippet, body_text, body_html,
    sent_from_crm, owner_id, created_at)
SELECT :account, :thread, '<t' || n || '@bench>', '<t' || n || '@bench>', '', '[]',
    'Subject ' || n, '{{"email": "c@x.example", "name": "C"}}',
    '[{{"email": "me@acme.test", "name": ""}}]', '[]', {moment},
    'Thanks for getting back to me so quickly.', '', '', false, NULL, {moment}
FROM (SELECT n, (n * 2654435761) % 5184000 AS secs FROM {series}) AS spread
"""
_ENTRIES = """
INSERT INTO timeline_entries (account_id, contact_id, message_id, inbox_id, direction,
    occurred_at)
SELECT m.account_id, c.id, m.id, NULL, 'in', m.sent_at
FROM messages AS m
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM contacts
      WHERE account_id = :account) AS c ON c.k = m.id % {contacts}
WHERE m.account_id = :account
"""
_DIALECTS = {
    "postgresql": {
        "series": "generate_series(0, :rows - 1) AS n",
        "moment": "timestamptz '2026-01-01 00:00:00+00' + secs * interval '1 second'",
    },
    "sqlite": {
        "series": "(WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s "
        "WHERE n + 1 < :rows) SELECT n FROM s)",
        # SQLAlchemy's SQLite DateTime format, so the ORM reads the rows back as datetimes.
        "moment": "strftime('%Y-%m-%d %H:%M:%S', 1767225600 + secs, 'unixepoch') || '.000000'",
    },
}


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
        contact_ids = [c.id for c in contacts]
        dialect = _DIALECTS[runtime.engine.dialect.name]
        values = {"account": account.id, "thread": thread.id, "rows": rows}
        await session.execute(text(_MESSAGES.format(**dialect)), values)
        await session.execute(text(_ENTRIES.format(contacts=CONTACTS)), values)
    if runtime.engine.dialect.name == "postgresql":
        async with runtime.engine.begin() as connection:  # what autovacuum would do soon
            await connection.execute(text("ANALYZE messages, timeline_entries"))
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
