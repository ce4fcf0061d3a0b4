"""The migrations build exactly the tables the code declares, on SQLite and PostgreSQL, and
can be undone and redone."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from inboxlink.config import Settings
from inboxlink.runtime import Runtime
from inboxlink.store import migrate
from inboxlink.store.tables import Base


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(runtime: Runtime) -> None:
    async with runtime.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


async def test_downgrade_to_nothing_and_back(settings: Settings) -> None:
    config = migrate.alembic_config(settings)
    # Alembic's env.py runs an event loop of its own: give it a thread, as migrate does.
    await asyncio.to_thread(command.downgrade, config, "base")
    await asyncio.to_thread(command.upgrade, config, "head")
    runtime = Runtime.build(settings)
    async with runtime.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
    await runtime.close()
