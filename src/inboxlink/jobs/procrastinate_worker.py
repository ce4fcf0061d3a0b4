"""The worker side of the procrastinate engine: inbox sessions, sends and periodic jobs.

How the needs of docs/scale-out.md are met:

- **One live watcher per inbox**: every session of an inbox holds the lock ``inbox:<id>``;
  procrastinate's unique index on running jobs' locks lets only one run, anywhere.
- **Fair spread and rebalancing**: a session starts only while this worker holds fewer than
  its fair share (active inboxes / live workers, capped by ``--concurrency``), and every
  ``rebalance_seconds`` a worker over its share hands the surplus back to the queue, where
  workers under their share (a worker that just joined) take it.
- **A crashed worker**: it stops sending heartbeats; the reconciler (a periodic job that runs
  on one worker per tick) requeues the sessions of workers silent for
  ``worker_stalled_seconds`` and queues a session for any active inbox that has none.
- **Draining on SIGTERM**: sessions hand their inboxes back at once; what they had not yet
  stored is fetched again by the next holder (the sync is idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from procrastinate import JobContext
from procrastinate.exceptions import AlreadyEnqueued, UniqueViolation
from procrastinate.jobs import Status
from procrastinate.types import JSONValue
from sqlalchemy import func, select, text

from inboxlink.domain.inbox_state import ACTIVE_STATES
from inboxlink.jobs.holdings import Holdings
from inboxlink.jobs.periodic import PERIODIC_JOBS, PeriodicJob
from inboxlink.jobs.procrastinate_app import (
    INBOX_SESSION,
    INBOXES_QUEUE,
    JOBS_QUEUE,
    OUTBOX_SWEEP,
    SEND_EMAILS,
    build_app,
)
from inboxlink.jobs.procrastinate_scheduler import defer_session
from inboxlink.outbox.sender import deliver_each, due_by_inbox
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Inbox
from inboxlink.worker.watcher import watch_inbox

log = logging.getLogger(__name__)

#: Slots kept free of inbox sessions for sends and periodic jobs.
JOB_SLOTS = 8
#: How soon a session this worker declined is offered again (to any worker).
DECLINE_DELAY_SECONDS = 2.0
#: How soon a session whose watcher failed unexpectedly is retried.
FAILED_SESSION_DELAY_SECONDS = 5.0
RECONCILE_SECONDS = 10.0
#: How long a computed fair share is reused (see ProcrastinateWorker.fair_share).
SHARE_CACHE_SECONDS = 1.0
OUTBOX_SWEEP_SECONDS = 2.0
#: Finished jobs kept this long for inspection (successful ones are deleted at once).
KEEP_FINISHED_JOBS_HOURS = 72


async def _cancelled(task: asyncio.Task[None]) -> None:
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def cron_every(seconds: float) -> str:
    """procrastinate's cron (a sixth column for seconds) for "about every ``seconds``"."""
    if seconds < 60:
        return f"* * * * * */{max(1, round(seconds))}"
    return f"*/{max(1, round(seconds / 60))} * * * *"


class ProcrastinateWorker:
    """One worker process: registers the tasks, runs procrastinate's worker, drains on stop."""

    def __init__(self, runtime: Runtime, holdings: Holdings, *, concurrency: int) -> None:
        self._runtime = runtime
        self._settings = runtime.settings
        self.holdings = holdings
        self._ceiling = concurrency
        self._draining = asyncio.Event()
        #: Running sessions by procrastinate job id, and the event that tells one it lost it.
        self._leases: dict[int, asyncio.Event] = {}
        self._worker_id: int | None = None
        self._share = (0, -math.inf)
        self.app = build_app(runtime.settings)
        self._register()

    # -- fair share ------------------------------------------------------------------------

    async def fair_share(self) -> int:
        """Active inboxes divided by live workers, rounded up, never above --concurrency.

        Every session asks at start and at each rebalance check; with a thousand sessions per
        worker that would be a thousand count queries a minute, so the answer is reused for
        a second."""
        value, computed_at = self._share
        if time.monotonic() - computed_at < SHARE_CACHE_SECONDS:
            return value
        async with self._runtime.sessions() as session:
            active = await session.scalar(
                select(func.count(Inbox.id)).where(
                    Inbox.state.in_([s.value for s in ACTIVE_STATES])
                )
            )
            workers = await session.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_workers "
                    "WHERE last_heartbeat > now() - make_interval(secs => :stalled)"
                ),
                {"stalled": self._settings.worker_stalled_seconds},
            )
        share = max(1, min(math.ceil((active or 0) / max(workers or 1, 1)), self._ceiling))
        self._share = (share, time.monotonic())
        return share

    # -- tasks -----------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        app.task(name=INBOX_SESSION, queue=INBOXES_QUEUE, pass_context=True)(self.inbox_session)
        app.task(name=SEND_EMAILS, queue=JOBS_QUEUE)(self.send_emails)
        app.task(name=OUTBOX_SWEEP, queue=JOBS_QUEUE)(self.outbox_sweep)
        app.periodic(cron=cron_every(OUTBOX_SWEEP_SECONDS), periodic_id="outbox")(
            app.task(name="periodic_outbox_sweep", queue=JOBS_QUEUE)(self._periodic_sweep)
        )
        app.periodic(cron=cron_every(RECONCILE_SECONDS), periodic_id="reconcile")(
            app.task(name="reconcile", queue=JOBS_QUEUE)(self.reconcile)
        )
        app.periodic(cron="17 * * * *", periodic_id="forget_finished_jobs")(
            app.task(name="forget_finished_jobs", queue=JOBS_QUEUE)(self.forget_finished_jobs)
        )
        for job in PERIODIC_JOBS:
            app.periodic(cron=cron_every(job.every(self._settings)), periodic_id=job.name)(
                app.task(name=f"periodic_{job.name}", queue=JOBS_QUEUE)(self._periodic(job))
            )

    def _periodic(self, job: PeriodicJob) -> Callable[[int], Awaitable[None]]:
        async def run(timestamp: int) -> None:
            await job.run(self._runtime)

        run.__name__ = f"periodic_{job.name}"
        return run

    async def inbox_session(self, context: JobContext, inbox_id: int) -> None:
        """Watch one inbox until it is no longer active, this worker has too many, or stops."""
        share = await self.fair_share()
        if self._draining.is_set() or not self.holdings.take_if_room(inbox_id, share):
            await defer_session(self.app, inbox_id, delay_seconds=DECLINE_DELAY_SECONDS)
            return
        job_id, worker_id = context.job.id, context.job.worker_id
        assert job_id is not None and worker_id is not None
        lost = self._leases[job_id] = asyncio.Event()
        self._worker_id = worker_id
        watcher = asyncio.create_task(watch_inbox(self._runtime, inbox_id))
        try:
            outcome = await self._watch(watcher, inbox_id, lost)
            if outcome == "hand back":
                log.info("inbox %s: handed back (rebalance or shutdown)", inbox_id)
                await _cancelled(watcher)
                await defer_session(self.app, inbox_id)
            elif outcome == "lost":
                log.warning(
                    "inbox %s: taken over by another worker (this one was presumed dead); "
                    "stopped watching it",
                    inbox_id,
                )
            elif watcher.exception() is not None:  # a bug, not the mail server: retry, logged
                log.error("inbox %s watcher failed", inbox_id, exc_info=watcher.exception())
                await defer_session(self.app, inbox_id, delay_seconds=FAILED_SESSION_DELAY_SECONDS)
        finally:  # also when procrastinate aborts the job because the inbox changed
            self._leases.pop(job_id, None)
            self.holdings.release(inbox_id)
            await _cancelled(watcher)

    async def _watch(
        self, watcher: asyncio.Task[None], inbox_id: int, lost: asyncio.Event
    ) -> Literal["ended", "hand back", "lost"]:
        """Wait for the watcher to end, for a reason to give the inbox up, or for the news
        that another worker holds it now."""
        while True:
            signals = [asyncio.create_task(self._draining.wait()), asyncio.create_task(lost.wait())]
            try:
                await asyncio.wait(
                    [watcher, *signals],
                    timeout=self._settings.rebalance_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                for signal in signals:
                    signal.cancel()
            if lost.is_set():
                return "lost"
            if watcher.done():
                return "ended"
            if self._draining.is_set():
                return "hand back"
            if self.holdings.release_if_over(inbox_id, await self.fair_share()):
                return "hand back"

    async def _check_leases(self) -> None:
        """Fencing. A worker whose heartbeats were late (a blocked event loop, a slow
        database) may be presumed dead and its sessions given to others. Each heartbeat
        interval every session whose job no longer runs here stops at once; and a worker that
        could not confirm its sessions for half the stall time stops them all by itself,
        before the others may take them over."""
        confirmed = time.monotonic()
        while True:
            await asyncio.sleep(self._settings.worker_heartbeat_seconds)
            if not self._leases or self._worker_id is None:
                confirmed = time.monotonic()
                continue
            try:
                still_ours = await self._running_here(list(self._leases), self._worker_id)
                confirmed = time.monotonic()
            except Exception:  # the database is away: stop before others may take over
                log.warning("could not confirm this worker's sessions", exc_info=True)
                if time.monotonic() - confirmed < self._settings.worker_stalled_seconds / 2:
                    continue
                still_ours = set()
            for job_id, lost in list(self._leases.items()):
                if job_id not in still_ours:
                    lost.set()

    async def _running_here(self, job_ids: list[int], worker_id: int) -> set[int]:
        rows = await self.app.connector.execute_query_all_async(
            "SELECT id FROM procrastinate_jobs WHERE id = ANY(%(ids)s) "
            "AND status = 'doing' AND worker_id = %(worker)s",
            ids=job_ids,
            worker=worker_id,
        )
        return {int(row["id"]) for row in rows}

    async def send_emails(self, email_ids: list[int]) -> None:
        await deliver_each(self._runtime, email_ids)

    async def outbox_sweep(self) -> None:
        """Queue one send job per inbox with due email: an inbox's emails go out in order
        over one session, different inboxes' on whichever workers are free. The outbox's
        own claim makes a second job for the same email harmless."""
        for inbox_id, email_ids in (await due_by_inbox(self._runtime)).items():
            key = f"outbox:{inbox_id}"
            payload: list[JSONValue] = [*email_ids]
            with contextlib.suppress(AlreadyEnqueued):  # one is waiting already
                await self.app.configure_task(
                    SEND_EMAILS, queue=JOBS_QUEUE, lock=key, queueing_lock=key
                ).defer_async(email_ids=payload)

    async def _periodic_sweep(self, timestamp: int) -> None:
        await self.outbox_sweep()

    async def reconcile(self, timestamp: int) -> None:
        """Requeue the jobs of workers that stopped sending heartbeats, then make sure every
        active inbox has a session, running or waiting."""
        manager = self.app.job_manager
        stalled_after = self._settings.worker_stalled_seconds
        await manager.prune_stalled_workers(stalled_after)
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
            log.warning("requeueing %s of a stalled worker", job.call_string)
            try:
                await manager.retry_job(job)
            except UniqueViolation:  # a newer session is already waiting: this one is done
                await manager.finish_job(job, status=Status.FAILED, delete_job=True)
        async with self._runtime.sessions() as session:
            active = set(
                await session.scalars(
                    select(Inbox.id).where(Inbox.state.in_([s.value for s in ACTIVE_STATES]))
                )
            )
        covered: set[int] = set()
        for status in ("todo", "doing"):
            for job in await manager.list_jobs_async(task=INBOX_SESSION, status=status):
                covered.add(int(job.task_kwargs["inbox_id"]))  # type: ignore[arg-type]
        for inbox_id in sorted(active - covered):
            await defer_session(self.app, inbox_id)

    async def forget_finished_jobs(self, timestamp: int) -> None:
        """Aborted sessions (one per inbox change) and failed jobs would otherwise pile up."""
        await self.app.job_manager.delete_old_jobs(
            nb_hours=KEEP_FINISHED_JOBS_HOURS,
            include_failed=True,
            include_cancelled=True,
            include_aborted=True,
        )

    # -- running ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, then hand every inbox back and finish running jobs."""
        async with self.app.open_async():
            await self.reconcile(0)
            worker = asyncio.create_task(
                self.app.run_worker_async(
                    concurrency=self._ceiling + JOB_SLOTS,
                    install_signal_handlers=False,
                    update_heartbeat_interval=self._settings.worker_heartbeat_seconds,
                    stalled_worker_timeout=self._settings.worker_stalled_seconds,
                    shutdown_graceful_timeout=30,
                    delete_jobs="successful",
                    name="inboxlink",
                )
            )
            fencing = asyncio.create_task(self._check_leases())
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait([worker, stopping], return_when=asyncio.FIRST_COMPLETED)
            self._draining.set()
            worker.cancel()  # procrastinate then stops fetching and waits for running jobs
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            finally:
                stopping.cancel()
                await _cancelled(fencing)
