"""dramatiq with its Redis broker, each lane in its own key namespace (deleted afterwards).

A worker is considered dead 5 s after its last heartbeat (``heartbeat_timeout=5000``), as
for procrastinate. dramatiq requeues a dead worker's unacknowledged messages during "queue
maintenance", which a broker command triggers with ``maintenance_chance`` in a million: the
default 1,000 (0.1 %) at an idle worker's ~2 commands a second means minutes on average, so
the bench raises it to 100,000 (10 %) and says so in the table. dramatiq has no per-key lock:
``key`` is ignored (the measured overlap shows what that means).
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from bench.engine_worker import report, run_job_sync

REDIS_URL = "redis://127.0.0.1:6379/0"
JOB = "bench_job"
HEARTBEAT_TIMEOUT_MS = 5000
MAINTENANCE_CHANCE = 100_000
#: How long an idle consumer sleeps between polls at most (dramatiq's default, 1 s).
WORKER_TIMEOUT_MS = 1000


def _actor(namespace: str) -> dramatiq.Actor[Any, Any]:
    broker = RedisBroker(
        url=REDIS_URL,
        namespace=namespace,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
    )
    return dramatiq.actor(actor_name=JOB, queue_name="bench", broker=broker)(run_job_sync)


class Lane:
    """The producer side: sends messages to the namespace's queue."""

    def __init__(self, namespace: str) -> None:
        self._namespace = namespace
        self._actor = _actor(namespace)

    def defer(self, tag: str, seconds: float = 0.0, key: str | None = None) -> None:
        self._actor.send(tag, seconds)

    def worker_config(self, concurrency: int) -> dict[str, Any]:
        return {"namespace": self._namespace, "concurrency": concurrency}


@contextlib.contextmanager
def lane() -> Iterator[Lane]:
    namespace = f"bench-engines-{uuid.uuid4().hex[:10]}"
    try:
        yield Lane(namespace)
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for name in client.scan_iter(f"{namespace}:*"):
            client.delete(name)
        client.close()


def work(config: dict[str, Any]) -> None:
    actor = _actor(config["namespace"])
    worker = dramatiq.Worker(
        actor.broker, worker_threads=config["concurrency"], worker_timeout=WORKER_TIMEOUT_MS
    )
    worker.start()
    report("ready", "-")
    threading.Event().wait()  # until the harness kills this process
