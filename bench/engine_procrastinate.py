"""procrastinate on PostgreSQL, set up as inboxlink's production engine runs it.

Each lane is a throw-away database with procrastinate's schema, dropped afterwards. Workers
heartbeat every second and count as stalled after 5 s; next to procrastinate's worker runs the
reconcile loop of ``inboxlink.jobs.procrastinate_worker`` (every second here): prune stalled
workers, requeue their jobs — procrastinate itself never requeues a dead worker's job.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import ConnectorException
from tests.support.store import throwaway_postgres

from bench.engine_worker import report, run_job
from inboxlink.config import Settings
from inboxlink.jobs.procrastinate_app import conninfo

JOB = "bench_job"
HEARTBEAT_SECONDS = 1.0
STALLED_SECONDS = 5.0
RECONCILE_SECONDS = 1.0


class Lane:
    """The producer side: defers jobs by name, as inboxlink's web processes do."""

    def __init__(self, app: App, dsn: str) -> None:
        self._app = app
        self._dsn = dsn

    def defer(self, tag: str, seconds: float = 0.0, key: str | None = None) -> None:
        self._app.configure_task(JOB, lock=key).defer(tag=tag, seconds=seconds)

    def worker_config(self, concurrency: int) -> dict[str, Any]:
        return {"dsn": self._dsn, "concurrency": concurrency}


@contextlib.contextmanager
def lane() -> Iterator[Lane]:
    with throwaway_postgres() as url:
        dsn = conninfo(Settings(database_url=url))
        app = App(connector=PsycopgConnector(conninfo=dsn))
        with app.open():
            app.schema_manager.apply_schema()
            yield Lane(app, dsn)


async def _reconcile_forever(app: App) -> None:
    manager = app.job_manager
    while True:
        await manager.prune_stalled_workers(STALLED_SECONDS)
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_SECONDS):
            with contextlib.suppress(ConnectorException):  # another worker requeued it first
                await manager.retry_job(job)
        await asyncio.sleep(RECONCILE_SECONDS)


async def _serve(config: dict[str, Any]) -> None:
    app = App(connector=PsycopgConnector(conninfo=config["dsn"]))
    app.task(name=JOB)(run_job)
    async with app.open_async():
        reconciler = asyncio.create_task(_reconcile_forever(app))
        report("ready", "-")
        await app.run_worker_async(
            concurrency=config["concurrency"],
            install_signal_handlers=False,
            update_heartbeat_interval=HEARTBEAT_SECONDS,
            stalled_worker_timeout=STALLED_SECONDS,
            delete_jobs="successful",
        )
        reconciler.cancel()


def work(config: dict[str, Any]) -> None:
    asyncio.run(_serve(config))
