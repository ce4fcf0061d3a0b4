"""The procrastinate application both sides share: the web deferring jobs, workers running them.

procrastinate keeps its jobs in the same PostgreSQL database as inboxlink, so production mode
needs no broker. The names below are the contract between the two sides; the tasks themselves
are registered by ``procrastinate_worker`` only, and the web defers them by name.
"""

from __future__ import annotations

from procrastinate import App, PsycopgConnector
from sqlalchemy.engine import make_url

from inboxlink.config import Settings
from inboxlink.errors import AppError

#: Long-running inbox sessions and short jobs (sends, periodic work) are different queues so
#: that an operator can watch their depth apart.
INBOXES_QUEUE = "inboxes"
JOBS_QUEUE = "jobs"

INBOX_SESSION = "inbox_session"
SEND_EMAILS = "send_emails"
OUTBOX_SWEEP = "outbox_sweep"


def inbox_lock(inbox_id: int) -> str:
    """One lock per inbox: procrastinate runs at most one job holding it (a unique index on
    running jobs), which is what makes "exactly one live watcher per inbox" hold."""
    return f"inbox:{inbox_id}"


def conninfo(settings: Settings) -> str:
    """The libpq connection string for procrastinate's psycopg, from inboxlink's database URL."""
    url = make_url(settings.resolved_database_url)
    if not url.drivername.startswith("postgresql"):
        raise AppError(
            "engine_needs_postgresql",
            "The procrastinate job engine keeps its jobs in PostgreSQL. Set "
            "INBOXLINK_DATABASE_URL to a PostgreSQL database, or INBOXLINK_JOB_ENGINE=in_process.",
        )
    return str(url.set(drivername="postgresql").render_as_string(hide_password=False))


#: procrastinate's own connections per process: its LISTEN, heartbeats, fetches, defers.
PROCRASTINATE_POOL_SIZE = 4


def build_app(settings: Settings) -> App:
    return App(
        connector=PsycopgConnector(
            conninfo=conninfo(settings), min_size=1, max_size=PROCRASTINATE_POOL_SIZE
        )
    )


async def ensure_schema(settings: Settings) -> bool:
    """Create procrastinate's tables once (``inboxlink db upgrade``); True when created.

    The schema belongs to the pinned procrastinate version; upgrading procrastinate means
    applying its own migration files (docs/deploy.md).
    """
    app = build_app(settings)
    async with app.open_async():
        rows = await app.connector.execute_query_all_async(
            "SELECT 1 FROM pg_tables WHERE tablename = 'procrastinate_jobs'"
        )
        if rows:
            return False
        await app.schema_manager.apply_schema_async()
        return True
