"""The web side of the procrastinate engine: turn "an inbox / the outbox changed" into jobs."""

from __future__ import annotations

import asyncio
import contextlib

from procrastinate import App
from procrastinate.exceptions import AlreadyEnqueued

from inboxlink.config import Settings
from inboxlink.jobs.procrastinate_app import (
    INBOX_SESSION,
    INBOXES_QUEUE,
    JOBS_QUEUE,
    OUTBOX_SWEEP,
    build_app,
    inbox_lock,
)


async def defer_session(app: App, inbox_id: int, *, delay_seconds: float = 0) -> None:
    """Queue a watch session for the inbox; a session already waiting makes this a no-op."""
    lock = inbox_lock(inbox_id)
    with contextlib.suppress(AlreadyEnqueued):
        await app.configure_task(
            INBOX_SESSION,
            queue=INBOXES_QUEUE,
            lock=lock,
            queueing_lock=lock,
            schedule_in={"seconds": delay_seconds} if delay_seconds else None,
        ).defer_async(inbox_id=inbox_id)


async def defer_outbox_sweep(app: App) -> None:
    with contextlib.suppress(AlreadyEnqueued):
        await app.configure_task(
            OUTBOX_SWEEP, queue=JOBS_QUEUE, queueing_lock=OUTBOX_SWEEP
        ).defer_async()


class ProcrastinateScheduler:
    """Opens procrastinate's connection pool on first use, so processes that never defer
    (the CLI's one-off commands) never connect."""

    def __init__(self, settings: Settings) -> None:
        self._app = build_app(settings)
        self._opened = False
        self._opening = asyncio.Lock()

    async def _ready(self) -> App:
        async with self._opening:
            if not self._opened:
                await self._app.open_async()
                self._opened = True
        return self._app

    async def inbox_changed(self, inbox_id: int) -> None:
        """Queue a fresh session and ask the running one (if any) to stop, so a new state or
        new credentials take effect within procrastinate's abort polling interval (5 s); the
        lock keeps the new session waiting until the old one has ended."""
        app = await self._ready()
        await defer_session(app, inbox_id)
        for job in await app.job_manager.list_jobs_async(lock=inbox_lock(inbox_id), status="doing"):
            if job.id is not None:
                await app.job_manager.cancel_job_by_id_async(job.id, abort=True)

    async def outbox_changed(self) -> None:
        await defer_outbox_sweep(await self._ready())

    async def close(self) -> None:
        if self._opened:
            await self._app.close_async()
            self._opened = False
