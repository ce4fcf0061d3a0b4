"""taskiq with taskiq-redis's ``RedisStreamBroker`` (a Redis stream and a consumer group).

The stream broker is taskiq-redis's only one with acknowledgements, so the only one that can
give a crashed worker's job to another. It has no heartbeat: a message delivered but not
acknowledged for ``idle_timeout`` (5 s here, as procrastinate's stall) is claimed by
whichever worker next runs ``XAUTOCLAIM`` — which a worker does only after a read that
returned new messages. No per-key lock: ``key`` is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import redis
from taskiq.api import run_receiver_task
from taskiq_redis import RedisStreamBroker

from bench.engine_worker import report, run_job

REDIS_URL = "redis://127.0.0.1:6379/0"
JOB = "bench_job"
GROUP = "bench"
IDLE_TIMEOUT_MS = 5000


def _broker(stream: str) -> RedisStreamBroker:
    broker = RedisStreamBroker(
        REDIS_URL, queue_name=stream, consumer_group_name=GROUP, idle_timeout=IDLE_TIMEOUT_MS
    )
    broker.register_task(run_job, task_name=JOB)
    return broker


class Lane:
    """The producer side. Its startup creates the consumer group before the first message,
    so workers started later still read everything (a new group starts at the stream's end)."""

    def __init__(self, stream: str, loop: asyncio.Runner) -> None:
        self._stream = stream
        self._loop = loop
        self._broker = _broker(stream)
        loop.run(self._broker.startup())

    def defer(self, tag: str, seconds: float = 0.0, key: str | None = None) -> None:
        task = self._broker.find_task(JOB)
        assert task is not None
        self._loop.run(task.kiq(tag, seconds))

    def worker_config(self, concurrency: int) -> dict[str, Any]:
        return {"stream": self._stream, "concurrency": concurrency}

    def close(self) -> None:
        self._loop.run(self._broker.shutdown())


@contextlib.contextmanager
def lane() -> Iterator[Lane]:
    stream = f"bench-engines-{uuid.uuid4().hex[:10]}"
    with asyncio.Runner() as loop:
        opened = Lane(stream, loop)
        try:
            yield opened
        finally:
            opened.close()
            client = redis.Redis.from_url(REDIS_URL)
            client.delete(stream, f"autoclaim:{GROUP}:{stream}")
            client.close()


async def _serve(config: dict[str, Any]) -> None:
    broker = _broker(config["stream"])
    await broker.startup()
    report("ready", "-")
    await run_receiver_task(broker, max_async_tasks=config["concurrency"])


def work(config: dict[str, Any]) -> None:
    asyncio.run(_serve(config))
