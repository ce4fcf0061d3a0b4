"""The procrastinate engine's building blocks on a real PostgreSQL, in seconds (the whole
multi-process story is tests/integration/test_scale_out.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from inboxlink.config import Settings
from inboxlink.jobs.holdings import Holdings
from inboxlink.jobs.procrastinate_app import INBOX_SESSION, ensure_schema, inbox_lock
from inboxlink.jobs.procrastinate_scheduler import ProcrastinateScheduler
from inboxlink.jobs.procrastinate_worker import ProcrastinateWorker
from inboxlink.runtime import Runtime
from inboxlink.store import migrate
from tests.support.store import throwaway_postgres


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    with throwaway_postgres() as url:
        settings = Settings(data_dir=tmp_path, database_url=url, job_engine="procrastinate")
        migrate.upgrade(settings)
        assert asyncio.run(ensure_schema(settings)) is True
        assert asyncio.run(ensure_schema(settings)) is False  # `db upgrade` may run again
        yield settings


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = Runtime.build(settings)
    yield runtime
    await runtime.close()


async def test_a_change_queues_one_session_and_aborts_the_running_one(runtime: Runtime) -> None:
    scheduler = runtime.scheduler
    assert isinstance(scheduler, ProcrastinateScheduler)
    worker = ProcrastinateWorker(runtime, Holdings(), concurrency=10)
    async with worker.app.open_async():
        manager = worker.app.job_manager
        await scheduler.inbox_changed(7)
        await scheduler.inbox_changed(7)  # a second nudge while one waits: still one
        waiting = list(await manager.list_jobs_async(task=INBOX_SESSION, status="todo"))
        assert [job.lock for job in waiting] == [inbox_lock(7)]

        worker_id = await manager.register_worker()
        running = await manager.fetch_job(queues=None, worker_id=worker_id)
        assert running is not None and running.lock == inbox_lock(7)
        await scheduler.inbox_changed(7)  # e.g. disabled: the running session must stop
        assert running.id is not None
        assert await manager.list_jobs_to_abort_async() == [running.id]
        # The lock keeps the fresh session waiting while the old one runs.
        assert await manager.fetch_job(queues=None, worker_id=worker_id) is None

        await worker.forget_finished_jobs(0)


async def test_reconcile_requeues_the_sessions_of_a_silent_worker(runtime: Runtime) -> None:
    worker = ProcrastinateWorker(runtime, Holdings(), concurrency=10)
    async with worker.app.open_async():
        manager = worker.app.job_manager
        await runtime.scheduler.inbox_changed(3)
        dead = await manager.register_worker()
        taken = await manager.fetch_job(queues=None, worker_id=dead)
        assert taken is not None
        await manager.connector.execute_query_async(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'"
        )
        await worker.reconcile(0)
        assert [job.lock for job in await manager.list_jobs_async(status="todo")] == [inbox_lock(3)]
        assert not list(await manager.list_jobs_async(status="doing"))


async def test_a_session_taken_over_elsewhere_stops_here(settings: Settings) -> None:
    """Fencing: this worker was presumed dead and its session went to another worker."""
    fast = settings.model_copy(update={"worker_heartbeat_seconds": 0.05})
    runtime = Runtime.build(fast)
    worker = ProcrastinateWorker(runtime, Holdings(), concurrency=10)
    try:
        async with worker.app.open_async():
            manager = worker.app.job_manager
            await runtime.scheduler.inbox_changed(5)
            here, elsewhere = await manager.register_worker(), await manager.register_worker()
            job = await manager.fetch_job(queues=None, worker_id=here)
            assert job is not None and job.id is not None
            lease = asyncio.Event()
            worker._leases[job.id], worker._worker_id = lease, here
            checking = asyncio.create_task(worker._check_leases())
            try:
                await asyncio.sleep(0.3)
                assert not lease.is_set()  # still running here: keep watching
                await manager.retry_job(job)  # the reconciler of another worker gave it away
                taken = await manager.fetch_job(queues=None, worker_id=elsewhere)
                assert taken is not None and taken.id == job.id
                await asyncio.wait_for(lease.wait(), timeout=5)
            finally:
                checking.cancel()
    finally:
        await runtime.close()
