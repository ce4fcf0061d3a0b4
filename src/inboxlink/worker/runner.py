"""The in-process runner: one watcher task per active inbox, plus the outbox loop.

The same runner backs ``inboxlink serve`` (embedded mode) and ``inboxlink worker``. It finds
its work in the database (polling, nudged by ``runtime.signals`` in the embedded mode), so
nothing depends on in-memory state shared with the web process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from inboxlink.domain.inbox_state import ACTIVE_STATES
from inboxlink.jobs.holdings import Holdings
from inboxlink.jobs.periodic import PERIODIC_JOBS, PeriodicJob
from inboxlink.outbox.sender import deliver_due
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Inbox
from inboxlink.worker.watcher import watch_inbox

log = logging.getLogger(__name__)

RESCAN_SECONDS = 5.0
OUTBOX_POLL_SECONDS = 2.0
#: How long ``stop`` lets an outbox pass already handing emails to mail servers finish.
DELIVERY_GRACE_SECONDS = 30.0


async def _wait(event: asyncio.Event, timeout: float) -> None:
    # asyncio.timeout, not wait_for: wait_for (3.11) can swallow a cancellation that arrives
    # as the event is set, and the loop would then outlive ``Runner.stop``.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
    event.clear()


class Runner:
    """The in-process engine: everything in this one process, for the embedded mode (any
    database) — several workers need the procrastinate engine (docs/scale-out.md).

    ``max_inboxes`` caps how many inboxes this process watches at once (``inboxlink worker
    --concurrency``); the lowest ids are taken first and the rest wait, logged, until a slot
    frees."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        max_inboxes: int | None = None,
        holdings: Holdings | None = None,
    ):
        self._runtime = runtime
        self._max_inboxes = max_inboxes
        self.holdings = holdings if holdings is not None else Holdings()
        self._watchers: dict[int, asyncio.Task[None]] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._delivering: asyncio.Task[None] | None = None

    async def _active_inbox_ids(self) -> set[int]:
        async with self._runtime.sessions() as session:
            rows = await session.scalars(
                select(Inbox.id).where(Inbox.state.in_([s.value for s in ACTIVE_STATES]))
            )
            return set(rows)

    async def _supervise(self) -> None:
        """Keep exactly one watcher per active inbox; stop those of inboxes no longer active."""
        while True:
            try:
                active = await self._active_inbox_ids()
            except Exception:  # the database restarting must not stop the worker
                log.exception("could not list inboxes; trying again")
                active = set()
            for inbox_id in set(self._watchers) - active:  # disabled or removed: stop at once
                self._watchers.pop(inbox_id).cancel()
            if self._max_inboxes is not None and len(active) > self._max_inboxes:
                log.warning(
                    "%d active inboxes, this worker watches %d (--concurrency)",
                    len(active),
                    self._max_inboxes,
                )
                active = set(sorted(active)[: self._max_inboxes])
            for inbox_id in active:
                running = self._watchers.get(inbox_id)
                if running is None or running.done():
                    self._watchers[inbox_id] = asyncio.create_task(
                        self._guarded(inbox_id), name=f"inbox-{inbox_id}"
                    )
            await _wait(self._runtime.signals.inboxes_changed, RESCAN_SECONDS)

    async def _guarded(self, inbox_id: int) -> None:
        try:
            with self.holdings.holding(inbox_id):
                await watch_inbox(self._runtime, inbox_id)
        except Exception:  # one broken inbox must never stop the others
            log.exception("inbox %s watcher stopped; it restarts on the next scan", inbox_id)
            await asyncio.sleep(RESCAN_SECONDS)

    async def _drain_outbox(self) -> None:
        while True:
            try:
                # Its own task, so ``stop`` can let the pass finish rather than cut an email
                # off mid-SMTP (which leaves the claim for STALE_CLAIM, then send_uncertain).
                self._delivering = asyncio.create_task(deliver_due(self._runtime))
                await asyncio.shield(self._delivering)
            except Exception:
                log.exception("outbox pass failed; trying again")
            await _wait(self._runtime.signals.outbox_changed, OUTBOX_POLL_SECONDS)

    async def _every(self, job: PeriodicJob) -> None:
        while True:
            try:
                await job.run(self._runtime)
            except Exception:
                log.exception("periodic job %s failed; trying again", job.name)
            await asyncio.sleep(job.every(self._runtime.settings))

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._supervise(), name="inbox-supervisor"),
            asyncio.create_task(self._drain_outbox(), name="outbox"),
            *(asyncio.create_task(self._every(job), name=job.name) for job in PERIODIC_JOBS),
        ]

    async def stop(self) -> None:
        delivering = self._delivering
        tasks = [*self._loops, *self._watchers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if delivering is not None and not delivering.done():
            log.info("letting the email being sent finish before stopping")
            await asyncio.wait({delivering}, timeout=DELIVERY_GRACE_SECONDS)
            delivering.cancel()
            await asyncio.gather(delivering, return_exceptions=True)


async def start_in_process(
    runtime: Runtime, holdings: Holdings | None = None
) -> Callable[[], Awaitable[None]]:
    """Start the background work for ``runtime``; returns the coroutine function that stops it."""
    runner = Runner(runtime, holdings=holdings)
    runner.start()
    return runner.stop
