"""Prometheus metrics. Gauges that need the database are refreshed when scraped, so nothing
polls the database between scrapes."""

from __future__ import annotations

import contextlib

from prometheus_client import CONTENT_TYPE_LATEST, Gauge, Histogram, generate_latest
from sqlalchemy import func, select, text

from inboxlink.clock import as_utc, utcnow
from inboxlink.domain.enums import OutboundState
from inboxlink.jobs.holdings import Holdings
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Inbox, OutboundEmail

INBOXES_HELD = Gauge("inboxlink_inboxes_held", "Inboxes this process is watching now.")
SYNC_LAG = Gauge(
    "inboxlink_sync_lag_seconds",
    "Longest time since the last completed sync among the inboxes this process watches "
    "(a wait that found nothing new counts as one; written up to a minute behind).",
)
QUEUE_DEPTH = Gauge("inboxlink_queue_depth", "Jobs waiting to run, by queue.", labelnames=["queue"])
SEND_LATENCY = Histogram(
    "inboxlink_send_latency_seconds",
    "From queueing an email to the mail server accepting it.",
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800),
)


async def refresh(runtime: Runtime, holdings: Holdings) -> None:
    """Update the gauges that come from the database."""
    held = holdings.inbox_ids
    INBOXES_HELD.set(len(held))
    async with runtime.sessions() as session:
        if held:
            oldest = await session.scalar(
                select(func.min(Inbox.last_sync_at)).where(Inbox.id.in_(held))
            )
            SYNC_LAG.set((utcnow() - as_utc(oldest)).total_seconds() if oldest else 0)
        else:
            SYNC_LAG.set(0)
        if runtime.settings.job_engine == "procrastinate":
            rows = await session.execute(
                text(
                    "SELECT queue_name, count(*) FROM procrastinate_jobs "
                    "WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now()) "
                    "GROUP BY queue_name"
                )
            )
            QUEUE_DEPTH.clear()
            for queue, depth in rows:
                QUEUE_DEPTH.labels(queue=queue).set(depth)
        else:
            queued = await session.scalar(
                select(func.count(OutboundEmail.id)).where(
                    OutboundEmail.state == OutboundState.QUEUED.value
                )
            )
            QUEUE_DEPTH.labels(queue="outbox").set(queued or 0)


#: The media type of :func:`exposition`'s answer.
MEDIA_TYPE = CONTENT_TYPE_LATEST


async def exposition(runtime: Runtime, holdings: Holdings) -> bytes:
    """Every metric in Prometheus' text format, for the web's and the worker's /metrics."""
    with contextlib.suppress(Exception):  # a down database must not hide the metrics
        await refresh(runtime, holdings)
    return bytes(generate_latest())
