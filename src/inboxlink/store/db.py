"""The async engine and session factory; SQLite gets WAL, a busy timeout and foreign keys.
Also: telling "the database cannot be reached" from a failed query."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from asyncpg import exceptions as pg
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from inboxlink.config import Settings
from inboxlink.errors import causes

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
MAX_WRITE_RETRY_SECONDS = 30.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.resolved_database_url
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    size = settings.database_pool_size
    return create_async_engine(url, pool_pre_ping=True, pool_size=size, max_overflow=2 * size)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


#: What asyncpg raises when the server is down, restarting or shutting down.
_PG_UNREACHABLE = (
    pg.PostgresConnectionError,
    pg.CannotConnectNowError,
    pg.AdminShutdownError,
    pg.CrashShutdownError,
    pg.InterfaceError,
)


def _raised_in_sqlalchemy(exc: BaseException) -> bool:
    """A bare OSError (refused, reset) comes from the database only when it was raised while
    SQLAlchemy was connecting: the driver's connect() errors are not wrapped."""
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith("sqlalchemy."):
            return True
        tb = tb.tb_next
    return False


def unreachable(exc: BaseException) -> bool:
    """True when ``exc`` means the database is down or the connection to it was lost (worth a
    503 and a retry), not that a statement was wrong."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if any(isinstance(cause, _PG_UNREACHABLE) for cause in causes(exc)):
        return True
    return isinstance(exc, OSError | TimeoutError) and _raised_in_sqlalchemy(exc)


def until_reachable(write: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Decorate a database write that must not be lost to a database restart (a fact only
    this process knows, e.g. that the mail server accepted an email): while the database
    cannot be reached, wait (capped backoff) and run it again. ``write`` must be safe to
    repeat."""

    @functools.wraps(write)
    async def persistent(*args: P.args, **kwargs: P.kwargs) -> T:
        delay = 0.5
        while True:
            try:
                return await write(*args, **kwargs)
            except Exception as exc:
                if not unreachable(exc):
                    raise
                log.warning(  # the type only: the text carries statement parameters
                    "database unreachable (%s); writing again in %.1f s", type(exc).__name__, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_WRITE_RETRY_SECONDS)

    return persistent
