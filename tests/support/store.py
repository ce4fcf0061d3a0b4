"""Store fixtures: every store test runs on SQLite and on a real PostgreSQL server.

PostgreSQL: ``INBOXLINK_TEST_POSTGRES_URL`` (default the local server on 127.0.0.1:5432);
a fresh database per test session, migrated once, tables emptied between tests.
SQLite: one migrated file per session, copied for each test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import select, text

from inboxlink.config import Settings
from inboxlink.runtime import Runtime
from inboxlink.store import migrate
from inboxlink.store.tables import Base

POSTGRES_URL = os.environ.get(
    "INBOXLINK_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgres"]


def _raw_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_raw_dsn(POSTGRES_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """An empty database on the test server, dropped afterwards."""
    name = f"inboxlink_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc}). Start it "
            "(make test does) or set INBOXLINK_TEST_POSTGRES_URL."
        )
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throw-away database on the test server, migrated to head."""
    with throwaway_postgres() as url:
        migrate.upgrade(Settings(database_url=url))
        yield url


async def dump_rows(runtime: Runtime) -> str:
    """Every row of every table as text (what a stolen database or backup would show)."""
    parts = []
    async with runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in await session.execute(select(table)):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    migrate.upgrade(Settings(data_dir=folder))
    return folder / "inboxlink.db"


def make_settings(data_dir: Path, database_url: str | None, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "allow_private_networks": "1",
        "secret_key": "test-key-" + uuid.uuid4().hex,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, db_backend: str, tmp_path: Path, sqlite_template: Path
) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if db_backend == "sqlite":
        shutil.copy(sqlite_template, data_dir / "inboxlink.db")
        return make_settings(data_dir, None)
    url = request.getfixturevalue("postgres_database")
    return make_settings(data_dir, url)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = Runtime.build(settings)
    yield rt
    if not settings.is_sqlite:
        async with rt.engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await rt.close()


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process (no worker)."""
    from inboxlink.web.app import create_app

    app = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def runner(runtime: Runtime) -> AsyncIterator[object]:
    """The in-process worker (sync, outbox, periodic jobs) running for the test."""
    from inboxlink.worker.runner import Runner

    worker = Runner(runtime)
    worker.start()
    yield worker
    await worker.stop()
